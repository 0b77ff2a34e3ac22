"""The SAM engine with a tiny random-weight SAM built from segment-anything's own modules."""

import numpy as np
import pytest
import torch

from labeler.assist.cache import EmbeddingCache, image_digest
from labeler.assist.engine import Prompts, Scribble, check_prompts
from labeler.core.errors import LabelerError
from labeler.plugins.sam import CHECKPOINT_ENV, SamEngine, build_sam, load_sam

from .synthetic import scene

TINY = dict(encoder_embed_dim=32, encoder_depth=2, encoder_num_heads=2, encoder_global_attn_indexes=[1],
            image_size=64, patch_size=8, prompt_embed_dim=32, window_size=4, mask_in_chans=4,
            decoder_mlp_dim=64, decoder_num_heads=2, iou_head_hidden_dim=32)


def save_tiny(path, seed=0):
    torch.manual_seed(seed)
    sam = build_sam(TINY)
    torch.save({"config": TINY, "state_dict": sam.state_dict()}, path)
    return sam


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny_sam.pth"
    save_tiny(path)
    return path


def test_tiny_checkpoint_loads_through_the_real_loader_weights_only(tiny):
    torch.manual_seed(0)
    reference = build_sam(TINY).state_dict()
    sam, config = load_sam(tiny)
    assert config["encoder_embed_dim"] == 32 and sam.image_encoder.img_size == 64
    loaded = sam.state_dict()
    assert set(loaded) == set(reference)
    assert all(torch.equal(loaded[k], reference[k]) for k in reference)


def test_official_layout_is_recognised_by_its_encoder_width(tmp_path):
    # a plain state dict whose encoder width is not an official one: a clear refusal
    torch.manual_seed(0)
    path = tmp_path / "plain.pth"
    torch.save(build_sam(TINY).state_dict(), path)
    with pytest.raises(LabelerError, match="unknown SAM encoder width 32"):
        load_sam(path)


class Payload:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_unsafe_corrupt_or_missing_checkpoints_are_refused_with_the_file_named(tmp_path):
    evil = tmp_path / "evil.pth"
    torch.save({"state_dict": Payload()}, evil)
    with pytest.raises(LabelerError, match=r"evil\.pth: refused to load"):
        load_sam(evil)
    broken = tmp_path / "broken.pth"
    broken.write_bytes(b"\x80\x02 not a checkpoint")
    with pytest.raises(LabelerError, match=r"broken\.pth: not a readable checkpoint"):
        load_sam(broken)
    with pytest.raises(LabelerError, match=r"missing\.pth: SAM checkpoint not found"):
        load_sam(tmp_path / "missing.pth")
    wrong = tmp_path / "wrong.pth"
    torch.save({"config": {**TINY, "encoder_depth": 3}, "state_dict": build_sam(TINY).state_dict()}, wrong)
    with pytest.raises(LabelerError, match=r"wrong\.pth: the weights do not fit"):
        load_sam(wrong)


def test_without_a_checkpoint_the_engine_says_what_to_set(monkeypatch):
    monkeypatch.delenv(CHECKPOINT_ENV, raising=False)
    engine = SamEngine()
    assert engine.cache_key == "sam:unavailable"
    with pytest.raises(LabelerError, match=CHECKPOINT_ENV):
        engine.prepare(np.zeros((8, 8, 3), np.uint8))


def test_propose_gives_ranked_masks_and_logits_that_feed_back(tiny):
    image, _, box = scene("ellipse")
    engine = SamEngine(tiny, device="cpu")
    state = engine.prepare(image)
    assert state.original_size == (160, 200) and state.input_size == (51, 64)
    one_click = engine.propose(state, Prompts(positive=[(100, 75)]))
    assert len(one_click) == 3  # an ambiguous click: three candidates, best first
    assert [p.score for p in one_click] == sorted((p.score for p in one_click), reverse=True)
    for p in one_click:
        assert p.engine == "sam" and p.mask.shape == (160, 200) and p.logits.shape == (32, 32)
    boxed = engine.propose(state, Prompts(box=box, negative=[(5, 5)]))
    assert len(boxed) == 1
    again = engine.propose(state, Prompts(box=box, negative=[(5, 5)], logits=boxed[0].logits))
    assert len(again) == 1 and again[0].mask.shape == (160, 200)
    # logits change the answer: the decoder really sees them
    assert not np.allclose(again[0].logits, boxed[0].logits)
    scribbled = engine.propose(state, Prompts(foreground=[Scribble([(70, 70), (130, 80)], 5)]))
    assert len(scribbled) == 1
    check_prompts(engine, Prompts(box=box, logits=boxed[0].logits))
    with pytest.raises(ValueError, match="needs points, a box or scribbles"):
        engine.propose(state, Prompts(logits=boxed[0].logits))


def test_embeddings_are_computed_once_per_image_and_model(tiny, tmp_path):
    image, _, _ = scene("ellipse", seed=0)
    other, _, _ = scene("ellipse", seed=1)
    engine = SamEngine(tiny, device="cpu", cache_dir=tmp_path / "cache", memory_items=1)
    first = engine.prepare(image)
    second = engine.prepare(image.copy())  # same pixels, another array
    assert engine.encoder_runs == 1 and second is first
    engine.prepare(other)  # evicts the first image from memory (one item) ...
    assert engine.encoder_runs == 2
    third = engine.prepare(image)  # ... but the disk still has it
    assert engine.encoder_runs == 2 and engine.cache.disk_hits == 1
    assert torch.equal(third.features, first.features)
    # a new session with the same cache folder does not run the encoder at all
    fresh = SamEngine(tiny, device="cpu", cache_dir=tmp_path / "cache")
    state = fresh.prepare(image)
    assert fresh.encoder_runs == 0
    a = fresh.propose(state, Prompts(positive=[(100, 75)]))[0]
    b = engine.propose(first, Prompts(positive=[(100, 75)]))[0]
    assert (a.mask == b.mask).all() and a.score == pytest.approx(b.score)
    # another model (other weights, same architecture) misses
    other_ckpt = tmp_path / "tiny2.pth"
    save_tiny(other_ckpt, seed=1)
    other_engine = SamEngine(other_ckpt, device="cpu", cache_dir=tmp_path / "cache")
    assert other_engine.cache_key != engine.cache_key
    other_engine.prepare(image)
    assert other_engine.encoder_runs == 1


def test_damaged_disk_entry_is_recomputed_not_trusted(tiny, tmp_path):
    image, _, _ = scene("ellipse")
    folder = tmp_path / "cache"
    engine = SamEngine(tiny, device="cpu", cache_dir=folder)
    engine.prepare(image)
    [entry] = folder.glob("*.pt")
    entry.write_bytes(b"garbage")
    fresh = SamEngine(tiny, device="cpu", cache_dir=folder)
    fresh.prepare(image)
    assert fresh.encoder_runs == 1
    assert torch.load(entry, weights_only=True)["key"].endswith(image_digest(image))


def test_memory_cache_holds_any_engine_state_lru():
    class Counting:
        name, cache_key = "count", "count:1"

        def __init__(self):
            self.runs = 0

        def prepare(self, image):
            self.runs += 1
            return image.sum()

    engine, cache = Counting(), EmbeddingCache(memory_items=2)
    a, b, c = (np.full((3, 3), v, np.uint8) for v in (1, 2, 3))
    for img in (a, b, a, c, a, b):
        cache.get_or_prepare(engine, img)
    # a, b: miss; a: hit; c: miss (evicts b); a: hit; b: miss again
    assert engine.runs == 4 and cache.hits == 2
    with pytest.raises(ValueError):
        EmbeddingCache(memory_items=0)
