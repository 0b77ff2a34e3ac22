"""The intelligent scissors tool, driven with real clicks, mouse moves and keys on a disk image."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from labeler.core.geometry import mask_iou, polygon_to_mask
from labeler.core.project import Project
from labeler.core.schema import Schema
from labeler.gui.actions import ACTIONS

from ..assist.test_live_wire import CX, CY, H, R, W, disk_image, rim
from .conftest import Mouse, activate

K = Qt.Key
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def disk_window(qtbot, tmp_path):
    from labeler.gui.main_window import MainWindow

    root = tmp_path / "proj"
    root.mkdir()
    rgb, disk = disk_image(3)
    Image.fromarray(rgb).save(root / "disk.png")
    Project.create(root, Schema.from_names(["disk", "other"])).close()
    w = MainWindow(Project.open(root), autosave_s=3600)
    qtbot.addWidget(w)
    activate(qtbot, w)
    w.class_dock.select("disk")
    w.disk_mask = disk
    yield w
    w.close()


def choose_scissors(window, qtbot, mouse: Mouse):
    mouse.key(K.Key_P, CTRL_SHIFT)
    tool = window.canvas.tool
    assert tool.name == "scissors" and window.actions_by_id["tool_scissors"].isChecked()
    return tool


def preview_points(canvas) -> np.ndarray:
    path = canvas._preview.path()
    return np.array([(path.elementAt(i).x, path.elementAt(i).y) for i in range(path.elementCount())])


def test_clicks_on_the_rim_make_one_polygon_that_follows_the_disk(qtbot, disk_window):
    w, canvas = disk_window, disk_window.canvas
    mouse = Mouse(qtbot, canvas)
    tool = choose_scissors(w, qtbot, mouse)
    doc = w.session.document
    a, b, c = rim([0, 120, 240])
    mouse.click(*a)
    qtbot.waitUntil(lambda: tool.map_ready, timeout=5000)
    # the live wire to the cursor bends along the rim, not the chord
    toward = rim([60])[0]
    mouse.qtbot.mouseMove(canvas.viewport(), mouse.at(*toward))
    live, snapped = tool.live_segment()
    assert snapped and len(live) > 10
    radii = np.hypot(live[:, 0] - CX, live[:, 1] - CY)
    assert np.all(np.abs(radii - R) < 4.0)
    assert len(preview_points(canvas)) > 10  # the preview shows that path
    mouse.click(*b)
    mouse.click(*c)
    mouse.double_click(*c)  # closes: back to the first anchor along the rim too
    qtbot.waitUntil(lambda: len(doc.shapes) == 1, timeout=10000)
    s = doc.shapes[0]
    assert s.kind == "polygon" and s.label == "disk"
    iou = mask_iou(polygon_to_mask(s.points, height=H, width=W), w.disk_mask)
    straight = mask_iou(polygon_to_mask(np.array([a, b, c]), height=H, width=W), w.disk_mask)
    assert iou >= 0.95 and straight < 0.5
    assert len(s.points) < 150  # simplified
    assert not tool.busy and tool.settled
    w.undo()  # one undo step removes it
    assert doc.shapes == []
    w.set_tool("polygon")
    again = choose_scissors(w, qtbot, mouse)
    assert again is not tool and again.worker is tool.worker  # one worker thread per canvas
    assert doc.shapes == []


def test_backspace_drops_the_last_segment_and_escape_cancels(qtbot, disk_window):
    w, canvas = disk_window, disk_window.canvas
    mouse = Mouse(qtbot, canvas)
    tool = choose_scissors(w, qtbot, mouse)
    doc = w.session.document
    a, b, c, d = rim([0, 90, 180, 270])
    for p in (a, b, (20.0, 20.0)):  # the last one is a wrong click in the background
        mouse.click(*p)
    assert len(tool.anchors) == 3
    mouse.key(K.Key_Backspace)
    assert len(tool.anchors) == 2 and len(tool.segments) == 1
    np.testing.assert_allclose(tool.anchors, [a, b], atol=1.0)  # mouse positions are whole view pixels
    for p in (c, d):
        mouse.click(*p)
    mouse.key(K.Key_Return)
    qtbot.waitUntil(lambda: len(doc.shapes) == 1, timeout=10000)
    pts = doc.shapes[0].points
    assert mask_iou(polygon_to_mask(pts, height=H, width=W), w.disk_mask) >= 0.95
    assert pts[:, 0].min() > CX - R - 3 and pts[:, 1].min() > CY - R - 3  # the wrong click is gone
    mouse.click(*a)
    mouse.click(*b)
    mouse.key(K.Key_Escape)
    assert not tool.busy and canvas._preview.path().isEmpty()
    mouse.key(K.Key_Return)  # nothing to close
    assert len(doc.shapes) == 1
    w.undo()
    assert doc.shapes == []


def test_until_the_map_is_ready_segments_are_straight_and_the_window_answers(qtbot, disk_window, monkeypatch):
    from labeler.assist import live_wire

    real = live_wire.LiveWire.build_map

    def slow_build_map(self, anchor):
        time.sleep(0.4)
        return real(self, anchor)

    monkeypatch.setattr(live_wire.LiveWire, "build_map", slow_build_map)
    w, canvas = disk_window, disk_window.canvas
    mouse = Mouse(qtbot, canvas)
    tool = choose_scissors(w, qtbot, mouse)
    doc = w.session.document
    a, b, c = rim([30, 150, 270])
    mouse.click(*a)
    t0 = time.perf_counter()
    mouse.qtbot.mouseMove(canvas.viewport(), mouse.at(*b))
    live, snapped = tool.live_segment()
    assert time.perf_counter() - t0 < 0.3 and not snapped and len(live) == 2  # straight meanwhile
    mouse.click(*b)
    mouse.click(*c)
    mouse.double_click(*c)
    assert doc.shapes == [] and tool.closing  # added once the maps are built
    qtbot.waitUntil(lambda: len(doc.shapes) == 1, timeout=10000)
    iou = mask_iou(polygon_to_mask(doc.shapes[0].points, height=H, width=W), w.disk_mask)
    assert iou >= 0.95  # the segments fixed before their maps existed were traced afterwards


def test_the_action_has_a_free_shortcut_and_a_chinese_text():
    import xml.etree.ElementTree as ET
    from importlib.resources import files

    from labeler.gui.dialogs.shortcuts import shortcut_rows

    spec = next(a for a in ACTIONS if a.id == "tool_scissors")
    assert "tool_scissors" in {r[0] for r in shortcut_rows()}
    assert [a.id for a in ACTIONS if a.shortcut == spec.shortcut] == ["tool_scissors"]
    root = ET.fromstring((files("labeler.resources") / "translations" / "labeler_zh_CN.ts").read_bytes())
    texts = {m.findtext("source"): m.findtext("translation") for ctx in root.iter("context")
             if ctx.findtext("name") == "actions" for m in ctx.iter("message")}
    assert texts.get(spec.text) and any("\u4e00" <= ch <= "\u9fff" for ch in texts[spec.text])


def test_a_wide_image_is_traced_in_a_crop_around_the_first_anchor(qtbot, tmp_path):
    from labeler.assist.live_wire import MAX_SIDE
    from labeler.gui.main_window import MainWindow

    rgb, disk = disk_image(4)
    wide = np.full((H, MAX_SIDE + 600, 3), 40, np.uint8)
    x_off = wide.shape[1] - W
    wide[:, x_off:] = rgb
    root = tmp_path / "wide"
    root.mkdir()
    Image.fromarray(wide).save(root / "wide.png")
    Project.create(root, Schema.from_names(["disk"])).close()
    w = MainWindow(Project.open(root), autosave_s=3600)
    qtbot.addWidget(w)
    activate(qtbot, w)
    w.class_dock.select("disk")
    canvas = w.canvas
    mouse = Mouse(qtbot, canvas)
    tool = choose_scissors(w, qtbot, mouse)  # prepares the crop around the view's centre at once
    qtbot.waitUntil(lambda: tool.wire is not None, timeout=5000)
    assert tool.wire.origin == ((wide.shape[1] - MAX_SIDE) // 2, 0)  # the fitted view's centre
    canvas.zoom_by(4.0)  # anchors a few image pixels apart need a closer view
    canvas.centerOn(x_off + CX, CY)
    anchors = [(x + x_off, y) for x, y in rim([0, 120, 240])]
    for p in anchors:
        mouse.click(*p)
    mouse.key(K.Key_Return)
    doc = w.session.document
    qtbot.waitUntil(lambda: len(doc.shapes) == 1, timeout=10000)
    assert tool.wire.origin == (wide.shape[1] - MAX_SIDE, 0) and tool.wire.size == (MAX_SIDE, H)
    pts = doc.shapes[0].points - [x_off, 0]
    assert mask_iou(polygon_to_mask(pts, height=H, width=W), disk) >= 0.95
    w.close()


def test_pixels_are_read_from_a_qimage_or_a_tile_source(tmp_path):
    from labeler.core.tiles import TileSource
    from labeler.gui.tiled_image import rgb_to_qimage
    from labeler.gui.tools.scissors import read_pixels

    rgb, _ = disk_image(5)
    rgb = rgb.copy()
    rgb[:, :, 0] = np.arange(W, dtype=np.uint8)[None, :]  # channels differ: an RGB/BGR mix-up shows
    Image.fromarray(rgb).save(tmp_path / "d.png")
    crop = (37, 11, 301, 200)
    want = rgb[11:200, 37:301]
    np.testing.assert_array_equal(read_pixels(rgb_to_qimage(rgb), crop), want)
    np.testing.assert_array_equal(read_pixels(TileSource(tmp_path / "d.png"), crop), want)


def test_when_the_edges_cannot_be_prepared_the_sides_are_straight_and_the_user_is_told(
        qtbot, disk_window, monkeypatch):
    from labeler.assist import live_wire

    def broken(self, pixels, origin=(0, 0)):
        raise ValueError("disk.png: cannot read pixels")

    monkeypatch.setattr(live_wire.LiveWire, "__init__", broken)
    w, canvas = disk_window, disk_window.canvas
    messages = []
    canvas.message.connect(messages.append)
    mouse = Mouse(qtbot, canvas)
    tool = choose_scissors(w, qtbot, mouse)
    qtbot.waitUntil(lambda: tool.settled, timeout=5000)
    assert any("straight segments (disk.png: cannot read pixels)" in m for m in messages)
    anchors = rim([0, 120, 240])
    for p in anchors:
        mouse.click(*p)
    mouse.key(K.Key_Return)
    doc = w.session.document
    assert len(doc.shapes) == 1  # at once: nothing to wait for
    np.testing.assert_allclose(doc.shapes[0].points, anchors, atol=1.0)


def test_coming_back_to_the_scissors_on_the_same_image_keeps_its_edges(qtbot, tmp_path, monkeypatch):
    """applyImage runs once per shown image: choosing another tool and coming back reuses the
    prepared edges; another image prepares its own (and a later tool switch there reuses those)."""
    import cv2

    from labeler.gui.main_window import MainWindow

    applied = []
    real_scissors = cv2.segmentation.IntelligentScissorsMB

    class CountingScissors:
        def __init__(self):
            self._real = real_scissors()

        def applyImage(self, image):  # noqa: N802 (OpenCV's name)
            applied.append(image.shape)
            return self._real.applyImage(image)

        def __getattr__(self, name):
            return getattr(self._real, name)

    monkeypatch.setattr(cv2.segmentation, "IntelligentScissorsMB", CountingScissors)
    root = tmp_path / "proj"
    root.mkdir()
    rgb, disk = disk_image(3)
    Image.fromarray(rgb).save(root / "a_disk.png")
    Image.fromarray(rgb[::-1].copy()).save(root / "b_disk.png")
    Project.create(root, Schema.from_names(["disk"])).close()
    w = MainWindow(Project.open(root), autosave_s=3600)
    qtbot.addWidget(w)
    activate(qtbot, w)
    try:
        canvas, mouse = w.canvas, Mouse(qtbot, w.canvas)
        tool = choose_scissors(w, qtbot, mouse)
        qtbot.waitUntil(lambda: tool.wire is not None and tool.settled, timeout=5000)
        assert len(applied) == 1
        for _ in range(3):  # another tool, then the scissors again: ready at once, nothing re-applied
            mouse.key(K.Key_J, Qt.KeyboardModifier.ControlModifier)
            assert canvas.tool.name == "edit"
            tool = choose_scissors(w, qtbot, mouse)
            assert tool.wire is not None
            qtbot.wait(50)
            assert len(applied) == 1
        a, b = rim([0, 120])
        mouse.click(*a)  # the kept edges still trace along the rim
        qtbot.waitUntil(lambda: tool.map_ready, timeout=5000)
        mouse.qtbot.mouseMove(canvas.viewport(), mouse.at(*b))
        live, snapped = tool.live_segment()
        assert snapped and np.all(np.abs(np.hypot(live[:, 0] - CX, live[:, 1] - CY) - R) < 4.0)
        mouse.key(K.Key_Escape)
        assert len(applied) == 1
        # another image, shown while another tool is chosen: its own edges, prepared once
        mouse.key(K.Key_J, Qt.KeyboardModifier.ControlModifier)
        first = canvas.shown_image
        w.go_relative(1)
        qtbot.waitUntil(lambda: canvas.shown_image is not None and canvas.shown_image is not first, timeout=5000)
        assert w.session.key == "b_disk.png"
        tool = choose_scissors(w, qtbot, mouse)
        assert tool.wire is None  # the first image's edges are not used for this one
        qtbot.waitUntil(lambda: tool.wire is not None and tool.settled, timeout=5000)
        assert len(applied) == 2
        mouse.key(K.Key_J, Qt.KeyboardModifier.ControlModifier)
        tool = choose_scissors(w, qtbot, mouse)
        qtbot.wait(50)
        assert tool.wire is not None and len(applied) == 2
    finally:
        w.close()
