"""Simplify polygon: fewer vertices, same outline within a tolerance (shapely, Douglas-Peucker
with ``preserve_topology=True``); holes are kept. No Qt here."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import Polygon

from .errors import InvalidShapeError
from .shapes import POLYGON, Shape

DEFAULT_TOLERANCE = 1.0  # image pixels


def vertex_count(shape: Shape) -> int:
    """Vertices of the exterior and of every hole."""
    return len(shape.points) + sum(len(h) for h in shape.holes)


def simplify_polygon(shape: Shape, tolerance: float = DEFAULT_TOLERANCE) -> Shape:
    """``shape`` with the vertices that ``tolerance`` (pixels) allows removed; the same id and
    fields. Raises :class:`InvalidShapeError` (a one-line reason) when the shape is not a valid
    polygon, or when the result would be invalid, lose a hole or have fewer than 3 points."""
    if shape.kind != POLYGON:
        raise InvalidShapeError(f"only polygons are simplified, not a {shape.kind}")
    if not tolerance > 0 or not np.isfinite(tolerance):
        raise InvalidShapeError(f"the simplify tolerance must be a positive number, got {tolerance}")
    poly = Polygon(shape.points, holes=list(shape.holes))
    if not poly.is_valid:
        raise InvalidShapeError(f"not simplified: the polygon is invalid ({shapely.is_valid_reason(poly)})")
    out = poly.simplify(float(tolerance), preserve_topology=True)
    if not isinstance(out, Polygon) or out.is_empty or not out.is_valid or out.area <= 0:
        raise InvalidShapeError("not simplified: the result would not be a valid polygon")
    ext = np.asarray(out.exterior.coords)[:-1]
    holes = [np.asarray(r.coords)[:-1] for r in out.interiors]
    if len(ext) < 3 or len(holes) != len(shape.holes) or any(len(h) < 3 for h in holes):
        raise InvalidShapeError("not simplified: the result would have fewer than 3 points or lose a hole")
    return shape.replace(points=ext, holes=tuple(holes))
