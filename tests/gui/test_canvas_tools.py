"""Drawing and editing on the canvas with real mouse and key events."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

K = Qt.Key
CTRL = Qt.KeyboardModifier.ControlModifier


def tol(canvas) -> float:
    """View positions are whole pixels: one screen pixel in image units, plus rounding."""
    return 1.0 / canvas.scale_factor + 0.01


def assert_points(shape, expected, canvas):
    assert shape.points.shape == (len(expected), 2)
    np.testing.assert_allclose(shape.points, np.array(expected, float), atol=tol(canvas))


def test_polygon_by_clicks_and_double_click(window, mouse):
    doc = window.session.document
    assert doc.shapes == []  # the demo's first image (astronaut) starts empty
    mouse.key(K.Key_N, CTRL)
    assert window.canvas.tool.name == "polygon"
    for p in [(50, 60), (200, 60), (200, 180)]:
        mouse.click(*p)
    assert doc.shapes == [] and window.canvas.tool.busy
    mouse.double_click(60, 170)
    assert len(doc.shapes) == 1
    s = doc.shapes[0]
    assert s.kind == "polygon" and s.label == window.canvas.current_label == "person"
    assert_points(s, [(50, 60), (200, 60), (200, 180), (60, 170)], window.canvas)
    assert not window.canvas.tool.busy
    assert window.shape_dock.list.count() == 1
    assert window.saved_label.text() == "unsaved" and window.windowTitle().endswith("*")


def test_polygon_backspace_drops_vertex_and_enter_closes(window, mouse):
    doc = window.session.document
    mouse.key(K.Key_2)  # class shortcut: the second class
    assert window.canvas.current_label == "cat"
    for p in [(10, 10), (100, 10), (300, 300), (100, 100)]:
        mouse.click(*p)
    mouse.key(K.Key_Backspace)  # drops (100, 100)
    mouse.key(K.Key_Backspace)  # drops (300, 300)
    mouse.click(100, 120)
    mouse.key(K.Key_Return)
    assert len(doc.shapes) == 1 and doc.shapes[0].label == "cat"
    assert_points(doc.shapes[0], [(10, 10), (100, 10), (100, 120)], window.canvas)


def test_polygon_escape_cancels_and_two_vertices_are_not_a_polygon(window, mouse):
    doc = window.session.document
    mouse.click(10, 10)
    mouse.click(50, 50)
    mouse.key(K.Key_Return)
    assert doc.shapes == [] and "3 vertices" in window.statusBar().currentMessage()
    mouse.key(K.Key_Escape)
    assert not window.canvas.tool.busy
    mouse.click(300, 300)
    assert window.canvas.tool.points and len(window.canvas.tool.points) == 1


def test_rectangle_by_drag_and_by_two_clicks(window, mouse):
    doc = window.session.document
    mouse.key(K.Key_R, CTRL)
    mouse.drag((40, 50), (140, 120))
    mouse.click(200, 200)
    mouse.click(260, 300)
    assert [s.kind for s in doc.shapes] == ["rectangle", "rectangle"]
    assert_points(doc.shapes[0], [(40, 50), (140, 120)], window.canvas)
    assert_points(doc.shapes[1], [(200, 200), (260, 300)], window.canvas)


def test_point_and_line_tools_and_clamping_to_image(window, mouse):
    doc = window.session.document
    window.actions_by_id["tool_point"].trigger()
    mouse.click(30, 40)
    window.actions_by_id["tool_line"].trigger()
    mouse.drag((10, 10), (100, 50))
    assert [s.kind for s in doc.shapes] == ["point", "line"]
    assert_points(doc.shapes[0], [(30, 40)], window.canvas)
    assert_points(doc.shapes[1], [(10, 10), (100, 50)], window.canvas)
    # a click outside the image lands on its border
    window.actions_by_id["tool_point"].trigger()
    w, h = window.canvas.image_size
    view = window.canvas.image_to_view(w + 5, h / 2)
    if window.canvas.viewport().rect().contains(view):
        mouse.click(w + 5, h / 2)
        assert doc.shapes[-1].points[0][0] == w


def test_undo_redo_with_shortcuts(window, mouse):
    doc = window.session.document
    mouse.key(K.Key_R, CTRL)
    mouse.drag((40, 50), (140, 120))
    mouse.drag((200, 200), (300, 300))
    assert len(doc.shapes) == 2
    mouse.key(K.Key_Z, CTRL)
    assert len(doc.shapes) == 1
    assert window.shape_dock.list.count() == 1
    mouse.key(K.Key_Z, CTRL)
    assert doc.shapes == [] and not window.actions_by_id["undo"].isEnabled()
    mouse.key(K.Key_Y, CTRL)
    mouse.key(K.Key_Y, CTRL)
    assert len(doc.shapes) == 2 and not window.actions_by_id["redo"].isEnabled()
    assert_points(doc.shapes[1], [(200, 200), (300, 300)], window.canvas)


def test_drag_moves_shape_in_one_undo_step(window, mouse):
    doc = window.session.document
    mouse.key(K.Key_R, CTRL)
    mouse.drag((100, 100), (200, 150))
    before = doc.shapes[0]
    mouse.key(K.Key_J, CTRL)
    assert window.canvas.tool.name == "edit"
    mouse.drag((150, 125), (190, 175), steps=8)
    after = doc.shapes[0]
    assert after.id == before.id
    np.testing.assert_allclose(after.points - before.points, [[40, 50], [40, 50]], atol=2 * tol(window.canvas))
    assert doc.undo_text == "move shape"
    mouse.key(K.Key_Z, CTRL)  # one step takes the whole drag back
    np.testing.assert_allclose(doc.shapes[0].points, before.points)
    mouse.key(K.Key_Z, CTRL)
    assert doc.shapes == []


def test_drag_vertex_reshapes_polygon(window, mouse):
    doc = window.session.document
    for p in [(50, 50), (150, 50), (150, 150)]:
        mouse.click(*p)
    mouse.key(K.Key_Return)
    window.set_tool("edit")
    mouse.click(120, 70)  # inside: selects
    assert window.canvas.selected_ids == [doc.shapes[0].id]
    assert window.shape_dock.selected_ids() == [doc.shapes[0].id]
    mouse.drag((150, 150), (180, 220))
    pts = doc.shapes[0].points
    np.testing.assert_allclose(pts[2], (180, 220), atol=2 * tol(window.canvas))
    np.testing.assert_allclose(pts[:2], [(50, 50), (150, 50)], atol=tol(window.canvas))
    assert doc.undo_text == "move vertex"


def test_select_delete_and_change_class(window, mouse):
    doc = window.session.document
    mouse.key(K.Key_R, CTRL)
    mouse.drag((10, 10), (60, 60))
    mouse.drag((100, 100), (160, 160))
    window.set_tool("edit")
    mouse.click(130, 130)
    second = doc.shapes[1].id
    assert window.canvas.selected_ids == [second]
    box = window.shape_dock.class_box
    box.activated.emit(box.findText("cup"))
    assert doc.shapes[1].label == "cup" and doc.shapes[0].label == "person"
    mouse.key(K.Key_Delete)
    assert [s.id for s in doc.shapes] == [doc.shapes[0].id] and second not in [s.id for s in doc.shapes]
    assert window.canvas.selected_ids == []
    mouse.click(500, 500)  # empty area: nothing selected
    assert window.canvas.selected_ids == []


def test_hidden_class_is_not_drawn_or_picked(window, mouse):
    doc = window.session.document
    mouse.key(K.Key_R, CTRL)
    mouse.drag((10, 10), (60, 60))
    sid = doc.shapes[0].id
    item = window.class_dock.list.item(0)  # "person"
    item.setCheckState(Qt.CheckState.Unchecked)
    assert not window.canvas.shape_item(sid).isVisible()
    window.set_tool("edit")
    mouse.click(30, 30)
    assert window.canvas.selected_ids == []
    item.setCheckState(Qt.CheckState.Checked)
    assert window.canvas.shape_item(sid).isVisible()


def _wheel(canvas, view_pos: QPoint, delta: int) -> None:
    ev = QWheelEvent(QPointF(view_pos), QPointF(canvas.viewport().mapToGlobal(view_pos)), QPoint(0, 0),
                     QPoint(0, delta), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                     Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(canvas.viewport(), ev)


def test_wheel_zooms_about_cursor_then_fit_and_actual_size(window):
    c = window.canvas
    fit_scale = c.scale_factor
    c.zoom_by(3.0)  # past the window on both axes, so that the view can scroll either way
    anchor = c.image_to_view(220, 240)
    before = c.mapToScene(anchor)
    for _ in range(3):
        _wheel(c, anchor, 120)
    assert c.scale_factor == pytest.approx(fit_scale * 3 * 1.15 ** 3, rel=1e-6)
    after = c.mapToScene(anchor)  # the image point under the cursor stays under it
    assert abs(after.x() - before.x()) <= 1.0 and abs(after.y() - before.y()) <= 1.0
    assert window.zoom_label.text() == f"{c.scale_factor * 100:.0f}%"
    _wheel(c, anchor, -120)
    assert c.scale_factor == pytest.approx(fit_scale * 3 * 1.15 ** 2, rel=1e-6)
    window.actions_by_id["actual_size"].trigger()
    assert c.scale_factor == 1.0
    window.actions_by_id["fit"].trigger()
    assert c.scale_factor == pytest.approx(fit_scale)


def test_middle_drag_and_space_drag_pan(window, qtbot, mouse):
    c = window.canvas
    c.zoom_by(4.0)
    h0, v0 = c.horizontalScrollBar().value(), c.verticalScrollBar().value()
    vp = c.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.MiddleButton, pos=QPoint(200, 200))
    qtbot.mouseMove(vp, QPoint(150, 170))
    qtbot.mouseRelease(vp, Qt.MouseButton.MiddleButton, pos=QPoint(150, 170))
    assert (c.horizontalScrollBar().value(), c.verticalScrollBar().value()) == (h0 + 50, v0 + 30)
    doc = window.session.document
    qtbot.keyPress(vp, K.Key_Space)
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=QPoint(150, 170))
    qtbot.mouseMove(vp, QPoint(170, 180))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=QPoint(170, 180))
    qtbot.keyRelease(vp, K.Key_Space)
    assert (c.horizontalScrollBar().value(), c.verticalScrollBar().value()) == (h0 + 30, v0 + 20)
    assert doc.shapes == [] and not c.tool.busy  # panning drew nothing


def test_overlay_opacity_action(window, mouse):
    mouse.key(K.Key_R, CTRL)
    mouse.drag((10, 10), (60, 60))
    item = window.canvas.shape_item(window.session.document.shapes[0].id)
    alpha = item.brush().color().alphaF()
    window.actions_by_id["opacity_up"].trigger()
    assert window.canvas.shape_item(window.session.document.shapes[0].id).brush().color().alphaF() > alpha + 0.05


def test_selecting_in_shape_list_selects_on_canvas(qtbot, window, mouse):
    doc = window.session.document
    mouse.key(K.Key_R, CTRL)
    mouse.drag((10, 10), (60, 60))
    mouse.drag((100, 100), (160, 160))
    lst = window.shape_dock.list
    qtbot.mouseClick(lst.viewport(), Qt.MouseButton.LeftButton, pos=lst.visualItemRect(lst.item(1)).center())
    assert window.canvas.selected_ids == [doc.shapes[1].id]
    assert window.canvas.shape_item(doc.shapes[1].id).is_selected_shape
    assert not window.canvas.shape_item(doc.shapes[0].id).is_selected_shape
    window.shape_dock.delete_button.click()
    assert len(doc.shapes) == 1 and window.shape_dock.list.count() == 1
