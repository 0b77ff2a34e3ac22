import numpy as np
import pytest

from labeler.core.errors import InvalidShapeError
from labeler.core.shapes import Shape


def test_polygon_needs_three_points():
    with pytest.raises(InvalidShapeError, match="at least 3 points"):
        Shape("polygon", "car", [[0, 0], [5, 5]])


def test_rectangle_needs_exactly_two_points():
    with pytest.raises(InvalidShapeError, match="exactly 2"):
        Shape("rectangle", "car", [[0, 0], [5, 5], [6, 6]])


def test_nan_points_rejected():
    with pytest.raises(InvalidShapeError, match="NaN"):
        Shape("polygon", "car", [[0, 0], [5, np.nan], [1, 1]])


def test_empty_label_rejected():
    with pytest.raises(InvalidShapeError, match="label"):
        Shape("point", "", [[1, 1]])


def test_mask_needs_rle():
    with pytest.raises(InvalidShapeError, match="RLE"):
        Shape("mask", "car")


def test_holes_only_on_polygons():
    with pytest.raises(InvalidShapeError, match="only polygons"):
        Shape("rectangle", "car", [[0, 0], [5, 5]], holes=[[[1, 1], [2, 1], [2, 2]]])


def test_points_are_immutable_and_replace_keeps_id():
    s = Shape("polygon", "car", [[0, 0], [4, 0], [4, 4]])
    with pytest.raises(ValueError):
        s.points[0, 0] = 3
    t = s.replace(label="bus")
    assert t.id == s.id and t.label == "bus" and s.label == "car"
    assert not s.same_as(t)
    assert s.same_as(s.replace())


def test_translate_moves_points_and_holes():
    s = Shape("polygon", "a", [[0, 0], [10, 0], [10, 10], [0, 10]], holes=[[[2, 2], [4, 2], [4, 4]]])
    t = s.translated(3, -1)
    assert np.allclose(t.points[0], [3, -1])
    assert np.allclose(t.holes[0][0], [5, 1])


def test_area_and_weak_kinds():
    assert Shape("polygon", "a", [[0, 0], [1, 0], [1, 1]]).is_area
    assert not Shape("rectangle", "a", [[0, 0], [1, 1]], weak=True).is_area
    assert Shape("scribble", "a", [[0, 0], [3, 3]], width=4).is_weak
    assert not Shape("line", "a", [[0, 0], [3, 3]]).is_area


def test_bbox_of_circle_and_scribble():
    c = Shape("circle", "a", [[10, 10], [13, 14]])
    assert np.allclose(c.bbox(), (5, 5, 15, 15))
    s = Shape("scribble", "a", [[0, 0], [10, 0]], width=4)
    assert np.allclose(s.bbox(), (-2, -2, 12, 2))


def test_what_counts_as_a_proposal():
    def rect(**kw):
        return Shape(kind="rectangle", label="car", points=[[0, 0], [4, 4]], **kw)

    assert not rect().is_proposal  # drawn by hand
    assert rect(source="model").is_proposal  # a pre-label, not yet accepted
    assert not rect(source="model", flags={"proposal": False}).is_proposal  # accepted
    assert rect(source="sam", flags={"proposal": True}).is_proposal  # autolabel / SAM result
    assert not rect(source="sam", flags={"proposal": False}).is_proposal
    assert not rect(source="sam").is_proposal  # accepted straight from the AI tool
