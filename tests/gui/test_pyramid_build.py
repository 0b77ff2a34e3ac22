"""A huge compressed image in the window: a placeholder at once, its pyramid built in a worker,
then its tiles; the window answers all the while."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PIL import Image
from PySide6.QtGui import QImage

from labeler.core import pyramid_cache, tiles
from labeler.core.project import Project
from labeler.core.tiles import TileSource
from labeler.gui.main_window import MainWindow

from ..core.test_tiff_regions import _pattern
from .conftest import activate


@pytest.fixture
def held_build(monkeypatch):
    """Pyramid builds wait at their decode until ``release`` is set; ``threads`` records where
    they ran."""
    release, started, threads = threading.Event(), threading.Event(), []
    decode = pyramid_cache._decode_whole

    def held(source):
        threads.append(threading.get_ident())
        started.set()
        assert release.wait(20)
        return decode(source)

    monkeypatch.setattr(pyramid_cache, "_decode_whole", held)
    return release, started, threads


@pytest.fixture
def huge_png_project(tmp_path, monkeypatch):
    monkeypatch.setattr(tiles, "MAX_FULL_DECODE_PIXELS", 1_000_000)  # 2,600 x 1,900 counts as huge
    monkeypatch.setattr(tiles, "TILED_ABOVE_PIXELS", 1_000_000)
    root = tmp_path / "huge"
    root.mkdir()
    truth = _pattern(1900, 2600, seed=9)
    Image.fromarray(truth).save(root / "a_scan.png", compress_level=1)
    Image.new("RGB", (64, 48), (0, 90, 0)).save(root / "b_small.png")
    Project.create(root).close()
    return root, truth


def _open(qtbot, root) -> MainWindow:
    w = MainWindow(Project.open(root), autosave_s=3600, background_loading=True)
    qtbot.addWidget(w)
    activate(qtbot, w)
    qtbot.waitUntil(lambda: w.session.document is not None, timeout=10000)  # read in the loader's worker
    return w


def _rgb(img: QImage) -> np.ndarray:
    img = img.convertToFormat(QImage.Format.Format_RGB888)
    arr = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    return arr[:, : img.width() * 3].reshape(img.height(), img.width(), 3).copy()


def test_huge_png_shows_a_placeholder_then_its_tiles_after_the_build(qtbot, huge_png_project, held_build):
    root, truth = huge_png_project
    release, started, threads = held_build
    w = _open(qtbot, root)
    src, item = w.session.image, w.canvas.tiled_image
    assert isinstance(src, TileSource) and item.source is src and not src.ready
    assert w.pyramid_build.running and "building its pyramid" in w.statusBar().currentMessage()
    assert started.wait(30) and threads[0] != threading.get_ident()  # decoding in a worker thread

    # while the worker is held, the window answers: it paints the placeholder and reads no tile
    for _ in range(5):
        w.canvas.viewport().repaint()
        qtbot.wait(20)
    assert not item.pending and not item.cache
    w.canvas.zoom_by(1.5)
    assert w.zoom_label.text() != ""

    release.set()
    qtbot.waitUntil(lambda: src.ready, timeout=20000)
    assert w.pyramid_build.built == ["a_scan.png"] and "pyramid ready" in w.statusBar().currentMessage()
    w.canvas.fit()

    def painted() -> bool:
        w.canvas.viewport().repaint()
        return bool(item.wanted) and not item.pending and all(k in item.cache for k in item.wanted)

    qtbot.waitUntil(painted, timeout=15000)
    coarsest = (src.levels - 1, 0, 0)
    expected = truth
    for _ in range(src.levels - 1):
        expected = np.asarray(Image.fromarray(expected).reduce(2))
    assert np.array_equal(_rgb(item.cache[coarsest]), expected)
    assert src.full_decodes == 1 and len(threads) == 1
    w.close()


def test_leaving_the_image_cancels_its_build_and_coming_back_builds_it(qtbot, huge_png_project, held_build):
    root, truth = huge_png_project
    release, started, threads = held_build
    w = _open(qtbot, root)
    first = w.session.image
    assert started.wait(30)
    w.go_relative(1)
    qtbot.waitUntil(lambda: w.session.key == "b_small.png", timeout=10000)
    assert not w.pyramid_build.running
    release.set()
    qtbot.waitUntil(lambda: not w.pyramid_build._jobs, timeout=20000)  # the cancelled thread ended
    cache = root / ".labeler" / "pyramids"
    assert not first.ready and not [p for p in cache.iterdir()]  # cancelled: nothing kept, no partial

    w.go_relative(-1)
    qtbot.waitUntil(lambda: w.session.key == "a_scan.png", timeout=10000)
    src = w.session.image
    qtbot.waitUntil(lambda: src.ready, timeout=20000)
    assert len(threads) == 2 and np.array_equal(src.read_region(0, 0, 0, 9, 9), truth[:9, :9])
    w.close()


def test_an_undecodable_huge_image_says_why_in_the_status_bar(qtbot, huge_png_project):
    root, _ = huge_png_project
    data = (root / "a_scan.png").read_bytes()
    (root / "a_scan.png").write_bytes(data[: len(data) // 3])
    w = _open(qtbot, root)
    qtbot.waitUntil(lambda: not w.pyramid_build.running, timeout=20000)
    message = w.statusBar().currentMessage()
    assert "cannot show the image" in message and "a_scan.png" in message and "does not decode" in message
    w.close()


def test_huge_jpeg_shows_its_coarse_draft_while_the_cache_builds(qtbot, tmp_path, monkeypatch, held_build):
    release, started, _ = held_build
    monkeypatch.setattr(tiles, "MAX_FULL_DECODE_PIXELS", 1_000_000)
    monkeypatch.setattr(tiles, "TILED_ABOVE_PIXELS", 1_000_000)
    root = tmp_path / "jpeg"
    root.mkdir()
    yy, xx = np.mgrid[0:1400, 0:4700]
    Image.fromarray(np.stack([xx % 256, yy % 256, (xx + yy) // 16 % 256], 2).astype(np.uint8)).save(root / "wide.jpg")
    Project.create(root).close()
    w = _open(qtbot, root)
    src, item = w.session.image, w.canvas.tiled_image
    assert started.wait(30) and not src.ready and src.preview_level == 3

    def painted() -> bool:
        w.canvas.viewport().repaint()
        return bool(item.wanted) and not item.pending and all(k in item.cache for k in item.wanted)

    w.canvas.actual_size()  # 1:1 asks for level 0: the draft's level 3 is shown scaled up meanwhile
    qtbot.waitUntil(painted, timeout=15000)
    assert item.cache and {key[0] for key in item.cache} <= {3, 4} and src.full_decodes == 0
    release.set()
    qtbot.waitUntil(lambda: src.ready, timeout=20000)
    qtbot.waitUntil(painted, timeout=15000)
    assert 0 in {key[0] for key in item.cache} and src.full_decodes == 1
    w.close()


def test_reloading_the_image_keeps_its_build_going(qtbot, huge_png_project, held_build):
    root, truth = huge_png_project
    release, started, threads = held_build
    w = _open(qtbot, root)
    assert started.wait(30)
    w.session.reload()  # a job rewrote the annotation: a new source for the same file
    src = w.session.image
    assert w.pyramid_build.running and w.pyramid_build.source is src
    release.set()
    qtbot.waitUntil(lambda: src.ready, timeout=20000)
    assert len(threads) == 1 and w.canvas.tiled_image.source is src
    assert np.array_equal(src.read_region(0, 2590, 1890, 2600, 1900), truth[1890:, 2590:])
    w.close()
