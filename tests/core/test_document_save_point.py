"""Document.save_point / mark_saved(point): a save written in the background marks the state
it snapshotted, whatever was edited, undone or redone while it was written."""

from __future__ import annotations

from labeler.core.annotation import ImageAnnotation
from labeler.core.document import Document
from labeler.core.shapes import Shape


def box(x: float) -> Shape:
    return Shape("rectangle", "car", [(x, 0), (x + 5, 5)])


def doc_with(n: int, max_undo: int = 1000) -> Document:
    d = Document(ImageAnnotation("a.png", 50, 50), max_undo=max_undo)
    for i in range(n):
        d.add_shape(box(i))
    return d


def test_edits_made_after_the_snapshot_stay_unsaved_and_undo_reaches_the_saved_state():
    d = doc_with(2)
    point = d.save_point()
    d.add_shape(box(10))
    d.mark_saved(point)
    assert d.dirty
    d.undo()
    assert not d.dirty
    d.redo()
    assert d.dirty


def test_a_snapshot_undone_before_its_write_finished_is_reached_again_by_redo():
    d = doc_with(3)
    point = d.save_point()
    d.undo()
    d.undo()
    d.mark_saved(point)
    assert d.dirty
    d.redo()
    assert d.dirty
    d.redo()
    assert not d.dirty


def test_a_state_no_longer_reachable_leaves_the_document_dirty():
    d = doc_with(2)
    point = d.save_point()
    d.undo()
    d.add_shape(box(20))  # a new branch: the saved state is gone
    d.mark_saved(point)
    assert d.dirty
    d.undo()
    assert d.dirty


def test_an_empty_history_point_survives_edits_but_not_trimming():
    d = doc_with(0, max_undo=3)
    point = d.save_point()
    d.add_shape(box(1))
    d.mark_saved(point)
    assert d.dirty
    d.undo()
    assert not d.dirty
    for i in range(5):  # the bottom of the history is dropped past max_undo
        d.add_shape(box(i))
    d.mark_saved(point)
    while d.undo():
        assert d.dirty
    assert d.dirty


def test_mark_saved_without_a_point_marks_the_current_state():
    d = doc_with(2)
    d.mark_saved()
    assert not d.dirty
