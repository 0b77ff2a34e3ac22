"""Opening a 3,000-image project with the folder scan and the status look-up in a worker
(gui/project_open.py): the window is usable while they run, then the list and counts are right."""

from __future__ import annotations

import json
import threading

import pytest
from PySide6.QtCore import Qt

from labeler.core.project import Project
from labeler.core.status_index import StatusIndex
from labeler.gui import app as gui_app, project_open
from labeler.gui.main_window import MainWindow
from tests.bench.bench_scale import make_project

from .conftest import activate

N = 3000
CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier


@pytest.fixture(scope="module")
def big_root(tmp_path_factory):
    root = make_project(tmp_path_factory.mktemp("open") / "big", N)
    warm = Project.open(root)  # indexed once, as after a first open
    index = StatusIndex(warm)
    _statuses, stale = index.lookup(warm.image_keys())
    index.refresh(stale)
    index.save()
    warm.close()
    return root


def statuses_on_disk(root) -> dict[str, str]:
    """Every image's status as its annotation file says (no file: new), read without the labeler."""
    out = {}
    for png in (root / "images").rglob("*.png"):
        key = png.relative_to(root).as_posix()
        ann = root / "annotations" / png.relative_to(root).with_suffix(".json")
        out[key] = json.loads(ann.read_text("utf-8"))["labeler"]["status"] if ann.exists() else "new"
    return out


def gated(monkeypatch, owner, name):
    """Make ``owner.name`` wait in its (worker) thread until the returned gate is set."""
    gate, entered = threading.Event(), threading.Event()
    real = getattr(owner, name)

    def slow(*args, **kwargs):
        entered.set()
        assert gate.wait(20), "the test never released the worker"
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, slow)
    return gate, entered


def open_window(qtbot, root, **kw) -> MainWindow:
    w = MainWindow(Project.open(root), autosave_s=3600, background_loading=True, background_open=True, **kw)
    qtbot.addWidget(w)
    activate(qtbot, w)
    return w


def test_window_is_usable_while_the_folder_is_scanned_then_the_list_fills(qtbot, big_root, monkeypatch):
    gate, scanning = gated(monkeypatch, Project, "_scan")
    w = open_window(qtbot, big_root)
    try:
        assert scanning.wait(5)  # the scan runs in the worker, held there: the window is up meanwhile
        first = sorted(statuses_on_disk(big_root))[0]
        # the first key was found by a short walk: its image shows before the scan ends
        qtbot.waitUntil(lambda: w.canvas.document is not None, timeout=5000)
        assert w.session.keys == [first] and w.session.key == first and w.session.opener.running
        assert w.status_progress.done_label.text() == "reading the image folder..."
        w.canvas.setFocus()
        qtbot.keyClick(w.canvas, Qt.Key.Key_D, CTRL | SHIFT)  # marked done before the scan ends
        assert w.session.document.annotation.status == "done" and w.session.done_count() == 1
        dock = w.file_dock
        dock.filter_box.setFocus()
        qtbot.keyClicks(dock.filter_box, "img_0012")  # real key presses, handled while it scans
        assert dock.filter_box.text() == "img_0012" and dock.visible_keys() == []
        gate.set()
        qtbot.waitUntil(lambda: not w.session.opener.running and w.canvas.document is not None, timeout=10000)
        refresher = w.session.status_refresher  # the first image's file, saved meanwhile, may be read again
        qtbot.waitUntil(lambda: refresher is None or not refresher.running, timeout=10000)
        qtbot.waitUntil(lambda: w.review.counts_pending == 0, timeout=5000)  # counts follow a turn later
        assert w.session.save(wait=True)
        on_disk = statuses_on_disk(big_root)
        assert on_disk[first] == "done"
        assert w.session.keys == sorted(on_disk) and len(w.session.keys) == N
        assert w.session.key == first == w.session.keys[0] and w.canvas.document is w.session.document
        assert dock.visible_keys() == [k for k in sorted(on_disk) if "img_0012" in k]  # the typed filter holds
        done = sum(s in ("done", "reviewed") for s in on_disk.values())
        assert w.session.statuses == on_disk and w.session.done_count() == done
        assert dock.done_count() == done and w.status_progress.done_label.text() == f"{done} of {N} done"
        assert dock.summary.text().startswith(f"{done} of {N} done")
        with_proposals = {k for k in dock.visible_keys() if "proposal" in dock.list.item(
            dock.model.index_of[k]).text()}
        assert with_proposals == {k for k in dock.visible_keys() if int(k[-10:-4]) % 40 == 0}
    finally:
        gate.set()
        w.close()


def test_without_a_cheap_first_key_the_image_follows_the_scan(qtbot, big_root, monkeypatch):
    monkeypatch.setattr(project_open, "first_image_key", lambda project: None)  # a walk that gave up
    gate, scanning = gated(monkeypatch, Project, "_scan")
    w = open_window(qtbot, big_root)
    try:
        assert scanning.wait(5)
        qtbot.keyClick(w.canvas, Qt.Key.Key_D)  # nothing to go to yet: handled, nothing happens
        qtbot.wait(100)
        assert w.session.keys == [] and w.canvas.document is None
        gate.set()
        qtbot.waitUntil(lambda: w.canvas.document is not None, timeout=10000)
        assert w.session.key == w.session.keys[0] and len(w.session.keys) == N
        qtbot.waitUntil(lambda: not w.session.opener.running, timeout=10000)
        assert w.file_dock.list.currentRow() == 0 and len(w.file_dock.visible_keys()) == N
    finally:
        gate.set()
        w.close()


def test_first_image_shows_before_the_annotation_files_are_stated(qtbot, big_root, monkeypatch):
    gate, stating = gated(monkeypatch, StatusIndex, "lookup")
    w = open_window(qtbot, big_root)
    try:
        assert stating.wait(5)
        first = sorted(statuses_on_disk(big_root))[0]
        qtbot.waitUntil(lambda: w.canvas.document is not None, timeout=5000)  # its key is known: shown
        assert w.session.key == first and w.session.opener.running
        assert w.status_progress.done_label.text() == f"reading {N} files..."
        w.canvas.setFocus()
        qtbot.keyClick(w.canvas, Qt.Key.Key_D, CTRL | SHIFT)  # mark done while the others are stat-ed
        assert w.session.document.annotation.status == "done"
        qtbot.keyClick(w.canvas, Qt.Key.Key_D)  # next image, also before the statuses are known
        qtbot.waitUntil(lambda: w.session.key == w.session.keys[1], timeout=5000)
        gate.set()
        refresher = lambda: w.session.status_refresher  # noqa: E731 (reads a file saved meanwhile)
        qtbot.waitUntil(lambda: not w.session.opener.running and (refresher() is None or not refresher().running),
                        timeout=10000)
        assert w.session.flush_saves()
        on_disk = statuses_on_disk(big_root)
        assert on_disk[first] == "done" and w.session.statuses == on_disk
        done = sum(s in ("done", "reviewed") for s in on_disk.values())
        assert w.session.done_count() == done == w.file_dock.done_count()
        assert w.status_progress.done_label.text() == f"{done} of {N} done"
    finally:
        gate.set()
        w.close()


def test_done_count_follows_status_changes_without_recounting(qtbot, big_root, monkeypatch):
    w = open_window(qtbot, big_root)
    try:
        qtbot.waitUntil(lambda: not w.session.opener.running and w.canvas.document is not None, timeout=10000)
        s = w.session
        w.canvas.setFocus()
        while s.document.annotation.status in ("done", "reviewed"):  # D to an image not done yet
            at = s.index
            qtbot.keyClick(w.canvas, Qt.Key.Key_D)
            qtbot.waitUntil(lambda: s.index == at + 1 and w.canvas.document is s.document, timeout=5000)
        before = s.done_count()
        assert before == sum(v in ("done", "reviewed") for v in s.statuses.values())
        # a recount would walk the statuses dict; the count is now kept as statuses change
        monkeypatch.setattr(s, "statuses", _NoWalk(s.statuses))
        start = s.document.annotation.status
        qtbot.keyClick(w.canvas, Qt.Key.Key_D, CTRL | SHIFT)
        gained = 1
        assert s.done_count() == before + gained
        assert w.status_progress.done_label.text() == f"{before + gained} of {N} done"
        qtbot.keyClick(w.canvas, Qt.Key.Key_Z, CTRL)  # undo: back to what it was
        assert s.document.annotation.status == start and s.done_count() == before
        assert w.file_dock.done_count() == before
    finally:
        w.close()


class _NoWalk(dict):
    """A statuses dict that refuses to be walked whole (what a recount does)."""

    def values(self):
        raise AssertionError("done_count recounted every status")

    def __iter__(self):
        raise AssertionError("done_count recounted every status")


def test_closing_while_the_scan_runs_drops_its_answer(qtbot, big_root, monkeypatch):
    gate, scanning = gated(monkeypatch, Project, "_scan")
    w = open_window(qtbot, big_root)
    assert scanning.wait(5)
    opener = w.session.opener
    timer = threading.Timer(0.2, gate.set)  # the scan ends while the window is closing
    timer.start()
    assert w.close()
    timer.join()
    qtbot.wait(50)
    assert not opener.running and len(w.session.keys) <= 1  # the scan's answer came after: dropped


def test_the_application_opens_projects_in_the_background(qtbot, big_root):
    w = gui_app.create_window(str(big_root), autosave_s=3600)
    qtbot.addWidget(w)
    try:
        assert w.session.opener is not None
        qtbot.waitUntil(lambda: not w.session.opener.running and w.canvas.document is not None, timeout=10000)
        assert len(w.file_dock.visible_keys()) == N
    finally:
        w.close()



def test_an_image_shown_before_the_scan_and_edited_is_kept_if_the_scan_misses_it(qtbot, tmp_path, monkeypatch):
    """If the quick first-key walk ever named an image the full scan does not list, the shown
    (and edited) image stays in the list and its edits are saved."""
    from labeler.core.shapes import Shape

    root = make_project(tmp_path / "small", 20)
    keys = Project.open(root, read_only=True).image_keys()
    odd = keys[0]
    real_scan = Project._scan
    monkeypatch.setattr(Project, "_scan", lambda self, folder: [k for k in real_scan(self, folder) if k != odd])
    monkeypatch.setattr(project_open, "first_image_key", lambda project: odd)
    gate, scanning = gated(monkeypatch, Project, "image_keys")
    w = open_window(qtbot, root)
    try:
        qtbot.waitUntil(lambda: w.canvas.document is not None, timeout=10000)
        assert w.session.key == odd
        w.session.document.add_shape(Shape("rectangle", w.project.schema.names()[0], [(1, 1), (4, 4)]))
        gate.set()
        qtbot.waitUntil(lambda: len(w.session.keys) == len(keys), timeout=10000)
        assert w.session.key == odd and odd in w.session.keys
        assert w.session.save_if_dirty()
        w.session.saving.flush()
        saved = Project.open(root, read_only=True).load(odd)
        assert any(s.kind == "rectangle" and s.points[0][0] == 1 for s in saved.shapes)
    finally:
        gate.set()
        w.close()


def test_proposal_counts_are_set_over_later_turns_in_steps_and_come_out_whole(qtbot, big_root, monkeypatch):
    """The list fills when the statuses arrive; the proposal counts follow over the next turns,
    ``COUNT_STEP`` images a turn (at 50,000 images one pass held the window with the fill)."""
    from labeler.gui import review

    monkeypatch.setattr(review, "COUNT_STEP", 700)
    w = open_window(qtbot, big_root)
    try:
        sizes, pending_at_fill = [], []
        real_set = w.file_dock.set_proposals
        monkeypatch.setattr(w.file_dock, "set_proposals", lambda counts: (sizes.append(len(counts)), real_set(counts)))
        w.session.statuses_refreshed.connect(lambda _s: pending_at_fill.append(w.review.counts_pending))
        qtbot.waitUntil(lambda: not w.session.opener.running and w.canvas.document is not None, timeout=10000)
        qtbot.waitUntil(lambda: w.review.counts_pending == 0, timeout=5000)
        assert pending_at_fill and pending_at_fill[0] == 1  # not counted on the turn the list filled
        assert max(sizes) <= 700 and sum(sizes) >= N and len(sizes) >= -(-N // 700)
        keys = w.session.keys
        expected = {k: int(int(k[-10:-4]) % 40 == 0) for k in keys}
        assert {k: w.file_dock.proposal_count(k) for k in keys} == expected
        assert {k: w.review.counts.get(k, 0) for k in keys} == expected
        assert sum("1 proposal" in w.file_dock.list.item(i).text() for i in range(N)) == N // 40
        w.file_dock.proposal_filter.setChecked(True)
        assert w.file_dock.visible_keys() == [k for k in keys if expected[k]]
    finally:
        w.close()
