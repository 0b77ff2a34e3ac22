"""Polygon holes: draw an interior ring inside the selected polygon (one undo step per hole).

The "hole" tool draws like the polygon tool but the ring it closes becomes a hole of the selected
polygon. The polygon tool does the same when the first vertex is placed with Shift held inside a
selected polygon.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from shapely.geometry import Point, Polygon

from ...core.shapes import POLYGON, Shape
from .create import PolygonTool


def hole_target_at(canvas, x: float, y: float) -> Shape | None:
    """The selected polygon whose filled area contains (x, y), if any."""
    doc = canvas.document
    if doc is None:
        return None
    for sid in canvas.selected_ids:
        s = doc.get(sid)
        if s.kind == POLYGON and Polygon(s.points, holes=list(s.holes)).contains(Point(x, y)):
            return s
    return None


def hole_problem(shape: Shape, ring: Sequence[tuple[float, float]]) -> str:
    """Why ``ring`` cannot become a hole of ``shape`` ("" when it can)."""
    if len(ring) < 3:
        return "a hole needs at least 3 vertices"
    hole = Polygon(ring)
    if not hole.is_valid or hole.area <= 0:
        return "the hole's outline crosses itself"
    if not Polygon(shape.points).contains(hole):
        return "a hole must lie inside the polygon"
    if any(Polygon(h).intersects(hole) for h in shape.holes):
        return "a hole must not overlap another hole"
    return ""


def add_hole(canvas, shape_id: str, ring: Sequence[tuple[float, float]]) -> bool:
    """Add ``ring`` as a hole of polygon ``shape_id`` (one undo step); False with a message if not."""
    if not canvas.may_edit():
        return False
    doc = canvas.document
    shape = doc.get(shape_id)
    problem = hole_problem(shape, ring)
    if problem:
        canvas.message.emit(f"hole not added: {problem}")
        return False
    doc.replace_shape(shape_id, shape.replace(holes=shape.holes + (np.array(ring, dtype=np.float64),)),
                      "add hole")
    return True


class HoleTool(PolygonTool):
    """Draw a hole in the selected polygon: click vertices, double-click or Enter closes."""

    name = "hole"

    def press(self, x, y, modifiers) -> bool:
        if not self.points and self._target() is None:
            self.canvas.message.emit("select a polygon first (edit tool), then draw its hole")
            return True
        return super().press(x, y, modifiers)

    def _target(self) -> Shape | None:
        doc = self.canvas.document
        polys = [doc.get(sid) for sid in self.canvas.selected_ids if doc.get(sid).kind == POLYGON]
        return polys[0] if len(polys) == 1 else None

    def finish(self) -> bool:
        from .create import _dedupe

        pts = _dedupe(self.points)
        target = self._target()
        if len(pts) < 3:
            self.canvas.message.emit("a hole needs at least 3 vertices")
            return True
        self.cancel()
        if target is not None:
            add_hole(self.canvas, target.id, pts)
        return True
