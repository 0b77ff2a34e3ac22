import numpy as np
import pytest
from pycocotools import mask as mask_utils

from labeler.core import geometry as g
from labeler.core.shapes import Shape

SQUARE = [[0, 0], [10, 0], [10, 10], [0, 10]]


def test_conventions_differ_as_documented():
    s = Shape("polygon", "a", SQUARE)
    assert g.shape_to_mask(s, 20, 20, "coco").sum() == 100  # pixel edges
    assert g.shape_to_mask(s, 20, 20, "pil").sum() == 121  # inclusive, as labelme draws


def test_coco_convention_matches_pycocotools():
    pts = [[3.2, 1.5], [17.8, 4.1], [12.3, 15.9], [2.2, 11.7]]
    s = Shape("polygon", "a", pts)
    ours = g.shape_to_mask(s, 20, 20, "coco")
    ref = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects([np.ravel(pts).tolist()], 20, 20)))
    assert np.array_equal(ours, ref.astype(bool))


def test_polygon_hole_is_kept():
    s = Shape("polygon", "a", SQUARE, holes=[[[3, 3], [6, 3], [6, 6], [3, 6]]])
    m = g.shape_to_mask(s, 20, 20, "coco")
    assert m.sum() == 100 - 9
    assert not m[4, 4] and m[1, 1]


def test_rle_roundtrip_and_stats():
    m = np.zeros((30, 40), bool)
    m[5:10, 7:20] = True
    rle = g.rle_encode(m)
    assert isinstance(rle["counts"], str) and rle["size"] == [30, 40]
    assert np.array_equal(g.rle_decode(rle), m)
    assert g.rle_area(rle) == 65
    assert g.rle_bbox(rle) == (7.0, 5.0, 13.0, 5.0)


def test_shift_rle_drops_pixels_off_image():
    m = np.zeros((10, 10), bool)
    m[0:2, 8:10] = True
    out = g.rle_decode(g.shift_rle(g.rle_encode(m), 1, 1))
    # (0..1, 8..9) moved by (1, 1): column 10 is off the image, rows 1..2 of column 9 stay
    assert out.sum() == 2 and out[1, 9] and out[2, 9]


def test_rasterize_z_order_and_list_order():
    low = Shape("rectangle", "a", [[0, 0], [10, 10]], z=0)
    high = Shape("rectangle", "b", [[5, 5], [15, 15]], z=1)
    # the higher z wins even when listed first
    out = g.rasterize([(high, 2), (low, 1)], 20, 20)
    assert out[7, 7] == 2 and out[2, 2] == 1 and out[12, 12] == 2 and out[18, 18] == 0
    # equal z: later in the list paints on top
    same = g.rasterize([(low.replace(z=1), 1), (high, 2)], 20, 20)
    assert same[7, 7] == 2


def test_rasterize_skips_weak_labels():
    pts = Shape("scribble", "a", [[0, 0], [10, 10]], width=3)
    box = Shape("rectangle", "a", [[0, 0], [10, 10]], weak=True)
    assert g.rasterize([(pts, 1), (box, 1)], 20, 20).sum() == 0


def test_hole_reveals_shape_beneath():
    below = Shape("rectangle", "a", [[0, 0], [20, 20]], z=0)
    ring = Shape("polygon", "b", SQUARE, holes=[[[3, 3], [6, 3], [6, 6], [3, 6]]], z=1)
    out = g.rasterize([(below, 1), (ring, 2)], 20, 20)
    assert out[4, 4] == 1 and out[1, 1] == 2


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mask_to_polygons_meets_fidelity(seed):
    rng = np.random.default_rng(seed)
    m = np.zeros((120, 160), bool)
    yy, xx = np.mgrid[:120, :160]
    for _ in range(3):
        cy, cx, r = rng.integers(20, 100), rng.integers(20, 140), rng.integers(8, 25)
        m |= (yy - cy) ** 2 + (xx - cx) ** 2 < r**2
    m[50:60, 70:80] = False  # a hole or a notch
    rings, iou = g.mask_to_polygons(m, min_iou=0.99)
    assert iou >= 0.99
    back = np.zeros_like(m)
    for ext, holes in rings:
        back |= g.polygon_to_mask(ext, holes, *m.shape)
    assert g.mask_iou(back, m) == pytest.approx(iou)


def test_mask_to_polygons_keeps_holes():
    m = np.zeros((50, 50), bool)
    m[5:45, 5:45] = True
    m[20:30, 20:30] = False
    rings, iou = g.mask_to_polygons(m)
    assert len(rings) == 1 and len(rings[0][1]) == 1
    assert iou >= 0.99


def test_polygon_problems_flags_self_intersection():
    bow = Shape("polygon", "a", [[0, 0], [10, 10], [10, 0], [0, 10]])
    assert any("invalid" in p for p in g.polygon_problems(bow))
    assert g.polygon_problems(Shape("polygon", "a", SQUARE)) == []


def test_merge_and_subtract_with_shapely():
    a = Shape("rectangle", "a", [[0, 0], [10, 10]])
    b = Shape("rectangle", "a", [[5, 0], [15, 10]])
    merged = g.merge_shapes([a, b])
    assert len(merged) == 1
    assert g.shape_to_mask(merged[0], 20, 20).sum() == 150
    hole = Shape("rectangle", "x", [[3, 3], [6, 6]])
    cut = g.subtract_shapes(a, [hole])
    assert len(cut) == 1 and len(cut[0].holes) == 1
    assert g.shape_to_mask(cut[0], 20, 20).sum() == 100 - 9


def test_mask_shape_polygon_conversions_roundtrip():
    m = np.zeros((40, 40), bool)
    m[10:30, 5:25] = True
    shape = Shape("mask", "a", rle=g.rle_encode(m))
    polys = g.mask_shape_to_polygons(shape)
    assert len(polys) == 1 and polys[0].kind == "polygon" and polys[0].id == shape.id
    back = g.polygon_shape_to_mask(polys[0], 40, 40)
    assert np.array_equal(g.rle_decode(back.rle), m)


def test_shape_window_limits_work_to_the_shape():
    s = Shape("rectangle", "a", [[100, 200], [110, 210]])
    m, (x0, y0) = g.shape_mask_window(s, 40000, 40000)
    assert m.shape[0] < 20 and m.shape[1] < 20 and m.sum() == 100
    assert g.shape_mask_window(Shape("rectangle", "a", [[-50, -50], [-10, -10]]), 100, 100) is None


def test_dense_maps_of_huge_images_are_refused_before_allocating():
    from labeler.core.errors import ImageTooLargeError

    s = Shape("rectangle", "a", [[0, 0], [10, 10]])
    with pytest.raises(ImageTooLargeError, match="40000 x 40000 image is too large"):
        g.rasterize([(s, 1)], 40000, 40000)
    # the shape itself is still rendered cheaply in its own window
    assert g.shape_mask_window(s, 40000, 40000)[0].sum() == 100
