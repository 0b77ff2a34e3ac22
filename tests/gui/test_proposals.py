"""Proposals (shapes awaiting review) look different on the canvas and in the shape list;
Ctrl+Return accepts the selected one, Delete rejects it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QStyleOptionGraphicsItem

from labeler.core import geometry
from labeler.core.project import Project
from labeler.core.shapes import MASK, POLYGON, Shape

from .conftest import Mouse, activate

K = Qt.Key
CTRL = Qt.KeyboardModifier.ControlModifier


def square(x0: float, y0: float, size: float = 100) -> np.ndarray:
    return np.array([[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size]], float)


@pytest.fixture
def review(qtbot, demo_root):
    """A window on an image with one accepted square, two proposal squares and a model mask."""
    from labeler.gui.main_window import MainWindow

    project = Project.open(demo_root)
    key = project.image_keys()[0]
    ann = project.load(key)
    disc = np.zeros((512, 512), bool)
    disc[400:480, 60:140] = True
    ann.shapes = [
        Shape(kind=POLYGON, label="cat", points=square(50, 50), id="accepted"),
        Shape(kind=POLYGON, label="cat", points=square(250, 50), source="sam", score=0.87,
              flags={"proposal": True}, id="sam_one"),
        Shape(kind=POLYGON, label="cat", points=square(250, 250), source="grabcut", score=0.5,
              flags={"proposal": True}, id="grabcut_one"),
        Shape(kind=MASK, label="cat", rle=geometry.rle_encode(disc), source="model", score=0.6, id="model_mask"),
    ]
    project.save_annotation(key, ann)
    project.close()
    w = MainWindow(Project.open(demo_root), autosave_s=3600)
    qtbot.addWidget(w)
    activate(qtbot, w)
    qtbot.waitUntil(lambda: w.session.document is not None)
    w.set_tool("edit")
    yield w, Mouse(qtbot, w.canvas), key
    w.close()


def render(item, x0: int, y0: int, size: int = 110) -> np.ndarray:
    """The item alone painted on a transparent image, (x0, y0) of the image at the top left."""
    img = QImage(size, size, QImage.Format.Format_RGBA8888)
    img.fill(0)
    p = QPainter(img)
    p.translate(-x0, -y0)
    item.paint(p, QStyleOptionGraphicsItem(), None)
    p.end()
    return np.frombuffer(img.constBits(), np.uint8).reshape(size, size, 4).copy()


def row_of(window, shape_id: str):
    dock = window.shape_dock
    return dock.list.item(dock._ids.index(shape_id))


def test_a_proposal_is_drawn_dashed_and_hatched_and_accepting_it_draws_and_saves_it_as_accepted(review, qtbot):
    w, mouse, key = review
    canvas = w.canvas
    acc, prop = canvas.shape_item("accepted"), canvas.shape_item("sam_one")
    assert acc.pen().style() == Qt.PenStyle.SolidLine and prop.pen().style() == Qt.PenStyle.DashLine
    assert acc.brush().style() == Qt.BrushStyle.SolidPattern
    assert prop.brush().style() == Qt.BrushStyle.BDiagPattern
    before_acc, before_prop = render(acc, 45, 45), render(prop, 245, 45)
    assert before_acc[..., 3].any() and before_prop[..., 3].any()
    assert not np.array_equal(before_acc, before_prop)  # same class and size, drawn differently
    # the shape list tags it, in italics, with its engine and score
    assert "proposal: sam 0.87" in row_of(w, "sam_one").text() and row_of(w, "sam_one").font().italic()
    assert "proposal" not in row_of(w, "accepted").text() and not row_of(w, "accepted").font().italic()

    mouse.click(300, 100)  # select the proposal
    assert canvas.selected_ids == ["sam_one"]
    mouse.key(K.Key_Return, CTRL)  # the accept key
    doc = w.session.document
    assert not doc.get("sam_one").flags["proposal"] and doc.get("sam_one").source == "sam"
    assert doc.get("grabcut_one").flags["proposal"] is True  # only the selected one
    accepted_item = canvas.shape_item("sam_one")
    assert accepted_item.pen().style() == Qt.PenStyle.SolidLine
    assert accepted_item.brush().style() == Qt.BrushStyle.SolidPattern
    canvas.select([])
    np.testing.assert_array_equal(render(accepted_item, 245, 45), render(acc, 45, 45))
    assert "proposal" not in row_of(w, "sam_one").text() and not row_of(w, "sam_one").font().italic()

    mouse.key(K.Key_S, CTRL)
    assert w.session.flush_saves()  # the write runs in a worker
    saved = json.loads(w.project.annotation_path(key).read_text())
    by_id = {s["labeler"]["id"]: s for s in saved["shapes"]}
    assert by_id["sam_one"]["flags"]["proposal"] is False
    assert by_id["grabcut_one"]["flags"]["proposal"] is True
    mouse.key(K.Key_Z, CTRL)  # one undo step
    assert doc.get("sam_one").flags["proposal"] is True
    assert canvas.shape_item("sam_one").pen().style() == Qt.PenStyle.DashLine


def test_delete_rejects_a_selected_proposal_and_a_model_mask_proposal_is_hatched(review, qtbot):
    w, mouse, key = review
    doc, canvas = w.session.document, w.canvas
    mouse.click(300, 300)
    assert canvas.selected_ids == ["grabcut_one"]
    mouse.key(K.Key_Delete)
    assert [s.id for s in doc.shapes] == ["accepted", "sam_one", "model_mask"]
    # a model mask is a proposal until accepted: striped alpha and a dashed border, not one flat alpha
    alpha = _mask_alpha(canvas.shape_item("model_mask"))
    assert len(np.unique(alpha[alpha > 0])) >= 2
    canvas.select(["model_mask"])
    mouse.key(K.Key_Return, CTRL)
    assert not doc.get("model_mask").is_proposal
    canvas.select([])
    alpha = _mask_alpha(canvas.shape_item("model_mask"))
    assert len(np.unique(alpha[alpha > 0])) == 1 and (alpha > 0).sum() == 80 * 80
    # nothing selected: the accept key accepts every proposal left, as one undo step
    mouse.key(K.Key_Return, CTRL)
    assert not any(s.flags.get("proposal") for s in doc.shapes)
    assert all(canvas.shape_item(s.id).pen().style() == Qt.PenStyle.SolidLine for s in doc.shapes
               if s.kind != MASK)


def _mask_alpha(item) -> np.ndarray:
    img = item._mask.pixmap().toImage().convertToFormat(QImage.Format.Format_RGBA8888)
    arr = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.width(), 4)
    return arr[..., 3].copy()
