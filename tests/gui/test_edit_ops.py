"""Copy/paste/duplicate, merge/subtract, mask <-> polygon and view options, from the window."""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import Qt

from labeler.core import geometry
from labeler.core.shapes import MASK, Shape

K = Qt.Key
CTRL = Qt.KeyboardModifier.ControlModifier
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


def tol(canvas) -> float:
    return 1.0 / canvas.scale_factor + 0.01


def rectangles(window, mouse, boxes):
    window.set_tool("rectangle")
    for p0, p1 in boxes:
        mouse.drag(p0, p1)
    window.set_tool("edit")


def test_copy_paste_with_offset_duplicate_and_paste_at_cursor(window, mouse, qtbot):
    doc, canvas = window.session.document, window.canvas
    rectangles(window, mouse, [((100, 100), (150, 140))])
    src = doc.shapes[0]
    mouse.click(120, 120)
    mouse.key(K.Key_C, CTRL)
    mouse.key(K.Key_V, CTRL)
    mouse.key(K.Key_V, CTRL)
    assert len(doc.shapes) == 3 and len({s.id for s in doc.shapes}) == 3
    np.testing.assert_allclose(doc.shapes[1].points, src.points + 10)
    np.testing.assert_allclose(doc.shapes[2].points, src.points + 20)  # each paste a little further
    assert canvas.selected_ids == [doc.shapes[2].id] and doc.undo_text == "paste"
    mouse.key(K.Key_D, CTRL)
    np.testing.assert_allclose(doc.shapes[3].points, src.points + 30)
    qtbot.mouseMove(canvas.viewport(), mouse.at(400, 400))
    mouse.key(K.Key_V, CTRL_SHIFT)
    pasted = doc.shapes[4]
    centre = pasted.points.mean(axis=0)
    np.testing.assert_allclose(centre, (400, 400), atol=2 * tol(canvas))
    mouse.key(K.Key_Z, CTRL)
    assert len(doc.shapes) == 4


def test_copy_and_paste_onto_the_next_image_keeps_position(window, mouse):
    doc = window.session.document
    rectangles(window, mouse, [((20, 30), (60, 90))])
    mouse.click(40, 50)
    mouse.key(K.Key_C, CTRL)
    points = doc.shapes[0].points.copy()
    assert window.go_relative(1)
    other = window.session.document
    n = len(other.shapes)
    mouse.key(K.Key_V, CTRL)
    assert len(other.shapes) == n + 1
    np.testing.assert_allclose(other.shapes[-1].points, points)


def test_merge_two_overlapping_rectangles_is_their_union(window, mouse):
    doc, canvas = window.session.document, window.canvas
    rectangles(window, mouse, [((100, 100), (200, 200)), ((150, 150), (260, 240))])
    a, b = doc.shapes
    expected = geometry.shape_to_mask(a, 512, 512) | geometry.shape_to_mask(b, 512, 512)
    mouse.click(110, 110)
    mouse.click(250, 230, modifier=CTRL)
    assert canvas.selected_ids == [a.id, b.id]
    mouse.key(K.Key_M, CTRL)
    assert len(doc.shapes) == 1 and doc.shapes[0].kind == "polygon" and doc.shapes[0].id == a.id
    assert geometry.mask_iou(geometry.shape_to_mask(doc.shapes[0], 512, 512), expected) > 0.999
    mouse.key(K.Key_Z, CTRL)
    assert [s.kind for s in doc.shapes] == ["rectangle", "rectangle"]


def test_subtract_inner_shape_makes_a_hole(window, mouse):
    doc, canvas = window.session.document, window.canvas
    rectangles(window, mouse, [((50, 50), (300, 300)), ((120, 120), (200, 200))])
    outer, inner = doc.shapes
    mouse.click(60, 60)
    mouse.click(160, 160, modifier=CTRL)
    assert canvas.selected_ids == [outer.id, inner.id]
    mouse.key(K.Key_M, CTRL_SHIFT)
    cut = doc.get(outer.id)
    assert cut.kind == "polygon" and len(cut.holes) == 1
    m = geometry.shape_to_mask(cut, 512, 512)
    assert m[60, 60] and not m[160, 160]
    assert m.sum() == 250 * 250 - 80 * 80
    assert doc.get(inner.id).same_as(inner)  # the cutter stays
    mouse.key(K.Key_Z, CTRL)
    assert doc.get(outer.id).same_as(outer)


def test_mask_to_polygons_and_back(window, mouse):
    doc, canvas = window.session.document, window.canvas
    m = np.zeros((512, 512), np.uint8)
    cv2.circle(m, (200, 200), 90, 1, -1)
    cv2.circle(m, (200, 200), 30, 0, -1)
    cv2.rectangle(m, (350, 50), (420, 120), 1, -1)
    doc.add_shape(Shape(MASK, "cat", rle=geometry.rle_encode(m)))
    window.set_tool("edit")
    mouse.click(200, 130)
    window.actions_by_id["mask_to_polygons"].trigger()
    assert [s.kind for s in doc.shapes] == ["polygon", "polygon"] and doc.undo_text == "mask to polygons"
    assert all(s.label == "cat" for s in doc.shapes)
    back = np.zeros((512, 512), bool)
    for s in doc.shapes:
        back |= geometry.shape_to_mask(s, 512, 512)
    assert geometry.mask_iou(back, m.astype(bool)) >= 0.99
    assert sum(len(s.holes) for s in doc.shapes) == 1
    assert sorted(canvas.selected_ids) == sorted(s.id for s in doc.shapes)
    window.actions_by_id["polygon_to_mask"].trigger()
    assert [s.kind for s in doc.shapes] == ["mask", "mask"]
    np.testing.assert_array_equal(geometry.rle_decode(doc.shapes[0].rle) | geometry.rle_decode(doc.shapes[1].rle),
                                  back)
    mouse.key(K.Key_Z, CTRL)
    mouse.key(K.Key_Z, CTRL)
    assert len(doc.shapes) == 1 and np.array_equal(geometry.rle_decode(doc.shapes[0].rle), m.astype(bool))


def test_outline_only_and_colour_by_instance(window, mouse):
    doc, canvas = window.session.document, window.canvas
    rectangles(window, mouse, [((10, 10), (60, 60)), ((100, 100), (160, 160))])
    doc.update_shape(doc.shapes[0].id, instance_id=1)
    doc.update_shape(doc.shapes[1].id, instance_id=2)
    m = np.zeros((512, 512), bool)
    m[300:340, 300:340] = True
    doc.add_shape(Shape(MASK, "person", rle=geometry.rle_encode(m), instance_id=1))
    ids = [s.id for s in doc.shapes]
    mask_item = canvas.shape_item(ids[2])._mask  # drawn as a pixmap of the mask's bounding box
    assert (mask_item.pos().x(), mask_item.pos().y()) == (300, 300)
    assert (mask_item.pixmap().width(), mask_item.pixmap().height()) == (40, 40)
    colors = [canvas.shape_item(i).pen().color().rgb() for i in ids[:2]]
    assert colors[0] == colors[1]  # same class, same colour
    assert canvas.shape_item(ids[0]).brush().style() != Qt.BrushStyle.NoBrush
    window.actions_by_id["view_outline"].trigger()
    assert canvas.outline_only
    assert canvas.shape_item(ids[0]).brush().style() == Qt.BrushStyle.NoBrush
    pm = canvas.shape_item(ids[2])._mask.pixmap().toImage()
    assert pm.pixelColor(0, 0).alpha() > 0 and pm.pixelColor(20, 20).alpha() == 0  # border only
    window.actions_by_id["color_by_instance"].trigger()
    c0, c1, c2 = (canvas.shape_item(i).pen().color().rgb() for i in ids)
    assert c0 != c1
    assert canvas.shape_item(ids[0])._color == canvas.shape_item(ids[2])._color  # instance 1 twice
    window.actions_by_id["view_fill"].trigger()
    window.actions_by_id["color_by_class"].trigger()
    assert canvas.shape_item(ids[0]).brush().style() != Qt.BrushStyle.NoBrush
    assert canvas.shape_item(ids[1]).pen().color().rgb() == colors[0]
    assert canvas.shape_item(ids[2])._mask.pixmap().toImage().pixelColor(20, 20).alpha() > 0


def test_subtract_a_band_splits_a_shape_and_masks_paste_shifted(window, mouse):
    doc, canvas = window.session.document, window.canvas
    rectangles(window, mouse, [((50, 50), (250, 150)), ((130, 20), (170, 200))])
    outer, band = doc.shapes
    canvas.select([outer.id, band.id])
    window.actions_by_id["subtract"].trigger()
    pieces = [s for s in doc.shapes if s.id != band.id]
    assert len(pieces) == 2 and all(s.kind == "polygon" and s.label == outer.label for s in pieces)
    assert sum(geometry.shape_to_mask(s, 512, 512).sum() for s in pieces) == 200 * 100 - 40 * 100
    mouse.key(K.Key_Z, CTRL)
    assert len(doc.shapes) == 2 and doc.get(outer.id).same_as(outer)
    m = np.zeros((512, 512), bool)
    m[300:320, 300:330] = True
    doc.add_shape(Shape(MASK, "cat", rle=geometry.rle_encode(m)))
    canvas.select([doc.shapes[-1].id])
    mouse.key(K.Key_C, CTRL)
    mouse.key(K.Key_V, CTRL)
    pasted = geometry.rle_decode(doc.shapes[-1].rle)
    assert pasted.sum() == m.sum() and pasted[310:330, 310:340].all()


def test_read_only_image_refuses_every_operation(window, mouse):
    doc, canvas = window.session.document, window.canvas
    rectangles(window, mouse, [((50, 50), (150, 150)), ((100, 100), (200, 200))])
    canvas.select([s.id for s in doc.shapes])
    mouse.key(K.Key_C, CTRL)
    before, revision = list(doc.shapes), doc.revision
    canvas.read_only_reason = "test image"
    for key, mod in ((K.Key_V, CTRL), (K.Key_D, CTRL), (K.Key_M, CTRL), (K.Key_M, CTRL_SHIFT)):
        mouse.key(key, mod)
    window.actions_by_id["polygon_to_mask"].trigger()
    for tool in ("brush", "eraser"):
        window.set_tool(tool)
        mouse.drag((120, 120), (180, 180))
    window.set_tool("fill")
    mouse.click(300, 300)
    assert len(doc.shapes) == 2 and all(a is b for a, b in zip(doc.shapes, before))
    assert doc.revision == revision  # not one edit went through
    assert "read-only" in window.statusBar().currentMessage()
