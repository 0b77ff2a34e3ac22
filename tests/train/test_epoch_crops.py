"""Networks train on crops of huge images drawn anew every epoch and read as the batches need
them (labeler.train.epoch_crops), on a 4000 x 3000 tiled deflate TIFF that the lowered threshold
makes count as huge. Tiny networks on the CPU."""

from __future__ import annotations

import json
import pickle
import shutil
import tracemalloc

import numpy as np
import pytest
import tifffile
import torch

from labeler.core import tiff_regions, tiles
from labeler.core.annotation import ImageAnnotation
from labeler.core.project import Project
from labeler.core.schema import Schema
from labeler.core.shapes import Shape
from labeler.train import dataset as dataset_module
from labeler.train import network_training
from labeler.train.dataset import LabelSpace, iter_samples
from labeler.train.deep import DeepSettings
from labeler.train.epoch_crops import EpochCrops
from labeler.train.tiling import CropSampling, window_target
from labeler.train.trainer import train_deep

W, H = 4000, 3000
KEY = "images/field.tif"
CLASSES = ["grass", "sand"]
CROPS = CropSampling(size=64, per_image=4)


def square(label: str, cx: float, cy: float, r: float) -> Shape:
    return Shape(kind="polygon", label=label, points=[[cx - r, cy - r], [cx + r, cy - r], [cx + r, cy + r],
                                                       [cx - r, cy + r]])


LABELS = [square("sand", 600, 500, 40), square("sand", 1800, 1200, 40), square("grass", 300, 1300, 50),
          square("grass", 2000, 300, 50),
          Shape(kind="scribble", label="grass", points=[[1000, 900], [1400, 950], [1300, 1400]], width=7)]


@pytest.fixture(scope="module")
def tiff(tmp_path_factory):
    rng = np.random.default_rng(3)
    yy, xx = np.arange(H)[:, None], np.arange(W)[None, :]
    sand = ((xx - 600) ** 2 + (yy - 500) ** 2 < 150 ** 2) | ((xx - 1800) ** 2 + (yy - 1200) ** 2 < 150 ** 2)
    img = np.where(sand[..., None], np.uint8([200, 180, 110]), np.uint8([70, 140, 60]))
    img = (img + rng.integers(0, 20, img.shape, dtype=np.uint8)).astype(np.uint8)
    path = tmp_path_factory.mktemp("huge") / "field.tif"
    tifffile.imwrite(path, img, tile=(256, 256), compression="zlib", compressionargs={"level": 1})
    return path


def make_huge_project(root, tiff) -> Project:
    schema = Schema.from_names(CLASSES)
    schema.background = "grass"
    proj = Project.create(root, schema)
    (root / "images").mkdir()
    shutil.copy(tiff, root / KEY)
    proj.save_annotation(KEY, ImageAnnotation(KEY, W, H, list(LABELS), status="in_progress"))
    proj.refresh()
    return proj


@pytest.fixture
def reads(monkeypatch):
    """1 MP and up counts as huge; a whole decode fails the test; every region read is recorded
    as ``("read", level, (x0, y0, x1, y1))`` in the list this returns."""
    monkeypatch.setattr(tiles, "TILED_ABOVE_PIXELS", 1_000_000)

    def refuse(*a, **k):
        raise AssertionError("a huge image was decoded whole")

    monkeypatch.setattr(dataset_module, "read_image", refuse)
    monkeypatch.setattr(tiles.TileSource, "_full_decode", refuse)
    events = []
    original = tiles.TileSource.read_region

    def counted(self, level, x0, y0, x1, y1):
        events.append(("read", level, (x0, y0, x1, y1)))
        return original(self, level, x0, y0, x1, y1)

    monkeypatch.setattr(tiles.TileSource, "read_region", counted)
    return events


@pytest.fixture
def huge(tmp_path, tiff, reads):
    proj = make_huge_project(tmp_path / "proj", tiff)
    yield proj
    proj.close()


def tiny(**kw) -> DeepSettings:
    return DeepSettings(**{"arch": "unet", "encoder": "resnet18", "encoder_depth": 3, "decoder_width": 16,
                           "epochs": 2, "batch_size": 2, "crop": 48, "lr": 3e-3, "device": "cpu", **kw})


def epoch_crops(proj, seed: int = 0, sampling: CropSampling = CROPS) -> EpochCrops:
    space = LabelSpace.from_schema(proj.schema)
    later, problems = [], []
    pairs = [(s.image, s.target) for s in iter_samples(proj, [KEY], space, crops=sampling, defer_huge=later,
                                                       problems=problems)]
    assert pairs == [] and [h.key for h in later] == [KEY] and problems == []
    return EpochCrops(pairs, later, space, sampling, seed=seed)


def test_each_epoch_draws_new_windows_the_same_seed_and_epoch_the_same(huge, reads):
    data = epoch_crops(huge)
    assert reads == [] and len(data) == CROPS.per_image  # nothing read until asked for
    w0, w1 = data.windows(0)[KEY], data.windows(1)[KEY]
    assert w0 != w1 and len(set(w0) | set(w1)) > CROPS.per_image
    assert epoch_crops(huge).windows(1)[KEY] == w1  # a new dataset (a resumed run): the same windows
    assert epoch_crops(huge, seed=5).windows(1)[KEY] != w1  # another run seed: others
    space = LabelSpace.from_schema(huge.schema)
    for x0, y0, x1, y1 in w0 + w1:
        assert x1 - x0 == y1 - y0 == 64 and 0 <= x0 and 0 <= y0 and x1 <= W and y1 <= H
        target, _ = window_target(huge.load(KEY), space, (x0, y0, x1, y1))
        assert (target != space.ignore_index).any()  # every crop has something to learn from

    data.set_epoch(1)
    image, target = data[2]
    assert reads == [("read", 0, w1[2])]  # one crop, read when asked for
    truth, _ = window_target(huge.load(KEY), space, w1[2])
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8
    assert target.dtype == np.int64 and np.array_equal(target, truth.astype(np.int64))
    # the dataset pickles (for DataLoader worker processes) without its open TileSource
    again = pickle.loads(pickle.dumps(data))
    assert again._sources == {} and again.epoch == 1
    image2, target2 = again[2]
    assert np.array_equal(image2, image) and np.array_equal(target2, target)
    with pytest.raises(IndexError):
        data[len(data)]


def test_ordinary_images_stay_in_memory_before_the_crops(huge, reads):
    later = epoch_crops(huge).huge
    space = LabelSpace.from_schema(huge.schema)
    image = np.zeros((32, 32, 3), np.uint8)
    target = np.full((32, 32), 7, np.uint8)  # 7: no such class, so unlabelled
    target[:4] = 1
    data = EpochCrops([(image, target)], later, space, CROPS)
    assert len(data) == 1 + CROPS.per_image
    got_image, got_target = data[0]
    assert got_image is image and reads == []
    assert set(np.unique(got_target)) == {1, space.ignore_index}
    targets = list(data.targets(0))
    assert len(targets) == 5 and reads == [] and all((t != space.ignore_index).any() for t in targets)
    assert data[1][0].shape == (64, 64, 3) and len(reads) == 1


def test_a_huge_image_without_a_usable_label_is_skipped_and_said(huge):
    ann = huge.load(KEY)
    ann.shapes = [square("rock", 600, 500, 40)]  # a class the schema does not have
    huge.save_annotation(KEY, ann)
    later, problems = [], []
    assert list(iter_samples(huge, [KEY], LabelSpace.from_schema(huge.schema), defer_huge=later,
                             problems=problems)) == []
    assert later == [] and len(problems) == 1 and "rock" in problems[0] and "field.json" in problems[0]


def test_worker_processes_read_the_same_crops(huge):
    data = epoch_crops(huge)
    data.set_epoch(3)
    data[0]  # the parent opens its TileSource before the workers fork
    here = [data[i] for i in range(len(data))]
    loader = torch.utils.data.DataLoader(data, batch_size=None, num_workers=2)
    there = list(loader)
    assert len(there) == len(here)
    assert all(np.array_equal(np.asarray(a[0]), b[0]) and np.array_equal(np.asarray(a[1]), b[1])
               for a, b in zip(there, here))


def _events_by_epoch(events) -> list[list]:
    out = [[]]
    for e in events:
        if e[0] == "epoch":
            out.append([])
        else:
            out[-1].append(e)
    return out[:-1]


def test_a_network_sees_fresh_crops_each_epoch_read_as_batches_need_them(huge, reads, monkeypatch):
    real = network_training.segmentation_loss
    monkeypatch.setattr(network_training, "segmentation_loss",
                        lambda *a: reads.append(("step",)) or real(*a))
    res = train_deep(huge, tiny(epochs=2), crops=CROPS, val_split=None,
                     on_epoch=lambda r: reads.append(("epoch", r["epoch"])))
    assert res.keys == [KEY] and res.model.info["epochs_run"] == 2 and res.model.info["images"] == 4
    assert json.loads((res.run_dir / "run.json").read_text())["train_images"] == [KEY]
    expected = epoch_crops(huge, seed=0)
    per_epoch = _events_by_epoch(reads)
    assert len(per_epoch) == 2
    seen = []
    for epoch, events in enumerate(per_epoch):
        windows = [e[2] for e in events if e[0] == "read"]
        # the epoch's crops (then read again for the batch-norm statistics), nothing else
        assert set(windows) == set(expected.windows(epoch)[KEY])
        assert all(e[1] == 0 for e in events if e[0] == "read")
        # read in the loader, batch by batch: steps come between the reads, not after all of them
        kinds = [e[0] for e in events]
        first, last = kinds.index("step"), len(kinds) - 1 - kinds[::-1].index("step")
        assert kinds[:first] == ["read", "read"] and "read" in kinds[first:last]
        seen.append(set(windows))
    assert seen[0] != seen[1]


def test_memory_stays_far_below_the_image_across_epochs(huge, monkeypatch):
    monkeypatch.setattr(tiff_regions, "SEGMENT_CACHE_BYTES", 1_000_000)  # the TIFF reader's tile LRU
    image_bytes = W * H * 3
    tracemalloc.start()
    try:
        res = train_deep(huge, tiny(epochs=3), crops=CROPS, val_split=None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert res.model.info["epochs_run"] == 3
    assert peak < image_bytes / 10, f"peak {peak / 1e6:.1f} MB for an image of {image_bytes / 1e6:.1f} MB"


def _state(run) -> dict:
    return torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=True)


def _losses(run) -> list[float]:
    return [json.loads(line)["train_loss"] for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_resuming_on_a_huge_image_gives_the_same_weights_as_not_stopping(tmp_path, tiff, reads):
    a, b = make_huge_project(tmp_path / "a", tiff), make_huge_project(tmp_path / "b", tiff)
    try:
        whole = train_deep(a, tiny(epochs=3), crops=CROPS, val_split=None).run_dir
        first = train_deep(b, tiny(epochs=1), crops=CROPS, val_split=None).run_dir
        again = train_deep(b, tiny(epochs=3, lr=1.0), crops=CROPS, val_split=None, resume=first).run_dir
    finally:
        a.close()
        b.close()
    assert again == first and len(_losses(first)) == 3
    assert _losses(first) == pytest.approx(_losses(whole))
    sa, sb = _state(whole)["state_dict"], _state(first)["state_dict"]
    assert all(torch.allclose(sa[k].float(), sb[k].float(), atol=1e-5) for k in sa)
