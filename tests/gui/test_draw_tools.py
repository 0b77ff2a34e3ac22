"""Circle, line strip, scribble, polygon holes and vertex editing, driven by real mouse/key events."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from labeler.core import geometry
from labeler.core.project import Project

K = Qt.Key
SHIFT = Qt.KeyboardModifier.ShiftModifier
ALT = Qt.KeyboardModifier.AltModifier


def tol(canvas) -> float:
    return 1.0 / canvas.scale_factor + 0.01


def draw_polygon(mouse, points):
    for p in points:
        mouse.click(*p)
    mouse.key(K.Key_Return)


def select_at(window, mouse, x, y):
    window.set_tool("edit")
    mouse.click(x, y)


def test_circle_by_centre_and_radius_drag(window, mouse):
    doc = window.session.document
    window.actions_by_id["tool_circle"].trigger()
    assert window.canvas.tool.name == "circle"
    mouse.drag((200, 200), (260, 200))
    mouse.click(100, 100)  # click the centre, then the rim
    mouse.click(100, 130)
    assert [s.kind for s in doc.shapes] == ["circle", "circle"]
    c = doc.shapes[0]
    np.testing.assert_allclose(c.points[0], (200, 200), atol=tol(window.canvas))
    assert np.hypot(*(c.points[1] - c.points[0])) == pytest.approx(60, abs=2 * tol(window.canvas))
    second = doc.shapes[1]
    assert np.hypot(*(second.points[1] - second.points[0])) == pytest.approx(30, abs=2 * tol(window.canvas))
    m = geometry.shape_to_mask(c, 512, 512)
    assert m[200, 200] and m[200, 250] and not m[200, 270]


def test_linestrip_double_click_and_enter_end_it(window, mouse):
    doc = window.session.document
    window.set_tool("linestrip")
    for p in [(10, 10), (100, 20), (150, 90)]:
        mouse.click(*p)
    assert doc.shapes == [] and window.canvas.tool.busy
    mouse.double_click(200, 60)
    mouse.click(300, 300)
    mouse.key(K.Key_Return)  # one vertex is not a line
    assert "2 vertices" in window.statusBar().currentMessage()
    mouse.click(350, 320)
    mouse.key(K.Key_Enter)
    assert [s.kind for s in doc.shapes] == ["linestrip", "linestrip"]
    np.testing.assert_allclose(doc.shapes[0].points, [(10, 10), (100, 20), (150, 90), (200, 60)],
                               atol=tol(window.canvas))
    assert len(doc.shapes[1].points) == 2
    # clicking near the first vertex does not close a line strip as it would a polygon
    mouse.click(50, 400)
    mouse.click(120, 420)
    mouse.click(50, 401)
    mouse.key(K.Key_Return)
    assert len(doc.shapes[2].points) == 3


def test_scribble_is_a_weak_stroke_of_the_brush_width(window, mouse, qtbot):
    doc = window.session.document
    window.set_tool("scribble")
    window.edit_ops.set_brush_size(7)
    mouse.drag((50, 50), (150, 120), steps=10)
    assert len(doc.shapes) == 1
    s = doc.shapes[0]
    assert s.kind == "scribble" and s.is_weak and not s.is_area and s.width == 7
    assert len(s.points) >= 5
    np.testing.assert_allclose(s.points[0], (50, 50), atol=tol(window.canvas))
    np.testing.assert_allclose(s.points[-1], (150, 120), atol=tol(window.canvas))
    assert doc.undo_text == "add scribble"
    mouse.key(K.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert doc.shapes == []


def test_hole_tool_adds_a_ring_that_renders_as_a_hole_and_survives_reopening(window, mouse, demo_root):
    doc = window.session.document
    inside, hole = window.canvas.image_to_view(70, 70), window.canvas.image_to_view(150, 150)
    bare = window.canvas.grab().toImage()  # the image with no shapes on it
    draw_polygon(mouse, [(50, 50), (300, 50), (300, 300), (50, 300)])
    sid = doc.shapes[0].id
    window.actions_by_id["tool_hole"].trigger()
    draw_polygon(mouse, [(100, 100), (200, 100), (200, 200)])
    assert doc.shapes[0].holes == ()  # nothing selected: no hole, a note instead
    assert "select a polygon" in window.statusBar().currentMessage()
    select_at(window, mouse, 70, 70)
    window.actions_by_id["tool_hole"].trigger()
    draw_polygon(mouse, [(100, 100), (200, 100), (200, 200), (100, 200)])
    s = doc.get(sid)
    assert len(s.holes) == 1 and doc.undo_text == "add hole"
    m = geometry.shape_to_mask(s, 512, 512)
    assert m[70, 70] and not m[150, 150]
    # drawn as a hole: the painted path leaves the ring's inside empty
    item = window.canvas.shape_item(sid)
    assert item.path().contains(QPointF(70, 70)) and not item.path().contains(QPointF(150, 150))
    img = window.canvas.grab().toImage()
    assert img.pixelColor(inside) != bare.pixelColor(inside)  # filled
    assert img.pixelColor(hole) == bare.pixelColor(hole)  # the image shows through the hole
    # a ring that is not inside the polygon is refused
    draw_polygon(mouse, [(280, 280), (400, 280), (400, 400)])
    assert len(doc.get(sid).holes) == 1 and "inside" in window.statusBar().currentMessage()
    assert window.save() and window.session.flush_saves()
    again = Project.open(demo_root).load(window.session.key)
    saved = [x for x in again.shapes if x.id == sid][0]
    assert len(saved.holes) == 1
    np.testing.assert_allclose(saved.holes[0], s.holes[0])


def test_shift_in_polygon_tool_draws_a_hole_in_the_selected_polygon(window, mouse):
    doc = window.session.document
    draw_polygon(mouse, [(50, 50), (300, 50), (300, 300), (50, 300)])
    select_at(window, mouse, 70, 70)
    window.set_tool("polygon")
    mouse.click(100, 100, modifier=SHIFT)
    for p in [(200, 100), (150, 200)]:
        mouse.click(*p)
    mouse.key(K.Key_Return)
    assert len(doc.shapes) == 1 and len(doc.shapes[0].holes) == 1
    mouse.key(K.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert doc.shapes[0].holes == ()
    for p in [(100, 100), (200, 100), (150, 200)]:  # without Shift: a new polygon
        mouse.click(*p)
    mouse.key(K.Key_Return)
    assert len(doc.shapes) == 2


def test_insert_vertex_on_edge_and_delete_with_shift_click_or_delete_key(window, mouse, qtbot):
    doc = window.session.document
    draw_polygon(mouse, [(100, 100), (300, 100), (300, 300), (100, 300)])
    select_at(window, mouse, 200, 200)
    sid = doc.shapes[0].id
    mouse.click(200, 100)  # on the top edge: a new vertex
    s = doc.get(sid)
    assert len(s.points) == 5 and doc.undo_text == "insert vertex"
    np.testing.assert_allclose(s.points[1], (200, 100), atol=tol(window.canvas))
    mouse.drag((100, 200), (60, 200))  # press on the left edge and drag: insert and move, one step
    s = doc.get(sid)
    assert len(s.points) == 6
    np.testing.assert_allclose(s.points[-1], (60, 200), atol=2 * tol(window.canvas))
    mouse.key(K.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(doc.get(sid).points) == 5
    mouse.click(200, 100, modifier=SHIFT)  # Shift-click on a vertex deletes it
    assert len(doc.get(sid).points) == 4 and doc.undo_text == "delete vertex"
    qtbot.mouseMove(window.canvas.viewport(), mouse.at(300, 300))
    mouse.key(K.Key_Delete)  # Delete over a vertex deletes that vertex, not the shape
    s = doc.get(sid)
    assert len(s.points) == 3 and not any(np.allclose(p, (300, 300)) for p in s.points)
    qtbot.mouseMove(window.canvas.viewport(), mouse.at(100, 100))
    mouse.key(K.Key_Delete)  # a polygon keeps 3 vertices
    assert len(doc.get(sid).points) == 3 and "at least 3" in window.statusBar().currentMessage()
    qtbot.mouseMove(window.canvas.viewport(), mouse.at(200, 150))
    mouse.key(K.Key_Delete)  # not over a vertex: the shape goes
    assert doc.shapes == []


def test_alt_click_inserts_a_vertex_into_a_line_strip(window, mouse):
    doc = window.session.document
    window.set_tool("linestrip")
    mouse.click(100, 100)
    mouse.double_click(300, 100)
    select_at(window, mouse, 200, 101)
    sid = doc.shapes[0].id
    assert window.canvas.selected_ids == [sid]
    mouse.click(150, 100, modifier=ALT)
    s = doc.get(sid)
    assert len(s.points) == 3
    np.testing.assert_allclose(s.points[1], (150, 100), atol=tol(window.canvas))
    mouse.click(150, 100, modifier=SHIFT)
    mouse.click(100, 100, modifier=SHIFT)  # a line strip keeps 2
    assert len(doc.get(sid).points) == 2
