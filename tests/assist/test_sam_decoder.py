"""FastMaskDecoder gives what segment-anything's MaskDecoder.forward gives, for every kind of prompt."""

import numpy as np
import pytest
import torch

from labeler.assist.engine import Prompts
from labeler.assist.sam_decoder import FastMaskDecoder, supports
from labeler.plugins.sam import SamEngine, build_sam

from .synthetic import scene
from .test_sam import TINY

#: the real decoder's widths (256 channels, 8 heads, 64 x 64 tokens) with a tiny image encoder
DECODER_SIZED = dict(TINY, image_size=512, patch_size=8, prompt_embed_dim=256, decoder_num_heads=8,
                     decoder_mlp_dim=512, iou_head_hidden_dim=64, mask_in_chans=16)


def strong_sam(config, seed=0):
    """Random weights scaled up so that the outputs are of order one and mistakes would show."""
    torch.manual_seed(seed)
    sam = build_sam(config)
    with torch.no_grad():
        for name, p in sam.mask_decoder.named_parameters():
            if p.ndim > 1:
                p.mul_(2.0)
            else:
                p.add_(torch.randn_like(p) * 0.1)  # non-zero biases: the moved projections must carry them
    return sam


def prompt_embeddings(sam, points=None, box=None, mask=None):
    with torch.inference_mode():
        pts = None if points is None else (torch.tensor([points[0]], dtype=torch.float),
                                           torch.tensor([points[1]], dtype=torch.int))
        boxes = None if box is None else torch.tensor([box], dtype=torch.float)
        return sam.prompt_encoder(points=pts, boxes=boxes, masks=mask)


PROMPTS = {
    "one click": dict(points=([[100.0, 80.0]], [1])),
    "clicks + box": dict(points=([[100.0, 80.0], [30.0, 20.0]], [1, 0]), box=[[20.0, 10.0, 300.0, 200.0]]),
    "box only": dict(box=[[20.0, 10.0, 300.0, 200.0]]),
}


@pytest.mark.parametrize("multimask", [True, False])
@pytest.mark.parametrize("prompt", sorted(PROMPTS))
def test_fast_decoder_equals_mask_decoder_forward(prompt, multimask):
    sam = strong_sam(DECODER_SIZED)
    fast = FastMaskDecoder(sam)
    assert fast.fast
    features = torch.randn(1, 256, 64, 64)
    with torch.inference_mode():
        pe = sam.prompt_encoder.get_dense_pe()
        sparse, dense = prompt_embeddings(sam, **PROMPTS[prompt])
        want_masks, want_iou = sam.mask_decoder(features, pe, sparse, dense, multimask)
        pre = fast.precompute(features, pe)
        for given in (pre, None):  # with the image's precomputed part, and without
            masks, iou = fast(features, pe, sparse, dense, multimask, mask_given=False, pre=given)
            assert masks.shape == want_masks.shape and iou.shape == want_iou.shape
            assert want_masks.abs().mean() > 0.1  # outputs of order one: a wrong term would show
            torch.testing.assert_close(masks, want_masks, rtol=1e-4, atol=1e-4)
            torch.testing.assert_close(iou, want_iou, rtol=1e-4, atol=1e-4)


def test_a_mask_prompt_takes_the_full_path_and_still_agrees():
    sam = strong_sam(DECODER_SIZED, seed=1)
    fast = FastMaskDecoder(sam)
    features = torch.randn(1, 256, 64, 64)
    with torch.inference_mode():
        pe = sam.prompt_encoder.get_dense_pe()
        mask = torch.randn(1, 1, 256, 256) * 5
        sparse, dense = prompt_embeddings(sam, points=([[100.0, 80.0]], [1]), mask=mask)
        want = sam.mask_decoder(features, pe, sparse, dense, False)
        pre = fast.precompute(features, pe)  # made for "no mask": must not be used here
        got = fast(features, pe, sparse, dense, False, mask_given=True, pre=pre)
        for g, w in zip(got, want):
            torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-4)
        wrongly = fast(features, pe, sparse, dense, False, mask_given=False, pre=pre)
        assert not torch.allclose(wrongly[0], want[0], atol=1e-3)  # the mask really changes the image side


def test_another_decoder_structure_runs_through_its_own_forward():
    sam = strong_sam(TINY)
    sam.mask_decoder.output_upscaling[0] = torch.nn.ConvTranspose2d(32, 8, kernel_size=4, stride=2, padding=1)
    assert not supports(sam.mask_decoder) and supports(strong_sam(TINY).mask_decoder)
    fast = FastMaskDecoder(sam)
    features = torch.randn(1, 32, 8, 8)
    with torch.inference_mode():
        pe = sam.prompt_encoder.get_dense_pe()
        sparse, dense = prompt_embeddings(sam, points=([[10.0, 20.0]], [1]))
        want = sam.mask_decoder(features, pe, sparse, dense, True)
        got = fast(features, pe, sparse, dense, True, mask_given=False)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w)


def test_engine_keeps_the_image_part_of_the_last_few_images(tmp_path):
    torch.manual_seed(0)
    torch.save({"config": TINY, "state_dict": strong_sam(TINY).state_dict()}, tmp_path / "s.pth")
    engine = SamEngine(tmp_path / "s.pth", device="cpu")
    engine.image_work_items = 2

    def kept():
        return [state for state, _ in engine._image_work]

    images = [scene(shape, seed=i)[0] for i, shape in enumerate(["ellipse", "rectangle", "ellipse"])]
    state_a = engine.prepare(images[0])
    assert kept() == [state_a]  # made in prepare, i.e. in the caller's worker
    first = engine.propose(state_a, Prompts(positive=[(100, 75)]))
    state_b = engine.prepare(images[1])  # a prefetch of the next image: the current one stays
    assert kept() == [state_a, state_b]
    b_before = engine.propose(state_b, Prompts(positive=[(100, 75)]))
    engine.propose(state_a, Prompts(positive=[(100, 75)]))
    assert kept() == [state_b, state_a]  # used last
    state_c = engine.prepare(images[2])
    assert kept() == [state_a, state_c]  # the least recently used went
    again = engine.propose(state_b, Prompts(positive=[(100, 75)]))  # dropped: recomputed, same answer
    assert kept() == [state_c, state_b]
    for p, q in zip(again, b_before):
        np.testing.assert_allclose(p.logits, q.logits, atol=1e-5)
        assert (p.mask == q.mask).all()
    assert len(first) == 3


def test_only_the_best_candidate_is_upsampled_before_it_is_looked_at(tmp_path):
    torch.save({"config": TINY, "state_dict": strong_sam(TINY).state_dict()}, tmp_path / "s.pth")
    engine = SamEngine(tmp_path / "s.pth", device="cpu")
    image, _, _ = scene("ellipse", seed=0)
    best, second, third = engine.propose(engine.prepare(image), Prompts(positive=[(100, 75)]))
    assert "mask" in vars(best) and "mask" not in vars(second) and "mask" not in vars(third)
    assert second.mask.shape == best.mask.shape == image.shape[:2] and second.mask.dtype == bool
    assert "mask" in vars(second) and second.mask is second.mask  # made once, then kept
