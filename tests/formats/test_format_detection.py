"""Which format a folder is (``registry.detect_format``): colour-mask folders are mask-png, and
every other format's dataset stays itself, colour masks beside it or not."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from labeler.core import geometry
from labeler.core.jobs import JobContext
from labeler.core.project import Project
from labeler.core.schema import default_color
from labeler.formats import cityscapes, coco, labelme, mask_png, voc, yolo
from labeler.formats.registry import detect_format

from .voc_fixtures import voc_project


@pytest.fixture
def project(tmp_path) -> Project:
    with voc_project(tmp_path / "proj") as p:
        yield p


VOC_PALETTE = [v for i in range(256) for v in default_color(i)]


def colour_dataset(project: Project, root: Path, tmp_path: Path, images="images", masks="masks") -> Path:
    """The project's images beside its masks (mask-png's export) re-saved as RGB in the VOC colour
    map, void included, as tools in the wild do: ``root/<images>/`` + ``root/<masks>/``."""
    out = tmp_path / "mask_png_out"
    if not out.exists():
        mask_png.export_dataset(project, out, JobContext(on_error="raise"))
    (root / images).mkdir(parents=True, exist_ok=True)
    (root / masks).mkdir(parents=True, exist_ok=True)
    for key in project.image_keys():
        shutil.copy(project.image_path(key), root / images / Path(key).name)
        with Image.open(out / "masks" / f"{Path(key).stem}.png") as im:
            pal = Image.frombytes("P", im.size, im.tobytes())
        pal.putpalette(VOC_PALETTE)
        pal.convert("RGB").save(root / masks / f"{Path(key).stem}.png")
    return root


def test_colour_masks_are_detected_and_import_like_the_index_masks(project, tmp_path):
    src = colour_dataset(project, tmp_path / "colour", tmp_path)
    with Image.open(src / "masks" / "a.png") as im:
        assert im.mode == "RGB"
    assert mask_png.detect(src) and detect_format(src) == "mask-png"

    from_colour, from_index = Project.create(tmp_path / "p1"), Project.create(tmp_path / "p2")
    ctx = JobContext()
    mask_png.import_dataset(src, from_colour, ctx, schema=project.schema)
    assert ctx.report.done == 3 and not ctx.report.errors
    mask_png.import_dataset(tmp_path / "mask_png_out", from_index, JobContext(), schema=project.schema,
                            images=str(src / "images"), masks="masks")
    for key_c, key_i in zip(from_colour.image_keys(), from_index.image_keys()):
        a, b = from_colour.load(key_c), from_index.load(key_i)
        assert sorted(s.label for s in a.shapes) == sorted(s.label for s in b.shapes)
        for sa, sb in zip(sorted(a.shapes, key=lambda s: (s.label, s.instance_id)),
                          sorted(b.shapes, key=lambda s: (s.label, s.instance_id))):
            np.testing.assert_array_equal(geometry.rle_decode(sa.rle), geometry.rle_decode(sb.rle))


def test_colour_masks_in_the_other_layouts_and_rgba(project, tmp_path):
    cv = colour_dataset(project, tmp_path / "cv", tmp_path, images="train", masks="trainannot")
    assert detect_format(cv) == "mask-png"
    src = colour_dataset(project, tmp_path / "rgba", tmp_path)
    for p in (src / "masks").iterdir():
        Image.open(p).convert("RGBA").save(p)
    assert detect_format(src) == "mask-png"


def test_ambiguous_colour_folders_are_not_claimed(project, tmp_path):
    # photos in the masks folder (too many colours)
    photos = colour_dataset(project, tmp_path / "photos", tmp_path)
    for p in (photos / "masks").iterdir():
        shutil.copy(photos / "images" / "a.png", p)
    assert not mask_png.detect(photos) and detect_format(photos) is None
    # a mask of another size than its image
    sized = colour_dataset(project, tmp_path / "sized", tmp_path)
    with Image.open(sized / "masks" / "a.png") as im:
        im.resize((im.width + 1, im.height)).save(sized / "masks" / "a.png")
    assert not mask_png.detect(sized)
    # images with no more colours than their masks: which is the photo?
    flat = colour_dataset(project, tmp_path / "flat", tmp_path)
    for p in (flat / "images").iterdir():
        shutil.copy(flat / "masks" / f"{p.stem}.png", flat / "images" / f"{p.stem}.png")
        if p.suffix != ".png":
            p.unlink()
    assert not mask_png.detect(flat)


def test_other_formats_stay_themselves_with_colour_masks_beside_them(project, tmp_path):
    ctx = JobContext(on_error="raise")
    # VOC with its masks re-saved as RGB (the VOC importer reads them)
    voc.export_dataset(project, tmp_path / "voc", ctx)
    root = tmp_path / "voc" / "VOCdevkit" / "VOC2012"
    for p in root.glob("Segmentation*/*.png"):
        Image.open(p).convert("RGB").save(p)
    assert detect_format(tmp_path / "voc") == detect_format(root) == "voc"
    assert not mask_png.detect(root)

    cityscapes.export_dataset(project, tmp_path / "cs", JobContext())
    assert detect_format(tmp_path / "cs") == "cityscapes"

    labelme.export_dataset(project, tmp_path / "lm", ctx)
    colour_dataset(project, tmp_path / "lm", tmp_path)
    assert detect_format(tmp_path / "lm") == "labelme" and not mask_png.detect(tmp_path / "lm")

    coco.export_dataset(project, tmp_path / "coco", ctx, copy_images=True)
    colour_dataset(project, tmp_path / "coco", tmp_path, masks="annotations")
    assert detect_format(tmp_path / "coco") == "coco" and not mask_png.detect(tmp_path / "coco")

    # YOLO comes after mask-png in the registry: only the guard keeps it YOLO
    yolo.export_dataset(project, tmp_path / "yolo", ctx)
    colour_dataset(project, tmp_path / "yolo", tmp_path, images="img", masks="ann")
    assert yolo.detect(tmp_path / "yolo") and not mask_png.detect(tmp_path / "yolo")
    assert detect_format(tmp_path / "yolo") == "yolo"
