import cv2
import numpy as np
import pytest

from labeler.assist.engine import Prompts, Scribble
from labeler.core.geometry import mask_iou
from labeler.plugins.superpixels import MagicWandEngine, SuperpixelEngine

from .synthetic import scene


def inner_loop(truth: np.ndarray, inset: int = 8) -> np.ndarray:
    """A closed stroke following the object's outline ``inset`` pixels inside it."""
    k = 2 * inset + 1
    inner = cv2.erode(truth.astype(np.uint8), np.ones((k, k), np.uint8))
    contours, _ = cv2.findContours(inner, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    loop = contours[0].reshape(-1, 2).astype(float)
    return np.vstack([loop, loop[:1]])


def centre(box):
    return ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)


@pytest.mark.parametrize("shape", ["ellipse", "rectangle"])
def test_slic_scribble_and_click_select_the_object(shape):
    image, truth, box = scene(shape, seed=1)
    engine = SuperpixelEngine("slic", region_size=24)
    state = engine.prepare(image)
    assert 30 <= state.count <= 90  # about 200 * 160 / 24^2 superpixels
    [p] = engine.propose(state, Prompts(foreground=[Scribble(inner_loop(truth), 5)], positive=[centre(box)]))
    assert p.engine == "superpixel"
    assert mask_iou(p.mask, truth) >= 0.9


def test_slic_clicks_add_and_remove_superpixels_of_the_current_mask():
    image, truth, box = scene("ellipse", seed=0)
    engine = SuperpixelEngine("slic", grow=False, fine=0)  # one superpixel per click, one scale
    state = engine.prepare(image)
    cx, cy = centre(box)
    [one] = engine.propose(state, Prompts(positive=[(cx, cy)]))
    segment = state.segments == state.segments[int(cy), int(cx)]
    assert (one.mask == segment).all()
    [two] = engine.propose(state, Prompts(positive=[(cx + 40, cy)], mask=one.mask))
    assert two.mask.sum() > one.mask.sum() and (two.mask & one.mask).sum() == one.mask.sum()
    [back] = engine.propose(state, Prompts(negative=[(cx, cy)], mask=two.mask))
    assert not back.mask[int(cy), int(cx)] and back.mask[int(cy), int(cx + 40)]
    [same] = engine.propose(state, Prompts(positive=[(-5, 3000)], mask=one.mask))  # off the image
    assert (same.mask == one.mask).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_felzenszwalb_one_click_selects_the_object(seed):
    image, truth, box = scene("ellipse", seed=seed)
    engine = SuperpixelEngine("felzenszwalb")
    state = engine.prepare(image)
    [p] = engine.propose(state, Prompts(positive=[centre(box), (box[0] + 20, centre(box)[1])]))
    assert p.engine == "felzenszwalb"
    assert mask_iou(p.mask, truth) >= 0.9


def test_box_takes_the_superpixels_mostly_inside_it():
    image, truth, box = scene("rectangle", seed=0)
    engine = SuperpixelEngine("slic")
    [p] = engine.propose(engine.prepare(image), Prompts(box=box))
    assert mask_iou(p.mask, truth) >= 0.9
    assert 0.6 <= p.score <= 1.0


def test_background_scribble_removes_what_it_touches():
    image, truth, box = scene("ellipse", seed=0)
    engine = SuperpixelEngine("slic")
    state = engine.prepare(image)
    stroke = Scribble([(box[0], centre(box)[1]), (box[2], centre(box)[1])], 3)
    [p] = engine.propose(state, Prompts(mask=truth, background=[stroke]))
    assert not p.mask[stroke.rasterize(*truth.shape)].any()
    assert p.mask.sum() < truth.sum()


def test_magic_wand_floods_the_clicked_colour_within_tolerance():
    image, truth, box = scene("ellipse", seed=0)
    engine = MagicWandEngine()
    state = engine.prepare(image)
    [p] = engine.propose(state, Prompts(positive=[centre(box)]))
    assert p.engine == "wand"
    assert mask_iou(p.mask, truth) >= 0.9
    [tight] = engine.propose(state, Prompts(positive=[centre(box)], options={"tolerance": 1.0}))
    assert tight.mask.sum() < 0.2 * truth.sum()  # a tiny tolerance keeps only near-identical pixels
    [cut] = engine.propose(state, Prompts(negative=[centre(box)], mask=p.mask))
    assert cut.mask.sum() < 0.1 * p.mask.sum()
    with pytest.raises(ValueError, match="tolerance"):
        engine.propose(state, Prompts(positive=[centre(box)], options={"tolerance": -1}))


def test_magic_wand_does_not_leak_through_a_gap_of_other_colour():
    image = np.full((60, 90, 3), 40, np.uint8)
    image[10:50, 10:40] = (200, 30, 30)
    image[10:50, 50:80] = (200, 30, 30)  # same colour, not connected
    engine = MagicWandEngine()
    [p] = engine.propose(engine.prepare(image), Prompts(positive=[(25, 30)]))
    assert p.mask[30, 25] and not p.mask[30, 65] and not p.mask[5, 5]


def test_mismatched_previous_mask_is_refused():
    image, _, _ = scene("ellipse")
    engine = SuperpixelEngine("felzenszwalb")
    with pytest.raises(ValueError, match="previous mask"):
        engine.propose(engine.prepare(image), Prompts(positive=[(5, 5)], mask=np.zeros((10, 10), bool)))
    with pytest.raises(ValueError, match="unknown superpixel method"):
        SuperpixelEngine("watershed")
