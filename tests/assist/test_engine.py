import numpy as np
import pytest

from labeler.assist.engine import (BOX, FOREGROUND_SCRIBBLES, POSITIVE_POINTS, Engine,
                                   Prompts, Proposal, Scribble, as_rgb, check_prompts, prompts_from_shapes,
                                   proposal_to_shapes)
from labeler.core.annotation import ImageAnnotation
from labeler.core.geometry import mask_iou, rle_decode, shape_to_mask
from labeler.core.shapes import Shape
from labeler.plugins.grabcut import GrabCutEngine
from labeler.plugins.superpixels import MagicWandEngine, SuperpixelEngine

from .synthetic import scene


def ring_mask(h=60, w=80):
    """A square with a square hole: a mask whose polygon needs a hole."""
    m = np.zeros((h, w), bool)
    m[10:50, 10:60] = True
    m[20:40, 25:45] = False
    return m


def test_first_party_engines_follow_the_protocol():
    for engine in (GrabCutEngine(), SuperpixelEngine("slic"), SuperpixelEngine("felzenszwalb"), MagicWandEngine()):
        assert isinstance(engine, Engine)
        assert engine.name and engine.cache_key


def test_prompts_normalise_and_report_their_kinds():
    p = Prompts(positive=[3, 4], box=(10, 20, 2, 5), foreground=[([(0, 0), (5, 5)], 3)])
    assert p.positive.shape == (1, 2) and p.negative.shape == (0, 2)
    assert p.box == (2.0, 5.0, 10.0, 20.0)  # corners sorted
    assert isinstance(p.foreground[0], Scribble)
    assert p.kinds() == {POSITIVE_POINTS, BOX, FOREGROUND_SCRIBBLES}
    with pytest.raises(ValueError, match="finite"):
        Prompts(positive=[[np.nan, 1]])
    with pytest.raises(ValueError, match="width"):
        Scribble([(0, 0)], width=0)


def test_scribble_rasterises_its_width():
    thin = Scribble([(10, 10), (50, 10)], width=1).rasterize(30, 60)
    thick = Scribble([(10, 10), (50, 10)], width=7).rasterize(30, 60)
    assert thin[10, 10:51].all() and thin.sum() == 41
    assert thick[7:14, 30].all() and not thick[3, 30]
    dot = Scribble([(5, 5)], width=5).rasterize(20, 20)
    assert dot[5, 5] and dot.sum() > 1


def test_check_prompts_names_what_the_engine_does_not_take():
    wand = MagicWandEngine()
    check_prompts(wand, Prompts(positive=[(1, 1)]))
    with pytest.raises(ValueError, match="'wand' does not accept box"):
        check_prompts(wand, Prompts(box=(0, 0, 5, 5)))


def test_as_rgb_accepts_grey_rgba_and_float():
    assert as_rgb(np.zeros((4, 5), np.uint8)).shape == (4, 5, 3)
    assert as_rgb(np.zeros((4, 5, 4), np.uint8)).shape == (4, 5, 3)
    f = as_rgb(np.full((2, 2, 3), 1.0))
    assert f.dtype == np.uint8 and f.max() == 255
    with pytest.raises(ValueError, match="image"):
        as_rgb(np.zeros((4, 5, 2)))


def test_proposal_becomes_a_mask_shape_with_source_score_and_links():
    m = ring_mask()
    shapes = proposal_to_shapes(Proposal(m, 0.83, "grabcut"), "car", links=("a1", "b2"))
    [s] = shapes
    assert s.kind == "mask" and s.label == "car"
    assert s.source == "grabcut" and s.score == pytest.approx(0.83) and s.links == ("a1", "b2")
    assert (rle_decode(s.rle) == m).all()


def test_proposal_becomes_polygons_with_holes():
    m = ring_mask()
    m[52:58, 65:75] = True  # a second, separate piece
    shapes = proposal_to_shapes(Proposal(m, 0.5, "superpixel"), "road", polygons=True, links=("w",))
    assert len(shapes) == 2 and all(s.kind == "polygon" for s in shapes)
    assert sum(len(s.holes) for s in shapes) == 1
    painted = np.zeros_like(m)
    for s in shapes:
        assert s.links == ("w",) and s.source == "superpixel"
        painted |= shape_to_mask(s, *m.shape)
    assert mask_iou(painted, m) >= 0.99
    assert proposal_to_shapes(Proposal(np.zeros((5, 5)), 1.0, "wand"), "x") == []


def test_weak_labels_to_mask_shapes_that_link_back_to_them():
    """A user's scribble and point (weak labels) through an engine into a linked mask shape."""
    image, truth, _ = scene("ellipse", seed=0)
    scribble = Shape(kind="scribble", label="object", points=[(80, 70), (120, 80)], width=5)
    click = Shape(kind="point", label="object", points=[(100, 75)])
    outside = Shape(kind="point", label="object", points=[(10, 10)])
    prompts = prompts_from_shapes([scribble, click], [outside])
    assert prompts.links == (scribble.id, click.id, outside.id)
    assert len(prompts.positive) == 1 and len(prompts.negative) == 1 and len(prompts.foreground) == 1
    engine = GrabCutEngine()
    [proposal] = engine.propose(engine.prepare(image), prompts)
    [shape] = proposal_to_shapes(proposal, "object", links=prompts.links)
    assert shape.links == (scribble.id, click.id, outside.id)
    assert mask_iou(rle_decode(shape.rle), truth) >= 0.9
    # the links survive a save in labelme JSON and a reload
    ann = ImageAnnotation(image_path="x.png", height=160, width=200, shapes=[scribble, click, outside, shape])
    from labeler.core.annotation import from_labelme_dict, to_labelme_dict

    again, _ = from_labelme_dict(to_labelme_dict(ann))
    assert again.shapes[-1].links == shape.links and again.shapes[-1].source == "grabcut"


def test_prompts_from_shapes_refuses_what_it_cannot_use():
    poly = Shape(kind="polygon", label="a", points=[(0, 0), (5, 0), (5, 5)])
    with pytest.raises(ValueError, match="polygon"):
        prompts_from_shapes([poly])
    rect = Shape(kind="rectangle", label="a", points=[(0, 0), (5, 5)])
    assert prompts_from_shapes([rect]).box == (0, 0, 5, 5)
    with pytest.raises(ValueError, match="one box"):
        prompts_from_shapes([rect, rect.replace(id="other")])


def test_a_proposal_mask_given_as_a_function_is_made_once_on_first_read():
    calls = []

    def make():
        calls.append(1)
        return np.eye(3)

    p = Proposal(mask=make, score=0.5, engine="x")
    assert not calls
    assert p.mask.dtype == bool and p.mask.shape == (3, 3) and p.mask is p.mask
    assert calls == [1]
    with pytest.raises(ValueError, match="2-D"):
        Proposal(mask=lambda: np.zeros(3), score=0.1, engine="x").mask
    with pytest.raises(AttributeError):
        p.not_a_field
