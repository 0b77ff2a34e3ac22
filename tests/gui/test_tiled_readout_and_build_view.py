"""Huge images in the window: the pixel readout through the tile source (real mouse moves), and
a TIFF's zoomed-in view read from its own tiles while its pyramid cache builds."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
import tifffile
from PIL import Image
from PySide6.QtCore import QPointF

from labeler.core import pyramid_cache, tiff_regions, tiles
from labeler.core.project import Project
from labeler.core.tiles import TileSource
from labeler.gui.main_window import MainWindow

from ..core.test_tiff_regions import _pattern
from .conftest import activate


def _open(qtbot, root) -> MainWindow:
    w = MainWindow(Project.open(root), autosave_s=3600, background_loading=True)
    qtbot.addWidget(w)
    activate(qtbot, w)
    qtbot.waitUntil(lambda: w.session.document is not None, timeout=10000)  # read in the loader's worker
    return w


def _tiles_painted(qtbot, w) -> None:
    item = w.canvas.tiled_image

    def painted() -> bool:
        w.canvas.viewport().repaint()
        return bool(item.wanted) and not item.pending and all(k in item.cache for k in item.wanted)

    qtbot.waitUntil(painted, timeout=15000)
    assert item.wait_idle()


class _Cursor:
    """Real mouse moves over the canvas; remembers the image point the canvas reported."""

    def __init__(self, qtbot, w) -> None:
        self.qtbot, self.w, self.at = qtbot, w, None
        w.canvas.cursor_moved.connect(self._moved)

    def _moved(self, x: float, y: float) -> None:
        self.at = (int(math.floor(x)), int(math.floor(y)))

    def move(self, x: float, y: float) -> tuple[int, int]:
        self.at = None
        self.qtbot.mouseMove(self.w.canvas.viewport(), self.w.canvas.image_to_view(x, y))
        assert self.at is not None
        return self.at


def _rgb_text(truth: np.ndarray, xy: tuple[int, int]) -> str:
    return "RGB {}, {}, {}".format(*(int(v) for v in truth[xy[1], xy[0]]))


@pytest.fixture
def tiled_tiff_project(tmp_path, monkeypatch):
    """A 2,000 x 1,500 deflate TIFF in 256-pixel tiles, shown tiled (threshold lowered); its
    segment cache keeps one tile only, so a pixel is at hand only in the tile decoded last."""
    monkeypatch.setattr(tiles, "TILED_ABOVE_PIXELS", 1_000_000)
    monkeypatch.setattr(tiff_regions, "SEGMENT_CACHE_BYTES", 0)
    root = tmp_path / "tif"
    root.mkdir()
    truth = _pattern(1500, 2000, seed=21)
    tifffile.imwrite(root / "slide.tif", truth, tile=(256, 256), compression="zlib", compressionargs={"level": 1})
    Project.create(root).close()
    return root, truth


def test_pixel_readout_of_a_compressed_tiff_is_read_in_a_worker_then_from_its_decoded_tile(
        qtbot, tiled_tiff_project, monkeypatch):
    root, truth = tiled_tiff_project
    w = _open(qtbot, root)
    src, status = w.session.image, w.pixel_status
    assert isinstance(src, TileSource) and src.tiff is not None and not src.lazy and src.ready
    _tiles_painted(qtbot, w)
    cursor = _Cursor(qtbot, w)
    decoded = sum(src.tiff.decode_counts.values())

    xy = cursor.move(300.5, 1100.5)  # its tile is not in memory: "…", then the worker's answer
    assert status.label.text() == "RGB …" and status.worker_reads == 1
    qtbot.waitUntil(lambda: status.label.text() == _rgb_text(truth, xy), timeout=5000)
    assert sum(src.tiff.decode_counts.values()) == decoded + 1  # one 256 x 256 tile, not the image
    assert threading.get_ident() not in src.read_threads and src.full_decodes == 0

    for x, y in [(310.5, 1090.5), (500.5, 1030.5)]:  # the same tile: read at once on this thread
        xy = cursor.move(x, y)
        assert status.label.text() == _rgb_text(truth, xy)
    assert status.worker_reads == 1 and sum(src.tiff.decode_counts.values()) == decoded + 1

    # moves faster than the reads (held here): one read at a time, and the last pixel is read next
    gate, read = threading.Event(), src.read_region
    monkeypatch.setattr(src, "read_region", lambda *a: (gate.wait(10), read(*a))[1])
    for x in (900.5, 1300.5, 1700.5):
        xy = cursor.move(x, 200.5)
        assert status.label.text() == "RGB …"
    assert status.worker_reads == 2  # the first move's read; the second's pixel was never read
    gate.set()
    qtbot.waitUntil(lambda: status.label.text() == _rgb_text(truth, xy), timeout=5000)
    assert status.worker_reads == 3 and threading.get_ident() not in src.read_threads
    w.close()


@pytest.fixture
def held_build(monkeypatch):
    """Pyramid builds wait before writing their levels until ``release`` is set."""
    release, started = threading.Event(), threading.Event()
    fill = pyramid_cache._fill_levels

    def held(*args, **kwargs):
        started.set()
        assert release.wait(30)
        return fill(*args, **kwargs)

    monkeypatch.setattr(pyramid_cache, "_fill_levels", held)
    yield release, started
    release.set()


def test_huge_tiff_shows_real_pixels_when_zoomed_in_while_its_cache_builds(qtbot, tmp_path, monkeypatch,
                                                                          held_build):
    release, started = held_build
    monkeypatch.setattr(tiles, "TILED_ABOVE_PIXELS", 1_000_000)
    root = tmp_path / "slide"
    root.mkdir()
    truth = _pattern(2900, 4500, seed=22)
    tifffile.imwrite(root / "slide.tif", truth, tile=(256, 256), compression="zlib", compressionargs={"level": 1})
    Project.create(root).close()
    w = _open(qtbot, root)
    src, item = w.session.image, w.canvas.tiled_image
    assert isinstance(src, TileSource) and src.needs_pyramid and started.wait(30)
    try:
        _zoomed_in_while_building(qtbot, w, truth)
    finally:
        release.set()
    shown = {k for k in item.cache if k[0] == 0}
    qtbot.waitUntil(lambda: src.ready, timeout=30000)
    assert shown and shown <= set(item.cache)  # the tiles on screen stay when the cache arrives
    _zoom_out_to_level_3(w)
    _tiles_painted(qtbot, w)  # now from the cache
    assert item.painted_levels[-1] >= 3 and src.full_decodes == 0
    w.close()


def _zoom_out_to_level_3(w) -> None:
    while w.canvas.scale_factor >= 1 / 8:
        w.canvas.zoom_by(0.5)


def _zoomed_in_while_building(qtbot, w, truth) -> None:
    src, item = w.session.image, w.canvas.tiled_image
    # zoomed out to the coarse levels, which wait for the cache: a placeholder, and nothing is read
    _zoom_out_to_level_3(w)
    w.canvas.viewport().repaint()
    assert item.wait_idle()  # reads the first (fitted) view asked for
    qtbot.wait(50)
    decoded = dict(src.tiff.decode_counts)
    for _ in range(3):
        w.canvas.viewport().repaint()
        qtbot.wait(20)
    assert not item.pending and dict(src.tiff.decode_counts) == decoded and min(item.painted_levels) <= 2
    assert all(k[0] < 3 for k in item.cache)
    shot = w.canvas.viewport().grab().toImage()
    assert shot.pixelColor(w.canvas.image_to_view(2250, 1450)).getRgb()[:3] == (90, 90, 90)  # placeholder

    w.canvas.actual_size()  # 1:1 is read from the TIFF's own tiles, cache or no cache
    w.canvas.centerOn(2300, 1400)
    _tiles_painted(qtbot, w)
    assert not src.ready and item.painted_levels[-1] == 0 and {k[0] for k in item.wanted} == {0}
    assert all(k[0] < 3 for k in item.cache)  # never a coarse level: those would stream the whole file
    shot = w.canvas.viewport().grab().toImage()
    for x, y in [(2300, 1400), (2111, 1305), (2470, 1530)]:
        view = w.canvas.image_to_view(x + 0.5, y + 0.5)
        to_image = w.canvas.viewportTransform().inverted()[0]
        shown = to_image.map(QPointF(view.x() + 0.5, view.y() + 0.5))  # the image pixel it shows
        expected = truth[int(math.floor(shown.y())), int(math.floor(shown.x()))]
        assert shot.pixelColor(view).getRgb()[:3] == tuple(int(v) for v in expected)
    xy = _Cursor(qtbot, w).move(2222.5, 1444.5)  # the readout works meanwhile too
    qtbot.waitUntil(lambda: w.pixel_status.label.text() == _rgb_text(truth, xy), timeout=5000)
    assert src.full_decodes == 0 and threading.get_ident() not in src.read_threads


def test_huge_png_has_no_readout_until_its_cache_exists_then_reads_it_at_once(qtbot, tmp_path, monkeypatch,
                                                                             held_build):
    release, started = held_build
    monkeypatch.setattr(tiles, "MAX_FULL_DECODE_PIXELS", 1_000_000)
    monkeypatch.setattr(tiles, "TILED_ABOVE_PIXELS", 1_000_000)
    root = tmp_path / "png"
    root.mkdir()
    truth = _pattern(1300, 1900, seed=23)
    Image.fromarray(truth).save(root / "scan.png", compress_level=1)
    Project.create(root).close()
    w = _open(qtbot, root)
    src, status = w.session.image, w.pixel_status
    cursor = _Cursor(qtbot, w)
    try:
        assert started.wait(30) and not src.ready
        cursor.move(700.5, 600.5)
        assert status.label.text() == "" and status.worker_reads == 0 and src.full_decodes == 0  # no decode
    finally:
        release.set()
    qtbot.waitUntil(lambda: src.ready, timeout=30000)
    for x, y in [(710.5, 610.5), (1500.5, 90.5)]:  # memory-mapped level 0: at once
        xy = cursor.move(x, y)
        assert status.label.text() == _rgb_text(truth, xy)
    assert status.worker_reads == 0 and src.full_decodes == 1  # the build's one decode
    w.close()
