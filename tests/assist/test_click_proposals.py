"""Proposals from clicks alone (GrabCut, superpixels) and SAM's cheaper mask upsampling."""

import cv2
import numpy as np
import pytest
import torch

from labeler.assist.click_simulation import region_centre
from labeler.assist.engine import Prompts
from labeler.core.geometry import mask_iou
from labeler.plugins.grabcut import GrabCutEngine
from labeler.plugins.sam import SamEngine
from labeler.plugins.superpixels import SuperpixelEngine

from .synthetic import scene
from .test_sam import save_tiny

ENGINES = {"grabcut": GrabCutEngine, "slic": lambda: SuperpixelEngine("slic"),
           "felzenszwalb": lambda: SuperpixelEngine("felzenszwalb")}


@pytest.mark.parametrize("name", sorted(ENGINES))
@pytest.mark.parametrize("shape,seed", [("ellipse", 0), ("ellipse", 1), ("rectangle", 2)])
def test_one_click_at_the_centre_selects_a_uniform_object_on_texture(name, shape, seed):
    image, truth, _ = scene(shape, seed=seed)
    engine = ENGINES[name]()
    [p] = engine.propose(engine.prepare(image), Prompts(positive=[region_centre(truth)]))
    assert mask_iou(p.mask, truth) >= 0.8


def joined_scene(seed=0):
    """An object with a neighbour of nearly its colour touching it: one click takes both."""
    image, truth, _ = scene("rectangle", seed=seed)
    neighbour = np.zeros(truth.shape, np.uint8)
    cv2.rectangle(neighbour, (151, 40), (195, 115), 1, -1)  # right of the object, sharing its edge
    neighbour = neighbour.astype(bool) & ~truth
    rng = np.random.default_rng(seed + 10)
    colour = np.array([190, 70, 55]) + rng.normal(0, 12, (*truth.shape, 3))
    image[neighbour] = np.clip(colour, 0, 255).astype(np.uint8)[neighbour]
    return image, truth, neighbour


@pytest.mark.parametrize("name", ["grabcut", "slic"])
def test_a_negative_click_removes_a_wrongly_included_neighbour(name):
    image, truth, neighbour = joined_scene()
    engine = ENGINES[name]()
    state = engine.prepare(image)
    click = region_centre(truth)
    [first] = engine.propose(state, Prompts(positive=[click]))
    assert (first.mask & neighbour).sum() > 0.3 * neighbour.sum()  # taken in with the object
    [fixed] = engine.propose(state, Prompts(positive=[click], negative=[region_centre(neighbour)]))
    assert (fixed.mask & neighbour).sum() < 0.1 * neighbour.sum()
    assert mask_iou(fixed.mask, truth) >= 0.8 and mask_iou(fixed.mask, truth) > mask_iou(first.mask, truth) + 0.1


def test_superpixel_growth_can_be_switched_off_to_one_superpixel_per_click():
    image, truth, _ = scene("ellipse", seed=0)
    engine = SuperpixelEngine("slic", grow=False, fine=0)
    state = engine.prepare(image)
    x, y = region_centre(truth)
    [p] = engine.propose(state, Prompts(positive=[(x, y)]))
    assert (p.mask == (state.segments == state.segments[int(y), int(x)])).all()


def test_sam_masks_match_the_bare_predictor_to_float_rounding(tmp_path):
    save_tiny(tmp_path / "tiny.pth", seed=3)
    engine = SamEngine(tmp_path / "tiny.pth", device="cpu")
    image, _, box = scene("ellipse")
    state = engine.prepare(image)
    bare = engine.predictor()
    bare.features, bare.original_size, bare.input_size = state.features, state.original_size, state.input_size
    bare.is_image_set = True
    rng = np.random.default_rng(0)
    for i in range(12):
        points = rng.uniform((0, 0), (200, 160), (3, 2))
        prompts = Prompts(positive=points[:1] if i % 2 else points[:2], negative=[] if i % 2 else points[2:],
                          box=box if i % 3 == 0 else None)
        ours = engine.propose(state, prompts)
        coords = np.concatenate([prompts.positive, prompts.negative])
        labels = np.r_[np.ones(len(prompts.positive)), np.zeros(len(prompts.negative))]
        with torch.no_grad():
            logits, scores, low = bare.predict(coords, labels, None if prompts.box is None else np.array(box),
                                               multimask_output=len(ours) == 3, return_logits=True)
        order = np.argsort(-scores)
        for p, k in zip(ours, order):
            assert p.score == pytest.approx(float(scores[k]), abs=1e-5)
            np.testing.assert_allclose(p.logits, low[k], atol=1e-5)
            differ = p.mask != (logits[k] > 0)
            assert np.abs(logits[k][differ]).max(initial=0) < 1e-4  # only where the logit is ~0
            assert p.mask.any() == (logits[k] > 0).any()
