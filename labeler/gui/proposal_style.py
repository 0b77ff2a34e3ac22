"""How shapes awaiting review (proposals) look, and accepting them.

A proposal is a shape an engine made that no person has accepted yet: a model pre-label
(``Shape.is_proposal``: ``source="model"`` until its ``proposal`` flag is False) or an
autolabel / SAM / GrabCut result flagged ``proposal: True``. On the canvas a proposal has a
dashed outline and a lighter, hatched fill (masks: diagonal stripes and a dashed border); the
shape list shows it in italics with a "proposal" tag naming the engine and its score.
Accepting sets the flag to False (the source is kept); Delete rejects it like any shape.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QBrush, QColor, QPen

from ..core.shapes import PROPOSAL_FLAG, Shape

HATCH_PX = 6  # width of one stripe of a proposal mask's hatching, in image pixels
DASH_PX = 4  # length of one dash of a proposal mask's border, in image pixels


def accepted(shape: Shape) -> Shape:
    """The same shape (id, source, score kept) accepted by a person."""
    return shape.replace(flags={**shape.flags, PROPOSAL_FLAG: False})


def accept_in(doc, ids) -> int:
    """Accept the proposals among ``ids`` in ``doc`` as one undo step; returns how many."""
    ids = [sid for sid in ids if doc.get(sid).is_proposal]
    if not ids:
        return 0
    with doc.group("accept proposals"):
        for sid in ids:
            doc.replace_shape(sid, accepted(doc.get(sid)), "accept proposal")
        if doc.annotation.status == "new":
            doc.set_status("in_progress")
    return len(ids)


def proposal_tag(shape: Shape) -> str:
    """``"proposal: sam 0.93"`` for the shape list ("" for an accepted shape)."""
    if not shape.is_proposal:
        return ""
    tag = QCoreApplication.translate("shape_list", "proposal") + f": {shape.source}"
    if shape.score is not None:
        tag += f" {shape.score:.2f}"
    return tag


def proposal_pen(pen: QPen) -> QPen:
    pen.setStyle(Qt.PenStyle.DashLine)
    return pen


def proposal_brush(color: QColor, opacity: float) -> QBrush:
    """A lighter colour in diagonal hatching instead of a solid translucent fill."""
    c = QColor(color).lighter(140)
    c.setAlphaF(min(1.0, 0.35 + opacity))
    return QBrush(c, Qt.BrushStyle.BDiagPattern)


def proposal_mask_alpha(crop: np.ndarray, border: np.ndarray, x0: int, y0: int, opacity: float) -> np.ndarray:
    """Per-pixel alpha (uint8) of a proposal mask: faint diagonal stripes inside, a dashed border.

    ``crop`` and ``border`` are the mask and its outline cut at (``x0``, ``y0``) of the image, so
    the stripes and dashes stay put in image coordinates when a mask grows or shrinks.
    """
    h, w = crop.shape
    ys, xs = np.ogrid[y0:y0 + h, x0:x0 + w]
    stripes = ((xs + ys) // HATCH_PX) % 2 == 0
    dashes = ((xs + ys) // DASH_PX) % 2 == 0
    alpha = np.zeros((h, w), np.uint8)
    alpha[crop & stripes] = int(round(255 * min(1.0, opacity * 0.8)))
    alpha[crop & ~stripes] = int(round(255 * opacity * 0.25))
    alpha[border & dashes] = 255
    alpha[border & ~dashes] = 0
    return alpha
