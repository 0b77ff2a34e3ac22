"""Saving an image with 5,000 polygons: GUI-thread time before (written on the GUI thread) and
after (a snapshot handed to the writer thread, save_queue.py).

A window on the demo project gets N (default 5,000) small polygons. "before" is what a save cost
the GUI thread when it serialised and wrote there (``Project.save_annotation`` plus marking the
document saved); "after" is ``MainWindow.save`` now (status, snapshot, queue) and, separately,
the handler that runs on the GUI thread when the write has finished (status index, mark saved,
journal removal). "write" is the writer thread's time from queueing to the file on disk.

Run: ``python -m tests.bench save`` or ``python -m tests.bench.bench_save [N] [REPEATS]``.
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
    repeats = int(argv[1]) if len(argv) > 1 else 7
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
        s = w.session
        doc, key = s.document, s.key
        pts = [(rng.uniform(0, 480), rng.uniform(0, 480)) for _ in range(n)]
        doc.add_shapes([Shape("polygon", "person", [(x, y), (x + 8, y), (x + 4, y + 9), (x + 1, y + 5)])
                        for x, y in pts])
        w.recovery.flush()
        before = []
        for _ in range(repeats):
            t = time.perf_counter()
            s.project.save_annotation(key, doc.annotation)
            doc.mark_saved()
            before.append(time.perf_counter() - t)
            doc.update_shape(doc.shapes[0].id, label="cat" if doc.shapes[0].label == "person" else "person")
            w.recovery.flush()
        queue = s.saving.queue
        real_handler, handler = queue.on_written, []

        def timed_handler(results):
            t = time.perf_counter()
            real_handler(results)
            handler.append(time.perf_counter() - t)

        queue.on_written = timed_handler
        after, total = [], []
        for _ in range(repeats):
            doc.update_shape(doc.shapes[0].id, label="cat" if doc.shapes[0].label == "person" else "person")
            w.recovery.flush()
            app.processEvents()
            t = time.perf_counter()
            w.save()
            after.append(time.perf_counter() - t)
            s.flush_saves()
            total.append(time.perf_counter() - t)
            assert not doc.dirty
        written = Project.open(s.project.root, read_only=True).load(key)
        assert len(written.shapes) == n and written.shapes[0].label == doc.shapes[0].label
        w.close()
        app.processEvents()
    ms = lambda v: statistics.median(v) * 1e3  # noqa: E731
    out = {"shapes": n, "before_gui_ms": ms(before), "after_gui_ms": ms(after),
           "after_done_handler_ms": ms(handler), "write_total_ms": ms(total)}
    print(f"{n} polygons, median of {repeats}: a save on the GUI thread {out['before_gui_ms']:.1f} ms before; "
          f"now {out['after_gui_ms']:.2f} ms to queue it + {out['after_done_handler_ms']:.2f} ms when it is "
          f"written ({out['write_total_ms']:.1f} ms until on disk, in the writer thread)")
    return out


if __name__ == "__main__":
    main()
