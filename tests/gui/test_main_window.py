"""The main window: switching images, saving, autosave, file statuses, reopening a project."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

from labeler.core.project import Project
from labeler.gui.actions import ACTIONS
from labeler.gui.main_window import MainWindow

from .conftest import Mouse, activate

K = Qt.Key
CTRL = Qt.KeyboardModifier.ControlModifier


def _json(project_root, key):
    return json.loads(Project(project_root).annotation_path(key).read_text("utf-8"))


def test_demo_project_opens_with_statuses_and_premade_shapes(window):
    s = window.session
    assert s.keys == ["images/astronaut.png", "images/chelsea.png", "images/coffee.png", "images/rocket.png"]
    assert window.file_dock.list.count() == 4
    assert window.file_dock.summary.text() == "1 of 4 done"
    assert "[done]" in window.file_dock.list.item(1).text()
    assert window.class_dock.names()[:3] == ["person", "cat", "cup"]
    assert s.key == "images/astronaut.png" and window.canvas.image_size == (512, 512)
    window.go_relative(2)
    assert s.key == "images/coffee.png"
    assert sorted(x.label for x in s.document.shapes) == ["cup", "spoon"]
    assert window.shape_dock.list.count() == 2


def test_switching_with_d_and_a_autosaves_and_reopen_finds_shapes(qtbot, demo_root, window, mouse):
    mouse.key(K.Key_R, CTRL)
    mouse.drag((40, 50), (140, 120))
    drawn = window.session.document.shapes[0]
    ann_path = window.project.annotation_path("images/astronaut.png")
    assert not ann_path.exists()
    mouse.key(K.Key_D)
    assert window.session.key == "images/chelsea.png"
    qtbot.waitUntil(ann_path.exists)  # written in the writer thread
    d = _json(demo_root, "images/astronaut.png")
    assert [sh["shape_type"] for sh in d["shapes"]] == ["rectangle"]
    assert d["labeler"]["status"] == "in_progress"  # an image with shapes is no longer new
    assert "[in progress]" in window.file_dock.list.item(0).text()
    mouse.key(K.Key_A)
    assert window.session.key == "images/astronaut.png"
    assert window.session.document.shapes[0].same_as(drawn)
    assert window.saved_label.text() == "saved"
    # visiting an image without editing writes nothing for it
    assert not window.project.annotation_path("images/rocket.png").exists()
    window.close()

    again = MainWindow(Project.open(demo_root), autosave_s=3600)
    qtbot.addWidget(again)
    assert again.session.key == "images/astronaut.png"
    assert len(again.session.document.shapes) == 1 and again.session.document.shapes[0].same_as(drawn)
    again.close()


def test_autosave_timer_writes_unsaved_edits(qtbot, demo_root):
    w = MainWindow(Project.open(demo_root), autosave_s=0.1)
    qtbot.addWidget(w)
    activate(qtbot, w)
    mouse = Mouse(qtbot, w.canvas)
    mouse.key(K.Key_R, CTRL)
    mouse.drag((10, 10), (90, 90))
    assert w.session.dirty
    path = w.project.annotation_path("images/astronaut.png")
    qtbot.waitUntil(lambda: path.exists() and not w.session.dirty, timeout=3000)
    assert len(_json(demo_root, "images/astronaut.png")["shapes"]) == 1
    assert w.saved_label.text() == "saved" and not w.windowTitle().endswith("*")
    w.close()


def test_ctrl_s_saves_and_close_saves(qtbot, demo_root, window, mouse):
    mouse.click(10, 10)
    mouse.click(100, 10)
    mouse.click(100, 100)
    mouse.key(K.Key_Return)
    assert window.windowTitle().endswith("*")
    mouse.key(K.Key_S, CTRL)
    qtbot.waitUntil(lambda: not window.session.dirty)  # once the writer thread has written it
    assert window.saved_label.text() == "saved"
    assert len(_json(demo_root, "images/astronaut.png")["shapes"]) == 1
    mouse.key(K.Key_Z, CTRL)  # undo after saving: unsaved again, and closing saves it
    assert window.session.dirty
    window.close()
    assert _json(demo_root, "images/astronaut.png")["shapes"] == []


def test_mark_done_updates_file_list_and_filter(window, mouse):
    window.go_relative(2)  # coffee, in progress
    mouse.key(K.Key_D, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert window.session.document.annotation.status == "done"
    assert window.file_dock.summary.text() == "2 of 4 done"
    window.file_dock.filter_box.setText("done")
    assert window.file_dock.visible_keys() == ["images/chelsea.png", "images/coffee.png"]
    assert "(2 shown)" in window.file_dock.summary.text()
    window.file_dock.filter_box.setText("roc")
    assert window.file_dock.visible_keys() == ["images/rocket.png"]
    mouse.key(K.Key_Z, CTRL)  # the status change is an undo step like any other
    assert window.session.document.annotation.status == "in_progress"
    assert window.file_dock.summary.text().startswith("1 of 4 done")


def test_file_list_click_opens_image(qtbot, window):
    lst = window.file_dock.list
    rect = lst.visualItemRect(lst.item(3))
    qtbot.mouseClick(lst.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.session.key == "images/rocket.png"
    assert window.canvas.image_size == (640, 427)


def test_corrupt_annotation_is_opened_read_only_and_never_overwritten(qtbot, demo_root):
    proj = Project(demo_root)
    bad = proj.annotation_path("images/rocket.png")
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_text('{"shapes": [', "utf-8")
    w = MainWindow(Project.open(demo_root), autosave_s=3600)
    qtbot.addWidget(w)
    activate(qtbot, w)
    assert "[unreadable]" in w.file_dock.list.item(3).text()
    w.open_index(3)
    assert w.session.read_only_reason and "rocket.json" in w.statusBar().currentMessage()
    mouse = Mouse(qtbot, w.canvas)
    mouse.key(K.Key_R, CTRL)
    mouse.drag((10, 10), (90, 90))  # refused: the image is read-only
    assert w.session.document.shapes == [] and "read-only" in w.statusBar().currentMessage()
    mouse.key(K.Key_D, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert w.session.document.annotation.status == "new" and not w.session.dirty
    assert not w.save()
    w.go_relative(-1)
    assert w.session.key == "images/coffee.png"
    assert bad.read_text("utf-8") == '{"shapes": ['
    w.close()


def test_new_class_from_palette_is_saved_in_project(qtbot, demo_root, window, mouse):
    window.class_dock.new_class.setText("helmet")
    qtbot.keyClick(window.class_dock.new_class, K.Key_Return)
    assert window.canvas.current_label == "helmet"
    assert "helmet" in [c["name"] for c in json.loads((demo_root / "labeler-project.json").read_text())["schema"]["classes"]]
    mouse.key(K.Key_R, CTRL)
    mouse.drag((10, 10), (90, 90))
    assert window.session.document.shapes[0].label == "helmet"


def test_status_bar_shows_cursor_and_class(qtbot, window, mouse):
    qtbot.mouseMove(window.canvas.viewport(), mouse.at(100, 200))
    x, y = (float(v) for v in window.pos_label.text().replace("x", "").split("y"))
    assert abs(x - 100) < 1 and abs(y - 200) < 1
    mouse.key(K.Key_3)
    assert window.class_label.text() == "class: cup"


def test_action_table_is_complete_and_uses_labelme_shortcuts():
    by_id = {a.id: a for a in ACTIONS}
    expected = {"prev_image": "A", "next_image": "D", "tool_polygon": "Ctrl+N", "tool_rectangle": "Ctrl+R",
                "tool_edit": "Ctrl+J", "undo": "Ctrl+Z", "redo": "Ctrl+Y", "save": "Ctrl+S", "delete": "Delete"}
    for aid, key in expected.items():
        assert by_id[aid].shortcut == key
    shortcuts = [QKeySequence(a.shortcut).toString() for a in ACTIONS if a.shortcut]
    assert len(shortcuts) == len(set(shortcuts)), "two actions share a shortcut"
    for a in ACTIONS:
        if "." in a.handler:  # a controller's method ("edit_ops.copy"): build_actions resolves it
            continue
        assert callable(getattr(MainWindow, a.handler, None)), a.handler


def test_window_without_project_and_run_entry_point(qtbot, tmp_path, capsys):
    from labeler.gui import app

    w = MainWindow(None)
    qtbot.addWidget(w)
    assert w.windowTitle() == "labeler" and w.session is None
    w.go_relative(1)  # handlers are safe without a project
    w.save()
    assert app.run(str(tmp_path / "missing")) == 2
    assert "missing" in capsys.readouterr().err


@pytest.mark.parametrize("tool", ["polygon", "rectangle", "point", "line", "edit"])
def test_tool_actions_are_exclusive(window, tool):
    window.actions_by_id[f"tool_{tool}"].trigger()
    assert window.canvas.tool.name == tool
    checked = [a for a in window.actions_by_id if a.startswith("tool_") and window.actions_by_id[a].isChecked()]
    assert checked == [f"tool_{tool}"]
    assert np.isfinite(window.canvas.scale_factor)


def test_run_shows_window_on_project_and_returns_when_closed(qtbot, demo_root, monkeypatch):
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from labeler.gui import app

    seen = []
    loop = QEventLoop()

    def close_it():
        wins = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        seen.extend(w.session.key for w in wins)
        for w in wins:
            w.close()
        loop.quit()

    # a nested loop stands in for QApplication.exec: quitting the application itself breaks the
    # timer waits of every later test in this process
    monkeypatch.setattr(QApplication, "exec", lambda _self: loop.exec())
    QTimer.singleShot(300, close_it)
    assert app.run(str(demo_root)) == 0
    assert seen == ["images/astronaut.png"]
    # the window released the project's lock when it closed
    with Project.open(demo_root) as p:
        assert not p.read_only


def test_create_window_on_one_image_opens_its_folder_at_that_image(qtbot, tmp_path):
    from PIL import Image

    from labeler.core.errors import ProjectError
    from labeler.gui.app import create_window

    for name in ("a.png", "b.png", "c.png"):
        Image.new("RGB", (40, 30), (10, 20, 30)).save(tmp_path / name)
    w = create_window(str(tmp_path / "b.png"), autosave_s=3600)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.session.document is not None)  # the first image is read in a worker
    assert w.session.keys == ["a.png", "b.png", "c.png"] and w.session.key == "b.png"
    assert w.canvas.image_size == (40, 30)
    w.close()
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ProjectError):
        create_window(str(tmp_path / "notes.txt"))


def test_project_open_elsewhere_is_read_only_and_refuses_edits(qtbot, demo_root):
    with Project.open(demo_root) as holder:
        assert not holder.read_only
        w = MainWindow(Project.open(demo_root), autosave_s=3600)
        qtbot.addWidget(w)
        activate(qtbot, w)
        assert w.project.read_only
        mouse = Mouse(qtbot, w.canvas)
        mouse.key(K.Key_R, CTRL)
        mouse.drag((10, 10), (90, 90))
        assert w.session.document.shapes == []
        assert "another labeler process" in w.statusBar().currentMessage()
        w.go_relative(2)  # coffee: its shapes show, but stay as they are
        assert len(w.session.document.shapes) == 2
        w.close()
    assert not Project(demo_root).has_annotation("images/astronaut.png")
