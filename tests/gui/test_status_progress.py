"""Opening a folder: status reading shows progress and can be cancelled; "n of N done"; status filter."""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt

from labeler.core import status_index
from labeler.core.project import Project
from labeler.gui import status_refresh
from labeler.gui.main_window import MainWindow

from .conftest import activate


def test_status_reading_shows_progress_and_cancel_keeps_the_window_responsive(qtbot, demo_root, monkeypatch):
    gate, reading = threading.Event(), threading.Event()
    real = status_index.read_entry

    def slow_read(path):
        reading.set()
        gate.wait(5)  # a big folder on a slow disk
        return real(path)

    monkeypatch.setattr(status_index, "read_entry", slow_read)
    monkeypatch.setattr(status_refresh, "PROGRESS_EVERY_S", 0.0)
    w = MainWindow(Project.open(demo_root), autosave_s=3600, background_loading=True)
    qtbot.addWidget(w)
    activate(qtbot, w)
    ui = w.status_progress
    assert reading.wait(5)
    assert ui.progress.isVisible() and ui.cancel_button.isVisible() and ui.progress.maximum() == 2
    assert "not read yet" in w.file_dock.list.item(1).text()
    w.go_relative(1)  # the window still works while statuses are read
    qtbot.waitUntil(lambda: w.session.key == "images/chelsea.png", timeout=3000)
    calls = []
    w.session.status_progress.connect(lambda done, total: calls.append((done, total, threading.get_ident())))
    qtbot.mouseClick(ui.cancel_button, Qt.MouseButton.LeftButton)
    gate.set()
    w.session.status_refresher.wait()
    qtbot.waitUntil(lambda: not w.session.status_refresher.running, timeout=3000)
    assert calls == [(1, 2, threading.get_ident())]  # progress arrives on the GUI thread
    assert not ui.progress.isVisible() and not ui.cancel_button.isVisible()
    assert w.session.status_index.reads == 1  # the file being read finished; the next was never read
    assert "stopped reading statuses" in w.statusBar().currentMessage()
    w.close()

    again = MainWindow(Project.open(demo_root), autosave_s=3600, background_loading=True)
    qtbot.addWidget(again)
    again.session.status_refresher.wait()
    qtbot.waitUntil(lambda: again.status_progress.done_label.text() == "1 of 4 done", timeout=3000)
    assert again.session.status_index.reads == 1  # only what was left unread is read now
    again.close()


def test_done_count_in_status_bar_and_status_filter(qtbot, window):
    label = window.status_progress.done_label
    assert label.text() == "1 of 4 done" and label.isVisible()
    dock = window.file_dock
    box = dock.status_filter
    box.setCurrentIndex(box.findText("done"))
    assert dock.visible_keys() == ["images/chelsea.png"]
    assert dock.summary.text() == "1 of 4 done  (1 shown)"
    box.setCurrentIndex(box.findText("not done"))
    assert dock.visible_keys() == ["images/astronaut.png", "images/coffee.png", "images/rocket.png"]
    window.mark_status("done")  # the shown image, astronaut, is done now: the filter follows
    assert label.text() == "2 of 4 done"
    assert dock.visible_keys() == ["images/coffee.png", "images/rocket.png"]
    dock.filter_box.setText("rocket")  # the name filter and the status filter together
    assert dock.visible_keys() == ["images/rocket.png"]
    box.setCurrentIndex(box.findText("all images"))
    dock.filter_box.clear()
    assert len(dock.visible_keys()) == 4


def test_closing_while_statuses_are_read_stops_and_writes_nothing_after(qtbot, demo_root, monkeypatch):
    gate, reading = threading.Event(), threading.Event()
    real = status_index.read_entry

    def slow_read(path):
        reading.set()
        gate.wait(0.3)
        return real(path)

    monkeypatch.setattr(status_index, "read_entry", slow_read)
    w = MainWindow(Project.open(demo_root), autosave_s=3600, background_loading=True)
    qtbot.addWidget(w)
    assert reading.wait(5)
    index_file = demo_root / ".labeler" / "status.json"
    w.close()  # cancels after the file being read: does not read the whole folder first
    assert w.session.status_index.reads == 1
    written = index_file.stat().st_mtime_ns if index_file.exists() else None
    qtbot.wait(100)  # the worker's answer, if it came, would save the index again
    assert (index_file.stat().st_mtime_ns if index_file.exists() else None) == written
