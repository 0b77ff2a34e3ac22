"""The file list of a 3,000-image project driven by keyboard and mouse: the code paths that keep
50,000 images fluid (tests/bench/bench_scale.py) give the same answers as the plain rules."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from labeler.core.project import Project
from labeler.gui.main_window import MainWindow
from tests.bench.bench_scale import STATUSES, make_project

from .conftest import activate

N = 3000
K = Qt.Key
CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier


def written_status(i: int) -> str:
    """The status make_project wrote for image ``i`` (every tenth has a file)."""
    return STATUSES[(i // 10) % 4] if i % 10 == 0 else "new"


@pytest.fixture
def big(qtbot, tmp_path):
    root = make_project(tmp_path / "big", N)
    w = MainWindow(Project.open(root), autosave_s=3600)
    qtbot.addWidget(w)
    activate(qtbot, w)
    yield w
    w.close()


def number(key: str) -> int:
    """The image's number in make_project ('images/d07/img_002907.png' -> 2907); keys sort by folder."""
    return int(key.rsplit("_", 1)[1][:6])


def expected(w, text: str = "", statuses=None) -> list[str]:
    """What the list must show: the keys (in key order) with ``text`` and one of ``statuses``."""
    return [k for k in w.session.keys if text in k and (statuses is None or w.session.statuses[k] in statuses)]


def test_typing_a_filter_narrows_and_widens_the_list_and_the_counts_follow(big, qtbot):
    w, dock = big, big.file_dock
    done = sum(written_status(i) in ("done", "reviewed") for i in range(N))
    assert dock.list.count() == N and dock.summary.text() == f"{done} of {N} done"
    assert w.status_progress.done_label.text() == f"{done} of {N} done"
    dock.filter_box.setFocus()
    qtbot.keyClicks(dock.filter_box, "img_001")  # one key press per character
    assert dock.visible_keys() == expected(w, "img_001") and len(dock.visible_keys()) == 1000
    assert dock.list.model().rowCount() == 1000 and dock.summary.text() == f"{done} of {N} done  (1000 shown)"
    qtbot.keyClick(dock.filter_box, K.Key_Backspace)  # "img_00": wider again
    assert dock.visible_keys() == expected(w, "img_00") and len(dock.visible_keys()) == N
    qtbot.keyClicks(dock.filter_box, "21")
    assert dock.visible_keys() == expected(w, "img_0021") and len(dock.visible_keys()) == 100
    qtbot.keyClicks(dock.filter_box, " reviewed")  # name and status words together
    assert dock.visible_keys() == expected(w, "img_0021", ("reviewed",))
    reviewed = [n for n in range(2100, 2200) if written_status(n) == "reviewed"]
    assert sorted(number(k) for k in dock.visible_keys()) == reviewed and len(reviewed) == 3
    qtbot.keyClicks(dock.filter_box, "x")
    assert dock.visible_keys() == [] and dock.summary.text().endswith("(0 shown)")
    dock.filter_box.selectAll()
    qtbot.keyClick(dock.filter_box, K.Key_Delete)
    assert len(dock.visible_keys()) == N and dock.summary.text() == f"{done} of {N} done"


def test_status_filter_by_keyboard_then_marking_done_and_undo_move_the_image_out_and_back(big, qtbot):
    w, dock = big, big.file_dock
    box = dock.status_filter
    box.setFocus()
    qtbot.keyClick(box, K.Key_Down)  # "all images" -> "not done"
    assert box.currentText() == "not done"
    not_done = expected(w, statuses=("new", "in_progress", "unknown", "unreadable"))
    assert dock.visible_keys() == not_done and len(not_done) == N - 150
    for _ in range(3):  # -> "new" -> "in progress" -> "done"
        qtbot.keyClick(box, K.Key_Down)
    assert box.currentText() == "done" and dock.visible_keys() == expected(w, statuses=("done",))
    qtbot.keyClick(box, K.Key_Up)
    qtbot.keyClick(box, K.Key_Up)
    qtbot.keyClick(box, K.Key_Up)  # back to "not done"
    shown = w.session.key
    assert shown in dock.visible_keys() and dock.list.currentRow() == w.session.index
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas, K.Key_D, CTRL | SHIFT)  # mark done: it leaves the "not done" list
    assert w.session.statuses[shown] == "done" and shown not in dock.visible_keys()
    assert len(dock.visible_keys()) == N - 151 and dock.summary.text() == f"151 of {N} done  ({N - 151} shown)"
    assert w.status_progress.done_label.text() == f"151 of {N} done"
    qtbot.keyClick(w.canvas, K.Key_Z, CTRL)  # undone: back in its place, the current row again
    assert dock.visible_keys() == not_done and dock.list.currentRow() == w.session.index
    assert dock.summary.text() == f"150 of {N} done  ({N - 150} shown)"


def test_next_and_previous_keys_and_the_list_keyboard_open_images_in_a_filtered_list(big, qtbot):
    w, dock = big, big.file_dock
    keys = w.session.keys
    dock.filter_box.setFocus()
    qtbot.keyClicks(dock.filter_box, "img_0029")  # img_002900 .. img_002999, one per folder
    shown = dock.visible_keys()
    assert shown == expected(w, "img_0029") and [number(k) for k in shown] == list(range(2900, 3000))
    w.canvas.setFocus()
    for _ in range(3):
        qtbot.keyClick(w.canvas, K.Key_D)
    assert w.session.key == keys[3] and dock.list.currentRow() == -1  # hidden by the filter: no current row
    qtbot.keyClick(w.canvas, K.Key_A)
    assert w.session.key == keys[2]
    row = dock.list.visualItemRect(dock.list.item(keys.index(shown[5])))  # a click on a shown row opens it
    qtbot.mouseClick(dock.list.viewport(), Qt.MouseButton.LeftButton, pos=row.center())
    assert w.session.key == shown[5] and dock.list.currentRow() == w.session.index
    dock.list.setFocus()
    qtbot.keyClick(dock.list, K.Key_Down)
    qtbot.keyClick(dock.list, K.Key_Down)
    qtbot.keyClick(dock.list, K.Key_Return)  # the list's own keys: two rows down, Enter opens it
    assert w.session.key == shown[7] and dock.list.currentRow() == w.session.index
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas, K.Key_D)  # the next image in the project, which the filter hides
    assert w.session.key == keys[keys.index(shown[7]) + 1] and dock.list.currentRow() == -1
    dock.filter_box.clear()  # shown again: it is the current row
    assert dock.list.currentRow() == w.session.index
    for k in (shown[7], shown[10], shown[30]):
        status = {"in_progress": "in progress"}.get(written_status(number(k)), written_status(number(k)))
        assert f"[{status}]" in dock.list.item(keys.index(k)).text()


def test_the_proposal_filter_keeps_exactly_the_images_with_proposals(big, qtbot):
    w, dock = big, big.file_dock
    keys = w.session.keys
    with_proposals = [k for k in keys if number(k) % 40 == 0]
    assert not dock.proposal_filter.isHidden()
    assert all("1 proposal" in dock.list.item(keys.index(k)).text() for k in with_proposals)
    assert sum("proposal" in dock.list.item(i).text() for i in range(N)) == len(with_proposals) == N // 40
    qtbot.mouseClick(dock.proposal_filter, Qt.MouseButton.LeftButton)
    assert dock.visible_keys() == with_proposals
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas, K.Key_D, SHIFT)  # next image with proposals (the first one has some)
    target = with_proposals[1]
    assert w.session.key == target and dock.list.currentRow() == keys.index(target)
    qtbot.keyClick(w.canvas, K.Key_Delete, CTRL | SHIFT)  # reject all: its count goes, it leaves the list
    assert target not in dock.visible_keys() and len(dock.visible_keys()) == N // 40 - 1
    assert "proposal" not in dock.list.item(keys.index(target)).text() and dock.list.currentRow() == -1
