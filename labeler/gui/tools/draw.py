"""More drawing tools: circle (centre, then a point on the rim), linestrip, freehand scribble."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF
from PySide6.QtGui import QPainterPath

from ...core.errors import InvalidShapeError
from ...core.shapes import CIRCLE, LINESTRIP, SCRIBBLE, Shape
from .base import Tool
from .create import PolygonTool, _TwoPointTool, _dedupe

DEFAULT_BRUSH_PX = 12


def brush_size(canvas) -> int:
    """Width in image pixels of brush, eraser and scribble strokes (kept on the canvas)."""
    return int(getattr(canvas, "brush_size", DEFAULT_BRUSH_PX))


def commit_shape(canvas, **fields) -> Shape | None:
    """Add a shape of the current class built from ``fields``; a message instead when it cannot."""
    if not canvas.may_edit():
        return None
    if not canvas.current_label:
        canvas.message.emit("choose or add a class first")
        return None
    try:
        shape = Shape(label=canvas.current_label, **fields)
    except InvalidShapeError as e:
        canvas.message.emit(f"not added: {e}")
        return None
    canvas.document.add_shape(shape)
    return shape


class CircleTool(_TwoPointTool):
    """Press at the centre and drag out the radius (or click the centre, then the rim)."""

    name = "circle"
    kind = CIRCLE

    def _update_preview(self, p) -> None:
        path = QPainterPath()
        r = math.dist(self.start, p)
        path.addEllipse(QPointF(*self.start), r, r)
        path.moveTo(QPointF(*self.start))
        path.lineTo(QPointF(*p))
        self.canvas.set_preview(path)


class LinestripTool(PolygonTool):
    """Click vertices; double-click or Enter ends the line; Backspace drops the last vertex."""

    name = "linestrip"

    def press(self, x, y, modifiers) -> bool:
        x, y = self.canvas.clamp(x, y)
        if self.points and math.dist(self.points[-1], (x, y)) <= 1e-6:
            return True  # the second press of a double-click
        self.points.append((x, y))
        self._update_preview()
        return True

    def finish(self) -> bool:
        pts = [p for i, p in enumerate(self.points) if i == 0 or math.dist(self.points[i - 1], p) > 1e-6]
        if len(pts) < 2:
            self.canvas.message.emit("a line strip needs at least 2 vertices")
            return True
        self.cancel()
        self.canvas.commit_new_shape(LINESTRIP, pts)
        return True


class ScribbleTool(Tool):
    """Freehand drag: a weak-label stroke of the brush width (``[`` and ``]`` change it)."""

    name = "scribble"

    def __init__(self, canvas) -> None:
        super().__init__(canvas)
        self.points: list[tuple[float, float]] = []

    @property
    def busy(self) -> bool:
        return bool(self.points)

    def press(self, x, y, modifiers) -> bool:
        self.points = [self.canvas.clamp(x, y)]
        self._preview()
        return True

    def move(self, x, y) -> bool:
        if not self.points:
            return False
        p = self.canvas.clamp(x, y)
        if math.dist(self.points[-1], p) >= 0.5:
            self.points.append(p)
            self._preview()
        return True

    def release(self, x, y) -> bool:
        if not self.points:
            return False
        self.move(x, y)
        pts = _dedupe(self.points) or self.points[:1]
        self.cancel()
        commit_shape(self.canvas, kind=SCRIBBLE, points=np.array(pts), width=float(brush_size(self.canvas)))
        return True

    def cancel(self) -> None:
        self.points = []
        self.canvas.set_preview(None)

    def _preview(self) -> None:
        path = QPainterPath()
        path.moveTo(QPointF(*self.points[0]))
        for p in self.points[1:]:
            path.lineTo(QPointF(*p))
        self.canvas.set_preview(path)
