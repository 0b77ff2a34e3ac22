"""Vertex insertion and deletion for polygons and line strips (plain geometry, no Qt).

A polygon keeps at least 3 vertices and a line strip at least 2; shapes with a fixed number of
points (rectangle, circle, line, point) have none to add or remove.
"""

from __future__ import annotations

import numpy as np

from ...core.shapes import LINESTRIP, POLYGON, Shape

EDITABLE = {POLYGON: 3, LINESTRIP: 2}  # kind -> fewest vertices it may keep


def edge_at(shape: Shape, x: float, y: float, tolerance: float) -> tuple[int, tuple[float, float]] | None:
    """Where a vertex would go on the nearest edge within ``tolerance``: (insert index, point)."""
    if shape.kind not in EDITABLE:
        return None
    pts = shape.points
    closed = shape.kind == POLYGON
    a = pts if closed else pts[:-1]
    b = np.roll(pts, -1, axis=0) if closed else pts[1:]
    d = b - a
    lengths2 = np.maximum((d ** 2).sum(axis=1), 1e-12)
    t = np.clip(((x - a[:, 0]) * d[:, 0] + (y - a[:, 1]) * d[:, 1]) / lengths2, 0.0, 1.0)
    proj = a + t[:, None] * d
    dist = np.hypot(proj[:, 0] - x, proj[:, 1] - y)
    i = int(np.argmin(dist))
    if dist[i] > tolerance:
        return None
    return i + 1, (float(proj[i, 0]), float(proj[i, 1]))


def insert_vertex(shape: Shape, index: int, point: tuple[float, float]) -> Shape:
    return shape.replace(points=np.insert(np.asarray(shape.points), index, point, axis=0))


def delete_vertex(shape: Shape, index: int) -> tuple[Shape | None, str]:
    """The shape without vertex ``index``, or (None, why not)."""
    least = EDITABLE.get(shape.kind)
    if least is None:
        return None, f"a {shape.kind} has no vertex to delete"
    if len(shape.points) <= least:
        return None, f"a {shape.kind} keeps at least {least} vertices"
    return shape.replace(points=np.delete(np.asarray(shape.points), index, axis=0)), ""
