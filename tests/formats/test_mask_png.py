"""mask-png format: index-mask folders (CamVid, ADE20K) in and out, pixel-exact."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.measure import label as cc_label

from labeler.core import geometry
from labeler.core.errors import FormatError
from labeler.core.annotation import ImageAnnotation
from labeler.core.jobs import JobContext
from labeler.core.project import Project
from labeler.core.schema import LabelClass, Schema, load_preset
from labeler.core.shapes import Shape
from labeler.formats import mask_png
from labeler.formats.registry import detect_format

H, W = 24, 32
VOID = 255


def synthetic_schema() -> Schema:
    return Schema([LabelClass(0, "ground", (10, 200, 10), is_thing=False),
                   LabelClass(1, "car", (200, 10, 10), is_thing=True),
                   LabelClass(2, "sky", (10, 10, 200), is_thing=False)], name="toy", ignore_index=VOID)


def synthetic_mask() -> np.ndarray:
    m = np.full((H, W), VOID, np.uint8)
    m[12:, :] = 0                       # ground
    m[:4, :10] = 2                      # sky, in two separate parts: still one stuff shape
    m[:4, 20:] = 2
    m[6:9, 2:5] = 1                     # car A
    m[9:11, 5:7] = 1                    # touches car A only at a corner: same 8-connected car
    m[6:10, 20:26] = 1                  # car B
    m[14:16, 14:17] = 1                 # car C, on the ground
    return m


def write_pair(root: Path, stem: str, mask: np.ndarray, mode: str | None = None, seed: int = 0) -> None:
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    rgb = np.random.default_rng(seed).integers(0, 256, (*mask.shape, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(root / "images" / f"{stem}.jpg")
    im = Image.fromarray(mask)
    if mode == "P":
        im = Image.frombytes("P", (mask.shape[1], mask.shape[0]), mask.tobytes())
        im.putpalette([v for i in range(256) for v in (i, 255 - i, (7 * i) % 256)])
    im.save(root / "masks" / f"{stem}.png")


def exported(out: Path, stem: str) -> np.ndarray:
    return np.asarray(Image.open(out / "masks" / f"{stem}.png"))


def test_thing_components_become_separate_instances_and_stuff_one_shape(tmp_path):
    src = tmp_path / "src"
    write_pair(src, "a", synthetic_mask())
    schema_file = tmp_path / "toy.json"
    schema_file.write_text(json.dumps(synthetic_schema().to_dict()), "utf-8")
    proj = Project.create(tmp_path / "proj")
    ctx = JobContext()
    mask_png.import_dataset(src, proj, ctx, images="images", masks="masks", schema=str(schema_file))
    assert ctx.report.errors == [] and ctx.report.done == 1
    assert proj.schema.names() == ["ground", "car", "sky"] and proj.schema.ignore_index == VOID

    ann = proj.load(proj.image_keys()[0])
    assert all(s.kind == "mask" for s in ann.shapes)
    cars = [s for s in ann.shapes if s.label == "car"]
    assert len(cars) == 3
    assert len({s.instance_id for s in cars}) == 3 and None not in {s.instance_id for s in cars}
    areas = sorted(geometry.rle_area(s.rle) for s in cars)
    assert areas == [6, 13, 24]  # 9 + 4 pixels joined through the corner
    sky = [s for s in ann.shapes if s.label == "sky"]
    assert len(sky) == 1 and sky[0].instance_id is None and geometry.rle_area(sky[0].rle) == 4 * 10 + 4 * 12
    painted = np.zeros((H, W), bool)
    for s in ann.shapes:
        painted |= geometry.rle_decode(s.rle)
    assert np.array_equal(painted, synthetic_mask() != VOID)  # void stays unlabelled


def test_round_trip_is_pixel_exact_for_palette_masks_with_colour_output(tmp_path):
    src = tmp_path / "src"
    write_pair(src, "a", synthetic_mask(), mode="P")
    second = synthetic_mask()
    second[:, :5] = 1
    write_pair(src, "b", second, mode="P", seed=1)
    proj = Project.create(tmp_path / "proj")
    mask_png.import_dataset(src, proj, JobContext(), images="images", masks="masks", schema=synthetic_schema())
    out = tmp_path / "out"
    ctx = JobContext()
    mask_png.export_dataset(proj, out, ctx, color=True)
    assert ctx.report.errors == [] and ctx.report.done == 2
    for stem, m in (("a", synthetic_mask()), ("b", second)):
        assert Image.open(out / "masks" / f"{stem}.png").mode == "L"
        assert np.array_equal(exported(out, stem), m)
        colour = np.asarray(Image.open(out / "color" / f"{stem}.png"))
        assert (colour[m == 1] == (200, 10, 10)).all() and (colour[m == 2] == (10, 10, 200)).all()
    assert json.loads((out / "schema.json").read_text())["ignore_index"] == VOID


def test_16_bit_masks_with_more_than_256_classes_round_trip(tmp_path):
    schema = Schema([LabelClass(i, f"c{i}", (i % 256, 0, 0), is_thing=i % 2 == 0) for i in range(1, 301)],
                    name="many", ignore_index=0)
    m = np.zeros((H, W), np.uint16)
    m[2:6, 2:6] = 300
    m[10:14, 3:9] = 257
    m[16:20, 20:30] = 1
    m[0, 31] = 300  # a second component of class 300
    src = tmp_path / "src"
    (src / "masks").mkdir(parents=True)
    (src / "images").mkdir()
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(src / "images" / "x.png")
    Image.fromarray(m).save(src / "masks" / "x.png")
    assert Image.open(src / "masks" / "x.png").mode.startswith("I")
    proj = Project.create(tmp_path / "proj")
    mask_png.import_dataset(src, proj, JobContext(), images="images", masks="masks", schema=schema)
    labels = sorted(s.label for s in proj.load(proj.image_keys()[0]).shapes)
    assert labels == ["c1", "c257", "c300", "c300"]
    out = tmp_path / "out"
    mask_png.export_dataset(proj, out, JobContext())
    back = exported(out, "x")
    assert back.dtype == np.uint16 and np.array_equal(back, m)


def test_export_paints_drawn_shapes_by_z_order_and_skips_weak_and_unknown_ones(tmp_path):
    root = tmp_path / "proj"
    (root / "pics").mkdir(parents=True)
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(root / "pics" / "a.png")
    proj = Project.create(root, synthetic_schema())
    proj.save_annotation("pics/a.png", ImageAnnotation("", W, H, [
        Shape("rectangle", "car", [[2, 2], [9, 7]], z=1),
        Shape("polygon", "ground", [[0, 0], [15, 0], [15, 15], [0, 15]]),
        Shape("scribble", "sky", [[20, 20], [30, 20]], width=3),
        Shape("rectangle", "boat", [[20, 2], [25, 5]]),
    ]))
    out = tmp_path / "out"
    ctx = JobContext()
    mask_png.export_dataset(proj, out, ctx)
    m = exported(out, "a")
    want = np.full((H, W), VOID, np.uint8)
    want[:16, :16] = 0  # pil convention: the polygon's edges are inside
    want[2:8, 2:10] = 1  # the car (higher z) paints over the ground
    assert np.array_equal(m, want)
    assert any("'boat' is not in the schema" in w for w in ctx.report.warnings)


def test_unmatched_files_and_wrong_sized_masks_are_reported_and_skipped(tmp_path):
    src = tmp_path / "src"
    write_pair(src, "good", synthetic_mask())
    write_pair(src, "small", synthetic_mask()[:10])
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).resize((W, H + 1)).save(src / "images" / "small.jpg")
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(src / "images" / "lonely.png")
    Image.fromarray(synthetic_mask()).save(src / "masks" / "orphan.png")
    (src / "masks" / "broken.png").write_bytes(b"\x89PNG not really")
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(src / "images" / "broken.png")
    proj = Project.create(tmp_path / "proj")
    ctx = JobContext()
    mask_png.import_dataset(src, proj, ctx, images=src / "images", masks=src / "masks", schema=synthetic_schema())
    assert ctx.report.done == 1
    assert [Path(k).stem for k in proj.image_keys()] == ["good"]
    errors = "\n".join(ctx.report.errors)
    assert len(ctx.report.errors) == 4, errors
    assert "lonely.png: no mask" in errors and "orphan.png: no image" in errors
    assert "small.png: mask is 32 x 10 but image small.jpg is 32 x 25" in errors
    assert "broken.png: mask does not decode" in errors


def test_unknown_mask_values_are_warned_about(tmp_path):
    src = tmp_path / "src"
    m = synthetic_mask()
    m[20:, 20:] = 7
    write_pair(src, "a", m)
    proj = Project.create(tmp_path / "proj")
    ctx = JobContext()
    mask_png.import_dataset(src, proj, ctx, images="images", masks="masks", schema=synthetic_schema())
    assert ctx.report.done == 1
    assert any("value 7 is not a class" in w and "a.png" in w for w in ctx.report.warnings)


def test_a_schema_is_required(tmp_path):
    src = tmp_path / "src"
    write_pair(src, "a", synthetic_mask())
    with pytest.raises(FormatError, match="needs a schema"):
        mask_png.import_dataset(src, Project.create(tmp_path / "proj"), JobContext(), images="images",
                                masks="masks")


def test_splits_from_list_files_of_stems(tmp_path):
    src = tmp_path / "src"
    for i in range(5):
        write_pair(src, f"im{i}", synthetic_mask(), seed=i)
    (src / "train.txt").write_text("im0\nim1\nim2\n", "utf-8")
    (src / "val.txt").write_text("im3.jpg\nim4\nnot_here\n", "utf-8")
    proj = Project.create(tmp_path / "proj")
    stale = Path(os.path.relpath(src / "images" / "im3.jpg", proj.root)).as_posix()
    proj.splits = {"train": [stale]}  # an earlier assignment: im3 moves to val
    mask_png.import_dataset(src, proj, JobContext(), images="images", masks="masks", schema=synthetic_schema(),
                            splits={"train": "train.txt", "val": "val.txt"})
    reopened = Project.open(tmp_path / "proj", read_only=True)
    stems = {k: sorted(Path(p).stem for p in v) for k, v in reopened.splits.items()}
    assert stems["train"] == ["im0", "im1", "im2"] and stems["val"] == ["im3", "im4"]
    assert all(reopened.split_of(k) is not None for k in reopened.image_keys())


def test_detect(tmp_path):
    write_pair(tmp_path / "plain", "a", synthetic_mask())
    colour = tmp_path / "colour"
    (colour / "images").mkdir(parents=True)
    (colour / "masks").mkdir()
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(colour / "images" / "a.png")
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(colour / "masks" / "a.png")
    camvid_like = tmp_path / "cv"
    for split in ("train", "val"):
        (camvid_like / split).mkdir(parents=True)
        (camvid_like / f"{split}annot").mkdir()
        Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(camvid_like / split / "a.png")
        Image.fromarray(synthetic_mask()).save(camvid_like / f"{split}annot" / "a.png")
    assert mask_png.detect(tmp_path / "plain")
    assert mask_png.detect(camvid_like)
    assert detect_format(camvid_like) == "mask-png"
    assert not mask_png.detect(colour)  # a black image and a black mask: which is the photo?
    assert not mask_png.detect(tmp_path / "nothing")
    # the same masks saved as RGB beside photos are (tests/formats/test_format_detection.py: more)
    write_pair(tmp_path / "rgb", "a", synthetic_mask())
    with Image.open(tmp_path / "rgb" / "masks" / "a.png") as im:
        im.convert("RGB").save(tmp_path / "rgb" / "masks" / "a.png")
    assert mask_png.detect(tmp_path / "rgb") and detect_format(tmp_path / "rgb") == "mask-png"


def test_camvid_like_layout_imports_every_pair_with_folder_splits(tmp_path):
    root = tmp_path / "cv"
    for split, n in (("train", 2), ("val", 1)):
        (root / split).mkdir(parents=True)
        (root / f"{split}annot").mkdir()
        for i in range(n):
            Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(root / split / f"{split}{i}.png")
            Image.fromarray(synthetic_mask()).save(root / f"{split}annot" / f"{split}{i}.png")
    proj = Project.create(tmp_path / "proj")
    mask_png.import_dataset(root, proj, JobContext(), schema=synthetic_schema())
    assert {k: len(v) for k, v in proj.splits.items()} == {"train": 2, "val": 1}
    out = tmp_path / "out"
    mask_png.export_dataset(proj, out, JobContext(), split="val")
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == ["masks/val/val0.png"]
    assert (out / "val.txt").read_text().split() == ["val0"]


# -------------------------------------------------------------------------------- CamVid


def _camvid_subset(camvid: Path, tmp_path: Path, stems: list[tuple[str, str]]) -> Path:
    """Links (never copies) some CamVid images and labels into one images/masks pair."""
    src = tmp_path / "camvid_subset"
    (src / "images").mkdir(parents=True)
    (src / "masks").mkdir()
    for split, stem in stems:
        (src / "images" / f"{stem}.png").symlink_to(camvid / split / f"{stem}.png")
        (src / "masks" / f"{stem}.png").symlink_to(camvid / f"{split}annot" / f"{stem}.png")
    return src


@pytest.mark.camvid
def test_camvid_cars_become_instances_and_export_is_pixel_exact(camvid, tmp_path):
    stems = [("train", s) for s in (camvid / "train.txt").read_text().split()[:10]]
    src = _camvid_subset(camvid, tmp_path, stems)
    proj = Project.create(tmp_path / "proj")
    ctx = JobContext()
    mask_png.import_dataset(src, proj, ctx, images="images", masks="masks", schema="camvid")
    assert ctx.report.errors == [] and ctx.report.done == 10
    assert proj.schema.ignore_index == 11

    car_id = load_preset("camvid").by_name("Car").id
    total_cars = 0
    for key in proj.image_keys():
        labels = np.asarray(Image.open(src / "masks" / Path(key).name))
        expected, n = cc_label(labels == car_id, connectivity=2, return_num=True)
        cars = [s for s in proj.load(key).shapes if s.label == "Car"]
        assert len(cars) == n
        got = sorted(tuple(np.flatnonzero(geometry.rle_decode(s.rle))[:3]) for s in cars)
        want = sorted(tuple(np.flatnonzero(expected == i)[:3]) for i in range(1, n + 1))
        assert got == want
        ids = [s.instance_id for s in proj.load(key).shapes if s.instance_id is not None]
        assert len(ids) == len(set(ids))
        total_cars += n
    assert total_cars > 10  # the street scenes do have several separate cars

    out = tmp_path / "out"
    mask_png.export_dataset(proj, out, JobContext())
    void_pixels = 0
    for _, stem in stems:
        source = np.asarray(Image.open(camvid / "trainannot" / f"{stem}.png"))
        back = exported(out, stem)
        assert back.dtype == np.uint8 and np.array_equal(back, source)
        void_pixels += int((back == 11).sum())
    assert void_pixels > 0


@pytest.mark.camvid
def test_camvid_splits_from_its_list_files(camvid, tmp_path):
    train = (camvid / "train.txt").read_text().split()[:3]
    val = (camvid / "val.txt").read_text().split()[:2]
    src = _camvid_subset(camvid, tmp_path, [("train", s) for s in train] + [("val", s) for s in val])
    proj = Project.create(tmp_path / "proj")
    mask_png.import_dataset(src, proj, JobContext(), images="images", masks="masks", schema="camvid",
                            splits={"train": camvid / "train.txt", "val": camvid / "val.txt"})
    assert sorted(Path(k).stem for k in proj.splits["train"]) == sorted(train)
    assert sorted(Path(k).stem for k in proj.splits["val"]) == sorted(val)
