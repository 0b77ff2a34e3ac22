"""Keep previous annotation: copies get new ids, keep class and instance, are clipped to the new
image and dropped when entirely outside; links follow the copies."""

from __future__ import annotations

import numpy as np
from shapely.geometry import Polygon

from labeler.core.carry_over import carried_shapes, clip_shape
from labeler.core.geometry import rle_decode, rle_encode
from labeler.core.shapes import Shape


def test_copies_have_new_ids_and_keep_class_instance_and_z():
    a = Shape("polygon", "car", [[10, 10], [50, 10], [50, 40]], instance_id=3, z=2)
    b = Shape("point", "person", [[5, 5]], links=(a.id,))
    out = carried_shapes([a, b], 100, 100)
    assert [s.label for s in out] == ["car", "person"]
    assert out[0].id != a.id and out[1].id != b.id
    assert out[0].instance_id == 3 and out[0].z == 2
    assert np.allclose(out[0].points, a.points)
    assert out[1].links == (out[0].id,)


def test_polygon_crossing_the_border_is_cut_and_outside_shapes_dropped():
    crossing = Shape("polygon", "road", [[80, 10], [140, 10], [140, 50], [80, 50]])
    outside = Shape("rectangle", "sky", [[120, 0], [150, 30]])
    point_out = Shape("point", "p", [[101, 5]])
    out = carried_shapes([crossing, outside, point_out], 100, 60)
    assert len(out) == 1
    assert out[0].points[:, 0].max() <= 100
    assert abs(Polygon(out[0].points).area - 20 * 40) < 1e-6


def test_rectangle_circle_line_and_mask_are_clipped():
    rect = clip_shape(Shape("rectangle", "r", [[-10, -10], [20, 20]]), 50, 50)
    assert np.allclose(rect[0].points, [[0, 0], [20, 20]])
    circle = clip_shape(Shape("circle", "c", [[0, 25], [10, 25]]), 50, 50)
    assert circle[0].kind == "polygon" and circle[0].points[:, 0].min() >= 0
    assert abs(Polygon(circle[0].points).area - np.pi * 100 / 2) < 5
    line = clip_shape(Shape("linestrip", "l", [[10, 10], [70, 10], [70, 30]]), 50, 50)
    assert np.allclose(line[0].points, [[10, 10], [50, 10]])
    m = np.zeros((80, 80), np.uint8)
    m[30:70, 30:70] = 1
    mask = clip_shape(Shape("mask", "m", rle=rle_encode(m)), 50, 60)
    got = rle_decode(mask[0].rle)
    assert got.shape == (60, 50) and got.sum() == 30 * 20
    m2 = np.zeros((80, 80), np.uint8)
    m2[70:, 70:] = 1
    assert clip_shape(Shape("mask", "m", rle=rle_encode(m2)), 50, 50) == []
