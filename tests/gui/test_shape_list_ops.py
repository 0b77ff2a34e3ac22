"""The shape list: selection both ways, instance id, z-order (buttons and shortcuts), delete."""

from __future__ import annotations

from PySide6.QtCore import Qt

from labeler.core.shapes import Shape

K = Qt.Key
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


def _three(window):
    doc = window.session.document
    shapes = [Shape("rectangle", "person", [(10 + 30 * i, 10), (80 + 30 * i, 80)]) for i in range(3)]
    doc.add_shapes(shapes)
    return doc, [s.id for s in shapes]


def _row(window, sid):
    return window.shape_dock.list.item(window.shape_dock._ids.index(sid))


def test_selecting_rows_selects_on_canvas_and_back(qtbot, window):
    doc, ids = _three(window)
    lst = window.shape_dock.list
    qtbot.mouseClick(lst.viewport(), Qt.MouseButton.LeftButton, pos=lst.visualItemRect(lst.item(0)).center())
    qtbot.mouseClick(lst.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier,
                     lst.visualItemRect(lst.item(2)).center())
    assert window.canvas.selected_ids == [ids[0], ids[2]]  # multi-selection reaches the canvas
    window.canvas.select([ids[1]])
    assert window.shape_dock.selected_ids() == [ids[1]]
    qtbot.mouseClick(window.shape_dock.delete_button, Qt.MouseButton.LeftButton)
    assert [s.id for s in doc.shapes] == [ids[0], ids[2]] and lst.count() == 2


def test_z_order_buttons_and_shortcuts_restack_the_canvas_one_undo_step_each(qtbot, window, mouse):
    doc, ids = _three(window)
    canvas = window.canvas
    assert canvas.shape_item(ids[0]).zValue() < canvas.shape_item(ids[2]).zValue()
    window.canvas.select([ids[0]])
    qtbot.mouseClick(window.shape_dock.forward_button, Qt.MouseButton.LeftButton)
    assert doc.get(ids[0]).z == 1 and doc.undo_text == "bring forward"
    assert canvas.shape_item(ids[0]).zValue() > canvas.shape_item(ids[2]).zValue()  # now on top
    assert "z+1" in _row(window, ids[0]).text()
    window.canvas.select([ids[1], ids[2]])
    mouse.key(K.Key_Down, CTRL_SHIFT)
    assert [doc.get(i).z for i in ids] == [1, -1, -1]
    assert canvas.shape_item(ids[2]).zValue() < canvas.shape_item(ids[0]).zValue()
    window.undo()  # both shapes went down in one step
    assert [doc.get(i).z for i in ids] == [1, 0, 0]
    window.canvas.select([ids[1]])
    mouse.key(K.Key_Up, CTRL_SHIFT)
    assert doc.get(ids[1]).z == 1
    assert canvas.shape_item(ids[1]).zValue() > canvas.shape_item(ids[0]).zValue()  # same z: later on top
    window.undo()
    window.undo()
    assert [doc.get(i).z for i in ids] == [0, 0, 0]


def test_instance_id_is_editable_and_colour_by_instance_follows(qtbot, window, mouse):
    doc, ids = _three(window)
    window.actions_by_id["color_by_instance"].trigger()
    canvas, box = window.canvas, window.shape_dock.instance_box
    window.canvas.select([ids[0], ids[1]])
    assert box.isEnabled() and box.value() == -1  # "no instance"
    box.setFocus()
    box.lineEdit().selectAll()
    qtbot.keyClicks(box, "7")
    qtbot.keyClick(box, K.Key_Return)
    assert [doc.get(i).instance_id for i in ids] == [7, 7, None]
    assert doc.undo_text == "set instance id"
    assert canvas.shape_color(doc.get(ids[0])) == canvas.shape_color(doc.get(ids[1]))
    assert canvas.shape_color(doc.get(ids[0])) != canvas.shape_color(doc.get(ids[2]))
    assert canvas.shape_item(ids[0]).shape_data is doc.get(ids[0])  # the canvas item was redrawn
    assert "#7" in _row(window, ids[1]).text()
    window.canvas.select([ids[2]])
    mouse.key(K.Key_I, CTRL_SHIFT)  # a new instance: one more than the highest
    assert doc.get(ids[2]).instance_id == 8 and box.value() == 8
    window.undo()
    window.undo()
    assert [doc.get(i).instance_id for i in ids] == [None, None, None]
