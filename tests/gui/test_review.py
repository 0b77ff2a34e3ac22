"""Reviewing proposals across images: the file list's counts and filter, next/previous image with
proposals, Accept All and Next, Reject All, and Tab / Shift+Tab between an image's proposals."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from labeler.core import geometry
from labeler.core.project import Project
from labeler.core.shapes import MASK, POLYGON, Shape

from .conftest import Mouse, activate

K = Qt.Key
SHIFT = Qt.KeyboardModifier.ShiftModifier
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
ASTRONAUT, CHELSEA, COFFEE, ROCKET = ("images/astronaut.png", "images/chelsea.png", "images/coffee.png",
                                      "images/rocket.png")


def square(x0: float, y0: float, size: float = 60) -> np.ndarray:
    return np.array([[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size]], float)


def put_proposals(root, key: str, shapes: list[Shape], project: Project | None = None, status: str = "") -> None:
    """What a pre-labelling job does: proposals written into the image's annotation file."""
    own = project is None
    project = Project.open(root) if own else project
    ann = project.load(key)
    ann.shapes = list(ann.shapes) + shapes
    ann.status = status or ann.status
    project.save_annotation(key, ann)
    if own:
        project.close()


def open_window(qtbot, root):
    from labeler.gui.main_window import MainWindow

    w = MainWindow(Project.open(root), autosave_s=3600)
    qtbot.addWidget(w)
    activate(qtbot, w)
    qtbot.waitUntil(lambda: w.session.document is not None)
    w.set_tool("edit")
    return w


@pytest.fixture
def reviewing(qtbot, demo_root):
    """astronaut: an accepted square and three proposals (two SAM squares, a model mask) far apart;
    chelsea: its demo cat only; coffee: one GrabCut proposal beside its cup and spoon; rocket: none."""
    disc = np.zeros((512, 512), bool)
    disc[420:500, 420:500] = True
    put_proposals(demo_root, ASTRONAUT, [
        Shape(kind=POLYGON, label="cat", points=square(10, 10), id="accepted"),
        Shape(kind=POLYGON, label="cat", points=square(100, 10), source="sam", score=0.9,
              flags={"proposal": True}, id="p1"),
        Shape(kind=POLYGON, label="dog", points=square(10, 400), source="sam", score=0.8,
              flags={"proposal": True}, id="p2"),
        Shape(kind=MASK, label="cat", rle=geometry.rle_encode(disc), source="model", score=0.7, id="p3"),
    ])
    put_proposals(demo_root, COFFEE, [Shape(kind=POLYGON, label="cup", points=square(400, 200), source="grabcut",
                                            flags={"proposal": True}, id="c1")])
    w = open_window(qtbot, demo_root)
    yield w, Mouse(qtbot, w.canvas)
    w.close()


def row_text(w, key: str) -> str:
    return w.file_dock.list.item(w.session.keys.index(key)).text()


def on_disk(w, key: str):
    assert w.session.flush_saves()
    return w.session.project.load(key)


def test_the_file_list_counts_proposals_and_the_filter_shows_exactly_those_images(reviewing, qtbot):
    w, _mouse = reviewing
    dock = w.file_dock
    assert "3 proposals" in row_text(w, ASTRONAUT) and "1 proposal" in row_text(w, COFFEE)
    assert "proposal" not in row_text(w, CHELSEA) and "proposal" not in row_text(w, ROCKET)
    qtbot.mouseClick(dock.proposal_filter, Qt.MouseButton.LeftButton)
    assert dock.proposal_filter.isChecked()
    assert dock.visible_keys() == [ASTRONAUT, COFFEE]
    assert "(2 shown)" in dock.summary.text()
    box = dock.status_filter  # with the status filter: images with proposals that are in progress
    box.setCurrentIndex(box.findText("in progress"))
    assert dock.visible_keys() == [COFFEE]
    qtbot.mouseClick(dock.proposal_filter, Qt.MouseButton.LeftButton)
    assert dock.visible_keys() == [COFFEE]  # only the status filter left
    box.setCurrentIndex(box.findText("all images"))
    assert len(dock.visible_keys()) == 4


def test_counts_come_from_the_index_without_parsing_and_follow_a_save(reviewing, qtbot, demo_root):
    w, mouse = reviewing
    mouse.click(130, 40)  # the first SAM proposal
    assert w.canvas.selected_ids == ["p1"]
    mouse.key(K.Key_Delete)  # rejected, like any shape
    assert "2 proposals" in row_text(w, ASTRONAUT)  # the shown image's count follows its edits
    mouse.key(K.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert len(on_disk(w, ASTRONAUT).shapes) == 3
    w.close()

    again = open_window(qtbot, demo_root)
    assert again.session.status_index.reads == 0  # counts and statuses from .labeler/status.json
    assert "2 proposals" in row_text(again, ASTRONAUT) and "1 proposal" in row_text(again, COFFEE)
    # a job writes proposals into another image: turning the filter on reads it again, in a worker
    put_proposals(demo_root, ROCKET, [Shape(kind=POLYGON, label="cat", points=square(5, 5), source="sam",
                                            flags={"proposal": True})], again.session.project, "in_progress")
    qtbot.mouseClick(again.file_dock.proposal_filter, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: again.file_dock.visible_keys() == [ASTRONAUT, COFFEE, ROCKET], timeout=5000)
    assert again.session.status_index.reads == 1 and "1 proposal" in row_text(again, ROCKET)
    assert "[in progress]" in row_text(again, ROCKET)
    again.close()


def test_next_and_previous_image_with_proposals_skip_the_others(reviewing, qtbot):
    w, mouse = reviewing
    assert w.session.key == ASTRONAUT
    mouse.key(K.Key_D, SHIFT)
    assert w.session.key == COFFEE  # chelsea (no proposals) skipped
    mouse.key(K.Key_D, SHIFT)
    assert w.session.key == COFFEE and "No more images with proposals" in w.statusBar().currentMessage()
    mouse.key(K.Key_A, SHIFT)
    assert w.session.key == ASTRONAUT
    mouse.key(K.Key_D)  # plain D is still the next image
    assert w.session.key == CHELSEA
    mouse.key(K.Key_A, SHIFT)
    assert w.session.key == ASTRONAUT


def test_accept_all_and_next_accepts_marks_done_moves_and_is_one_undo_step(reviewing, qtbot):
    w, mouse = reviewing
    mouse.key(K.Key_Return, CTRL_SHIFT)
    assert w.session.key == COFFEE
    saved = on_disk(w, ASTRONAUT)
    assert saved.status == "done" and len(saved.shapes) == 4
    assert not any(s.is_proposal for s in saved.shapes)
    assert {s.source for s in saved.shapes} == {"manual", "sam", "model"}  # where they came from is kept
    assert "proposal" not in row_text(w, ASTRONAUT) and "[done]" in row_text(w, ASTRONAUT)

    # the last image with proposals: accepted and marked done, nowhere further to go
    doc = w.session.document
    before = [(s.id, s.is_proposal) for s in doc.shapes]
    mouse.key(K.Key_Return, CTRL_SHIFT)
    assert w.session.key == COFFEE and doc.annotation.status == "done"
    assert not any(s.is_proposal for s in doc.shapes)
    assert "proposal" not in row_text(w, COFFEE)
    mouse.key(K.Key_Z, Qt.KeyboardModifier.ControlModifier)  # one undo step brings all of it back
    assert [(s.id, s.is_proposal) for s in doc.shapes] == before and doc.annotation.status == "in_progress"
    assert not doc.can_undo and "1 proposal" in row_text(w, COFFEE)


def test_reject_all_removes_only_the_proposals_as_one_undo_step(reviewing, qtbot):
    w, mouse = reviewing
    doc = w.session.document
    mouse.key(K.Key_Delete, CTRL_SHIFT)
    assert [s.id for s in doc.shapes] == ["accepted"]
    assert "proposal" not in row_text(w, ASTRONAUT)
    mouse.key(K.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert [s.id for s in doc.shapes] == ["accepted", "p1", "p2", "p3"]
    mouse.key(K.Key_Delete, CTRL_SHIFT)
    mouse.key(K.Key_D)  # leaving saves it
    assert [s.id for s in on_disk(w, ASTRONAUT).shapes] == ["accepted"]
    mouse.key(K.Key_Delete, CTRL_SHIFT)  # chelsea has none: nothing removed
    assert len(w.session.document.shapes) == 1 and "No proposals" in w.statusBar().currentMessage()


def view_centre(canvas) -> np.ndarray:
    p = canvas.mapToScene(canvas.viewport().rect().center())
    return np.array([p.x(), p.y()])


def test_tab_and_shift_tab_walk_the_proposals_and_bring_each_into_view(reviewing, qtbot):
    w, mouse = reviewing
    canvas = w.canvas
    mouse.click(130, 40)
    assert canvas.selected_ids == ["p1"]
    mouse.key(K.Key_Tab)
    assert canvas.selected_ids == ["p2"]
    mouse.key(K.Key_Tab)
    assert canvas.selected_ids == ["p3"]
    mouse.key(K.Key_Tab)  # round again
    assert canvas.selected_ids == ["p1"]
    mouse.key(K.Key_Backtab, SHIFT)
    assert canvas.selected_ids == ["p3"]

    # zoomed in on p3 (bottom right), the next proposal is off-screen: the view moves to it
    canvas.zoom_by(6.0)
    canvas.centerOn(460, 460)
    assert np.allclose(view_centre(canvas), (460, 460), atol=5)
    mouse.key(K.Key_Tab)
    assert canvas.selected_ids == ["p1"]
    assert np.allclose(view_centre(canvas), (130, 40), atol=5)
    # p2 is off-screen too; one already in view does not move the view
    canvas.zoom_by(1 / 6.0)
    canvas.fit()
    before = view_centre(canvas)
    mouse.key(K.Key_Tab)
    assert canvas.selected_ids == ["p2"] and np.allclose(view_centre(canvas), before)


def test_tab_leaves_an_accepted_selection_and_other_tools_alone(reviewing, qtbot):
    w, mouse = reviewing
    canvas = w.canvas
    mouse.click(40, 40)
    assert canvas.selected_ids == ["accepted"]
    mouse.key(K.Key_Tab)
    assert canvas.selected_ids == ["accepted"]  # not reviewing: Tab is not taken
    canvas.select([])
    mouse.key(K.Key_Tab)  # nothing selected: the first proposal
    assert canvas.selected_ids == ["p1"]
    w.set_tool("polygon")
    mouse.key(K.Key_Tab)
    assert canvas.selected_ids == ["p1"]


def test_the_actions_have_free_shortcuts_chinese_texts_and_rows_in_the_shortcuts_dialog():
    import xml.etree.ElementTree as ET
    from importlib.resources import files

    from labeler.gui.actions import ACTIONS
    from labeler.gui.dialogs.shortcuts import shortcut_rows
    from labeler.gui.review import REVIEW_ACTIONS

    rows = {r[0]: r for r in shortcut_rows()}
    root = ET.fromstring((files("labeler.resources") / "translations" / "labeler_zh_CN.ts").read_bytes())
    texts = {m.findtext("source"): m.findtext("translation") for ctx in root.iter("context")
             if ctx.findtext("name") == "actions" for m in ctx.iter("message")}
    for spec in REVIEW_ACTIONS:
        assert rows[spec.id][3], spec.id
        assert [a.id for a in ACTIONS if a.shortcut == spec.shortcut] == [spec.id]
        assert texts.get(spec.text) and any("\u4e00" <= ch <= "\u9fff" for ch in texts[spec.text]), spec.text


def test_a_click_on_a_proposal_then_tab_does_not_move_the_focus_out_of_the_canvas(reviewing, qtbot):
    w, mouse = reviewing
    mouse.click(130, 40)
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas, K.Key_Tab)
    assert w.canvas.selected_ids == ["p2"] and w.canvas.hasFocus()


def test_the_filter_appears_once_a_prediction_has_written_proposals(qtbot, window):
    dock = window.file_dock
    assert dock.proposal_filter.isHidden()  # nothing to review: the list looks as it always did
    reads = window.session.status_index.reads
    put_proposals(None, ROCKET, [Shape(kind=MASK, label="cat", rle=geometry.rle_encode(np.ones((427, 640), bool)),
                                       source="model", score=0.4)], window.session.project)
    window.training.prelabels.predicted.emit(None)  # what Model > Predict Proposals says when done
    qtbot.waitUntil(lambda: "1 proposal" in row_text(window, ROCKET), timeout=5000)
    assert not dock.proposal_filter.isHidden() and window.session.status_index.reads == reads + 1  # that file
    qtbot.mouseClick(dock.proposal_filter, Qt.MouseButton.LeftButton)
    assert dock.visible_keys() == [ROCKET]
    window.review.go_to_proposals(1)
    assert window.session.key == ROCKET
