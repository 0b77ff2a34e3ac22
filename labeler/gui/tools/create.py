"""Tools that create shapes: polygon, rectangle, line, point."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainterPath

from ...core.shapes import LINE, POINT, POLYGON, RECTANGLE
from .base import Tool

CLOSE_PX = 8  # a click this close to the first vertex (screen pixels) closes the polygon
DRAG_PX = 3  # a press-drag-release longer than this makes a two-point shape in one gesture


class PolygonTool(Tool):
    """Click vertices; double-click, Enter or a click on the first vertex closes; Backspace drops
    the last vertex; Escape cancels."""

    name = "polygon"

    def __init__(self, canvas) -> None:
        super().__init__(canvas)
        self.points: list[tuple[float, float]] = []
        self._cursor: tuple[float, float] | None = None
        self.hole_of: str | None = None  # Shift + first vertex inside a selected polygon: draw its hole

    @property
    def busy(self) -> bool:
        return bool(self.points)

    def press(self, x, y, modifiers) -> bool:
        x, y = self.canvas.clamp(x, y)
        tol = self.canvas.scene_tolerance(CLOSE_PX)
        if not self.points and self.name == "polygon":
            from .hole import hole_target_at

            target = hole_target_at(self.canvas, x, y) if modifiers & Qt.KeyboardModifier.ShiftModifier else None
            self.hole_of = target.id if target is not None else None
        if len(self.points) >= 3 and math.dist(self.points[0], (x, y)) <= tol:
            return self.finish()
        if self.points and math.dist(self.points[-1], (x, y)) <= 1e-6:
            return True  # the second press of a double-click: nothing new
        self.points.append((x, y))
        self._update_preview()
        return True

    def move(self, x, y) -> bool:
        self._cursor = self.canvas.clamp(x, y)
        if self.points:
            self._update_preview()
        return bool(self.points)

    def double_click(self, x, y) -> bool:
        if not self.points:
            return False
        x, y = self.canvas.clamp(x, y)
        if math.dist(self.points[-1], (x, y)) > self.canvas.scene_tolerance(CLOSE_PX):
            self.points.append((x, y))
        return self.finish()

    def key_press(self, key) -> bool:
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.points:
            return self.finish()
        if key == Qt.Key.Key_Backspace and self.points:
            self.points.pop()
            self._update_preview()
            return True
        if key == Qt.Key.Key_Escape and self.points:
            self.cancel()
            return True
        return False

    def finish(self) -> bool:
        pts = _dedupe(self.points)
        if len(pts) < 3:
            self.canvas.message.emit("a polygon needs at least 3 vertices")
            return True
        hole_of = self.hole_of
        self.cancel()
        if hole_of is not None:
            from .hole import add_hole

            add_hole(self.canvas, hole_of, pts)
            return True
        self.canvas.commit_new_shape(POLYGON, pts)
        return True

    def cancel(self) -> None:
        self.points = []
        self.hole_of = None
        self.canvas.set_preview(None)

    def _update_preview(self) -> None:
        path = QPainterPath()
        if self.points:
            path.moveTo(QPointF(*self.points[0]))
            for p in self.points[1:]:
                path.lineTo(QPointF(*p))
            if self._cursor is not None:
                path.lineTo(QPointF(*self._cursor))
        self.canvas.set_preview(path)


class _TwoPointTool(Tool):
    """Press-drag-release, or click one end and then the other."""

    kind = ""

    def __init__(self, canvas) -> None:
        super().__init__(canvas)
        self.start: tuple[float, float] | None = None
        self._pressed = False

    @property
    def busy(self) -> bool:
        return self.start is not None

    def press(self, x, y, modifiers) -> bool:
        p = self.canvas.clamp(x, y)
        self._pressed = True
        if self.start is None:
            self.start = p
            self._update_preview(p)
            return True
        return self._finish(p)

    def move(self, x, y) -> bool:
        if self.start is None:
            return False
        self._update_preview(self.canvas.clamp(x, y))
        return True

    def release(self, x, y) -> bool:
        if not self._pressed or self.start is None:
            return False
        self._pressed = False
        p = self.canvas.clamp(x, y)
        if math.dist(self.start, p) > self.canvas.scene_tolerance(DRAG_PX):
            return self._finish(p)
        return True  # a click: wait for the second one

    def _finish(self, p) -> bool:
        start, self.start = self.start, None
        self._pressed = False
        self.canvas.set_preview(None)
        if math.dist(start, p) <= 1e-6:
            return True
        self.canvas.commit_new_shape(self.kind, [start, p])
        return True

    def key_press(self, key) -> bool:
        if key == Qt.Key.Key_Escape and self.start is not None:
            self.cancel()
            return True
        return False

    def cancel(self) -> None:
        self.start = None
        self._pressed = False
        self.canvas.set_preview(None)

    def _update_preview(self, p) -> None:
        path = QPainterPath()
        if self.kind == RECTANGLE:
            path.addRect(QRectF(QPointF(*self.start), QPointF(*p)).normalized())
        else:
            path.moveTo(QPointF(*self.start))
            path.lineTo(QPointF(*p))
        self.canvas.set_preview(path)


class RectangleTool(_TwoPointTool):
    name = "rectangle"
    kind = RECTANGLE


class LineTool(_TwoPointTool):
    name = "line"
    kind = LINE


class PointTool(Tool):
    name = "point"

    def press(self, x, y, modifiers) -> bool:
        self.canvas.commit_new_shape(POINT, [self.canvas.clamp(x, y)])
        return True


def _dedupe(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for p in points:
        if not out or math.dist(out[-1], p) > 1e-6:
            out.append(p)
    if len(out) > 1 and math.dist(out[0], out[-1]) <= 1e-6:
        out.pop()
    return out
