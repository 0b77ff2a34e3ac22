"""Crash-recovery journal and saving with 5,000 polygons: what an edit costs on the GUI thread.

A window on the demo project gets N (default 5,000) small polygons; then 20 edits (each a class
change of one polygon) are made one by one, timing the journal's handler of the document's
``changed`` signal on the GUI thread (it takes a snapshot and queues it; a worker serialises and
writes). Beside it: the same journal write done synchronously (what the handler cost when it
wrote on the GUI thread), the number of files the worker wrote for the 20 edits (bursts
coalesce), and one save of the image (``MainWindow.save``, on the GUI thread).

Run: ``python -m tests.bench recovery`` or ``python -m tests.bench.bench_recovery [N]``.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    n = int(argv[0]) if argv else 5000
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from labeler.core.project import Project
    from labeler.core.shapes import Shape
    from labeler.demo import ensure_demo_project
    from labeler.gui.main_window import MainWindow

    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        w = MainWindow(Project.open(ensure_demo_project(os.path.join(tmp, "demo"))), autosave_s=3600)
        doc, rec = w.session.document, w.recovery
        pts = [(rng.uniform(0, 480), rng.uniform(0, 480)) for _ in range(n)]
        doc.add_shapes([Shape("polygon", "person", [(x, y), (x + 8, y), (x + 4, y + 9), (x + 1, y + 5)])
                        for x, y in pts])
        rec.flush()
        handler, times = rec._on_changed, []

        def timed(*a):
            t = time.perf_counter()
            handler(*a)
            times.append(time.perf_counter() - t)

        doc.changed.disconnect(rec._on_changed)
        doc.changed.connect(timed)
        writes0 = rec.writer.writes
        t_all = time.perf_counter()
        for i in range(20):
            doc.update_shape(doc.shapes[i * 7].id, label="cat")
            app.processEvents()
        rec.flush()
        t_all = time.perf_counter() - t_all
        writes = rec.writer.writes - writes0
        sync = []
        for _ in range(5):
            t = time.perf_counter()
            rec.journal.write(w.session.key, doc.annotation)
            sync.append(time.perf_counter() - t)
        t = time.perf_counter()
        w.save()
        save_ms = (time.perf_counter() - t) * 1e3
        w.close()
    out = {"shapes": n, "handler_median_ms": statistics.median(times) * 1e3, "handler_max_ms": max(times) * 1e3,
           "sync_write_median_ms": statistics.median(sync) * 1e3, "files_written_for_20_edits": writes,
           "20_edits_total_ms": t_all * 1e3, "save_ms": save_ms}
    print(f"{n} polygons: journal handler on the GUI thread median {out['handler_median_ms']:.2f} ms "
          f"(max {out['handler_max_ms']:.2f}); the same write done synchronously "
          f"{out['sync_write_median_ms']:.1f} ms; {writes} files for 20 edits; save {save_ms:.0f} ms")
    return out


if __name__ == "__main__":
    main()
