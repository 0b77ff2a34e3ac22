"""Huge images through tiles, thousands of polygons, background loading and the status index."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from labeler.core.annotation import ImageAnnotation, to_labelme_dict
from labeler.core.fileio import write_json_atomic
from labeler.core.project import Project
from labeler.core.shapes import Shape
from labeler.core.tiles import TileSource, write_raw_tiff
from labeler.gui import image_loader
from labeler.gui.main_window import MainWindow

from .conftest import activate

HUGE = 20_000
RED = (200, 30, 30)


def _open_window(qtbot, root, **kw) -> MainWindow:
    w = MainWindow(Project.open(root), autosave_s=3600, background_loading=True, **kw)
    qtbot.addWidget(w)
    activate(qtbot, w)
    qtbot.waitUntil(lambda: w.session.document is not None, timeout=10000)  # read in the loader's worker
    return w


def _wait_for_tiles(qtbot, canvas) -> None:
    item = canvas.tiled_image

    def all_painted() -> bool:
        canvas.viewport().repaint()
        return bool(item.wanted) and not item.pending and all(k in item.cache for k in item.wanted)

    qtbot.waitUntil(all_painted, timeout=15000)


@pytest.fixture
def huge_project(tmp_path):
    """A project whose first image is a 20,000 x 20,000 TIFF: red in its top 1,024 rows, black
    (a sparse hole, so the 1.2 GB file costs a few MB) below; then a small PNG."""
    root = tmp_path / "huge"
    root.mkdir()

    def fill(y0, y1):
        return np.broadcast_to(np.array(RED, np.uint8), (y1 - y0, HUGE, 3)) if y0 < 1024 else None

    write_raw_tiff(root / "a_scan.tif", HUGE, HUGE, fill)
    Image.new("RGB", (64, 48), (0, 90, 0)).save(root / "b_small.png")
    Project.create(root).close()
    return root


def test_huge_image_opens_through_tiles_read_off_the_gui_thread(qtbot, huge_project):
    w = _open_window(qtbot, huge_project)
    canvas = w.canvas
    src = canvas.tiled_image.source
    assert isinstance(src, TileSource) and canvas.image_size == (HUGE, HUGE)
    assert w.session.document.annotation.width == HUGE
    _wait_for_tiles(qtbot, canvas)
    # the fitted view shows the coarse levels only; nothing was decoded whole, nothing on this thread
    fitted_level = canvas.tiled_image.painted_levels[-1]
    assert fitted_level >= 4
    assert src.full_decodes == 0 and 0 < src.regions_read <= 16  # of 2,134 tiles in the pyramid
    assert all(level >= 4 for level, _, _ in canvas.tiled_image.cache)
    assert threading.get_ident() not in src.read_threads
    shot = canvas.viewport().grab().toImage()
    top, bottom = canvas.image_to_view(HUGE / 2, 300), canvas.image_to_view(HUGE / 2, HUGE * 0.75)
    assert shot.pixelColor(top).getRgb()[:3] == RED
    assert shot.pixelColor(bottom).getRgb()[:3] == (0, 0, 0)
    # zoom to 1:1 on the edge of the red band: full-resolution tiles arrive the same way
    canvas.actual_size()
    canvas.centerOn(HUGE / 2, 1024)
    _wait_for_tiles(qtbot, canvas)
    assert canvas.tiled_image.painted_levels[-1] == 0
    assert all(k[0] == 0 for k in canvas.tiled_image.wanted)
    shot = canvas.viewport().grab().toImage()
    assert shot.pixelColor(canvas.image_to_view(HUGE / 2, 1000)).getRgb()[:3] == RED
    assert shot.pixelColor(canvas.image_to_view(HUGE / 2, 1050)).getRgb()[:3] == (0, 0, 0)
    assert src.full_decodes == 0 and threading.get_ident() not in src.read_threads
    # the next image is an ordinary one: the tiled item steps aside
    w.go_relative(1)
    qtbot.waitUntil(lambda: w.session.key == "b_small.png", timeout=5000)
    assert canvas.tiled_image.source is None and canvas.image_size == (64, 48)
    w.close()


def test_next_image_loads_in_a_worker_and_edits_made_meanwhile_are_kept(qtbot, demo_root, monkeypatch):
    threads = []
    real_load = image_loader.load_image

    def recording_load(project, index, key):
        threads.append((key, threading.get_ident()))
        return real_load(project, index, key)

    monkeypatch.setattr(image_loader, "load_image", recording_load)
    w = _open_window(qtbot, demo_root)
    s = w.session
    assert s.key == "images/astronaut.png"
    qtbot.waitUntil(lambda: s.loader.prefetched is not None, timeout=5000)  # chelsea, read ahead
    assert [k for k, _ in threads] == ["images/astronaut.png", "images/chelsea.png"]  # the first one too
    w.go_relative(1)  # prefetched: shown at once
    assert s.key == "images/chelsea.png"
    qtbot.waitUntil(lambda: s.loader.prefetched is not None, timeout=5000)  # coffee, read ahead
    s.loader.prefetched = None  # forget it, so that coffee is read while we watch
    w.go_relative(1)
    assert s.key == "images/chelsea.png" and s.loading_index == 2  # the window did not wait
    doc = s.document
    drawn = doc.add_shape(Shape("rectangle", "cat", [(5, 5), (50, 40)]))  # an edit while it loads
    qtbot.waitUntil(lambda: s.key == "images/coffee.png", timeout=5000)
    # read ahead: chelsea, then coffee; coffee again when asked for; then rocket is read ahead
    assert [k for k, _ in threads][1:4] == ["images/chelsea.png", "images/coffee.png", "images/coffee.png"]
    assert all(t != threading.get_ident() for _, t in threads)
    assert sorted(x.label for x in s.document.shapes) == ["cup", "spoon"]
    assert w.canvas.image_size == (s.image.width(), s.image.height())
    # the edit made while coffee loaded was saved with chelsea, not dropped
    assert s.flush_saves()  # leaving chelsea queued its write in the writer thread
    saved = w.project.load("images/chelsea.png")
    assert any(x.same_as(drawn) for x in saved.shapes) and len(saved.shapes) == len(doc.shapes)
    w.close()


def test_skipping_ahead_shows_only_the_last_image_asked_for(qtbot, demo_root):
    w = _open_window(qtbot, demo_root)
    s = w.session
    opened = []
    s.image_opened.connect(opened.append)
    s.loader.prefetched = None
    for _ in range(3):
        w.go_relative(1)
    qtbot.waitUntil(lambda: s.key == "images/rocket.png", timeout=5000)
    qtbot.wait(100)
    assert opened[-1] == "images/rocket.png" and "images/coffee.png" not in opened
    w.close()


def _many_polygons(n, width, height):
    rng = np.random.default_rng(1)
    out = []
    for i in range(n):
        cx, cy = rng.uniform(30, width - 30), rng.uniform(30, height - 30)
        ang = np.linspace(0, 2 * np.pi, 12, endpoint=False)
        r = rng.uniform(8, 25)
        out.append(Shape("polygon", ("cat", "cup")[i % 2], np.stack([cx + r * np.cos(ang), cy + r * np.sin(ang)], 1)))
    return out


@pytest.mark.slow  # about 4 s: 5,000 polygons parsed, drawn and zoomed
def test_five_thousand_polygons_load_and_edits_touch_only_their_item(qtbot, tmp_path):
    root = tmp_path / "many"
    root.mkdir()
    Image.new("RGB", (3000, 2000), (40, 40, 40)).save(root / "field.png")
    proj = Project.create(root)
    ann = ImageAnnotation("../field.png", 3000, 2000, _many_polygons(5000, 3000, 2000))
    write_json_atomic(proj.annotation_path("field.png"), to_labelme_dict(ann), indent=None)  # compact: quicker
    proj.close()
    w = _open_window(qtbot, root)
    canvas, doc = w.canvas, w.session.document
    assert len(doc.shapes) == 5000 and len(canvas._items) == 5000
    canvas.fit()  # about 0.3: zoomed out, so thin outlines and no antialiasing
    assert canvas.scale_factor < 0.5 and canvas.detail.low
    item = canvas.shape_item(doc.shapes[0].id)
    assert item.pen().widthF() == 1.0
    canvas.viewport().repaint()
    before = {sid: it for sid, it in canvas._items.items()}
    rows = w.shape_dock.list
    first_row = rows.item(0)
    new_label = "cup" if doc.shapes[123].label == "cat" else "cat"
    target = doc.shapes[123].id
    doc.update_shape(target, label=new_label)
    changed = [sid for sid, it in canvas._items.items() if before[sid] is not it]
    assert changed == [target]
    # the shape list restyles the one row instead of rebuilding 5,000
    assert rows.count() == 5000 and rows.item(0) is first_row and rows.item(123).text() == f"{new_label}  (polygon)"
    # a zoom gesture: caches off while it lasts, full quality and caches back after it
    center = QPointF(canvas.viewport().rect().center())
    for _ in range(4):  # four wheel notches in a row
        QApplication.sendEvent(canvas.viewport(), QWheelEvent(
            center, canvas.viewport().mapToGlobal(center), QPoint(0, 0), QPoint(0, 240),
            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False))
    assert canvas.scale_factor > 0.7 and not canvas.detail.low and not canvas.detail.cached
    assert canvas.shape_item(doc.shapes[0].id).pen().widthF() == 2.0
    qtbot.waitUntil(lambda: canvas.detail.cached, timeout=3000)
    assert canvas.renderHints() & canvas.renderHints().Antialiasing
    doc.undo()  # nothing to save on close
    w.close()


def test_status_index_spares_parsing_on_open_and_follows_saves(qtbot, demo_root, monkeypatch):
    w = _open_window(qtbot, demo_root)
    qtbot.waitUntil(lambda: w.file_dock.summary.text() == "1 of 4 done", timeout=5000)
    assert w.session.status_index.reads == 2  # the demo's two annotation files, read once
    w.close()

    w = _open_window(qtbot, demo_root)
    assert w.session.status_index.reads == 0 and w.file_dock.summary.text() == "1 of 4 done"
    assert "[done]" in w.file_dock.list.item(1).text()
    w.mark_status("reviewed")
    assert w.session.save()
    w.close()

    w = _open_window(qtbot, demo_root)
    assert w.session.status_index.reads == 0
    assert "[reviewed]" in w.file_dock.list.item(0).text() and w.file_dock.summary.text() == "2 of 4 done"
    w.close()

    # an annotation changed by another program is stale: read again, in the background
    path = Project(demo_root).annotation_path("images/chelsea.png")
    path.write_text(path.read_text("utf-8").replace('"done"', '"in_progress"'), "utf-8")
    w = _open_window(qtbot, demo_root)
    qtbot.waitUntil(lambda: "[in progress]" in w.file_dock.list.item(1).text(), timeout=5000)
    assert w.session.status_index.reads == 1 and w.file_dock.summary.text() == "1 of 4 done"
    w.close()


def test_compressed_image_shown_tiled_is_decoded_once_in_a_worker(qtbot, tmp_path, monkeypatch):
    root = tmp_path / "png"
    root.mkdir()
    yy, xx = np.mgrid[0:1500, 0:2500]
    Image.fromarray(np.stack([xx % 256, yy % 256, np.full_like(xx, 77)], 2).astype(np.uint8)).save(root / "p.png")
    monkeypatch.setattr(image_loader, "should_tile", lambda w, h: True)  # as if it were 40,000 wide
    w = _open_window(qtbot, root)
    src = w.canvas.tiled_image.source
    assert isinstance(src, TileSource) and not src.lazy and src.full_decodes == 0
    w.canvas.actual_size()
    w.canvas.centerOn(1300, 700)
    _wait_for_tiles(qtbot, w.canvas)
    assert src.full_decodes == 1 and threading.get_ident() not in src.read_threads
    shot = w.canvas.viewport().grab().toImage()
    assert shot.pixelColor(w.canvas.image_to_view(1300.2, 700.2)).getRgb()[:3] == (1300 % 256, 700 % 256, 77)
    w.close()


def test_items_follow_every_kind_of_edit_when_only_changed_shapes_are_redrawn(window, mouse):
    from PySide6.QtCore import Qt as _Qt

    K, CTRL = _Qt.Key, _Qt.KeyboardModifier.ControlModifier
    canvas, doc = window.canvas, window.session.document

    def in_step() -> None:
        shown = {sid: (it.shape_data, it.zValue()) for sid, it in canvas._items.items()}
        assert shown == {s.id: (s, s.z * 1e6 + i) for i, s in enumerate(doc.shapes)}

    mouse.key(K.Key_R, CTRL)
    mouse.drag((100, 100), (200, 150))
    mouse.drag((300, 300), (400, 380))
    in_step()
    mouse.key(K.Key_J, CTRL)
    mouse.drag((150, 125), (190, 175), steps=6)  # a move: one shape replaced in place
    assert doc.last_change == frozenset({doc.shapes[0].id})
    in_step()
    for key in (K.Key_Z, K.Key_Z, K.Key_Y, K.Key_Y):  # undo the move, then the second rectangle; redo both
        mouse.key(key, CTRL)
        in_step()
    doc.update_shape(doc.shapes[1].id, label="cat")
    in_step()
    doc.raise_shape(doc.shapes[0].id)  # z-order change of one shape
    in_step()
    doc.remove_shape(doc.shapes[1].id)
    in_step()


def test_truncated_huge_image_says_so_in_the_status_bar(qtbot, tmp_path):
    root = tmp_path / "cut"
    root.mkdir()
    path = write_raw_tiff(root / "scan.tif", HUGE, HUGE)
    with open(path, "r+b") as f:
        f.truncate(10_000_000)  # the header promises 1.2 GB of pixels
    Project.create(root).close()
    w = _open_window(qtbot, root)
    assert isinstance(w.canvas.tiled_image.source, TileSource)
    w.canvas.viewport().repaint()
    qtbot.waitUntil(lambda: "scan.tif" in w.statusBar().currentMessage(), timeout=5000)
    assert "truncated" in w.statusBar().currentMessage()
    w.close()
