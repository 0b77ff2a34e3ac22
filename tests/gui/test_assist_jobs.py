"""The assist issue in the window: weak boxes, prompts kept as weak labels, Autolabel with progress
and cancel, regenerating a proposal with another engine, closing with preparation running."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog

from labeler.core.shapes import MASK, POINT, RECTANGLE, Shape

from .conftest import Mouse
from .test_assist_tool import assist_window, choose_ai, scenes, wait_proposal  # noqa: F401 (fixtures)

K = Qt.Key


def click(qtbot, widget) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def test_weak_box_tool_draws_a_dashed_weak_rectangle(assist_window, qtbot):
    w = assist_window
    w.actions_by_id["tool_weak_box"].trigger()
    assert w.canvas.tool.name == "weak_box"
    Mouse(qtbot, w.canvas).drag((20, 30), (90, 110))
    doc = w.session.document
    assert len(doc.shapes) == 1
    box = doc.shapes[0]
    assert box.kind == RECTANGLE and box.weak and box.label == "object"
    np.testing.assert_allclose(box.points, [[20, 30], [90, 110]], atol=1.5)
    assert w.canvas._items[box.id].pen().style() == Qt.PenStyle.DashLine
    w.actions_by_id["tool_rectangle"].trigger()
    Mouse(qtbot, w.canvas).drag((100, 30), (150, 80))
    plain = doc.shapes[-1]
    assert not plain.weak and w.canvas._items[plain.id].pen().style() == Qt.PenStyle.SolidLine


def test_kept_prompts_are_saved_as_weak_labels_and_linked(assist_window, qtbot):
    w = assist_window
    choose_ai(w, qtbot, "slow")
    panel = w.assist.panel
    assert not panel.keep_prompts.isChecked()
    click(qtbot, panel.keep_prompts)
    assert w.assist.keep_prompts
    mouse, tool, doc = Mouse(qtbot, w.canvas), w.canvas.tool, w.session.document
    mouse.drag((20, 20), (120, 100))
    wait_proposal(qtbot, tool)
    mouse.click(60, 60)
    mouse.click(30, 90, Qt.MouseButton.RightButton)  # a negative click: not kept
    qtbot.waitUntil(lambda: len(tool.results) == 3 and tool.results[-1] is not None, timeout=5000)
    mouse.key(K.Key_Return)
    kinds = sorted(s.kind for s in doc.shapes)
    assert kinds == sorted([RECTANGLE, POINT, MASK])
    box = next(s for s in doc.shapes if s.kind == RECTANGLE)
    point = next(s for s in doc.shapes if s.kind == POINT)
    mask = next(s for s in doc.shapes if s.kind == MASK)
    assert box.weak and box.label == point.label == mask.label == "object"
    np.testing.assert_allclose(point.points, [[60, 60]], atol=1.5)
    assert set(mask.links) == {box.id, point.id}
    doc.undo()  # one step
    assert doc.shapes == []
    click(qtbot, panel.keep_prompts)  # off again: only the mask
    mouse.drag((20, 20), (120, 100))
    wait_proposal(qtbot, tool)
    mouse.key(K.Key_Return)
    assert [s.kind for s in doc.shapes] == [MASK] and doc.shapes[0].links == ()


def _weak_boxes(w, scenes, accepted_too=False):
    """A weak box around each scene's object, on disk; the first image also in the window."""
    project = w.session.project
    for i, key in enumerate(w.session.keys):
        x0, y0, x1, y1 = scenes[i][2]
        box = Shape(RECTANGLE, "object", [[x0 - 2, y0 - 2], [x1 + 2, y1 + 2]], weak=True)
        if i == 0:
            shapes = [box] + ([Shape(RECTANGLE, "object", [[1, 1], [10, 10]])] if accepted_too else [])
            w.session.document.add_shapes(shapes)  # unsaved: Run saves it first
        else:
            ann = project.load(key)
            ann.shapes.append(box)
            project.save_annotation(key, ann)


def test_autolabel_dialog_writes_proposals_and_refreshes_the_shown_image(assist_window, qtbot, scenes):
    w = assist_window
    _weak_boxes(w, scenes, accepted_too=True)
    accepted = [s for s in w.session.document.shapes if not s.weak][0]
    w.actions_by_id["autolabel"].trigger()
    dialog = w.assist.jobs.dialog
    assert dialog.isVisible()
    dialog.engine.setCurrentIndex(dialog.engine.findData("slow"))
    dialog.source.setCurrentIndex(dialog.source.findData("boxes"))
    click(qtbot, dialog.run_button)
    assert dialog.running and not dialog.run_button.isEnabled()  # the GUI thread is free meanwhile
    qtbot.waitUntil(lambda: not dialog.running and dialog.run_button.isEnabled(), timeout=10000)
    assert dialog.last_report is not None and dialog.last_report.done == 2
    assert dialog.progress.value() == dialog.progress.maximum() == 2
    for key in w.session.keys:
        props = [s for s in w.session.project.load(key).shapes if s.is_proposal]
        assert len(props) == 1 and props[0].source == "slow" and props[0].kind == MASK
    doc = w.session.document
    assert any(s.is_proposal for s in doc.shapes) and not doc.dirty
    assert doc.get(accepted.id) == accepted  # accepted shapes untouched
    other = next(k for k in w.session.keys if k != w.session.key)  # the file list counts them, unasked
    qtbot.waitUntil(lambda: w.review.counts.get(other) == 1, timeout=5000)
    assert not w.file_dock.proposal_filter.isHidden()
    doc.undo()  # the refresh is one undo step
    assert not any(s.is_proposal for s in doc.shapes)
    dialog.close()


def test_autolabel_cancel_stops_between_images(assist_window, qtbot, scenes):
    w = assist_window
    _weak_boxes(w, scenes)
    w.assist.plugins.engines["slow"].delay = 0.8
    dialog = w.assist.jobs.show_autolabel()
    dialog.engine.setCurrentIndex(dialog.engine.findData("slow"))
    click(qtbot, dialog.run_button)
    qtbot.wait(100)
    click(qtbot, dialog.cancel_button)
    qtbot.waitUntil(lambda: not dialog.running and dialog.run_button.isEnabled(), timeout=10000)
    assert "Cancelled" in dialog.status.text()
    last = w.session.keys[-1]
    assert not any(s.is_proposal for s in w.session.project.load(last).shapes)
    dialog.close()


def test_regenerate_a_proposal_with_another_engine_uses_its_links(assist_window, qtbot, scenes, monkeypatch):
    w = assist_window
    _weak_boxes(w, scenes)
    dialog = w.assist.jobs.show_autolabel()
    dialog.engine.setCurrentIndex(dialog.engine.findData("slow"))
    dialog.current_image.setChecked(True)
    click(qtbot, dialog.run_button)
    qtbot.waitUntil(lambda: not dialog.running and dialog.run_button.isEnabled(), timeout=10000)
    dialog.close()
    doc = w.session.document
    old = next(s for s in doc.shapes if s.is_proposal)
    w.canvas.select([old.id])
    offered = []

    def choose(parent, title, label, items, current, editable):
        offered.extend(items)
        return "grabcut", True

    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(choose))
    w.actions_by_id["regenerate_proposal"].trigger()
    assert offered[-1] == "slow" and "grabcut" in offered  # the engine that made it comes last
    qtbot.waitUntil(lambda: not w.assist.jobs.regenerate_job.isRunning()
                    and any(s.source == "grabcut" for s in doc.shapes), timeout=10000)
    props = [s for s in doc.shapes if s.is_proposal]
    assert len(props) == 1 and props[0].source == "grabcut" and props[0].links == old.links
    assert w.canvas.selected_ids == [props[0].id]
    assert not (props[0].kind == MASK and props[0].rle == old.rle)


def test_closing_the_window_stops_preparation_without_late_callbacks(assist_window, qtbot):
    w = assist_window
    engine = w.assist.plugins.engines["slow"]
    engine.delay = 0.5
    w.assist.set_engine("slow")
    w.actions_by_id["tool_ai"].trigger()  # starts preparing in the background
    threads = [p._thread for p in w.assist._prefetchers.values()]
    assert threads and all(t.is_alive() for t in threads)
    late = []
    w.assist._prepare_finished.connect(lambda *a: late.append(a))
    w.close()
    assert all(not t.is_alive() for t in threads)  # stopped, not left running
    qtbot.wait(700)
    assert late == [] and w.assist._prefetchers == {}


def test_regenerate_refuses_a_shape_without_weak_labels(assist_window, qtbot):
    w = assist_window
    manual = Shape(RECTANGLE, "object", [[5, 5], [40, 40]])
    w.session.document.add_shapes([manual])
    w.canvas.select([manual.id])
    assert not w.assist.jobs.regenerate_selected("grabcut")
    assert "no links" in w.statusBar().currentMessage()
    assert w.assist.jobs.regenerate_job is None and w.session.document.shapes == [manual]
