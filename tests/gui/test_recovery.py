"""Crash recovery: a window killed with SIGKILL loses nothing saved and offers its unsaved edits back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from labeler.core.project import Project
from labeler.core.shapes import Shape
from labeler.gui.main_window import MainWindow
from labeler.gui.recovery import RecoveryJournal, recovery_files

from .conftest import activate

KEY = "images/astronaut.png"

# Opens the window on the project, saves one rectangle, then leaves a polygon and a tag unsaved
# (the polygon inside an unfinished undo group, as a stroke still being drawn: only the periodic
# journal can catch it), waits for the recovery file and says READY. The test then kills it.
CHILD = textwrap.dedent("""
    import os, sys, time
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from labeler.core.project import Project
    from labeler.core.shapes import Shape
    from labeler.gui.main_window import MainWindow
    w = MainWindow(Project.open(sys.argv[1]), autosave_s=3600)
    w.recovery.timer.setInterval(100)
    w.show()
    doc = w.session.document
    doc.add_shape(Shape("rectangle", "person", [(10, 10), (60, 80)]))
    assert w.save() and w.session.flush_saves()
    doc.set_tags({"night": True})
    stroke = doc.group("stroke")
    stroke.__enter__()
    doc.add_shape(Shape("polygon", "cat", [(100, 100), (200, 100), (150, 200)]))
    path = w.recovery.journal.path_for(w.session.key)
    deadline = time.time() + 20
    while time.time() < deadline:
        app.processEvents()
        if path.exists() and "polygon" in path.read_text("utf-8"):
            break
        time.sleep(0.02)
    print("READY", flush=True)
    while True:
        app.processEvents()
        time.sleep(0.05)
""")


def _saved_shapes(root: Path, key: str = KEY) -> list[str]:
    d = json.loads(Project(root).annotation_path(key).read_text("utf-8"))
    return [s["shape_type"] for s in d["shapes"]]


def _kill_after_ready(root: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(root)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "READY", proc.stderr.read() if proc.poll() is not None else line
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_killed_window_keeps_saved_work_and_offers_unsaved_edits_back(qtbot, demo_root):
    _kill_after_ready(demo_root)
    assert _saved_shapes(demo_root) == ["rectangle"]  # what was saved is on disk, whole
    assert len(recovery_files(demo_root)) == 1

    w = MainWindow(Project.open(demo_root), autosave_s=3600)  # the dead process's lock is gone
    qtbot.addWidget(w)
    activate(qtbot, w)
    assert not w.project.read_only
    assert w.recovery.pending() == [KEY]
    dialog = w.recovery.dialog
    assert dialog is not None and KEY in dialog.text()
    doc = w.session.document
    assert [s.kind for s in doc.shapes] == ["rectangle"]  # nothing is changed before the user answers
    dialog.button(QMessageBox.StandardButton.Yes).click()
    assert w.recovery.dialog is None
    doc = w.session.document
    assert [s.kind for s in doc.shapes] == ["rectangle", "polygon"]
    assert doc.annotation.tags == {"night": True}
    assert w.session.dirty and w.windowTitle().endswith("*")
    assert w.shape_dock.list.count() == 2 and w.tags_dock.checked() == ["night"]
    w.undo()  # the restore is one undo step back to what was saved
    assert [s.kind for s in doc.shapes] == ["rectangle"] and not w.session.dirty
    w.redo()
    assert w.save() and w.session.flush_saves()
    assert _saved_shapes(demo_root) == ["rectangle", "polygon"]
    assert recovery_files(demo_root) == []  # a successful save removes the journal
    w.close()

    again = MainWindow(Project.open(demo_root), autosave_s=3600)
    qtbot.addWidget(again)
    assert again.recovery.dialog is None and again.recovery.pending() == []
    again.close()


def test_journal_follows_edits_undo_and_save(qtbot, window):
    doc, key = window.session.document, window.session.key
    path = window.recovery.journal.path_for(key)
    assert not path.exists()
    doc.add_shape(Shape("rectangle", "person", [(1, 1), (20, 20)]))
    window.recovery.flush()  # written in a worker thread
    assert path.exists()  # written on the undo step, not only on the timer
    journaled = json.loads(path.read_text("utf-8"))
    assert journaled["key"] == key and len(journaled["annotation"]["shapes"]) == 1
    assert not window.project.annotation_path(key).exists()  # the journal is not a save
    doc.undo()
    window.recovery.flush()
    assert not path.exists()  # back at the saved state: nothing to recover
    doc.redo()
    window.recovery.flush()
    assert path.exists()
    window.save()
    window.session.flush_saves()
    window.recovery.flush()
    assert not path.exists()


def test_discarding_removes_recovery_and_later_images_restore_on_open(qtbot, demo_root):
    proj = Project(demo_root)
    journal = RecoveryJournal(demo_root, proj.annotation_path)
    chelsea = proj.load("images/chelsea.png")
    chelsea.shapes.append(Shape("point", "cat", [(5, 5)]))
    journal.write("images/chelsea.png", chelsea)
    os.utime(journal.path_for("images/chelsea.png"))  # newer than the saved annotation
    rocket = proj.load("images/rocket.png")
    rocket.shapes.append(Shape("rectangle", "rocket", [(5, 5), (50, 90)]))
    journal.write("images/rocket.png", rocket)
    journal.write("images/gone.png", rocket)  # an image no longer in the project is not offered
    w = MainWindow(Project.open(demo_root), autosave_s=3600)
    qtbot.addWidget(w)
    assert w.recovery.pending() == ["images/chelsea.png", "images/rocket.png"]
    w.recovery.dialog.done(QMessageBox.StandardButton.Yes)
    assert w.session.key == "images/astronaut.png" and w.session.document.shapes == []
    w.open_index(1)
    assert [s.kind for s in w.session.document.shapes] == ["polygon", "point"] and w.session.dirty
    w.open_index(3)  # leaving saves chelsea (its journal goes), rocket is restored on opening
    assert w.session.flush_saves()  # the write runs in the writer thread
    assert _saved_shapes(demo_root, "images/chelsea.png") == ["polygon", "point"]
    assert [s.kind for s in w.session.document.shapes] == ["rectangle"]
    w.recovery.discard()
    assert not journal.path_for("images/rocket.png").exists()
    w.close()


def test_discard_button_removes_the_recovery_files(qtbot, demo_root):
    proj = Project(demo_root)
    journal = RecoveryJournal(demo_root, proj.annotation_path)
    ann = proj.load(KEY)
    ann.shapes.append(Shape("point", "person", [(5, 5)]))
    journal.write(KEY, ann)
    w = MainWindow(Project.open(demo_root), autosave_s=3600)
    qtbot.addWidget(w)
    w.recovery.dialog.button(QMessageBox.StandardButton.Discard).click()
    assert recovery_files(demo_root) == [] and w.session.document.shapes == [] and not w.session.dirty
    w.close()


def test_read_only_project_writes_no_journal(qtbot, demo_root):
    with Project.open(demo_root):
        w = MainWindow(Project.open(demo_root), autosave_s=3600)
        qtbot.addWidget(w)
        assert w.project.read_only
        w.recovery.write_now()
        assert recovery_files(demo_root) == []
        w.close()


@pytest.mark.parametrize("text", ["{not json", json.dumps({"key": KEY})])
def test_unreadable_recovery_file_is_reported_and_kept(qtbot, demo_root, text):
    path = RecoveryJournal(demo_root, Project(demo_root).annotation_path).path_for(KEY)
    path.parent.mkdir(parents=True)
    path.write_text(text, "utf-8")
    w = MainWindow(Project.open(demo_root), autosave_s=3600)
    qtbot.addWidget(w)
    assert w.recovery.restore() == []
    assert "unreadable recovery file" in w.statusBar().currentMessage() and path.exists()
    assert w.session.document.shapes == []
    w.close()


def test_journal_round_trips_masks_and_encodes_only_changed_shapes(tmp_path, monkeypatch):
    import numpy as np

    from labeler.core import geometry
    from labeler.core.annotation import ImageAnnotation
    from labeler.gui import recovery

    m = np.zeros((40, 50), bool)
    m[5:20, 10:30] = True
    shapes = [Shape("mask", "cat", rle=geometry.rle_encode(m)), Shape("polygon", "cup", [(1, 1), (9, 1), (5, 8)])]
    ann = ImageAnnotation("a.png", 50, 40, shapes, tags={"x": True}, status="in_progress")
    journal = RecoveryJournal(tmp_path, lambda key: tmp_path / "none.json")
    calls = []
    real = recovery.shape_to_labelme
    monkeypatch.setattr(recovery, "shape_to_labelme", lambda s: calls.append(s.kind) or real(s))
    journal.write("a.png", ann)
    ann.shapes[1] = ann.shapes[1].replace(label="spoon")
    journal.write("a.png", ann)
    assert calls == ["mask", "polygon", "polygon"]  # the unchanged mask is not encoded again
    back = journal.read("a.png")
    assert np.array_equal(geometry.rle_decode(back.shapes[0].rle), m)
    assert [s.label for s in back.shapes] == ["cat", "spoon"]
    assert back.tags == {"x": True} and back.status == "in_progress"
    assert journal.pending() == ["a.png"]
