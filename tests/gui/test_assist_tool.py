"""The AI tool in the window: real mouse and key events on the canvas, engines in a worker."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from labeler.assist.plugins import LoadedPlugins, PluginFailure
from labeler.core import geometry
from labeler.core.project import Project
from labeler.core.schema import Schema
from labeler.core.shapes import MASK, POINT, POLYGON, Shape
from labeler.plugins.grabcut import GrabCutEngine
from labeler.plugins.superpixels import SuperpixelEngine

from ..assist.synthetic import scene
from .conftest import Mouse, activate

K = Qt.Key
CTRL = Qt.KeyboardModifier.ControlModifier


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


class SlowEngine:
    """Prepares in ``delay`` seconds (in whichever thread calls it), proposes the box."""

    name = "slow"
    accepts = frozenset({"box", "positive_points", "negative_points"})
    cache_key = "slow"

    def __init__(self, delay: float = 1.0) -> None:
        self.delay = delay
        self.prepare_threads: list[int] = []
        self.prepared = 0

    def prepare(self, image):
        self.prepare_threads.append(threading.get_ident())
        time.sleep(self.delay)
        self.prepared += 1
        return image.shape[:2]

    def propose(self, state, prompts):
        from labeler.assist.engine import Proposal

        h, w = state
        mask = np.zeros((h, w), bool)
        x0, y0, x1, y1 = (int(v) for v in prompts.box)
        mask[y0:y1, x0:x1] = True
        return [Proposal(mask, 1.0, self.name)]


@pytest.fixture
def scenes():
    return [scene("ellipse", seed=0), scene("rectangle", seed=3)]


@pytest.fixture
def assist_window(qtbot, tmp_path, scenes):
    """A window on a project of two synthetic images, with GrabCut, superpixels and a slow engine."""
    from labeler.gui.main_window import MainWindow

    root = tmp_path / "proj"
    root.mkdir()
    for i, (img, _truth, _box) in enumerate(scenes):
        Image.fromarray(img).save(root / f"scene{i}.png")
    Project.create(root, Schema.from_names(["background", "object"])).close()
    plugins = LoadedPlugins()
    for engine in (GrabCutEngine(), SuperpixelEngine("slic", region_size=10), SlowEngine(0.05)):
        plugins.engines[engine.name] = engine
        plugins.origins[engine.name] = "test"
    plugins.failures.append(PluginFailure("/plugins/broken.py", "ImportError: No module named 'nope'"))
    w = MainWindow(autosave_s=3600)
    w.assist._plugins = plugins
    w.set_project(Project.open(root))
    qtbot.addWidget(w)
    activate(qtbot, w)
    w.class_dock.select("object")
    yield w
    w.assist.shutdown()
    w.close()


def choose_ai(window, qtbot, engine: str) -> None:
    window.assist.set_engine(engine)
    window.actions_by_id["tool_ai"].trigger()
    assert window.canvas.tool.name == "ai"
    qtbot.waitUntil(lambda: window.assist.ready, timeout=5000)


def assert_box_mask(tool, box) -> None:
    """The slow engine's candidate is the box dragged (mouse positions land within a pixel)."""
    np.testing.assert_allclose(tool.prompts().box, box, atol=1.5)
    x0, y0, x1, y1 = (int(v) for v in tool.prompts().box)
    expected = np.zeros_like(tool.current.mask)
    expected[y0:y1, x0:x1] = True
    np.testing.assert_array_equal(tool.current.mask, expected)


def wait_proposal(qtbot, tool, before=None) -> None:
    qtbot.waitUntil(lambda: tool.current is not None and tool.current is not before, timeout=5000)


def test_box_then_enter_adds_a_mask_of_the_object(assist_window, qtbot, scenes):
    w = assist_window
    choose_ai(w, qtbot, "grabcut")
    mouse, tool, doc = Mouse(qtbot, w.canvas), w.canvas.tool, w.session.document
    _img, truth, (x0, y0, x1, y1) = scenes[0]
    mouse.drag((x0 - 3, y0 - 3), (x1 + 3, y1 + 3))
    wait_proposal(qtbot, tool)
    assert not tool.overlay.pixmap().isNull()  # the candidate is shown
    mouse.key(K.Key_Return)
    assert len(doc.shapes) == 1
    shape = doc.shapes[0]
    assert shape.kind == MASK and shape.label == "object" and shape.source == "grabcut"
    assert iou(geometry.rle_decode(shape.rle), truth) >= 0.9
    assert tool.steps == [] and tool.overlay.pixmap().isNull()
    assert w.canvas.selected_ids == [shape.id]
    assert doc.undo_text.startswith("accept")
    mouse.key(K.Key_Z, CTRL)  # no prompts left: Ctrl+Z is the document's undo, and one step removes it all
    assert doc.shapes == []


def test_accept_as_polygons_keeps_holes_in_one_undo_step(assist_window, qtbot):
    w = assist_window
    choose_ai(w, qtbot, "slow")
    w.assist.set_accept_as_polygons(True)
    mouse, tool, doc = Mouse(qtbot, w.canvas), w.canvas.tool, w.session.document
    mouse.drag((20, 20), (120, 100))
    wait_proposal(qtbot, tool)
    ring = tool.current.mask.copy()
    ring[40:80, 50:90] = False  # a candidate with a hole, as an engine may give
    tool.results[-1][0].mask = ring
    seen = []
    doc.changed.connect(seen.append)
    mouse.key(K.Key_Enter)
    assert len(seen) == 1 and len(doc.shapes) == 1
    poly = doc.shapes[0]
    assert poly.kind == POLYGON and len(poly.holes) == 1 and poly.source == "slow"
    assert iou(geometry.polygon_to_mask(poly.points, poly.holes, 160, 200).astype(bool), ring) > 0.95
    doc.undo()
    assert doc.shapes == []


def test_negative_click_changes_the_proposal_and_backspace_undoes_it(assist_window, qtbot, scenes):
    w = assist_window
    choose_ai(w, qtbot, "superpixel")
    mouse, tool = Mouse(qtbot, w.canvas), w.canvas.tool
    _img, truth, _box = scenes[0]
    ys, xs = np.nonzero(truth)
    cx, cy = float(xs.mean()), float(ys.mean())
    mouse.click(cx, cy)
    wait_proposal(qtbot, tool)
    first = tool.current.mask.copy()
    assert first[int(cy), int(cx)]
    mouse.click(cx + 25, cy)
    wait_proposal(qtbot, tool, tool.current)
    two = tool.current.mask.copy()
    assert two.sum() > first.sum()
    mouse.click(cx + 25, cy, Qt.MouseButton.RightButton)  # a negative click on the second region
    qtbot.waitUntil(lambda: len(tool.results) == 3 and tool.results[-1] is not None, timeout=5000)
    after = tool.current.mask
    assert not after[int(cy), int(cx) + 25] and after[int(cy), int(cx)]
    assert not np.array_equal(after, two)
    assert [s.kind for s in tool.steps] == ["positive", "positive", "negative"]
    mouse.key(K.Key_Backspace)
    assert [s.kind for s in tool.steps] == ["positive", "positive"]
    np.testing.assert_array_equal(tool.current.mask, two)  # its candidates come back at once
    mouse.key(K.Key_Z, CTRL)  # Ctrl+Z inside the tool: the last click, not the document
    assert [s.kind for s in tool.steps] == ["positive"]
    np.testing.assert_array_equal(tool.current.mask, first)
    assert w.session.document.shapes == []


def test_escape_rejects_and_leaves_the_document_unchanged(assist_window, qtbot, scenes):
    w = assist_window
    choose_ai(w, qtbot, "grabcut")
    mouse, tool, doc = Mouse(qtbot, w.canvas), w.canvas.tool, w.session.document
    _img, _truth, (x0, y0, x1, y1) = scenes[0]
    revision = doc.revision
    mouse.drag((x0, y0), (x1, y1))
    wait_proposal(qtbot, tool)
    mouse.key(K.Key_Escape)
    assert tool.steps == [] and tool.current is None and tool.overlay.pixmap().isNull()
    assert doc.shapes == [] and doc.revision == revision and not doc.can_undo
    mouse.key(K.Key_Return)  # nothing left to accept
    assert doc.shapes == []


def test_prepare_never_blocks_the_gui_thread(assist_window, qtbot):
    w = assist_window
    engine = w.assist.plugins.engines["slow"]
    engine.delay = 1.0
    w.assist.set_engine("slow")
    started = time.monotonic()
    w.actions_by_id["tool_ai"].trigger()
    assert time.monotonic() - started < 0.5  # choosing the tool returned at once
    assert w.assist.panel.busy_bar.isVisibleTo(w.assist.panel)
    mouse, tool = Mouse(qtbot, w.canvas), w.canvas.tool
    mouse.drag((10, 10), (60, 50))  # given while preparing: queued
    ticks = []
    timer_started = time.monotonic()
    from PySide6.QtCore import QTimer

    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(20)
    qtbot.waitUntil(lambda: tool.current is not None, timeout=5000)
    timer.stop()
    assert engine.prepare_threads and threading.get_ident() not in engine.prepare_threads
    assert time.monotonic() - timer_started > 0.5  # the proposal came after the slow prepare ...
    assert len(ticks) >= 10  # ... and the event loop kept running meanwhile
    assert max(np.diff([timer_started] + ticks)) < 0.4
    assert_box_mask(tool, (10, 10, 60, 50))
    assert not w.assist.panel.busy_bar.isVisibleTo(w.assist.panel)


def test_a_proposal_for_an_image_left_behind_is_dropped(assist_window, qtbot):
    w = assist_window
    w.assist.plugins.engines["slow"].delay = 0.5
    w.assist.set_engine("slow")
    w.actions_by_id["tool_ai"].trigger()
    mouse, tool = Mouse(qtbot, w.canvas), w.canvas.tool
    mouse.drag((10, 10), (60, 50))  # queued behind the first image's prepare
    assert not w.assist.ready
    w.go_relative(1)
    assert w.session.index == 1 and tool.steps == []
    qtbot.waitUntil(lambda: w.assist.ready, timeout=5000)
    qtbot.wait(100)
    assert tool.current is None and tool.overlay.pixmap().isNull()
    mouse.drag((5, 5), (30, 30))
    wait_proposal(qtbot, tool)
    assert_box_mask(tool, (5, 5, 30, 30))


def test_tab_cycles_candidates(assist_window, qtbot):
    from labeler.assist.engine import Proposal

    w = assist_window
    choose_ai(w, qtbot, "slow")
    mouse, tool = Mouse(qtbot, w.canvas), w.canvas.tool
    mouse.drag((10, 10), (60, 50))
    wait_proposal(qtbot, tool)
    best = tool.current
    other = Proposal(~best.mask, 0.5, "slow")
    tool.results[-1].append(other)
    mouse.key(K.Key_Tab)
    assert tool.current is other and w.canvas.hasFocus()
    mouse.key(K.Key_Tab)
    assert tool.current is best


def test_selected_weak_labels_become_prompts_and_are_linked(assist_window, qtbot, scenes):
    w = assist_window
    doc = w.session.document
    _img, truth, _box = scenes[0]
    ys, xs = np.nonzero(truth)
    inside = Shape(POINT, "object", [[float(xs.mean()), float(ys.mean())]], weak=True)
    doc.add_shapes([inside])
    w.canvas.select([inside.id])
    w.assist.set_engine("superpixel")
    w.actions_by_id["tool_ai"].trigger()
    tool = w.canvas.tool
    assert [s.link for s in tool.steps] == [inside.id]
    wait_proposal(qtbot, tool)
    Mouse(qtbot, w.canvas).key(K.Key_Return)
    accepted = doc.shapes[-1]
    assert accepted.kind == MASK and accepted.links == (inside.id,) and accepted.source == "superpixel"


def test_engine_list_and_plugin_failures_are_shown(assist_window, qtbot):
    w = assist_window
    w.actions_by_id["tool_ai"].trigger()
    panel = w.assist.panel
    names = [panel.engines.itemData(i) for i in range(panel.engines.count())]
    assert names == ["grabcut", "superpixel", "slow"]
    assert panel.engines.currentData() == "grabcut"  # SAM is not loaded: GrabCut is preferred next
    assert "broken.py" in panel.failures.text() and "No module named" in panel.failures.text()
    w.actions_by_id["plugins"].trigger()
    text = w.assist.current_dialog.text.toPlainText()
    assert "grabcut" in text and "broken.py" in text and "No module named 'nope'" in text
    w.assist.current_dialog.close()


def test_the_next_image_is_prepared_ahead(assist_window, qtbot):
    w = assist_window
    engine = w.assist.plugins.engines["slow"]
    engine.delay = 0.2  # long enough to see that the next image is not prepared again
    choose_ai(w, qtbot, "slow")
    qtbot.waitUntil(lambda: engine.prepared == 2, timeout=5000)  # the shown one, then the next
    w.go_relative(1)
    assert w.assist.ready  # no wait: prepared while the user was on the first image
    assert len(engine.prepare_threads) == 2


@pytest.fixture
def tiny_sam(tmp_path, monkeypatch):
    pytest.importorskip("segment_anything")
    from labeler.plugins.sam import CHECKPOINT_ENV, SamEngine

    from ..assist.test_sam import save_tiny

    monkeypatch.delenv(CHECKPOINT_ENV, raising=False)
    path = tmp_path / "tiny_sam.pth"
    save_tiny(path)
    return SamEngine(checkpoint=path, device="cpu"), SamEngine(device="cpu")


def test_sam_candidates_cycle_and_refinement_feeds_back_the_logits(assist_window, qtbot, tiny_sam):
    w = assist_window
    sam, unconfigured = tiny_sam
    w.assist.plugins.engines["sam"] = sam
    calls = []
    real_propose = sam.propose
    sam.propose = lambda state, prompts: calls.append(prompts) or real_propose(state, prompts)
    choose_ai(w, qtbot, "sam")
    mouse, tool = Mouse(qtbot, w.canvas), w.canvas.tool
    mouse.click(100, 80)
    wait_proposal(qtbot, tool)
    assert len(tool.proposals) == 3 and calls[-1].logits is None  # one click: three ranked candidates
    scores = [p.score for p in tool.proposals]
    assert scores == sorted(scores, reverse=True)
    mouse.key(K.Key_Tab)
    assert tool.current is tool.proposals[1]
    shown = tool.current
    mouse.click(60, 40, Qt.MouseButton.RightButton)
    qtbot.waitUntil(lambda: len(calls) == 2 and tool.results[-1] is not None, timeout=5000)
    assert calls[-1].logits is shown.logits and calls[-1].logits.shape == shown.logits.shape
    np.testing.assert_allclose(calls[-1].negative, [[60, 40]], atol=1.5)
    mouse.key(K.Key_Return)
    assert w.session.document.shapes[-1].source == "sam"
    # SAM without a checkpoint is listed, greyed out with why, and never chosen
    w.assist.plugins.engines["sam"] = unconfigured
    w.set_tool("edit")
    w.set_tool("ai")
    panel = w.assist.panel
    row = [panel.engines.itemData(i) for i in range(panel.engines.count())].index("sam")
    assert not panel.engines.model().item(row).isEnabled()
    assert "no SAM checkpoint" in panel.engines.itemText(row)
    assert w.assist.engine_name == "grabcut"


def shift_drag(qtbot, mouse, start, end, button=Qt.MouseButton.LeftButton, steps: int = 6) -> None:
    vp, shift = mouse.canvas.viewport(), Qt.KeyboardModifier.ShiftModifier
    p0, p1 = mouse.at(*start), mouse.at(*end)
    qtbot.mousePress(vp, button, shift, p0)
    for i in range(1, steps + 1):
        qtbot.mouseMove(vp, p0 + (p1 - p0) * (i / steps))
    qtbot.mouseRelease(vp, button, shift, p1)


def test_shift_drag_scribbles_when_the_engine_takes_them(assist_window, qtbot, scenes):
    w = assist_window
    choose_ai(w, qtbot, "superpixel")
    mouse, tool = Mouse(qtbot, w.canvas), w.canvas.tool
    _img, truth, _box = scenes[0]
    ys, xs = np.nonzero(truth)
    cx, cy = int(xs.mean()), int(ys.mean())
    shift_drag(qtbot, mouse, (cx - 30, cy), (cx + 30, cy))
    wait_proposal(qtbot, tool)
    assert [s.kind for s in tool.steps] == ["foreground"] and tool.prompts().box is None
    stroke = tool.steps[0].data
    assert len(stroke.points) >= 6 and stroke.width == w.canvas.brush_size
    first = tool.current.mask.copy()
    assert first[cy, cx - 25:cx + 25].all()
    shift_drag(qtbot, mouse, (cx + 10, cy - 5), (cx + 30, cy + 5), Qt.MouseButton.RightButton)
    wait_proposal(qtbot, tool, tool.current)
    assert [s.kind for s in tool.steps] == ["foreground", "background"]
    after = tool.current.mask
    assert not after[cy, cx + 20] and after[cy, cx - 20] and after.sum() < first.sum()
    w.assist.set_engine("slow")  # no scribbles there: Shift+drag is a box again
    tool.cancel()
    shift_drag(qtbot, mouse, (20, 20), (60, 60))
    assert [s.kind for s in tool.steps] == ["box"]


def test_prompts_the_engine_cannot_use_say_why_and_add_nothing(assist_window, qtbot):
    w = assist_window
    choose_ai(w, qtbot, "grabcut")
    mouse, tool, doc = Mouse(qtbot, w.canvas), w.canvas.tool, w.session.document
    mouse.click(50, 50, Qt.MouseButton.RightButton)  # a negative click alone: nothing to cut out
    qtbot.waitUntil(lambda: tool.error != "", timeout=5000)
    assert "grabcut needs a box" in tool.error and "grabcut needs a box" in w.statusBar().currentMessage()
    assert tool.current is None and tool.overlay.pixmap().isNull()
    mouse.key(K.Key_Return)
    assert doc.shapes == [] and tool.steps  # nothing accepted, the prompt is kept to build on
    panel = w.assist.panel
    panel.engines.setCurrentIndex(panel.engines.findData("superpixel"))
    panel.engines.activated.emit(panel.engines.currentIndex())  # the user picks another engine
    assert w.assist.engine_name == "superpixel" and tool.error == ""
    assert w.assist.plugins.engines["superpixel"].name == "superpixel"
    mouse.click(100, 80)
    wait_proposal(qtbot, tool)
    assert tool.current.engine == "superpixel" and tool.current.mask[80, 100]
