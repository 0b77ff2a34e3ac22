"""Adversarial tests of the save path: quick image switching while writes are pending, failed
writes, undo across a write, closing, crashes and the recovery journal. Whatever the user does,
the disk ends with what they see, the dirty flag tells the truth, and unsaved edits survive."""

from __future__ import annotations

import errno
import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from labeler.core import annotation as annotation_module
from labeler.core.project import Project
from labeler.gui import image_loader
from labeler.gui.main_window import MainWindow
from labeler.gui.recovery import RecoveryJournal

from .conftest import Mouse, activate
from .test_save_queue import Writer, draw_box, on_disk, same

K = Qt.Key
CTRL = Qt.KeyboardModifier.ControlModifier
A, B = "images/astronaut.png", "images/chelsea.png"


@pytest.fixture
def writer(monkeypatch):
    return Writer(monkeypatch)


def background_window(qtbot, root) -> MainWindow:
    """The window as the application makes it: images read in a worker, the next one prefetched."""
    w = MainWindow(Project.open(root), autosave_s=3600, background_loading=True)
    qtbot.addWidget(w)
    activate(qtbot, w)
    qtbot.waitUntil(lambda: w.session.key == A, timeout=5000)
    return w


def writes_done(window) -> bool:
    """The writer thread is idle (its results may not have reached the GUI thread yet)."""
    return window.session.saving.queue.pool.waitForDone(5000)


def journal_of(root) -> RecoveryJournal:
    return RecoveryJournal(root, Project(root).annotation_path)


# -- failed writes ----------------------------------------------------------------------------------

def test_coming_back_right_after_a_failed_write_brings_the_edits_back(window, mouse, writer, qtbot):
    """The write of the image left fails, and the user is back before the GUI thread heard of it."""
    draw_box(mouse, 20, 20)
    drawn = window.session.document.shapes[-1]
    writer.error = OSError(errno.ENOSPC, "No space left on device")
    mouse.key(K.Key_D)
    assert writes_done(window)  # failed in the writer; the report is still on its way
    writer.error = None
    mouse.key(K.Key_A)
    doc = window.session.document
    assert window.session.key == A
    assert any(s.same_as(drawn) for s in doc.shapes) and doc.dirty
    assert "could not be saved are back" in window.statusBar().currentMessage()
    mouse.key(K.Key_S, CTRL)
    qtbot.waitUntil(lambda: not window.session.dirty)
    assert same(on_disk(window), doc.shapes)


def test_edits_undone_after_a_failed_write_are_never_written_later(window, mouse, writer, qtbot):
    draw_box(mouse, 20, 20)
    writer.error = OSError(errno.ENOSPC, "No space left on device")
    mouse.key(K.Key_S, CTRL)
    qtbot.waitUntil(lambda: "not saved" in window.statusBar().currentMessage())
    writer.error = None
    mouse.key(K.Key_Z, CTRL)  # the user takes the box back: the image is as on disk again
    assert not window.session.dirty
    mouse.key(K.Key_D)
    mouse.key(K.Key_A)
    assert window.session.document.shapes == [] and not window.session.dirty  # not put back
    mouse.key(K.Key_D)
    assert window.close()  # nothing is unsaved, so closing is not refused
    assert not window.project.annotation_path(A).exists()  # the undone box never reached the disk


def test_closing_after_undoing_a_failed_save_is_not_refused(window, mouse, writer, qtbot):
    draw_box(mouse, 20, 20)
    writer.error = OSError(errno.ENOSPC, "No space left on device")
    mouse.key(K.Key_S, CTRL)
    qtbot.waitUntil(lambda: "not saved" in window.statusBar().currentMessage())
    writer.error = None
    mouse.key(K.Key_Z, CTRL)
    assert window.close() and not window.isVisible()
    assert not window.project.annotation_path(A).exists()


def test_disk_full_keeps_the_edits_and_the_journal_until_a_later_save_succeeds(window, mouse, qtbot,
                                                                               monkeypatch):
    real = annotation_module.write_bytes_atomic
    full = {"on": True}

    def write_bytes_atomic(path, data):
        if full["on"]:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, data)

    monkeypatch.setattr(annotation_module, "write_bytes_atomic", write_bytes_atomic)
    draw_box(mouse, 20, 20)
    mouse.key(K.Key_S, CTRL)
    qtbot.waitUntil(lambda: "No space left on device" in window.statusBar().currentMessage())
    assert window.session.dirty and window.saved_label.text() == "unsaved"
    window.recovery.flush()
    journal = journal_of(window.project.root)
    assert journal.pending() == [A] and len(journal.read(A).shapes) == 1
    full["on"] = False
    mouse.key(K.Key_S, CTRL)
    qtbot.waitUntil(lambda: not window.session.dirty)
    window.recovery.flush()
    assert journal.pending() == [] and not journal.path_for(A).exists()
    assert same(on_disk(window), window.session.document.shapes)


def test_closing_while_a_write_of_an_image_left_fails_refuses_then_closes_once_it_is_written(
        window, mouse, writer, qtbot):
    draw_box(mouse, 20, 20)
    shapes = list(window.session.document.shapes)
    writer.hold()
    writer.error = OSError(errno.EACCES, "Permission denied")
    mouse.key(K.Key_D)
    threading.Timer(0.2, writer.release.set).start()
    assert not window.close() and window.isVisible()  # the write failed while closing: refused
    assert A in window.statusBar().currentMessage()
    writer.error = None
    assert window.close()  # tried again, written
    assert same(Project.open(window.project.root, read_only=True).load(A).shapes, shapes)


# -- undo and switching while a write is in flight ----------------------------------------------------

def test_undo_and_redo_across_a_write_in_flight_keep_the_dirty_flag_true(window, mouse, writer, qtbot):
    for x in (20, 80, 140):
        draw_box(mouse, x, 20)
    writer.hold()
    mouse.key(K.Key_S, CTRL)
    assert writer.started.wait(5)
    mouse.key(K.Key_Z, CTRL)
    mouse.key(K.Key_Z, CTRL)
    writer.release.set()
    qtbot.waitUntil(lambda: not window.session.saving.pending())
    assert len(on_disk(window)) == 3 and window.session.dirty  # one box shown, three saved
    mouse.key(K.Key_Y, CTRL)
    assert window.session.dirty
    mouse.key(K.Key_Y, CTRL)
    assert not window.session.dirty and window.saved_label.text() == "saved"
    mouse.key(K.Key_Z, CTRL)
    draw_box(mouse, 200, 200)  # a new branch: the saved state cannot be reached any more
    mouse.key(K.Key_Z, CTRL)
    assert window.session.dirty


def test_undoing_to_the_file_state_while_its_write_is_held_then_leaving_keeps_the_undo(window, mouse, writer,
                                                                                        qtbot):
    """A box is saved (the write is held), undone (the image is as when opened), and the image
    left: the held write of the box must not be the last word on disk."""
    draw_box(mouse, 20, 20)
    writer.hold()
    mouse.key(K.Key_S, CTRL)
    assert writer.started.wait(5)
    mouse.key(K.Key_Z, CTRL)
    mouse.key(K.Key_D)
    threading.Timer(0.2, writer.release.set).start()
    mouse.key(K.Key_A)
    assert window.session.key == A
    assert window.session.document.shapes == [] and not window.session.dirty
    assert on_disk(window) == []


def gate_loading(monkeypatch, name: str) -> threading.Event:
    """Reading image ``name`` waits until the returned event is set."""
    gate = threading.Event()
    real = image_loader.load_image

    def load_image(project, index, key):
        if key.endswith(name):
            gate.wait(5)
        return real(project, index, key)

    monkeypatch.setattr(image_loader, "load_image", load_image)
    return gate


def test_switching_back_and_forth_with_writes_pending_ends_with_the_last_state(qtbot, demo_root, writer,
                                                                               monkeypatch):
    w = background_window(qtbot, demo_root)
    mouse = Mouse(qtbot, w.canvas)
    s = w.session
    w.session.loader.wait()
    s.loader.prefetched = None  # B is read when asked for, slowly
    gate = gate_loading(monkeypatch, "chelsea.png")
    writer.hold()
    draw_box(mouse, 20, 20)
    mouse.key(K.Key_D)  # leaves A (its write is held) for B, which takes a while to read
    assert s.loading_index == 1
    mouse.key(K.Key_A)  # back before B arrived: still A's document
    assert s.key == A and not s.loader.busy
    draw_box(mouse, 100, 100)
    expected = list(s.document.shapes)
    mouse.key(K.Key_D)
    mouse.key(K.Key_A)
    mouse.key(K.Key_D)
    gate.set()
    qtbot.waitUntil(lambda: s.key == B, timeout=5000)
    threading.Timer(0.2, writer.release.set).start()
    mouse.key(K.Key_A)  # waits for A's writes, then reads its file
    qtbot.waitUntil(lambda: s.key == A and not s.loader.busy, timeout=5000)
    assert same(s.document.shapes, expected) and not s.dirty
    assert same(on_disk(w, A), expected)
    w.close()


def test_a_prefetch_that_read_the_file_before_its_write_finished_is_not_shown(qtbot, demo_root, writer,
                                                                                monkeypatch):
    """B is edited and left; A shows and prefetches B while B's write is still held; the user
    goes back to B: what is shown is the file as written, not the prefetched old one."""
    w = background_window(qtbot, demo_root)
    mouse = Mouse(qtbot, w.canvas)
    s = w.session
    mouse.key(K.Key_D)
    qtbot.waitUntil(lambda: s.key == B, timeout=5000)
    draw_box(mouse, 20, 20)
    expected = list(s.document.shapes)
    decoding = threading.Event()
    real = image_loader.read_image

    def slow_read_image(path):  # the annotation is read first; decoding the pixels takes a while
        if str(path).endswith("chelsea.png"):
            decoding.wait(5)
        return real(path)

    monkeypatch.setattr(image_loader, "read_image", slow_read_image)
    writer.hold()
    mouse.key(K.Key_A)  # B's write is held
    qtbot.waitUntil(lambda: s.key == A, timeout=5000)
    qtbot.waitUntil(lambda: s.loader._prefetching is not None, timeout=5000)
    qtbot.wait(100)  # the prefetch has read B's old annotation and is decoding
    threading.Timer(0.2, writer.release.set).start()
    threading.Timer(0.4, decoding.set).start()
    mouse.key(K.Key_D)
    qtbot.waitUntil(lambda: s.key == B and not s.loader.busy, timeout=5000)
    assert same(s.document.shapes, expected) and not s.dirty
    w.close()


# -- crashes and the journal ---------------------------------------------------------------------------

def restart(qtbot, window) -> MainWindow:
    """The process died: its lock goes with it, and the next run opens the project afresh."""
    window.recovery.flush()
    window.project.close()
    again = MainWindow(Project.open(window.project.root), autosave_s=3600)
    qtbot.addWidget(again)
    return again


def test_a_crash_with_a_write_still_queued_offers_the_edits_back(window, mouse, writer, qtbot):
    draw_box(mouse, 20, 20)
    shapes = list(window.session.document.shapes)
    writer.hold()
    mouse.key(K.Key_D)  # the write of A never happens: the process dies first
    again = restart(qtbot, window)
    assert again.recovery.pending() == [A]
    again.recovery.dialog.button(QMessageBox.StandardButton.Yes).click()
    assert same(again.session.document.shapes, shapes) and again.session.dirty
    writer.release.set()
    again.close()


def test_edits_made_while_a_save_was_written_are_offered_after_a_crash(window, mouse, writer, qtbot):
    """The journal of the newer edits is written before the older save lands; the process dies
    before the GUI thread hears the save finished."""
    draw_box(mouse, 20, 20)
    writer.hold()
    mouse.key(K.Key_S, CTRL)
    assert writer.started.wait(5)
    draw_box(mouse, 100, 100)
    shapes = list(window.session.document.shapes)
    window.recovery.flush()  # the journal holds both boxes
    writer.release.set()
    assert writes_done(window)  # the file holds the first box only; the report never arrives
    assert len(Project(window.project.root).load(A).shapes) == 1
    again = restart(qtbot, window)
    assert again.recovery.pending() == [A]
    again.recovery.dialog.button(QMessageBox.StandardButton.Yes).click()
    assert same(again.session.document.shapes, shapes)
    again.close()


def test_a_journal_equal_to_the_saved_file_is_not_offered(qtbot, demo_root):
    proj = Project(demo_root)
    journal = journal_of(demo_root)
    journal.write(B, proj.load(B))  # e.g. the process died between the save and the journal's removal
    assert journal.pending() == []


# -- another program ------------------------------------------------------------------------------------

def test_a_file_changed_by_another_program_keeps_both_versions(window, mouse, qtbot):
    """The user's edits are saved; the version the other program wrote is kept beside, and said so."""
    from labeler.core.shapes import Shape

    mouse.key(K.Key_D)  # B, which has a saved annotation
    path = window.project.annotation_path(B)
    draw_box(mouse, 20, 20)
    other = Project(window.project.root).load(B)
    other.shapes.append(Shape("point", "person", [(5, 5)]))
    annotation_module.write_annotation(path, other)  # another program writes meanwhile
    mouse.key(K.Key_S, CTRL)
    qtbot.waitUntil(lambda: not window.session.dirty)
    assert same(on_disk(window), window.session.document.shapes)  # the user's edits win on disk
    message = window.statusBar().currentMessage()
    assert "changed on disk" in message and B in message
    kept = list((window.project.root / ".labeler" / "conflicts").iterdir())
    assert len(kept) == 1 and kept[0].name in message
    theirs, _ = annotation_module.read_annotation(kept[0])
    assert same(theirs.shapes, other.shapes)
    draw_box(mouse, 100, 100)  # our own writes are not mistaken for another program's
    mouse.key(K.Key_S, CTRL)
    qtbot.waitUntil(lambda: not window.session.dirty)
    assert len(list(kept[0].parent.iterdir())) == 1


def test_a_later_write_of_an_image_left_failing_keeps_its_journal(window, mouse, qtbot, monkeypatch):
    """Saved once (held), edited again, left; the first write lands, the second fails: the journal
    still holds the newest edits, so a crash now loses nothing."""
    real, calls, gate = Project.save_annotation, [], threading.Event()

    def save_annotation(project, key, ann):
        calls.append(key)
        if len(calls) == 1:
            assert gate.wait(5)
            return real(project, key, ann)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Project, "save_annotation", save_annotation)
    draw_box(mouse, 20, 20)
    mouse.key(K.Key_S, CTRL)
    qtbot.waitUntil(lambda: calls == [A])  # being written
    draw_box(mouse, 100, 100)
    shapes = list(window.session.document.shapes)
    mouse.key(K.Key_D)
    gate.set()
    window.session.flush_saves()
    window.recovery.flush()
    assert calls == [A, A] and len(Project(window.project.root).load(A).shapes) == 1
    journal = journal_of(window.project.root)
    assert journal.pending() == [A] and same(journal.read(A).shapes, shapes)
    monkeypatch.setattr(Project, "save_annotation", real)


# -- refusals -----------------------------------------------------------------------------------------------

def test_a_refused_project_switch_keeps_autosave_running(window, mouse, writer, qtbot, tmp_path):
    from labeler.demo import ensure_demo_project

    other = ensure_demo_project(tmp_path / "other")
    root = window.project.root
    draw_box(mouse, 20, 20)
    writer.error = OSError(errno.ENOSPC, "No space left on device")
    assert not window.open_path(str(other))  # refused: the edits could not be saved
    assert window.project.root == root and window.session.key == A and window.session.dirty
    assert window.session.autosave_timer.isActive()  # a later autosave still comes
    writer.error = None
    window.session.autosave()
    qtbot.waitUntil(lambda: not window.session.dirty)
    assert window.open_path(str(other))  # the refused attempt left no lock behind on it
    assert window.project.root == Project(other).root and not window.project.read_only


def test_a_write_that_hangs_keeps_its_image_from_reopening_with_the_old_file(window, mouse, writer, qtbot,
                                                                             monkeypatch):
    monkeypatch.setattr(type(window.session.saving), "FLUSH_MS", 200)
    draw_box(mouse, 20, 20)
    shapes = list(window.session.document.shapes)
    writer.hold()
    mouse.key(K.Key_D)
    assert writer.started.wait(5)
    mouse.key(K.Key_A)  # the write of A is still running: A is not read now
    assert window.session.key == B and "still writing" in window.statusBar().currentMessage()
    assert not window.close() and window.isVisible()  # nor does the window close under it
    writer.release.set()
    mouse.key(K.Key_A)
    assert window.session.key == A and same(window.session.document.shapes, shapes)


def test_a_second_window_on_a_locked_project_writes_nothing_and_closes(window, mouse, qtbot):
    draw_box(mouse, 20, 20)
    mouse.key(K.Key_S, CTRL)
    qtbot.waitUntil(lambda: not window.session.dirty)
    saved = on_disk(window)
    second = MainWindow(Project.open(window.project.root), autosave_s=0.05)
    qtbot.addWidget(second)
    activate(qtbot, second)
    assert second.project.read_only and "another labeler process" in second.statusBar().currentMessage()
    other = Mouse(qtbot, second.canvas)
    draw_box(other, 150, 150)  # refused by the canvas: nothing to lose
    assert not second.session.dirty and "read-only" in second.statusBar().currentMessage()
    other.key(K.Key_S, CTRL)
    assert "not saved" in second.statusBar().currentMessage()
    qtbot.wait(150)  # its autosave timer fires: still nothing written
    assert second.close()
    assert same(on_disk(window), saved) and journal_of(window.project.root).pending() == []


def test_the_journal_of_edits_made_during_a_save_is_replaced_never_removed_first(window, mouse, writer,
                                                                                  qtbot):
    """Removing the recovery file and writing it again leaves an instant where a crash loses the
    newer edits; with unsaved edits left the file is only ever replaced."""
    journal = window.recovery.journal
    removed, real_remove = [], journal.remove
    journal.remove = lambda key: (removed.append(key), real_remove(key))
    draw_box(mouse, 20, 20)
    writer.hold()
    mouse.key(K.Key_S, CTRL)
    assert writer.started.wait(5)
    draw_box(mouse, 100, 100)
    shapes = list(window.session.document.shapes)
    writer.release.set()
    qtbot.waitUntil(lambda: not window.session.saving.pending())
    window.recovery.flush()
    assert window.session.dirty and removed == []
    assert same(journal.read(A).shapes, shapes)
    mouse.key(K.Key_S, CTRL)  # all saved: now it goes
    qtbot.waitUntil(lambda: not window.session.dirty)
    window.recovery.flush()
    assert removed == [A] and not journal.path_for(A).exists()
