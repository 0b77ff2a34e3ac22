"""A project of 50,000 images in the window: is every user action still fluid?

A temporary project holds N (default 50,000) tiny 8 x 8 PNGs in ``images/`` (100 sub-folders)
and, for every tenth image, an annotation JSON with three polygons and a mixed status (new, in
progress, done, reviewed; every 40th JSON carries a proposal). The status index is built once
(the second open of a project, the usual case), then measured on the GUI thread:

* ``open_s``: ``Project.open`` + ``image_keys()`` (the folder scan);
* ``window_constructed_s``: ``MainWindow(project, ...)`` returning, on a freshly opened project
  (the window scans it, as the application's does): the GUI thread is held all that time;
* ``window_first_image_s``: from there until the first image is on the canvas (events processed,
  as the application does); ``window_counts_s``: until every status is known;
* ``open_stall_max_ms``: the longest one event-loop turn held the GUI thread meanwhile;
* ``filter_key_ms``: typing "img_04" into the file list's filter box one real key press at a
  time, each press with its events processed (max and median over the keys; then cleared);
* ``status_filter_ms``: changing the status filter (to "done", "not done", "all images");
* ``next_image_ms``: D (next image) with the list that long, until the image is shown (median
  and max over 20 presses);
* ``mark_done_ms``: Ctrl+Shift+D (mark done) until the file list and "n of N done" say so;
* ``peak_rss_mb``: the process's high-water resident memory (``ru_maxrss``).

Measured (offscreen, 2 shared cores, 50,000 images), before -> after the file list became a
QListView over a string-list model (gui/file_list.py) and the folder scan and status look-up
stopped building four paths per image (core/project.py):

    open_s                 0.55  -> 0.06
    window_first_image_s   1.60  -> 0.37
    filter_key ms          394 median, 429 max -> 10 median, 14 max
    status_filter ms       387   -> 14
    next_image ms          4 median, 10 max -> 4 median, 6 max
    mark_done ms           443   -> 9
    peak_rss_mb            253   -> 216

Then, opening in the background (``background_open``, gui/project_open.py: first key by a short
walk, folder scan and annotation stats in a worker, the list filled once with the statuses),
before -> after, same run, same load:

    window_constructed_s   0.40  -> 0.018
    window_first_image_s   0.43  -> 0.053
    window_counts_s        0.43  -> 0.64 (statuses known later, the window usable meanwhile)
    open_stall_max_ms      (0.40 s in the constructor) -> 154 (the list filled and proposal
                           counts set when the statuses arrive)

Then the proposal counts set over the turns after the list fills, 10,000 images a turn
(gui/review.py ``COUNT_STEP``), the list's rows built without a call per image, and one dict
look-up per key in ``set_proposals`` (same run, same load; ``open_stall_max_ms`` now also waits
for the counts, ``review.counts_pending``):

    open_stall_max_ms      93..114 -> 41..51 (the list fill now the longest, ~35-40; a count step ~15)

Run: ``python -m tests.bench scale`` or ``python -m tests.bench.bench_scale [N]``.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import struct
import sys
import tempfile
import time
import zlib
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

STATUSES = ("new", "in_progress", "done", "reviewed")
#: how the application opens a project (gui/app.py): the folder scan and status look-up in a worker
OPEN_IN_BACKGROUND = {"background_open": True}


def tiny_png(seed: int) -> bytes:
    """An 8 x 8 RGB PNG written by hand (fast: no encoder per file)."""
    raw = b"".join(b"\x00" + bytes(((seed + x * 31 + y * 7) % 256 for x in range(24))) for y in range(8))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)) \
        + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def annotation_dict(image_rel: str, status: str, proposal: bool) -> dict:
    shapes = [{"label": f"class{j}", "points": [[1, 1], [6, 1], [6, 6], [1, 6]], "group_id": None,
               "shape_type": "polygon", "flags": {"proposal": True} if proposal and j == 0 else {}}
              for j in range(3)]
    return {"version": "5.4.1", "flags": {}, "shapes": shapes, "imagePath": image_rel, "imageData": None,
            "imageHeight": 8, "imageWidth": 8, "labeler": {"status": status}}


def make_project(root: Path, n: int, annotated_every: int = 10) -> Path:
    """``n`` images (``images/dNN/img_NNNNNN.png``) and an annotation for every ``annotated_every``-th."""
    from labeler.core.project import Project
    from labeler.core.schema import Schema

    proj = Project.create(root, Schema.from_names(["class0", "class1", "class2"]))
    pngs = [tiny_png(s) for s in range(16)]
    for i in range(n):
        key = f"images/d{i % 100:02d}/img_{i:06d}.png"
        path = root / key
        if i < 100:
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pngs[i % 16])
        if i % annotated_every == 0:
            ann = proj.annotation_path(key)
            ann.parent.mkdir(parents=True, exist_ok=True)
            rel = os.path.relpath(path, ann.parent)
            status = STATUSES[(i // annotated_every) % 4]
            ann.write_text(json.dumps(annotation_dict(rel, status, i % (annotated_every * 4) == 0)), "utf-8")
    proj.close()
    return root


def _app():
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([])


def _settle(app, until=lambda: True, timeout_s: float = 60.0, stalls: list | None = None) -> None:
    """Process events until ``until()``; ``stalls`` gets how long each processEvents call held
    the GUI thread (ms)."""
    end = time.perf_counter() + timeout_s
    t0 = time.perf_counter()
    app.processEvents()
    if stalls is not None:
        stalls.append(_ms(t0))
    while not until():
        if time.perf_counter() > end:
            raise TimeoutError("the window did not get there in time")
        t0 = time.perf_counter()
        app.processEvents()
        if stalls is not None:
            stalls.append(_ms(t0))
        time.sleep(0.0005)


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


def measure(root: Path) -> dict:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from labeler.core.project import Project
    from labeler.core.status_index import StatusIndex
    from labeler.gui.main_window import MainWindow

    app = _app()
    out: dict = {}
    warm = Project.open(root)  # the index is built once: later opens only stat the files
    index = StatusIndex(warm)
    _statuses, stale = index.lookup(warm.image_keys())
    index.refresh(stale)
    index.save()
    warm.close()

    t0 = time.perf_counter()
    project = Project.open(root)
    n = len(project.image_keys())
    out["images"] = n
    out["open_s"] = time.perf_counter() - t0
    project.close()

    project = Project.open(root)  # the window scans the folder itself, as the application's does
    t0 = time.perf_counter()
    w = MainWindow(project, autosave_s=3600, background_loading=True, **OPEN_IN_BACKGROUND)
    out["window_constructed_s"] = time.perf_counter() - t0  # the GUI thread is held all along
    w.show()
    stalls: list[float] = []
    _settle(app, lambda: w.session.document is not None and w.canvas.document is w.session.document, stalls=stalls)
    out["window_first_image_s"] = time.perf_counter() - t0
    _settle(app, lambda: getattr(w.session, "opener", None) is None or not w.session.opener.running, stalls=stalls)
    _settle(app, lambda: w.session.status_refresher is None or not w.session.status_refresher.running, stalls=stalls)
    _settle(app, lambda: w.review.counts_pending == 0, stalls=stalls)  # proposal counts: a turn later
    out["window_counts_s"] = time.perf_counter() - t0  # until every status is known
    out["open_stall_max_ms"] = max(stalls)  # longest the GUI thread was held after the constructor
    dock = w.file_dock

    times = []
    dock.filter_box.setFocus()
    for ch in "img_04":
        t0 = time.perf_counter()
        QTest.keyClick(dock.filter_box, ch)
        app.processEvents()
        times.append(_ms(t0))
    shown = len(dock.visible_keys())
    t0 = time.perf_counter()
    dock.filter_box.clear()
    app.processEvents()
    times.append(_ms(t0))
    out["filter_key_max_ms"], out["filter_key_median_ms"] = max(times), statistics.median(times)
    out["filter_img_04_shown"] = shown

    times = []
    box = dock.status_filter
    for text in ("done", "not done", "all images"):
        t0 = time.perf_counter()
        box.setCurrentIndex(box.findText(text))
        app.processEvents()
        times.append(_ms(t0))
    out["status_filter_max_ms"] = max(times)

    w.canvas.setFocus()
    times = []
    for _ in range(20):
        target = w.session.index + 1
        t0 = time.perf_counter()
        QTest.keyClick(w.canvas, Qt.Key.Key_D)
        _settle(app, lambda: w.session.index == target and w.canvas.document is w.session.document)
        times.append(_ms(t0))
    out["next_image_median_ms"], out["next_image_max_ms"] = statistics.median(times), max(times)

    times = []
    for _ in range(5):
        w.go_relative(1)
        _settle(app, lambda: w.session.loading_index is None)
        while w.session.document.annotation.status in ("done", "reviewed"):
            w.go_relative(1)
            _settle(app, lambda: w.session.loading_index is None)
        w.canvas.setFocus()
        before = w.session.done_count()
        t0 = time.perf_counter()
        QTest.keyClick(w.canvas, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        app.processEvents()
        times.append(_ms(t0))
        assert w.session.done_count() == before + 1 and dock.summary.text().startswith(f"{before + 1} of")
    out["mark_done_max_ms"] = max(times)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    w.close()
    return out


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    n = int(argv[0]) if argv else 50_000
    with tempfile.TemporaryDirectory(prefix="labeler-scale-") as tmp:
        t0 = time.perf_counter()
        root = make_project(Path(tmp) / "big", n)
        print(f"made {n} images in {time.perf_counter() - t0:.1f} s", flush=True)
        result = measure(root)
    for k, v in result.items():
        print(f"  {k:24s} {v:.4g}" if isinstance(v, float) else f"  {k:24s} {v}")
    return result


if __name__ == "__main__":
    main()
