"""Canvas speed: pan/zoom frame time with 5,000 polygons, and opening a 20,000 x 20,000 image.

Frames: a canvas of 1200 x 800 shows a 6,000 x 4,000 image with N (default 5,000) polygons of
12 to 40 vertices; each frame is a pan step (scroll bars) or a zoom step followed by a
synchronous ``viewport().repaint()``; the median and 95th percentile over the frames are
reported for the fitted view (everything visible) and for 1:1 (a part visible), and the time to
load all N polygons into the canvas, and to apply one edit; each next to the same frames drawn
"untuned" (antialiased, uncached, full detail: the canvas's drawing before CanvasDetail; the
edit time is the same in both, since redrawing only the changed shapes is not switched off).

Huge image: a 20,000 x 20,000 RGB uncompressed TIFF (1.2 GB; a pattern in its top 2,048 rows,
the rest a hole in a sparse file) is opened

* through the tiled path (``TileSource`` + ``TiledImageItem``): time until the fitted view has
  all its tiles painted, then a zoom to 1:1 in the middle until those tiles are painted;
* as one full-image ``QPixmap`` (what a simple viewer does); Qt refuses it under its default
  256 MB allocation limit, so the baseline raises the limit to 0 for this load only.

For both: wall time, Python peak (tracemalloc) and the process's RSS growth (/proc VmRSS, and
the ``ru_maxrss`` high-water mark). The tiled path runs first so the baseline's RSS peak does not
hide it.

Status index: a 10,000-image project's statuses with a cold index (every annotation parsed, as
every open did before the index) and a warm one (a stat per file, nothing parsed).

Run: ``python -m tests.bench canvas`` or ``python -m tests.bench.bench_canvas [N]``.
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

W, H = 6000, 4000
HUGE = 20_000


def make_polygons(n: int, width: int = W, height: int = H, seed: int = 0):
    """``n`` star-shaped (so valid) polygons of 12 to 40 vertices spread over the image."""
    from labeler.core.shapes import Shape

    rng = np.random.default_rng(seed)
    shapes = []
    for i in range(n):
        k = int(rng.integers(12, 41))
        cx, cy = rng.uniform(60, width - 60), rng.uniform(60, height - 60)
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        r = rng.uniform(15, 55, k)
        pts = np.stack([cx + r * np.cos(ang), cy + r * np.sin(ang)], 1)
        shapes.append(Shape("polygon", f"class{i % 8}", pts))
    return shapes


def _rss_mb(field: str = "VmRSS") -> float:
    """Resident memory in MB: all of it (VmRSS) or only private memory (RssAnon: not file pages,
    which a memory-mapped image adds to VmRSS but the kernel can drop at will)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _app():
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([])


def _canvas(width=1200, height=800):
    from labeler.gui.canvas import Canvas

    c = Canvas()
    c.resize(width, height)
    c.show()
    _app().processEvents()
    return c


def _settle(seconds: float = 0.4) -> None:
    """Let the event loop run a moment, as between a user's gestures (timers fire)."""
    app = _app()
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.01)


def _frames(canvas, steps) -> list[float]:
    _settle()
    vp = canvas.viewport()
    times = []
    for step in steps:
        step()
        t0 = time.perf_counter()
        vp.repaint()
        times.append(time.perf_counter() - t0)
    return times


def _ms(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times) * 1000, times[int(0.95 * (len(times) - 1))] * 1000


def _untune(canvas) -> None:
    """The canvas as it was before canvas_detail.py: antialiased, uncached, full detail."""
    from PySide6.QtGui import QPainter

    canvas.zoom_changed.disconnect(canvas.detail.on_zoom)
    canvas.detail.set_cached(False)
    canvas.setRenderHint(QPainter.RenderHint.Antialiasing, True)


def bench_polygons(n: int, tuned: bool = True) -> dict:
    from PySide6.QtGui import QImage

    from labeler.core.annotation import ImageAnnotation
    from labeler.core.document import Document

    app = _app()
    shapes = make_polygons(n)
    doc = Document(ImageAnnotation("bench.png", W, H, list(shapes)))
    img = QImage(W, H, QImage.Format.Format_RGB32)
    img.fill(0x404040)
    c = _canvas()
    if not tuned:
        _untune(c)
    t0 = time.perf_counter()
    c.set_document(doc, img)
    app.processEvents()
    load_s = time.perf_counter() - t0
    hs, vs = c.horizontalScrollBar(), c.verticalScrollBar()
    out = {"polygons": n, "load_s": load_s}
    c.fit()
    c.zoom_by(1.02)  # a hair past fitted, so that the fitted view can pan
    pan = [lambda i=i: (hs.setValue(hs.value() + (4 if i % 20 < 10 else -4)),
                        vs.setValue(vs.value() + (3 if i % 20 < 10 else -3))) for i in range(40)]
    out["pan_fit_ms"], out["pan_fit_p95_ms"] = _ms(_frames(c, pan))
    zoom = [lambda i=i: c.zoom_by(1.1 if i % 10 < 5 else 1 / 1.1) for i in range(40)]
    out["zoom_fit_ms"], out["zoom_fit_p95_ms"] = _ms(_frames(c, zoom))
    c.actual_size()
    hs.setValue(hs.maximum() // 2)
    vs.setValue(vs.maximum() // 2)
    pan = [lambda i=i: hs.setValue(hs.value() + (40 if i % 20 < 10 else -40)) for i in range(40)]
    out["pan_1to1_ms"], out["pan_1to1_p95_ms"] = _ms(_frames(c, pan))
    zoom = [lambda i=i: c.zoom_by(1.1 if i % 10 < 5 else 1 / 1.1) for i in range(40)]
    out["zoom_1to1_ms"], out["zoom_1to1_p95_ms"] = _ms(_frames(c, zoom))
    if n:
        sid = doc.shapes[n // 2].id
        t0 = time.perf_counter()
        for k in range(10):
            doc.update_shape(sid, label=f"class{k % 8}")
        out["edit_ms"] = (time.perf_counter() - t0) / 10 * 1000
    c.set_document(None, None)
    c.close()
    c.deleteLater()
    app.processEvents()
    return out


def _wait_tiles(canvas, timeout: float = 60.0) -> None:
    """Repaint until the tiled item has every tile the view needs (or the timeout)."""
    app = _app()
    item = canvas.tiled_image
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        canvas.viewport().repaint()
        if not item.pending and all(k in item.cache for k in item.wanted):
            return
        item.wait_idle(50)
        app.processEvents()
    raise TimeoutError("tiles did not arrive")


def _measure(fn):
    rss0, anon0 = _rss_mb(), _rss_mb("RssAnon")
    tracemalloc.start()
    t0 = time.perf_counter()
    error = ""
    try:
        fn()
    except Exception as e:  # the baseline may fail: report it
        error = f"{type(e).__name__}: {e}"
    dt = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return dt, peak / 2 ** 20, _rss_mb() - rss0, _rss_mb("RssAnon") - anon0, error


def bench_huge_image(folder: Path) -> dict:
    from PySide6.QtGui import QImageReader, QPixmap

    from labeler.core.tiles import TileSource, write_raw_tiff

    def stripes(y0, y1):  # a pattern in the top rows; the rest stays a hole in a sparse file
        if y0 >= 2048:
            return None
        rows = np.empty((y1 - y0, HUGE, 3), np.uint8)
        rows[...] = ((np.arange(HUGE) // 97) % 200)[None, :, None]
        rows[..., 1] = ((np.arange(y0, y1) // 89) % 200)[:, None]
        return rows

    path = write_raw_tiff(folder / "huge.tif", HUGE, HUGE, stripes)
    app = _app()
    out = {"huge_px": f"{HUGE}x{HUGE}"}
    canvas = _canvas()
    state = {}

    def tiled():
        from labeler.core.annotation import ImageAnnotation
        from labeler.core.document import Document

        src = TileSource(path)
        canvas.set_document(Document(ImageAnnotation("huge.tif", HUGE, HUGE)), src)
        t0 = time.perf_counter()
        _wait_tiles(canvas)
        state["fit_s"] = time.perf_counter() - t0
        canvas.actual_size()
        canvas.centerOn(HUGE / 2, HUGE / 2)
        t0 = time.perf_counter()
        _wait_tiles(canvas)
        state["zoom_s"] = time.perf_counter() - t0
        state["tiles"] = src.regions_read
        state["full_decodes"] = src.full_decodes

    dt, py_peak, rss, anon, err = _measure(tiled)
    out.update({"tiled_open_s": dt, "tiled_first_view_s": state.get("fit_s", float("nan")),
                "tiled_zoom_1to1_s": state.get("zoom_s", float("nan")), "tiled_tiles_read": state.get("tiles", 0),
                "tiled_full_decodes": state.get("full_decodes", -1), "tiled_py_peak_mb": py_peak,
                "tiled_rss_growth_mb": rss, "tiled_anon_growth_mb": anon, "tiled_maxrss_mb": _maxrss_mb()})
    if err:
        out["tiled_error"] = err
    canvas.set_document(None, None)
    canvas.tiled_image.shutdown()
    app.processEvents()

    def pixmap():
        old = QImageReader.allocationLimit()
        QImageReader.setAllocationLimit(0)
        try:
            pm = QPixmap(str(path))
            if pm.isNull():
                raise RuntimeError("QPixmap could not load the image")
            state["pm"] = pm
        finally:
            QImageReader.setAllocationLimit(old)

    dt, py_peak, rss, anon, err = _measure(pixmap)
    out.update({"pixmap_open_s": dt, "pixmap_py_peak_mb": py_peak, "pixmap_rss_growth_mb": rss,
                "pixmap_anon_growth_mb": anon,
                "pixmap_maxrss_mb": _maxrss_mb()})
    if err:
        out["pixmap_error"] = err
    state.clear()
    canvas.close()
    return out


def bench_status_index(folder: Path, n: int = 10_000) -> dict:
    """Statuses of an ``n``-image project: every annotation parsed (a cold index, as every open
    was before the index) against a warm index (one stat per file, nothing parsed)."""
    from labeler.core.annotation import ImageAnnotation
    from labeler.core.fileio import deferred_sync
    from labeler.core.project import Project
    from labeler.core.status_index import StatusIndex

    keys = [f"img/{i:05d}.jpg" for i in range(n)]
    proj = Project.create(folder / "status", images=keys)
    shapes = make_polygons(3, 640, 480)
    with deferred_sync():
        for i, key in enumerate(keys):
            proj.save_annotation(key, ImageAnnotation(key, 640, 480, shapes, status=("done", "in_progress")[i % 2]))
    t0 = time.perf_counter()
    idx = StatusIndex(proj)
    statuses, stale = idx.lookup(proj.image_keys())
    statuses.update(idx.refresh(stale))
    idx.save()
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    idx = StatusIndex(proj)
    statuses, stale = idx.lookup(proj.image_keys())
    warm = time.perf_counter() - t0
    assert not stale and idx.reads == 0 and sum(v == "done" for v in statuses.values()) == n // 2
    proj.close()
    return {"status_images": n, "status_cold_s": cold, "status_warm_s": warm}


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    n = int(argv[0]) if argv else 5000
    result = bench_polygons(n)
    plain = bench_polygons(n, tuned=False)  # the same frames without canvas_detail.py, same run
    for k, v in list(result.items()):
        if isinstance(v, float):
            print(f"  {k}: {v:.1f}   (untuned: {plain[k]:.1f})", flush=True)
            result[f"untuned_{k}"] = plain[k]
        else:
            print(f"  {k}: {v}", flush=True)
    with tempfile.TemporaryDirectory() as d:
        huge = bench_huge_image(Path(d))
    for k, v in huge.items():
        print(f"  {k}: {v:.2f}" if isinstance(v, float) else f"  {k}: {v}", flush=True)
    result.update(huge)
    with tempfile.TemporaryDirectory() as d:
        status = bench_status_index(Path(d))
    for k, v in status.items():
        print(f"  {k}: {v:.3f}" if isinstance(v, float) else f"  {k}: {v}", flush=True)
    result.update(status)
    return result


if __name__ == "__main__":
    main()
