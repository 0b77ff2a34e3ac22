"""Editing classes in the window: rename (shapes follow), colour, thing/stuff, remove, saved."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QMessageBox

from labeler.core.project import Project
from labeler.core.shapes import Shape


def _project_classes(root) -> dict:
    d = json.loads((root / "labeler-project.json").read_text("utf-8"))
    return {c["name"]: c for c in d["schema"]["classes"]}


def _saved_labels(root, key) -> list[str]:
    d = json.loads(Project(root).annotation_path(key).read_text("utf-8"))
    return sorted(s["label"] for s in d["shapes"])


def test_rename_class_relabels_this_image_in_one_step_and_saved_images(qtbot, demo_root, window):
    doc = window.session.document
    doc.add_shape(Shape("rectangle", "cat", [(10, 10), (60, 60)]))
    assert "cat" in _saved_labels(demo_root, "images/chelsea.png")
    window.class_dock.select("cat")
    window.actions_by_id["rename_class"].trigger()
    dlg = window.schema_edit.dialog
    assert dlg.objectName() == "rename_class_dialog" and dlg.textValue() == "cat"
    dlg.setTextValue("kitty")
    dlg.accept()
    box = window.schema_edit.dialog
    assert box.objectName() == "rename_class_confirm" and "kitty" in box.text()
    box.button(QMessageBox.StandardButton.Yes).click()
    assert [s.label for s in doc.shapes] == ["kitty"] and doc.undo_text == "rename class"
    assert window.class_dock.current() == "kitty" and "cat" not in window.class_dock.names()
    assert "kitty" in _project_classes(demo_root) and "cat" not in _project_classes(demo_root)
    window.schema_edit.worker.wait()
    qtbot.waitUntil(lambda: "in 1 saved image" in window.statusBar().currentMessage(), timeout=3000)
    assert "kitty" in _saved_labels(demo_root, "images/chelsea.png")
    assert "cat" not in _saved_labels(demo_root, "images/chelsea.png")
    window.go_relative(1)
    assert window.session.key == "images/chelsea.png"
    assert window.canvas.color_of("kitty") == window.project.schema.by_name("kitty").color


def test_rename_to_an_existing_name_is_refused(window):
    window.schema_edit.ask_rename("cat", "person")
    assert window.schema_edit.dialog is None
    assert "exists already" in window.statusBar().currentMessage()
    assert "cat" in window.class_dock.names()


def test_colour_and_thing_stuff_are_saved_and_drawn(qtbot, demo_root, window):
    doc = window.session.document
    doc.add_shape(Shape("rectangle", "person", [(10, 10), (60, 60)]))
    window.class_dock.select("person")
    window.actions_by_id["class_color"].trigger()
    dlg = window.schema_edit.dialog
    assert dlg.objectName() == "class_color_dialog"
    dlg.setCurrentColor(QColor(12, 200, 34))
    dlg.accept()
    assert _project_classes(demo_root)["person"]["color"] == [12, 200, 34]
    assert window.canvas.shape_color(doc.shapes[0]) == (12, 200, 34)
    item = window.canvas.shape_item(doc.shapes[0].id)
    assert item.shape_data is doc.shapes[0]
    thing = _project_classes(demo_root)["person"]["is_thing"]
    window.actions_by_id["toggle_thing"].trigger()
    assert _project_classes(demo_root)["person"]["is_thing"] is (not thing)
    assert window.class_dock.current() == "person"


def test_removing_a_class_in_use_is_refused_and_an_unused_one_goes(qtbot, demo_root, window):
    window.class_dock.select("cat")  # used by chelsea's saved annotation
    window.actions_by_id["remove_class"].trigger()
    qtbot.waitUntil(lambda: "not removed" in window.statusBar().currentMessage(), timeout=3000)
    assert "images/chelsea.png" in window.statusBar().currentMessage()
    assert "cat" in _project_classes(demo_root)
    window.class_dock.new_class.setText("unused")
    qtbot.keyClick(window.class_dock.new_class, Qt.Key.Key_Return)
    window.session.document.add_shape(Shape("point", "unused", [(3, 3)]))
    window.class_dock.select("unused")
    window.actions_by_id["remove_class"].trigger()  # used in the open image: refused at once
    assert "in this image" in window.statusBar().currentMessage()
    window.undo()
    window.actions_by_id["remove_class"].trigger()
    qtbot.waitUntil(lambda: "removed class unused" in window.statusBar().currentMessage(), timeout=3000)
    assert "unused" not in _project_classes(demo_root) and "unused" not in window.class_dock.names()


def test_hidden_class_stays_hidden_when_the_schema_changes(qtbot, window):
    doc = window.session.document
    doc.add_shape(Shape("rectangle", "cat", [(10, 10), (60, 60)]))
    row = window.class_dock.names().index("cat")
    window.class_dock.list.item(row).setCheckState(Qt.CheckState.Unchecked)  # hide cats
    assert not window.canvas.shape_item(doc.shapes[0].id).isVisible()
    window.class_dock.new_class.setText("dog")
    qtbot.keyClick(window.class_dock.new_class, Qt.Key.Key_Return)
    window.class_dock.select("person")
    window.actions_by_id["toggle_thing"].trigger()
    assert not window.class_dock.is_visible_class("cat") and window.class_dock.is_visible_class("dog")
    assert not window.canvas.shape_item(doc.shapes[0].id).isVisible()


def test_a_save_landing_during_a_rename_of_its_file_is_not_overwritten(qtbot, demo_root, window, monkeypatch):
    """The rename reads chelsea's file; the window's writer saves new edits of it at that moment;
    the rename must not then write back what it read (the edits would be lost)."""
    import threading

    key = "images/chelsea.png"
    project = window.project
    edited = project.load(key)
    edited.shapes = [*edited.shapes, Shape("rectangle", "kitty", [(1, 1), (30, 30)])]  # made after the rename
    real_load = project.load_with_problems
    writer_done = threading.Event()

    def load_then_race(k, *args, **kwargs):
        out = real_load(k, *args, **kwargs)
        if k == key and not writer_done.is_set():
            writer = threading.Thread(target=lambda: (window.session.saving._write(key, edited), writer_done.set()))
            writer.start()
            writer.join(0.5)  # without the lock the save lands here, between the rename's read and write
        return out

    monkeypatch.setattr(project, "load_with_problems", load_then_race)
    window.schema_edit.rename_class("cat", "kitty")
    window.schema_edit.worker.wait()
    assert writer_done.wait(5)
    saved = json.loads(project.annotation_path(key).read_text("utf-8"))["shapes"]
    assert any(s["points"] == [[1.0, 1.0], [30.0, 30.0]] for s in saved)  # the edits made meanwhile are on disk
