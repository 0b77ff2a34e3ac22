"""Simplify polygon: a dense circle loses most vertices but keeps its area; holes are kept;
a result that would be invalid or not a polygon is refused."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import Polygon

from labeler.core.errors import InvalidShapeError
from labeler.core.shapes import Shape
from labeler.core.simplify import simplify_polygon, vertex_count


def circle(n, r=100.0, cx=200.0, cy=150.0):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], axis=1)


def test_dense_circle_keeps_its_outline_with_far_fewer_vertices():
    s = Shape("polygon", "ball", circle(400), instance_id=4)
    out = simplify_polygon(s, 1.0)
    assert out.id == s.id and out.label == "ball" and out.instance_id == 4
    assert vertex_count(out) < 400 / 4
    a, b = Polygon(s.points), Polygon(out.points)
    assert a.intersection(b).area / a.union(b).area >= 0.98


def test_holes_are_kept_and_simplified():
    s = Shape("polygon", "ring", circle(400), holes=(circle(300, r=40)[::-1],))
    out = simplify_polygon(s, 1.0)
    assert len(out.holes) == 1 and len(out.holes[0]) < 300
    assert Polygon(out.points, [out.holes[0]]).is_valid


def test_refuses_invalid_input_and_degenerate_results():
    bowtie = Shape("polygon", "x", [[0, 0], [10, 10], [10, 0], [0, 10]])
    with pytest.raises(InvalidShapeError, match="invalid"):
        simplify_polygon(bowtie, 1.0)
    sliver = Shape("polygon", "x", [[0, 0], [100, 0], [50, 0.5]])
    assert len(simplify_polygon(sliver, 5.0).points) == 3  # never collapsed below a triangle
    with pytest.raises(InvalidShapeError):
        simplify_polygon(Shape("rectangle", "x", [[0, 0], [5, 5]]), 1.0)
    with pytest.raises(InvalidShapeError):
        simplify_polygon(Shape("polygon", "x", circle(50)), 0)
