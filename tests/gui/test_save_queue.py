"""Saving off the GUI thread: Ctrl+S, leaving an image and autosave hand a snapshot to one
writer thread; the indicator follows the write; failures keep the edits; closing waits."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt

from labeler.core.project import Project

from .conftest import Mouse, activate

K = Qt.Key
CTRL = Qt.KeyboardModifier.ControlModifier


class Writer:
    """Wraps Project.save_annotation: records the writing thread, can be held or made to fail."""

    def __init__(self, monkeypatch) -> None:
        self.real = Project.save_annotation
        self.threads: list[int] = []
        self.keys: list[str] = []
        self.release = threading.Event()
        self.release.set()
        self.started = threading.Event()
        self.error: Exception | None = None
        writer = self

        def save_annotation(project, key, ann):
            writer.started.set()
            assert writer.release.wait(10)
            writer.threads.append(threading.get_ident())
            writer.keys.append(key)
            if writer.error is not None:
                raise writer.error
            return writer.real(project, key, ann)

        monkeypatch.setattr(Project, "save_annotation", save_annotation)

    def hold(self) -> None:
        self.release.clear()
        self.started.clear()


@pytest.fixture
def writer(monkeypatch):
    return Writer(monkeypatch)


def draw_box(mouse: Mouse, x: float, y: float) -> None:
    mouse.key(K.Key_R, CTRL)
    mouse.drag((x, y), (x + 30, y + 25))


def on_disk(window, key=None):
    return window.project.load(key or window.session.key).shapes


def same(a, b) -> bool:
    return len(a) == len(b) and all(x.same_as(y) for x, y in zip(a, b))


def test_ctrl_s_writes_in_a_worker_thread_and_the_indicator_follows_the_write(window, mouse, writer, qtbot):
    draw_box(mouse, 20, 20)
    writer.hold()
    mouse.key(K.Key_S, CTRL)
    assert writer.started.wait(5)  # writing now, in another thread; the GUI thread went on
    assert window.saved_label.text() == "saving..." and window.windowTitle().endswith("*")
    draw_box(mouse, 200, 200)  # an edit while the write runs: it is not in that snapshot
    writer.release.set()
    qtbot.waitUntil(lambda: not window.session.saving.pending())
    assert writer.threads and all(t != threading.get_ident() for t in writer.threads)
    assert len(on_disk(window)) == 1 and on_disk(window)[0].same_as(window.session.document.shapes[0])
    # the saved state is the one before the second box: still unsaved, and undo returns to saved
    assert window.session.dirty and window.saved_label.text() == "unsaved"
    mouse.key(K.Key_Z, CTRL)
    assert not window.session.dirty and window.saved_label.text() == "saved"
    mouse.key(K.Key_Y, CTRL)
    mouse.key(K.Key_S, CTRL)
    qtbot.waitUntil(lambda: not window.session.dirty)
    assert window.saved_label.text() == "saved" and not window.windowTitle().endswith("*")
    assert same(on_disk(window), window.session.document.shapes)


def test_a_quick_run_of_edits_and_saves_ends_with_the_last_state_on_disk(window, mouse, writer, qtbot):
    writer.hold()
    for i in range(6):
        draw_box(mouse, 10 + 60 * i, 40)
        mouse.key(K.Key_S, CTRL)
    writer.release.set()
    qtbot.waitUntil(lambda: not window.session.saving.pending() and not window.session.dirty)
    assert same(on_disk(window), window.session.document.shapes) and len(on_disk(window)) == 6
    assert len(writer.threads) < 6  # saves queued behind a running one were replaced by newer ones


def test_leaving_an_image_queues_its_save_and_coming_back_reads_the_written_file(window, mouse, writer, qtbot):
    first = window.session.key
    draw_box(mouse, 30, 30)
    drawn = window.session.document.shapes[-1]
    writer.hold()
    mouse.key(K.Key_D)  # leaving saves: queued, the next image opens without waiting for it
    assert window.session.key != first and writer.started.wait(5)
    assert window.session.saving.pending(first)
    threading.Timer(0.3, writer.release.set).start()
    mouse.key(K.Key_A)  # back before the write finished: the window waits for it, then reads the file
    assert window.session.key == first
    assert any(s.same_as(drawn) for s in window.session.document.shapes) and not window.session.dirty
    assert any(s.same_as(drawn) for s in on_disk(window, first))


def test_closing_with_a_pending_save_waits_for_it(qtbot, demo_root, writer):
    from labeler.gui.main_window import MainWindow

    w = MainWindow(Project.open(demo_root), autosave_s=3600)
    qtbot.addWidget(w)
    activate(qtbot, w)
    mouse = Mouse(qtbot, w.canvas)
    draw_box(mouse, 50, 60)
    shapes = list(w.session.document.shapes)
    key = w.session.key
    writer.hold()
    mouse.key(K.Key_S, CTRL)
    threading.Timer(0.3, writer.release.set).start()
    assert w.close()  # waits for the writer
    assert same(Project.open(demo_root, read_only=True).load(key).shapes, shapes)


def test_a_failed_write_is_reported_keeps_the_edits_and_closing_refuses(window, mouse, writer, qtbot):
    draw_box(mouse, 20, 20)
    writer.error = OSError(28, "No space left on device")
    mouse.key(K.Key_S, CTRL)
    qtbot.waitUntil(lambda: "not saved" in window.statusBar().currentMessage())
    assert "No space left on device" in window.statusBar().currentMessage()
    assert window.session.dirty and window.saved_label.text() == "unsaved"
    assert not window.project.annotation_path(window.session.key).exists()
    assert not window.close() and window.isVisible()  # closing would lose the edits: refused
    writer.error = None
    mouse.key(K.Key_S, CTRL)
    qtbot.waitUntil(lambda: not window.session.dirty)
    assert same(on_disk(window), window.session.document.shapes)


def test_a_failed_write_of_an_image_left_brings_its_edits_back_on_return(window, mouse, writer, qtbot):
    first = window.session.key
    draw_box(mouse, 20, 20)
    drawn = window.session.document.shapes[-1]
    writer.error = OSError(13, "Permission denied")
    mouse.key(K.Key_D)
    qtbot.waitUntil(lambda: "not saved" in window.statusBar().currentMessage())
    assert first in window.statusBar().currentMessage()
    writer.error = None
    mouse.key(K.Key_A)
    doc = window.session.document
    assert any(s.same_as(drawn) for s in doc.shapes) and doc.dirty  # back, and still unsaved
    mouse.key(K.Key_Z, CTRL)  # one undo step: the file's state
    assert not any(s.same_as(drawn) for s in doc.shapes)


def test_autosave_on_the_timer_writes_in_the_worker(qtbot, demo_root, writer):
    from labeler.gui.main_window import MainWindow

    w = MainWindow(Project.open(demo_root), autosave_s=0.2)
    qtbot.addWidget(w)
    activate(qtbot, w)
    draw_box(Mouse(qtbot, w.canvas), 40, 40)
    qtbot.waitUntil(lambda: not w.session.dirty, timeout=5000)
    assert "autosaved" in w.statusBar().currentMessage()
    assert writer.threads and threading.get_ident() not in writer.threads
    assert same(on_disk(w), w.session.document.shapes)
    w.close()


def test_switching_project_waits_for_the_pending_write(window, mouse, writer, qtbot, tmp_path):
    from labeler.demo import ensure_demo_project

    other = ensure_demo_project(tmp_path / "other")
    key = window.session.key
    old = window.project
    draw_box(mouse, 70, 80)
    shapes = list(window.session.document.shapes)
    writer.hold()
    mouse.key(K.Key_S, CTRL)
    threading.Timer(0.3, writer.release.set).start()
    assert window.open_path(str(other))  # the old session closes: its writes finish first
    assert window.project.root != old.root
    assert same(Project.open(old.root, read_only=True).load(key).shapes, shapes)
