"""Which shape or vertex is under the cursor (plain geometry with shapely; no Qt here)."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from shapely.geometry import LineString, Point, Polygon

from ..core import geometry
from ..core.shapes import CIRCLE, LINE, LINESTRIP, MASK, POINT, POLYGON, RECTANGLE, SCRIBBLE, Shape


def distance_to_shape(shape: Shape, x: float, y: float) -> float:
    """0 inside an area shape, else the distance in image pixels to the shape's drawn geometry."""
    p = Point(x, y)
    if shape.kind in (POLYGON, RECTANGLE):
        ext, holes = geometry.outline(shape)
        return float(Polygon(ext, holes=list(holes)).distance(p))
    if shape.kind == CIRCLE:
        c = shape.points[0]
        r = math.hypot(*(shape.points[1] - c))
        return max(0.0, math.hypot(x - c[0], y - c[1]) - r)
    if shape.kind == POINT:
        return float(math.hypot(x - shape.points[0][0], y - shape.points[0][1]))
    if shape.kind in (LINE, LINESTRIP, SCRIBBLE):
        if len(shape.points) == 1:
            d = math.hypot(x - shape.points[0][0], y - shape.points[0][1])
        else:
            d = float(LineString(shape.points).distance(p))
        return max(0.0, d - (shape.width / 2 if shape.kind == SCRIBBLE else 0.0))
    if shape.kind == MASK:
        h, w = shape.rle["size"]
        col, row = int(math.floor(x)), int(math.floor(y))
        if 0 <= row < h and 0 <= col < w and geometry.rle_decode(shape.rle)[row, col]:
            return 0.0
        return math.inf
    return math.inf


def shape_at(shapes: Sequence[Shape], x: float, y: float, tolerance: float,
             hidden: frozenset[str] | set[str] = frozenset()) -> Shape | None:
    """The topmost visible shape within ``tolerance`` of (x, y): higher z first, then later in the list."""
    order = sorted(range(len(shapes)), key=lambda i: (shapes[i].z, i), reverse=True)
    for i in order:
        s = shapes[i]
        if s.label in hidden:
            continue
        if distance_to_shape(s, x, y) <= tolerance:
            return s
    return None


def vertex_at(shape: Shape, x: float, y: float, tolerance: float) -> int | None:
    """Index of the shape's point nearest to (x, y) when it is within ``tolerance``."""
    if shape.kind == MASK or len(shape.points) == 0:
        return None
    d = np.hypot(shape.points[:, 0] - x, shape.points[:, 1] - y)
    i = int(np.argmin(d))
    return i if d[i] <= tolerance else None
