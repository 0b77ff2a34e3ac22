"""Merge, subtract and mask <-> polygon on large inputs run in a worker; the result is one undo
step, applied only if the image did not change meanwhile. The demo image is 512 x 512, so the
tests lower the thresholds to make its shapes count as large."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt

from labeler.core import geometry
from labeler.core.shapes import MASK, Shape
from labeler.gui import background_edit

K = Qt.Key
CTRL = Qt.KeyboardModifier.ControlModifier
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


class Held:
    """Wraps geometry functions: records the computing thread; can hold them until released."""

    def __init__(self, monkeypatch, *names: str) -> None:
        self.threads: list[int] = []
        self.gate = threading.Event()
        self.gate.set()
        for name in names:
            real = getattr(geometry, name)

            def wrapper(*a, _real=real, **kw):
                self.threads.append(threading.get_ident())
                assert self.gate.wait(10)
                return _real(*a, **kw)

            monkeypatch.setattr(geometry, name, wrapper)


@pytest.fixture
def large(monkeypatch):
    monkeypatch.setattr(background_edit, "BACKGROUND_VERTICES", 3)  # two rectangles are "large"
    monkeypatch.setattr(background_edit, "BACKGROUND_PIXELS", 100_000)  # so is a 512 x 512 raster


def two_rectangles(window, mouse):
    window.set_tool("rectangle")
    mouse.drag((100, 100), (200, 200))
    mouse.drag((150, 150), (260, 240))
    window.set_tool("edit")
    mouse.click(110, 110)
    mouse.click(250, 230, modifier=CTRL)
    return list(window.session.document.shapes)


def message(window) -> str:
    """Every status message shown so far, newest last (another may follow one at once)."""
    said = getattr(window, "_said_in_test", None)
    if said is None:
        said = window._said_in_test = []
        window.statusBar().messageChanged.connect(said.append)
    return "\n".join(said)


def test_merge_of_a_large_input_runs_in_a_worker_as_one_undo_step(window, mouse, qtbot, large, monkeypatch):
    held = Held(monkeypatch, "merge_shapes")
    doc = window.session.document
    a, b = two_rectangles(window, mouse)
    message(window)
    expected = geometry.shape_to_mask(a, 512, 512) | geometry.shape_to_mask(b, 512, 512)
    held.gate.clear()
    mouse.key(K.Key_M, CTRL)
    assert [s.id for s in doc.shapes] == [a.id, b.id]  # not yet: the GUI thread went on
    assert "background" in message(window)
    mouse.key(K.Key_M, CTRL_SHIFT)  # another operation meanwhile waits its turn: refused, said
    assert "still being computed" in message(window)
    held.gate.set()
    qtbot.waitUntil(lambda: len(doc.shapes) == 1)
    assert held.threads and threading.get_ident() not in held.threads
    merged = doc.shapes[0]
    assert merged.id == a.id and merged.kind == "polygon" and doc.undo_text == "merge shapes"
    assert geometry.mask_iou(geometry.shape_to_mask(merged, 512, 512), expected) > 0.999
    assert window.canvas.selected_ids == [a.id] and "merge done" in message(window)
    mouse.key(K.Key_Z, CTRL)  # one undo step back to both rectangles
    assert [s.kind for s in doc.shapes] == ["rectangle", "rectangle"]


def test_a_result_for_a_document_edited_meanwhile_is_discarded(window, mouse, qtbot, large, monkeypatch):
    held = Held(monkeypatch, "subtract_shapes")
    doc = window.session.document
    a, b = two_rectangles(window, mouse)
    message(window)
    held.gate.clear()
    mouse.key(K.Key_M, CTRL_SHIFT)  # subtract
    window.set_tool("rectangle")
    mouse.drag((300, 300), (350, 360))  # an edit while it computes
    held.gate.set()
    qtbot.waitUntil(lambda: "discarded" in message(window))
    assert [s.kind for s in doc.shapes] == ["rectangle"] * 3 and doc.get(a.id).same_as(a)
    assert doc.undo_text == "add rectangle" and not window.edit_ops.background.running


def test_mask_to_polygons_and_back_from_the_menu_in_a_worker(window, mouse, qtbot, large, monkeypatch):
    held = Held(monkeypatch, "mask_shape_to_polygons", "polygon_shape_to_mask")
    doc, canvas = window.session.document, window.canvas
    m = np.zeros((512, 512), np.uint8)
    cv2.circle(m, (200, 200), 90, 1, -1)
    cv2.circle(m, (200, 200), 30, 0, -1)
    cv2.rectangle(m, (350, 50), (420, 120), 1, -1)
    mask = doc.add_shape(Shape(MASK, "cat", rle=geometry.rle_encode(m)))
    window.set_tool("edit")
    mouse.click(200, 130)
    assert canvas.selected_ids == [mask.id]
    window.actions_by_id["mask_to_polygons"].trigger()
    qtbot.waitUntil(lambda: [s.kind for s in doc.shapes] == ["polygon", "polygon"])
    assert doc.undo_text == "mask to polygons" and threading.get_ident() not in held.threads
    back = np.zeros((512, 512), bool)
    for s in doc.shapes:
        back |= geometry.shape_to_mask(s, 512, 512)
    assert geometry.mask_iou(back, m.astype(bool)) >= 0.99 and sum(len(s.holes) for s in doc.shapes) == 1
    assert sorted(canvas.selected_ids) == sorted(s.id for s in doc.shapes)
    window.actions_by_id["polygon_to_mask"].trigger()
    qtbot.waitUntil(lambda: [s.kind for s in doc.shapes] == ["mask", "mask"])
    union = geometry.rle_decode(doc.shapes[0].rle) | geometry.rle_decode(doc.shapes[1].rle)
    np.testing.assert_array_equal(union, back)
    assert len(held.threads) == 3 and threading.get_ident() not in held.threads
    mouse.key(K.Key_Z, CTRL)
    mouse.key(K.Key_Z, CTRL)
    assert len(doc.shapes) == 1 and np.array_equal(geometry.rle_decode(doc.shapes[0].rle), m.astype(bool))


def test_leaving_the_image_while_it_computes_discards_the_result(window, mouse, qtbot, large, monkeypatch):
    held = Held(monkeypatch, "polygon_shape_to_mask")
    first = window.session.key
    a, b = two_rectangles(window, mouse)
    message(window)  # start listening: "saved ..." may follow the message looked for at once
    held.gate.clear()
    window.actions_by_id["polygon_to_mask"].trigger()
    mouse.key(K.Key_D)  # next image; leaving saves the rectangles
    held.gate.set()
    qtbot.waitUntil(lambda: "discarded" in message(window))
    assert window.session.key != first and window.session.flush_saves()
    assert [s.kind for s in window.project.load(first).shapes] == ["rectangle", "rectangle"]
    assert not any(s.kind == MASK for s in window.session.document.shapes)


def test_small_inputs_stay_on_the_gui_thread(window, mouse, monkeypatch):
    held = Held(monkeypatch, "merge_shapes")
    two_rectangles(window, mouse)
    mouse.key(K.Key_M, CTRL)  # 512 x 512, four corners: below both thresholds
    assert len(window.session.document.shapes) == 1 and held.threads == [threading.get_ident()]
    shapes = window.session.document.shapes
    assert not background_edit.is_large(shapes, (512, 512), makes_mask=True)
    assert background_edit.is_large(shapes, (2000, 1001), makes_mask=True)  # a raster over 2 megapixels
    ring = np.c_[np.cos(np.arange(20_001)), np.sin(np.arange(20_001))]
    assert background_edit.is_large([Shape("polygon", "cat", ring)], (512, 512))  # over 20,000 vertices
