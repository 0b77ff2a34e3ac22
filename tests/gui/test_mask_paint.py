"""Brush, eraser and fill on masks with real mouse and key events; each stroke is one undo step."""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import Qt

from labeler.core import geometry
from labeler.core.shapes import MASK, Shape

K = Qt.Key
CTRL = Qt.KeyboardModifier.ControlModifier


def mask_of(shape) -> np.ndarray:
    return geometry.rle_decode(shape.rle)


def count_changes(doc) -> list:
    seen = []
    doc.changed.connect(seen.append)
    return seen


def test_brush_stroke_is_one_undo_step_and_adds_to_the_selected_mask(window, mouse):
    doc, canvas = window.session.document, window.canvas
    window.actions_by_id["tool_brush"].trigger()
    assert canvas.tool.name == "brush"
    window.edit_ops.set_brush_size(10)
    changes = count_changes(doc)
    mouse.drag((100, 100), (200, 100), steps=10)
    assert len(changes) == 1  # the RLE is written once, on release
    assert len(doc.shapes) == 1 and doc.shapes[0].kind == MASK and doc.shapes[0].label == "person"
    m = mask_of(doc.shapes[0])
    assert m[100, 100:200].all() and m[96:104, 150].all()
    assert not m[90, 150] and not m[110, 150] and not m[100, 220] and not m[300, 300]
    assert 100 * 9 <= m.sum() <= 112 * 12
    assert canvas.selected_ids == [doc.shapes[0].id]
    first = doc.shapes[0]
    mouse.drag((150, 150), (150, 250), steps=10)  # the selected mask of this class grows
    assert len(doc.shapes) == 1 and doc.shapes[0].id == first.id
    grown = mask_of(doc.shapes[0])
    assert grown[200, 150] and (grown | m).sum() == grown.sum() and grown.sum() > m.sum()
    assert doc.undo_text == "brush stroke"
    mouse.key(K.Key_Z, CTRL)
    np.testing.assert_array_equal(mask_of(doc.shapes[0]), m)  # exactly the mask before the stroke
    mouse.key(K.Key_Z, CTRL)
    assert doc.shapes == []
    mouse.key(K.Key_Y, CTRL)
    mouse.key(K.Key_Y, CTRL)
    np.testing.assert_array_equal(mask_of(doc.shapes[0]), grown)


def test_brush_paints_only_dirty_boxes_while_dragging(window, mouse, qtbot):
    canvas = window.canvas
    window.set_tool("brush")
    window.edit_ops.set_brush_size(6)
    vp = canvas.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=mouse.at(100, 100))
    for x in range(105, 160, 5):
        qtbot.mouseMove(vp, mouse.at(x, 100))
    overlay = canvas.tool.overlay
    assert overlay is not None and window.session.document.shapes == []
    boxes = overlay.dirty_rects
    assert len(boxes) >= 10
    assert all((x1 - x0) * (y1 - y0) < 40 * 40 for x0, y0, x1, y1 in boxes)  # never the whole image
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=mouse.at(160, 100))
    assert canvas.tool.overlay is None and overlay.scene() is None
    assert len(window.session.document.shapes) == 1


def test_brush_size_keys_and_spin_box(window, mouse, qtbot):
    canvas, box = window.canvas, window.edit_ops.size_box
    window.set_tool("brush")
    start = canvas.brush_size
    mouse.key(K.Key_BracketRight)
    assert canvas.brush_size > start and box.value() == canvas.brush_size
    mouse.key(K.Key_BracketLeft)
    mouse.key(K.Key_BracketLeft)
    assert canvas.brush_size < start and box.value() == canvas.brush_size
    box.setValue(30)
    assert canvas.brush_size == 30
    mouse.drag((200, 200), (201, 200), steps=1)
    m = mask_of(window.session.document.shapes[0])
    assert m[200, 186] and m[200, 214] and not m[200, 180]


def test_eraser_removes_pixels_from_the_selected_mask_and_undo_restores_it(window, mouse):
    doc = window.session.document
    window.set_tool("brush")
    window.edit_ops.set_brush_size(20)
    mouse.drag((100, 150), (300, 150), steps=10)
    before = mask_of(doc.shapes[0])
    window.set_tool("eraser")
    window.edit_ops.set_brush_size(8)
    mouse.drag((200, 120), (200, 180), steps=6)
    after = mask_of(doc.shapes[0])
    assert not after[140:160, 198:202].any() and after[150, 150] and after[150, 250]
    assert (after & ~before).sum() == 0 and before.sum() - after.sum() >= 8 * 18
    assert doc.undo_text == "erase"
    mouse.key(K.Key_Z, CTRL)
    np.testing.assert_array_equal(mask_of(doc.shapes[0]), before)


def test_eraser_without_selection_erases_every_mask_under_it(window, mouse):
    doc = window.session.document
    a = np.zeros((512, 512), bool)
    a[100:200, 100:200] = True
    b = np.zeros((512, 512), bool)
    b[150:250, 150:250] = True
    c = np.zeros((512, 512), bool)
    c[400:420, 400:420] = True
    doc.add_shapes([Shape(MASK, "person", rle=geometry.rle_encode(m)) for m in (a, b, c)])
    window.set_tool("eraser")
    window.canvas.select([])
    window.edit_ops.set_brush_size(10)
    mouse.drag((120, 175), (230, 175), steps=8)
    ma, mb, mc = (mask_of(s) for s in doc.shapes)
    assert not ma[175, 125:195].any() and not mb[175, 155:225].any()
    assert ma[120, 120] and mb[230, 230]
    np.testing.assert_array_equal(mc, c)  # not under the stroke: untouched
    mouse.key(K.Key_Z, CTRL)  # both masks come back in one step
    np.testing.assert_array_equal(mask_of(doc.shapes[0]), a)
    np.testing.assert_array_equal(mask_of(doc.shapes[1]), b)
    # erasing a small mask completely deletes it
    window.edit_ops.set_brush_size(40)
    mouse.drag((405, 410), (415, 410), steps=2)
    assert len(doc.shapes) == 2


def test_fill_closes_a_hole_in_the_selected_mask(window, mouse):
    doc = window.session.document
    ring = np.zeros((512, 512), np.uint8)
    cv2.circle(ring, (200, 200), 80, 1, -1)
    cv2.circle(ring, (200, 200), 40, 0, -1)
    disc = np.zeros((512, 512), np.uint8)
    cv2.circle(disc, (200, 200), 80, 1, -1)
    doc.add_shape(Shape(MASK, "person", rle=geometry.rle_encode(ring)))
    window.set_tool("edit")
    mouse.click(200, 140)  # on the ring: selects the mask
    assert window.canvas.selected_ids == [doc.shapes[0].id]
    window.actions_by_id["tool_fill"].trigger()
    mouse.click(205, 195)  # inside the hole
    assert len(doc.shapes) == 1 and doc.undo_text == "fill"
    np.testing.assert_array_equal(mask_of(doc.shapes[0]), disc.astype(bool))
    mouse.key(K.Key_Z, CTRL)
    np.testing.assert_array_equal(mask_of(doc.shapes[0]), ring.astype(bool))


def test_fill_inside_a_shape_makes_a_new_mask_of_the_current_class(window, mouse):
    doc = window.session.document
    window.set_tool("rectangle")
    mouse.drag((50, 60), (150, 160))
    rect = geometry.shape_to_mask(doc.shapes[0], 512, 512)
    mouse.key(K.Key_2)  # class "cat"
    window.set_tool("fill")
    mouse.click(100, 100)
    assert [s.kind for s in doc.shapes] == ["rectangle", "mask"] and doc.shapes[1].label == "cat"
    np.testing.assert_array_equal(mask_of(doc.shapes[1]), rect)
