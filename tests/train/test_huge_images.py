"""Training on and pre-labelling huge images by crops and tiles (labeler.train.tiling,
labeler.train.tiled_predict), on a 3000 x 2000 tiled deflate TIFF that the lowered thresholds
make count as huge."""

from __future__ import annotations

import shutil
import tracemalloc

import numpy as np
import pytest
import shapely
import tifffile

from labeler.core import geometry, tiles
from labeler.core.annotation import ImageAnnotation
from labeler.core.jobs import Cancelled, JobContext
from labeler.core.project import Project
from labeler.core.schema import Schema
from labeler.core.shapes import Shape
from labeler.train import dataset as dataset_module
from labeler.train import predict as predict_module
from labeler.train.dataset import LabelSpace, iter_samples, target_for
from labeler.train.pixel_classifier import FeatureSettings
from labeler.train.predict import predict_project
from labeler.train.tiled_predict import tile_windows
from labeler.train.tiling import CropSampling, choose_crops, is_huge, window_target
from labeler.train.trainer import train_pixel

W, H = 3000, 2000
KEY = "images/aerial.tif"
CLASSES = ["grass", "sand", "water"]
COLOURS = {0: (70, 140, 60), 1: (200, 180, 110), 2: (40, 80, 170)}
#: sand disc A crosses the tile seams at x = 768 and y = 768 (cores are 384 apart)
OBJECTS = [("sand", "disc", (770, 760, 260)), ("sand", "disc", (2500, 1550, 180)),
           ("water", "rect", (1500, 300, 2400, 1000)), ("water", "disc", (600, 1550, 220))]


def truth_map() -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W]
    out = np.zeros((H, W), np.uint8)
    for name, kind, p in OBJECTS:
        inside = ((xx + 0.5 - p[0]) ** 2 + (yy + 0.5 - p[1]) ** 2 < p[2] ** 2) if kind == "disc" else \
            (xx >= p[0]) & (xx < p[2]) & (yy >= p[1]) & (yy < p[3])
        out[inside] = CLASSES.index(name)
    return out


@pytest.fixture(scope="module")
def truth_and_tiff(tmp_path_factory):
    truth = truth_map()
    rng = np.random.default_rng(7)
    img = np.zeros((H, W, 3), np.float32)
    for c, col in COLOURS.items():
        img[truth == c] = col
    img += rng.normal(0, 10, img.shape).astype(np.float32)
    path = tmp_path_factory.mktemp("huge") / "aerial.tif"
    tifffile.imwrite(path, np.clip(img, 0, 255).astype(np.uint8), tile=(256, 256), compression="zlib",
                     compressionargs={"level": 1})
    return truth, path


def square(label: str, cx: float, cy: float, r: float) -> Shape:
    return Shape(kind="polygon", label=label, points=[[cx - r, cy - r], [cx + r, cy - r], [cx + r, cy + r],
                                                       [cx - r, cy + r]])


LABELS = [square("sand", 770, 760, 60), square("sand", 2500, 1550, 50), square("water", 1900, 600, 80),
          square("water", 600, 1550, 60), square("grass", 200, 200, 60), square("grass", 2800, 300, 60),
          square("grass", 1200, 1800, 60),
          Shape(kind="scribble", label="grass", points=[[1900, 1300], [2200, 1350], [2100, 1900]], width=9)]


@pytest.fixture
def huge(monkeypatch, tmp_path, truth_and_tiff):
    """A project with the TIFF, labelled by a few squares and a scribble (in progress); 1 MP and
    up counts as huge, and nothing may decode it whole."""
    truth, tiff = truth_and_tiff
    monkeypatch.setattr(tiles, "TILED_ABOVE_PIXELS", 1_000_000)

    def refuse(*a, **k):
        raise AssertionError("a huge image was decoded whole")

    monkeypatch.setattr(dataset_module, "read_image", refuse)
    monkeypatch.setattr(predict_module, "read_image", refuse)
    monkeypatch.setattr(tiles.TileSource, "_full_decode", refuse)
    reads = []
    original = tiles.TileSource.read_region

    def counted(self, level, x0, y0, x1, y1):
        reads.append((level, x1 - x0, y1 - y0))
        return original(self, level, x0, y0, x1, y1)

    monkeypatch.setattr(tiles.TileSource, "read_region", counted)
    schema = Schema.from_names(CLASSES)
    schema.background = "grass"
    root = tmp_path / "proj"
    proj = Project.create(root, schema)
    (root / "images").mkdir()
    shutil.copy(tiff, root / KEY)
    proj.save_annotation(KEY, ImageAnnotation(KEY, W, H, list(LABELS), status="in_progress"))
    proj.refresh()
    yield proj, truth, reads
    proj.close()


FEATURES = FeatureSettings(sigma_min=1, sigma_max=2, scale=0.25)
CROPS = CropSampling(size=256, per_image=12)


def test_huge_is_decided_by_the_thresholds(monkeypatch):
    assert not is_huge(W, H)
    monkeypatch.setattr(tiles, "TILED_ABOVE_PIXELS", 1_000_000)
    assert is_huge(W, H) and not is_huge(1000, 1000)


def test_crops_are_seeded_and_mostly_on_labels():
    boxes = [(100.0, 100.0, 140.0, 140.0), (2800.0, 1800.0, 2900.0, 1900.0)]
    s = CropSampling(size=256, per_image=8, random_share=0.25, seed=3)
    a = choose_crops(W, H, boxes, s, KEY)
    assert a == choose_crops(W, H, boxes, s, KEY) and a != choose_crops(W, H, boxes, s, "other.tif")
    assert len(a) == 8 and all(x1 - x0 == 256 and y1 - y0 == 256 and 0 <= x0 and x1 <= W and y1 <= H
                               for x0, y0, x1, y1 in a)
    touching = [any(x0 <= bx1 and bx0 <= x1 and y0 <= by1 and by0 <= y1 for bx0, by0, bx1, by1 in boxes)
                for x0, y0, x1, y1 in a]
    assert sum(touching) >= 6  # 6 placed on labels, 2 anywhere
    level2 = choose_crops(W, H, boxes, CropSampling(size=256, level=2, per_image=4), KEY)
    assert all(x1 <= 750 and y1 <= 500 for _, _, x1, y1 in level2)  # level 2 is 750 x 500


def test_window_targets_match_the_whole_image_target(huge):
    proj, _, _ = huge
    ann = proj.load(KEY)
    blob = np.zeros((H, W), bool)
    blob[700:900, 650:700] = True  # a brushed mask (a full-size RLE) under the squares
    ann.shapes = [Shape(kind="mask", label="water", rle=geometry.rle_encode(blob), z=-1)] + ann.shapes
    space = LabelSpace.from_schema(proj.schema)
    full, _ = target_for(ann, space)
    assert (full == 2).sum() > blob.sum() and (full[700:900, 650:700] != space.ignore_index).all()
    for window in [(640, 640, 896, 896), (1850, 1250, 2106, 1506), (0, 0, 300, 200), (2900, 1900, 3000, 2000)]:
        x0, y0, x1, y1 = window
        target, _ = window_target(ann, space, window)
        assert np.array_equal(target, full[y0:y1, x0:x1]), window
    half, _ = window_target(ann, space, (300, 300, 500, 500), level=1)  # full-res 600..1000
    agree = (half == full[601:1000:2, 601:1000:2]).mean()
    assert half.shape == (200, 200) and agree > 0.98


def test_training_samples_are_crops_in_bounded_memory(huge, monkeypatch):
    from labeler.core import tiff_regions

    proj, _, reads = huge
    # the TIFF reader keeps decoded tiles in an LRU of 96 MB, as big as this whole test image
    monkeypatch.setattr(tiff_regions, "SEGMENT_CACHE_BYTES", 1_000_000)
    space = LabelSpace.from_schema(proj.schema)
    full_bytes = W * H * 3
    tracemalloc.start()
    try:
        n = 0
        labelled = 0
        for s in iter_samples(proj, [KEY], space, crops=CROPS):
            assert s.image.shape == (256, 256, 3) and s.target.shape == (256, 256) and s.window is not None
            labelled += int((s.target != space.ignore_index).sum())
            n += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert 1 <= n <= CROPS.per_image and len(reads) == n and labelled > 0
    assert all(r == (0, 256, 256) for r in reads)
    assert peak < full_bytes / 6, f"peak {peak / 1e6:.1f} MB for an image of {full_bytes / 1e6:.1f} MB"


def _train(proj):
    return train_pixel(proj, features=FEATURES, n_estimators=10, max_samples_per_class=3000, crops=CROPS)


def _rasterise_proposals(shapes, label) -> np.ndarray:
    return geometry.rasterize([(s, 1) for s in shapes if s.label == label], H, W).astype(bool)


def test_pixel_classifier_trains_on_crops_and_prelabels_by_tiles(huge):
    proj, truth, reads = huge
    res = _train(proj)
    assert res.keys == [KEY] and res.model.info["images"] >= 6  # several crops of one image
    assert reads and all(w <= 256 and h <= 256 for _, w, h in reads)
    reads.clear()
    progress = []

    def record(items, total, desc):
        progress.append((total, desc))
        return items

    ctx = JobContext(progress=record)
    out = predict_project(proj, res.model, ctx=ctx)
    assert out.written == [KEY] and ctx.report.ok
    n_tiles = sum(len(r) for r in tile_windows(W, H))
    assert len(reads) == n_tiles == 48 and all(w <= 512 and h <= 512 for _, w, h in reads)
    assert (n_tiles, f"predict {KEY}") in progress
    after = proj.load(KEY)
    kept = [s for s in after.shapes if s.source != "model"]
    assert len(kept) == len(LABELS) and all(a.same_as(b) for a, b in zip(kept, LABELS))
    proposals = [s for s in after.shapes if s.source == "model"]
    assert {s.label for s in proposals} == {"sand", "water"}  # grass is the background
    assert all(s.kind == "polygon" and s.z < 0 and 0.5 <= s.score <= 1 and s.is_proposal for s in proposals)
    for c, name in enumerate(CLASSES[1:], start=1):
        pred = _rasterise_proposals(proposals, name)
        assert geometry.mask_iou(pred, truth == c) >= 0.9, name
        assert len([s for s in proposals if s.label == name]) == 2  # one polygon per object
    # the disc that crosses the seams at x = y = 768 is one polygon spanning four tiles
    disc = [s for s in proposals if s.label == "sand" and shapely.Point(770, 760).within(geometry.shape_to_geometry(s))]
    assert len(disc) == 1
    x0, y0, x1, y1 = disc[0].bbox()
    assert x0 < 768 < x1 and y0 < 768 < y1 and abs((x1 - x0) - 520) < 12

    # at pyramid level 1 (1500 x 1000: 12 tiles) the proposals come back at full resolution
    reads.clear()
    predict_project(proj, res.model, huge_level=1)
    assert len(reads) == 12 and all(level == 1 for level, _, _ in reads)
    coarse = [s for s in proj.load(KEY).shapes if s.source == "model"]
    assert len(coarse) == 4 and all(geometry.mask_iou(_rasterise_proposals(coarse, name), truth == c) >= 0.85
                                    for c, name in enumerate(CLASSES[1:], start=1))

    # predicting again replaces its proposals; a cancel stops between tiles and writes nothing
    before = proj.annotation_path(KEY).read_bytes()
    calls = []
    with pytest.raises(Cancelled):
        predict_project(proj, res.model, ctx=JobContext(cancelled=lambda: calls.append(1) or len(calls) > 5))
    assert proj.annotation_path(KEY).read_bytes() == before


def test_tiled_prediction_memory_stays_far_below_the_image(huge, monkeypatch):
    from labeler.train.tiled_predict import predict_tiled, proposals_from_tiles
    from labeler.train.tiling import open_source

    from labeler.core import tiff_regions

    proj, truth, _ = huge
    model = _train(proj).model
    monkeypatch.setattr(tiff_regions, "SEGMENT_CACHE_BYTES", 1_000_000)  # see above
    source = open_source(proj, KEY, proj.load(KEY))

    def peak_of(job) -> tuple[object, int]:
        tracemalloc.start()
        try:
            out = job()
            return out, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    _, one_tile = peak_of(lambda: model.predict(source.read_region(0, 0, 0, 512, 512)))
    pred, peak = peak_of(lambda: predict_tiled(model, source, skip=["grass"]))
    # 48 tiles take what one tile takes, plus the outlines: nothing grows with the image's area
    assert peak < one_tile + 2_000_000, f"peak {peak / 1e6:.1f} MB, one tile {one_tile / 1e6:.1f} MB"
    assert peak < W * H * 3, f"peak {peak / 1e6:.1f} MB"
    assert pred.tiles == 48 and int(pred.pixels.sum()) == W * H
    assert sorted(s.label for s in proposals_from_tiles(pred)) == ["sand", "sand", "water", "water"]


@pytest.mark.slow
def test_a_network_trains_on_crops_and_prelabels_the_huge_image(huge):
    from labeler.train.deep import DeepSettings
    from labeler.train.trainer import train_deep

    proj, _, reads = huge
    settings = DeepSettings(arch="unet", encoder="resnet18", encoder_depth=3, decoder_width=16, epochs=1,
                            batch_size=2, crop=64, device="cpu")
    res = train_deep(proj, settings, crops=CropSampling(size=96, per_image=4), val_split=None)
    assert res.keys == [KEY] and res.model.info["epochs_run"] == 1 and (res.run_dir / "model.pt").is_file()
    assert all(w <= 96 and h <= 96 for _, w, h in reads)
    reads.clear()
    before = proj.annotation_path(KEY).read_bytes()
    ctx = JobContext()  # level 3 of a TIFF without stored levels needs the pyramid cache: a clear error
    assert predict_project(proj, res.model, huge_level=3, ctx=ctx).written == [] and reads == []
    assert len(ctx.report.errors) == 1 and "aerial.tif" in ctx.report.errors[0] and "pyramid" in ctx.report.errors[0]
    assert proj.annotation_path(KEY).read_bytes() == before
    out = predict_project(proj, res.model, huge_level=2)  # 750 x 500: 4 tiles (a U-Net takes ~1 s a tile)
    assert out.written == [KEY] and KEY in out.uncertainty
    assert len(reads) == 4 and all(level == 2 for level, _, _ in reads)
    proposals = [s for s in proj.load(KEY).shapes if s.source == "model"]
    assert all(s.kind == "polygon" and s.label in ("sand", "water") for s in proposals)
    # proposals come back in full-resolution coordinates, within the image
    assert all(0 <= s.bbox()[0] and s.bbox()[2] <= W and s.bbox()[3] <= H for s in proposals)


def test_mask_shapes_are_read_from_their_runs_without_a_whole_decode():
    rng = np.random.default_rng(5)
    mask = np.zeros((1200, 1700), bool)
    for _ in range(60):
        y, x = rng.integers(0, 1150), rng.integers(0, 1650)
        mask[y:y + rng.integers(1, 50), x:x + rng.integers(1, 50)] = True
    mask[::37, ::5] = True
    rle = geometry.rle_encode(mask)
    assert geometry.rle_counts(rle).sum() == mask.size
    ys, xs = np.arange(3, 1200, 7), np.arange(0, 1700, 13)
    assert np.array_equal(geometry.rle_sample(rle, ys, xs), mask[np.ix_(ys, xs)])
    shape = Shape(kind="mask", label="x", rle=rle)
    window = (400, 300, 656, 556)
    assert np.array_equal(geometry.rasterize_window([(shape, 1)], window).astype(bool), mask[300:556, 400:656])
    half = geometry.rasterize_window([(shape, 1)], (200, 150, 328, 278), scale=0.5).astype(bool)
    assert np.array_equal(half, mask[301:556:2, 401:656:2])


def test_the_commands_train_and_prelabel_a_huge_image(huge, capsys):
    from labeler.cli import main

    proj, truth, reads = huge
    root = proj.root
    proj.close()
    assert main(["train", "--project", str(root), "--arch", "pixel", "--scale", "0.25", "--sigma-max", "2",
                 "--trees", "10", "--samples-per-class", "3000", "--huge-crop", "256", "--huge-crops", "12"]) == 0
    assert reads and all(w == h == 256 for _, w, h in reads)
    run = next((root / ".labeler" / "runs").iterdir())
    reads.clear()
    assert main(["predict", "--project", str(root), "--model", str(run), "--huge-level", "1"]) == 0
    assert "proposals written to 1 images" in capsys.readouterr().out
    assert len(reads) == 12 and all(level == 1 for level, _, _ in reads)
    with Project.open(root) as again:
        proposals = [s for s in again.load(KEY).shapes if s.source == "model"]
    assert sorted(s.label for s in proposals) == ["sand", "sand", "water", "water"]
    assert main(["train", "--project", str(root), "--huge-crops", "0"]) != 0  # a clear refusal


def test_tile_outlines_stay_inside_their_tiles_and_the_image():
    """Speckled predictions (an under-trained network's) have outline corners that a mitred
    buffer pushes half a pixel out; the merged outlines still lie within the image."""
    from labeler.train.tiled_predict import predict_tiled

    class Source:
        def level_size(self, level):
            return 300, 200

        def read_region(self, level, x0, y0, x1, y1):
            return np.zeros((y1 - y0, x1 - x0, 3), np.uint8)

    class Speckle:
        class_names = ["grass", "sand"]

        def predict(self, image):
            h, w = image.shape[:2]
            labels = (np.random.default_rng(h * 1000 + w).random((h, w)) < 0.4).astype(np.uint8)
            return labels, np.ones((h, w), np.float32), np.zeros((h, w), np.float32)

    pred = predict_tiled(Speckle(), Source(), tile=128, margin=16)
    x0, y0, x1, y1 = pred.geometries[1].bounds
    assert pred.tiles > 1 and 0 <= x0 and 0 <= y0 and x1 <= 300 and y1 <= 200
