"""Undo history survives leaving an image and coming back (document_cache.py): D to the next image,
A back, and Ctrl+Z still undoes the last edit; unless the file changed on disk meanwhile, the
document was dropped from the last images kept, a class it used was renamed, or its write failed."""

from __future__ import annotations

import errno
import os
import threading

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from labeler.core.project import Project
from labeler.core.schema import Schema
from labeler.core.shapes import Shape
from labeler.gui.document_cache import KEPT_IMAGES, DocumentCache
from labeler.gui.main_window import MainWindow

from .conftest import Mouse, activate
from .test_never_lose_work import background_window, journal_of
from .test_save_queue import Writer, draw_box, on_disk, same

K = Qt.Key
CTRL = Qt.KeyboardModifier.ControlModifier
A, B, C = "images/astronaut.png", "images/chelsea.png", "images/coffee.png"


@pytest.fixture
def writer(monkeypatch):
    return Writer(monkeypatch)


def indicator(window) -> tuple[str, bool]:
    return window.saved_label.text(), window.windowTitle().endswith("*")


def go(window, mouse, key, qtbot) -> None:
    """Press D/A until ``key`` is shown (images read in a worker arrive later)."""
    s = window.session
    step = K.Key_D if s.keys.index(key) > s.keys.index(s.key) else K.Key_A
    while s.key != key:
        before = s.loading_index if s.loading_index is not None else s.index
        mouse.key(step)
        qtbot.waitUntil(lambda: s.loading_index is None and s.index != before, timeout=5000)


def test_coming_back_undo_still_undoes_the_last_edit_and_leaving_saves_it(window, mouse, qtbot):
    draw_box(mouse, 20, 20)
    draw_box(mouse, 100, 100)
    first, second = window.session.document.shapes
    mouse.key(K.Key_D)
    assert window.session.key == B
    mouse.key(K.Key_A)
    s = window.session
    assert s.key == A and same(s.document.shapes, [first, second])
    assert indicator(window) == ("saved", False) and window.actions_by_id["undo"].isEnabled()
    mouse.key(K.Key_Z, CTRL)  # the last edit made on A before leaving
    assert same(s.document.shapes, [first]) and window.canvas.document is s.document
    assert indicator(window) == ("unsaved", True) and window.shape_dock.list.count() == 1
    mouse.key(K.Key_D)  # leaving writes the undone state
    assert s.flush_saves()
    assert same(on_disk(window, A), [first])
    mouse.key(K.Key_A)
    assert indicator(window) == ("saved", False)
    mouse.key(K.Key_Y, CTRL)  # redo is kept too
    assert same(s.document.shapes, [first, second]) and indicator(window) == ("unsaved", True)
    mouse.key(K.Key_Z, CTRL)
    mouse.key(K.Key_Z, CTRL)
    assert s.document.shapes == [] and indicator(window) == ("unsaved", True)  # the file has the box
    mouse.key(K.Key_D)
    assert s.flush_saves() and on_disk(window, A) == []


def test_the_history_comes_back_with_images_read_in_a_worker(qtbot, demo_root):
    w = background_window(qtbot, demo_root)
    mouse = Mouse(qtbot, w.canvas)
    draw_box(mouse, 20, 20)
    draw_box(mouse, 100, 100)
    shapes = list(w.session.document.shapes)
    go(w, mouse, C, qtbot)  # through B (prefetched) to C
    go(w, mouse, A, qtbot)
    assert same(w.session.document.shapes, shapes) and indicator(w) == ("saved", False)
    mouse.key(K.Key_Z, CTRL)
    assert same(w.session.document.shapes, shapes[:1]) and indicator(w) == ("unsaved", True)
    go(w, mouse, B, qtbot)
    assert w.session.flush_saves() and same(on_disk(w, A), shapes[:1])
    w.close()


def many_images_project(root, n: int) -> Project:
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(root / f"img{i:02d}.png")
    return Project.create(root, Schema.from_names(["person", "cat"]), annotation_dir="annotations")


def test_an_image_left_more_than_the_kept_count_ago_opens_afresh_with_the_file(qtbot, tmp_path):
    project = many_images_project(tmp_path, KEPT_IMAGES + 3)
    w = MainWindow(project, autosave_s=3600)
    qtbot.addWidget(w)
    activate(qtbot, w)
    mouse = Mouse(qtbot, w.canvas)
    s = w.session
    first = s.key
    draw_box(mouse, 5, 5)
    draw_box(mouse, 30, 15)
    shapes = list(s.document.shapes)
    for i in range(KEPT_IMAGES):
        mouse.key(K.Key_D)
    assert s.index == KEPT_IMAGES and first in s.documents  # the 20th image left is still kept
    assert len(s.documents) == KEPT_IMAGES + 1  # those left and the open one
    mouse.key(K.Key_D)  # the 21st other image: the first one is dropped
    assert first not in s.documents and len(s.documents) == KEPT_IMAGES + 1
    w.open_index(0)
    assert s.key == first and same(s.document.shapes, shapes) and same(on_disk(w, first), shapes)
    assert not s.document.can_undo and not w.actions_by_id["undo"].isEnabled()  # fresh history
    assert indicator(w) == ("saved", False)
    mouse.key(K.Key_Z, CTRL)
    assert same(s.document.shapes, shapes)
    w.close()


def test_a_file_changed_on_disk_while_away_drops_the_history_and_shows_the_disk(window, mouse, qtbot):
    draw_box(mouse, 20, 20)
    mouse.key(K.Key_D)
    assert window.session.flush_saves()
    other = Project(window.project.root)
    theirs = other.load(A)
    theirs.shapes = [Shape("point", "cat", [(7, 9)])]
    other.save_annotation(A, theirs)  # another program writes A meanwhile
    mouse.key(K.Key_A)
    doc = window.session.document
    assert same(doc.shapes, theirs.shapes) and not doc.can_undo and indicator(window) == ("saved", False)
    mouse.key(K.Key_Z, CTRL)
    assert same(doc.shapes, theirs.shapes)
    assert window.shape_dock.list.count() == 1


def test_a_rewrite_with_the_same_size_and_time_stamp_is_noticed(window, mouse, qtbot):
    """Time stamps can miss a rewrite (coarse file-system clocks); the file's bytes cannot."""
    mouse.key(K.Key_D)  # B: a saved cat polygon
    s = window.session
    window.class_dock.select("person")
    draw_box(mouse, 20, 20)
    mouse.key(K.Key_A)
    assert s.flush_saves()
    path = window.project.annotation_path(B)
    st = os.stat(path)
    text = path.read_text("utf-8")
    assert text.count('"cat"') == 1
    path.write_text(text.replace('"cat"', '"cup"'), "utf-8")  # same length
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (os.stat(path).st_mtime_ns, os.stat(path).st_size) == (st.st_mtime_ns, st.st_size)
    mouse.key(K.Key_D)
    assert sorted(x.label for x in s.document.shapes) == ["cup", "person"] and not s.document.can_undo


def test_a_class_renamed_while_away_drops_the_history(window, mouse, qtbot):
    s = window.session
    window.class_dock.select("person")
    draw_box(mouse, 20, 20)
    mouse.key(K.Key_D)
    window.schema_edit.rename_class("person", "human")  # writes A's saved file in a worker
    qtbot.waitUntil(lambda: not window.schema_edit.worker.busy, timeout=5000)
    mouse.key(K.Key_A)
    assert [x.label for x in s.document.shapes] == ["human"] and not s.document.can_undo
    assert [x.label for x in on_disk(window, A)] == ["human"]
    assert indicator(window) == ("saved", False)


def test_a_class_renamed_while_away_drops_a_redo_that_would_bring_it_back(window, mouse, qtbot):
    """C's file never held the class (its box was undone), so only the renamed class tells."""
    s = window.session
    go(window, mouse, C, qtbot)
    window.class_dock.select("sky")
    draw_box(mouse, 20, 20)
    mouse.key(K.Key_Z, CTRL)
    mouse.key(K.Key_A)
    assert C in s.documents
    window.schema_edit.rename_class("sky", "heaven")
    qtbot.waitUntil(lambda: not window.schema_edit.worker.busy, timeout=5000)
    mouse.key(K.Key_D)
    assert s.key == C and not s.document.can_redo
    mouse.key(K.Key_Y, CTRL)
    assert "sky" not in {x.label for x in s.document.shapes}


def test_adding_a_class_while_away_keeps_the_history(window, mouse, qtbot):
    draw_box(mouse, 20, 20)
    mouse.key(K.Key_D)
    window.add_class("tree")
    mouse.key(K.Key_A)
    assert window.session.document.can_undo


def test_a_failed_write_of_the_image_left_brings_its_edits_back_as_today(window, mouse, writer, qtbot):
    """The kept history is not used: the edits come back as one undo step onto the file's state."""
    draw_box(mouse, 20, 20)
    draw_box(mouse, 100, 100)
    shapes = list(window.session.document.shapes)
    writer.error = OSError(errno.ENOSPC, "No space left on device")
    mouse.key(K.Key_D)
    qtbot.waitUntil(lambda: "not saved" in window.statusBar().currentMessage())
    writer.error = None
    mouse.key(K.Key_A)
    doc = window.session.document
    assert same(doc.shapes, shapes) and indicator(window) == ("unsaved", True)
    mouse.key(K.Key_Z, CTRL)  # one step: the restore
    assert doc.shapes == [] and not doc.can_undo and indicator(window) == ("saved", False)


def test_coming_back_while_its_write_is_held_waits_and_shows_saved(window, mouse, writer, qtbot):
    draw_box(mouse, 20, 20)
    shapes = list(window.session.document.shapes)
    writer.hold()
    mouse.key(K.Key_D)
    assert writer.started.wait(5)
    threading.Timer(0.2, writer.release.set).start()
    mouse.key(K.Key_A)  # waits for the write, which marks the kept document saved
    s = window.session
    assert s.key == A and same(s.document.shapes, shapes) and indicator(window) == ("saved", False)
    mouse.key(K.Key_Z, CTRL)
    assert s.document.shapes == [] and indicator(window) == ("unsaved", True)


def test_the_recovery_journal_follows_the_kept_document(window, mouse, qtbot):
    journal = journal_of(window.project.root)
    draw_box(mouse, 20, 20)
    mouse.key(K.Key_D)
    assert window.session.flush_saves()
    window.recovery.flush()
    assert journal.pending() == [] and not journal.path_for(A).exists()  # saved: no journal
    mouse.key(K.Key_A)
    mouse.key(K.Key_Z, CTRL)  # unsaved again: journaled
    window.recovery.flush()
    assert journal.pending() == [A] and journal.read(A).shapes == []
    mouse.key(K.Key_Y, CTRL)  # back at the saved state: the journal goes
    window.recovery.flush()
    assert not journal.path_for(A).exists()
    mouse.key(K.Key_Z, CTRL)
    mouse.key(K.Key_D)  # written: the journal goes
    assert window.session.flush_saves()
    window.recovery.flush()
    assert journal.pending() == [] and not journal.path_for(A).exists() and on_disk(window, A) == []


def test_the_cache_keeps_the_open_document_and_the_last_left():
    from labeler.core.annotation import ImageAnnotation
    from labeler.core.document import Document

    cache = DocumentCache(capacity=2)
    docs = {k: Document(ImageAnnotation(k, 4, 4)) for k in "abcd"}
    for k in "abcd":
        cache.opened(k, docs[k], f"hash-{k}")
        cache.left(k, docs[k], ["x"])
    assert cache.keys() == ["b", "c", "d"]
    assert cache.reuse("b", "hash-b", ["x", "y"]) is docs["b"]
    assert cache.reuse("c", "other", ["x"]) is None and "c" not in cache  # the file changed
    assert cache.reuse("d", "hash-d", ["y"]) is None  # class x is gone
    docs["b"].add_shape(Shape("point", "x", [(1, 1)]))
    assert cache.reuse("b", "hash-b", ["x"]) is None  # unsaved edits: never handed back
