"""Masks saved as RGB colour images: VOC's colour map and a schema's own colours, in VOC and mask-png."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from labeler.core import geometry
from labeler.core.jobs import JobContext
from labeler.core.project import Project
from labeler.core.schema import LabelClass, Schema
from labeler.formats import mask_png, voc
from labeler.formats.colour_masks import UnknownColoursError, colours_to_index, voc_colours

from .voc_fixtures import noise_image, read_png, voc_project


def vroot(out: Path) -> Path:
    return out / "VOCdevkit" / "VOC2012"


def to_rgb(path: Path) -> None:
    """Re-save a palette PNG as an RGB image in its own palette's colours (as tools in the wild do)."""
    with Image.open(path) as im:
        rgb = im.convert("RGB")
    rgb.save(path)


def painted(project: Project, key: str) -> dict[str, np.ndarray]:
    """The union of each class's mask shapes on one image."""
    ann = project.load(key)
    out: dict[str, np.ndarray] = {}
    for s in ann.shapes:
        m = geometry.rle_decode(s.rle)
        out[s.label] = out.get(s.label, np.zeros_like(m)) | m
    return out


@pytest.fixture
def voc_export(tmp_path):
    with voc_project(tmp_path / "proj", splits={"train": ["images/a.png", "images/b.png"],
                                                "val": ["images/c.jpg"]}) as p:
        voc.export_dataset(p, tmp_path / "out", JobContext())
    return vroot(tmp_path / "out")


def test_voc_rgb_masks_import_like_the_palette_masks(voc_export, tmp_path):
    with Project.create(tmp_path / "from_palette") as p:
        voc.import_dataset(voc_export, p, JobContext())
    originals = {f: read_png(f)[0] for f in voc_export.glob("Segmentation*/*.png")}
    # the void border (255) is painted (224, 224, 192) in the colour map: make sure one is there
    cls_a = voc_export / "SegmentationClass" / "a.png"
    arr = originals[cls_a].copy()
    arr[0, :5] = 255
    im = Image.fromarray(arr, "L")
    im.putpalette(Image.open(cls_a).getpalette())
    im.save(cls_a)
    originals[cls_a] = arr
    for f in originals:
        to_rgb(f)
        assert Image.open(f).mode == "RGB"
    assert tuple(np.asarray(Image.open(cls_a))[0, 0]) == (224, 224, 192)

    ctx = JobContext()
    with Project.create(tmp_path / "from_rgb") as q:
        voc.import_dataset(voc_export, q, ctx)
        assert ctx.report.errors == [] and ctx.report.done == 3
        assert q.splits == {"train": ["../out/VOCdevkit/VOC2012/JPEGImages/a.jpg",
                                      "../out/VOCdevkit/VOC2012/JPEGImages/b.jpg"],
                            "val": ["../out/VOCdevkit/VOC2012/JPEGImages/c.jpg"]}
        with Project.open(tmp_path / "from_palette", read_only=True) as p:
            for key in ("../out/VOCdevkit/VOC2012/JPEGImages/b.jpg", "../out/VOCdevkit/VOC2012/JPEGImages/c.jpg"):
                want, got = painted(p, key), painted(q, key)
                assert sorted(got) == sorted(want) and all(np.array_equal(got[k], want[k]) for k in want)
        assert sorted(painted(q, "../out/VOCdevkit/VOC2012/JPEGImages/b.jpg")) == ["bird", "car", "cat"]
        a_key = "../out/VOCdevkit/VOC2012/JPEGImages/a.jpg"
        assert not any(m[0, :5].any() for m in painted(q, a_key).values())  # void stays unlabelled
        # exported again: the index maps we started from (void becomes background: VOC has one)
        voc.export_dataset(q, tmp_path / "again", JobContext())
    originals[cls_a][0, :5] = 0
    for f, arr in originals.items():
        again = read_png(vroot(tmp_path / "again") / f.parent.name / f.name)[0]
        np.testing.assert_array_equal(again, arr, err_msg=str(f))


def test_voc_rgb_mask_with_an_unknown_colour_is_reported_and_skipped(voc_export, tmp_path):
    for f in voc_export.glob("Segmentation*/*.png"):
        to_rgb(f)
    bad = voc_export / "SegmentationClass" / "b.png"
    rgb = np.asarray(Image.open(bad)).copy()
    rgb[3:5, 3:6] = (1, 2, 3)      # 6 pixels of a colour in no palette
    rgb[20, 20] = (250, 0, 250)    # and 1 of another
    Image.fromarray(rgb).save(bad)
    ctx = JobContext()
    with Project.create(tmp_path / "p") as p:
        voc.import_dataset(voc_export, p, ctx)
        assert sorted(Path(k).name for k in p.image_keys()) == ["a.jpg", "c.jpg"]
    assert ctx.report.done == 2 and len(ctx.report.errors) == 1
    line = ctx.report.errors[0]
    assert "\n" not in line and str(bad) in line
    assert "(1, 2, 3) x 6 px" in line and "(250, 0, 250) x 1 px" in line and "image skipped" in line


def test_voc_rgb_masks_in_the_schema_colours(tmp_path):
    schema = Schema([LabelClass(0, "ground", (10, 200, 10), is_thing=False),
                     LabelClass(1, "car", (200, 10, 10)), LabelClass(2, "sky", (10, 10, 200), is_thing=False)],
                    name="toy", ignore_index=255)
    root = tmp_path / "VOC2012"
    noise_image(root / "JPEGImages" / "x.jpg", 5, size=(20, 10))
    rgb = np.zeros((10, 20, 3), np.uint8)
    rgb[:] = (10, 200, 10)
    rgb[:3] = (10, 10, 200)
    rgb[5:8, 2:6] = (200, 10, 10)
    rgb[5:8, 10:12] = (200, 10, 10)
    (root / "SegmentationClass").mkdir()
    Image.fromarray(rgb).save(root / "SegmentationClass" / "x.png")
    ctx = JobContext()
    with Project.create(tmp_path / "p", schema) as p:
        voc.import_dataset(root, p, ctx)
        assert ctx.report.errors == [] and ctx.report.done == 1
        ann = p.load(p.image_keys()[0])
        assert p.schema.names() == ["ground", "car", "sky"]  # no class_N added: the colours were understood
    cars = [s for s in ann.shapes if s.label == "car"]
    assert sorted(geometry.rle_area(s.rle) for s in cars) == [6, 12]
    sky = [geometry.rle_decode(s.rle) for s in ann.shapes if s.label == "sky"]
    assert len(sky) == 1 and sky[0][:3].all() and not sky[0][3:].any()


def test_colour_tables_are_tried_in_order_and_ambiguity_is_told():
    rgb = np.zeros((2, 3, 3), np.uint8)
    rgb[0, 0] = (128, 0, 0)  # VOC index 1
    warnings = []
    own = ("own colours", {(0, 0, 0): 5, (128, 0, 0): 6})
    got = colours_to_index(rgb, [voc_colours(), own], "m.png", warnings.append)
    assert got.tolist() == [[1, 0, 0], [0, 0, 0]]
    assert warnings == ["m.png: its colours fit both the VOC colour map and own colours; read with the VOC colour map"]
    got = colours_to_index(rgb, [own, voc_colours()], "m.png")
    assert got.tolist() == [[6, 5, 5], [5, 5, 5]]
    rgb[1, 2] = (3, 3, 3)
    with pytest.raises(UnknownColoursError, match=r"m.png: colour mask with 1 colour not in own colours: "
                                                  r"\(3, 3, 3\) x 1 px"):
        colours_to_index(rgb, [own], "m.png")


def _mask_png_source(root: Path) -> tuple[Schema, np.ndarray]:
    schema = Schema([LabelClass(0, "ground", (10, 200, 10), is_thing=False),
                     LabelClass(1, "car", (200, 10, 10))], name="toy", ignore_index=255)
    index = np.full((12, 16), 255, np.uint8)
    index[6:] = 0
    index[2:4, 2:5] = 1
    index[8:10, 9:13] = 1
    for stem, seed in (("a", 1), ("b", 2)):
        noise_image(root / "images" / f"{stem}.jpg", seed, size=(16, 12))
    (root / "masks").mkdir()
    return schema, index


def test_mask_png_colour_masks_round_trip_through_its_own_colour_output(tmp_path):
    src = tmp_path / "src"
    schema, index = _mask_png_source(src)
    for stem in ("a", "b"):
        Image.fromarray(index).save(src / "masks" / f"{stem}.png")
    with Project.create(tmp_path / "p") as p:
        mask_png.import_dataset(src, p, JobContext(), schema=schema)
        mask_png.export_dataset(p, tmp_path / "out", JobContext(), color=True)
    # import the colour output (void pixels are black there, which is no class: give void a colour)
    colour_src = tmp_path / "colour_src"
    (colour_src / "masks").mkdir(parents=True)
    (colour_src / "images").symlink_to(src / "images")
    for stem in ("a", "b"):
        rgb = np.asarray(Image.open(tmp_path / "out" / "color" / f"{stem}.png")).copy()
        rgb[index == 255] = (224, 224, 192)
        Image.fromarray(rgb).save(colour_src / "masks" / f"{stem}.png")
    schema.classes.append(LabelClass(255, "void", (224, 224, 192), is_thing=False))
    ctx = JobContext()
    with Project.create(tmp_path / "q") as q:
        mask_png.import_dataset(colour_src, q, ctx, schema=schema)
        assert ctx.report.errors == [] and ctx.report.done == 2
        mask_png.export_dataset(q, tmp_path / "again", JobContext())
    for stem in ("a", "b"):
        np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "again" / "masks" / f"{stem}.png")), index)


def test_mask_png_unknown_colour_is_reported_and_the_image_skipped(tmp_path):
    src = tmp_path / "src"
    schema, index = _mask_png_source(src)
    lut = np.zeros((256, 3), np.uint8)
    lut[0], lut[1], lut[255] = (10, 200, 10), (200, 10, 10), (10, 200, 10)
    Image.fromarray(lut[index]).save(src / "masks" / "a.png")
    rgb = lut[index].copy()
    rgb[0, 0] = (7, 7, 7)
    Image.fromarray(rgb).save(src / "masks" / "b.png")
    ctx = JobContext()
    with Project.create(tmp_path / "p") as p:
        mask_png.import_dataset(src, p, ctx, schema=schema)
        assert [Path(k).name for k in p.image_keys()] == ["a.jpg"]
    assert ctx.report.done == 1 and len(ctx.report.errors) == 1
    assert str(src / "masks" / "b.png") in ctx.report.errors[0] and "(7, 7, 7) x 1 px" in ctx.report.errors[0]
