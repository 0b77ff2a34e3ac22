"""Pascal VOC export and import, on synthetic projects and on CamVid."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from labeler.core.errors import FormatError
from labeler.core.geometry import rle_encode
from labeler.core.jobs import JobContext
from labeler.core.project import Project
from labeler.core.schema import LabelClass, Schema, load_preset, voc_palette
from labeler.core.shapes import Shape
from labeler.formats import voc
from labeler.formats.registry import get_format

from .voc_fixtures import (H, W, annotate, noise_image, read_png, rect, snapshot, street_schema,
                           voc_project)

CAR, PERSON, DOG, CAT, BIRD, AEROPLANE = 7, 15, 12, 8, 3, 1


def export(project, out, **kw) -> JobContext:
    ctx = JobContext()
    voc.export_dataset(project, out, ctx, **kw)
    return ctx


def vroot(out: Path) -> Path:
    return out / "VOCdevkit" / "VOC2012"


@pytest.fixture
def project(tmp_path):
    with voc_project(tmp_path / "proj", splits={"train": ["images/a.png", "images/b.png"],
                                                "val": ["images/c.jpg"]}) as p:
        yield p


def expected_a() -> tuple[np.ndarray, np.ndarray]:
    """Class and object maps of image a, written out by hand (PIL convention: inclusive)."""
    cls = np.zeros((H, W), np.uint8)
    obj = np.zeros((H, W), np.uint8)
    cls[10:26, 2:21], obj[10:26, 2:21] = CAR, 1
    cls[2:17, 24:39], obj[2:17, 24:39] = DOG, 2
    cls[6:12, 28:34], obj[6:12, 28:34] = 0, 0  # the hole, its rim included
    cls[4:21, 8:17], obj[4:21, 8:17] = PERSON, 3  # z=1: on top of the car, painted last
    return cls, obj


def test_export_class_and_object_pngs_are_voc_palette_maps(project, tmp_path):
    ctx = export(project, tmp_path / "out")
    assert ctx.report.ok and ctx.report.done == 3
    root = vroot(tmp_path / "out")
    circle, _, _ = read_png(root / "SegmentationClass" / "c.png")
    assert circle[15, 20] == circle[15, 27] == AEROPLANE and circle[15, 28] == circle[0, 0] == 0
    cls, mode, pal = read_png(root / "SegmentationClass" / "a.png")
    obj, omode, opal = read_png(root / "SegmentationObject" / "a.png")
    assert mode == omode == "P"
    assert pal[:768] == opal[:768] == voc_palette()
    assert pal[3 * PERSON:3 * PERSON + 3] == [192, 128, 128]  # VOC's person colour
    exp_cls, exp_obj = expected_a()
    np.testing.assert_array_equal(cls, exp_cls)  # z-order overlap and the hole
    np.testing.assert_array_equal(obj, exp_obj)


def test_shapes_sharing_instance_id_and_class_share_one_object_index(project, tmp_path):
    export(project, tmp_path / "out")
    obj, _, _ = read_png(vroot(tmp_path / "out") / "SegmentationObject" / "b.png")
    cls, _, _ = read_png(vroot(tmp_path / "out") / "SegmentationClass" / "b.png")
    assert (cls[4, 4], cls[4, 15], cls[15, 25], cls[22, 4]) == (CAR, CAR, CAT, BIRD)
    assert obj[4, 4] == obj[4, 15] == 1
    assert obj[15, 25] == 2 and obj[22, 4] == 3
    assert sorted(np.unique(obj).tolist()) == [0, 1, 2, 3]


def test_occluded_instance_is_not_numbered(tmp_path):
    noise_image(tmp_path / "p" / "x.png", 5)
    with Project.create(tmp_path / "p", load_preset("voc")) as p:
        annotate(p, "x.png", [rect("cat", 5, 5, 10, 10), rect("dog", 0, 0, 20, 20, z=2), rect("cow", 25, 5, 30, 9),
                              rect("background", 28, 0, 39, 29, z=9)])
        export(p, tmp_path / "out")
    obj, _, _ = read_png(vroot(tmp_path / "out") / "SegmentationObject" / "x.png")
    cls, _, _ = read_png(vroot(tmp_path / "out") / "SegmentationClass" / "x.png")
    assert sorted(np.unique(obj).tolist()) == [0, 1, 2]  # the hidden cat leaves no gap
    assert obj[5, 5] == 2 and obj[5, 27] == 1
    assert cls[5, 28] == obj[5, 28] == 0 and cls[5, 27] == 10  # a background shape erases the cow


def test_image_sets_follow_project_splits(project, tmp_path):
    export(project, tmp_path / "out")
    sets = vroot(tmp_path / "out") / "ImageSets" / "Segmentation"
    assert (sets / "train.txt").read_text().split() == ["a", "b"]
    assert (sets / "val.txt").read_text().split() == ["c"]
    assert (sets / "trainval.txt").read_text().split() == ["a", "b", "c"]


def test_project_without_splits_puts_every_image_in_train(tmp_path):
    with voc_project(tmp_path / "proj") as p:
        export(p, tmp_path / "out")
    sets = vroot(tmp_path / "out") / "ImageSets" / "Segmentation"
    assert (sets / "train.txt").read_text().split() == ["a", "b", "c"]
    assert (sets / "val.txt").read_text() == ""
    assert (sets / "trainval.txt").read_text().split() == ["a", "b", "c"]


def test_export_of_one_split_writes_only_its_images(project, tmp_path):
    export(project, tmp_path / "out", split="val")
    root = vroot(tmp_path / "out")
    assert sorted(p.name for p in (root / "JPEGImages").iterdir()) == ["c.jpg"]
    assert (root / "ImageSets" / "Segmentation" / "train.txt").read_text() == ""


def test_annotation_xml_sizes_and_one_based_boxes(project, tmp_path):
    export(project, tmp_path / "out")
    tree = ET.parse(vroot(tmp_path / "out") / "Annotations" / "a.xml").getroot()
    assert tree.findtext("filename") == "a.jpg"
    assert (tree.findtext("size/width"), tree.findtext("size/height"), tree.findtext("size/depth")) == \
        (str(W), str(H), "3")
    objs = {o.findtext("name"): o for o in tree.findall("object")}
    assert set(objs) == {"car", "dog", "person"}
    box = [int(objs["person"].findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")]
    assert box == [9, 5, 17, 21]  # pixels 8..16 x 4..20, 1-based
    car = [int(objs["car"].findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")]
    assert car == [3, 11, 21, 26]
    assert all(o.findtext("difficult") == "0" and o.findtext("truncated") == "0" for o in objs.values())


def test_jpeg_is_copied_and_png_converted(project, tmp_path):
    export(project, tmp_path / "out")
    jpegs = vroot(tmp_path / "out") / "JPEGImages"
    assert (jpegs / "c.jpg").read_bytes() == (project.root / "images" / "c.jpg").read_bytes()
    with Image.open(jpegs / "a.jpg") as im:
        assert (im.format, im.mode, im.size) == ("JPEG", "RGB", (W, H))


def test_torchvision_loads_the_export(project, tmp_path):
    from torchvision.datasets import VOCSegmentation

    export(project, tmp_path / "out")
    ds = VOCSegmentation(root=str(tmp_path / "out"), year="2012", image_set="train", download=False)
    assert len(ds) == 2
    img, target = ds[0]
    assert img.mode == "RGB" and target.mode == "P" and img.size == target.size == (W, H)
    np.testing.assert_array_equal(np.asarray(target), expected_a()[0])


def test_street_schema_without_background_leaves_unlabelled_void(tmp_path):
    noise_image(tmp_path / "p" / "s.png", 4)
    with Project.create(tmp_path / "p", street_schema()) as p:
        annotate(p, "s.png", [rect("road", 0, 20, 39, 29), rect("car", 5, 15, 15, 25),
                              rect("void", 30, 0, 39, 5, z=3)])
        export(p, tmp_path / "out")
    cls, _, _ = read_png(vroot(tmp_path / "out") / "SegmentationClass" / "s.png")
    obj, _, _ = read_png(vroot(tmp_path / "out") / "SegmentationObject" / "s.png")
    assert cls[0, 0] == 255 and obj[0, 0] == 255  # nothing drawn: void, not class 0 (road)
    assert cls[2, 35] == 255 and obj[2, 35] == 255  # the void class paints 255
    assert cls[27, 30] == 0 and cls[20, 10] == 1
    assert obj[27, 30] != obj[20, 10] and {obj[27, 30], obj[20, 10]} == {1, 2}


def roundtrip_pngs(out1: Path, out2: Path) -> None:
    for sub in ("SegmentationClass", "SegmentationObject"):
        first = sorted(p.name for p in (vroot(out1) / sub).iterdir())
        assert first == sorted(p.name for p in (vroot(out2) / sub).iterdir())
        for name in first:
            a, _, pa = read_png(vroot(out1) / sub / name)
            b, mode, pb = read_png(vroot(out2) / sub / name)
            assert mode == "P" and pa == pb
            np.testing.assert_array_equal(a, b, err_msg=f"{sub}/{name}")


def test_round_trip_is_pixel_exact(project, tmp_path):
    export(project, tmp_path / "out1")
    with Project.create(tmp_path / "new") as p2:
        ctx = JobContext()
        voc.import_dataset(tmp_path / "out1", p2, ctx)
        assert ctx.report.ok and ctx.report.done == 3
        assert p2.schema.names() == load_preset("voc").names()
        assert p2.splits["train"] == ["../out1/VOCdevkit/VOC2012/JPEGImages/a.jpg",
                                      "../out1/VOCdevkit/VOC2012/JPEGImages/b.jpg"]
        assert len(p2.splits["val"]) == 1 and "trainval" not in p2.splits
        assert not list((tmp_path / "new").rglob("*.jpg"))  # registered, never copied
        a = p2.load("../out1/VOCdevkit/VOC2012/JPEGImages/a.jpg")
        assert sorted(s.label for s in a.shapes) == ["car", "dog", "person"]
        assert all(s.kind == "mask" and s.source == "import" for s in a.shapes)
        export(p2, tmp_path / "out2")
    roundtrip_pngs(tmp_path / "out1", tmp_path / "out2")
    for sub in ("Annotations", "ImageSets/Segmentation"):
        for f in (vroot(tmp_path / "out1") / sub).iterdir():
            assert f.read_bytes() == (vroot(tmp_path / "out2") / sub / f.name).read_bytes()


def test_reopened_project_keeps_the_import(project, tmp_path):
    export(project, tmp_path / "out1")
    with Project.create(tmp_path / "new") as p2:
        voc.import_dataset(tmp_path / "out1" / "VOCdevkit", p2, JobContext())
    with Project.open(tmp_path / "new") as p3:
        assert len(p3.image_keys()) == 3 and p3.schema.name == "voc"
        export(p3, tmp_path / "out2")
    roundtrip_pngs(tmp_path / "out1", tmp_path / "out2")


def test_import_without_object_pngs_splits_things_into_components(tmp_path):
    noise_image(tmp_path / "p" / "s.png", 4)
    with Project.create(tmp_path / "p", street_schema()) as p:
        annotate(p, "s.png", [rect("road", 0, 0, 10, 5), rect("road", 20, 0, 30, 5),
                              rect("car", 0, 20, 5, 25), rect("car", 20, 20, 25, 25)])
        export(p, tmp_path / "out1")
    cls1, _, _ = read_png(vroot(tmp_path / "out1") / "SegmentationClass" / "s.png")
    for f in (vroot(tmp_path / "out1") / "SegmentationObject").iterdir():
        f.unlink()
    (vroot(tmp_path / "out1") / "SegmentationObject").rmdir()
    with Project.create(tmp_path / "new", street_schema()) as p2:
        voc.import_dataset(vroot(tmp_path / "out1"), p2, JobContext())
        assert p2.schema.name == "street"  # kept, not replaced by the VOC preset
        shapes = p2.load(p2.image_keys()[0]).shapes
        assert sorted(s.label for s in shapes) == ["car", "car", "road"]  # stuff: one shape per class
        export(p2, tmp_path / "out2")
    cls2, _, _ = read_png(vroot(tmp_path / "out2") / "SegmentationClass" / "s.png")
    np.testing.assert_array_equal(cls1, cls2)


def test_undecodable_image_is_reported_and_others_export(project, tmp_path):
    (project.root / "images" / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    ctx = export(project, tmp_path / "out")
    assert ctx.report.done == 2 and len(ctx.report.errors) == 1 and "b.png" in ctx.report.errors[0]
    root = vroot(tmp_path / "out")
    assert sorted(p.name for p in (root / "SegmentationClass").iterdir()) == ["a.png", "c.png"]
    assert not (root / "JPEGImages" / "b.jpg").exists() and not (root / "Annotations" / "b.xml").exists()
    assert (root / "ImageSets" / "Segmentation" / "train.txt").read_text().split() == ["a"]


def test_unknown_class_label_is_reported_and_left_out(tmp_path):
    noise_image(tmp_path / "p" / "x.png", 5)
    with Project.create(tmp_path / "p", load_preset("voc")) as p:
        annotate(p, "x.png", [rect("unicorn", 0, 0, 9, 9), rect("cat", 20, 20, 25, 25)])
        ctx = export(p, tmp_path / "out")
        assert ctx.report.done == 1
        assert any("unicorn" in w and "x.json" in w for w in ctx.report.warnings)
        cls, _, _ = read_png(vroot(tmp_path / "out") / "SegmentationClass" / "x.png")
        assert cls[5, 5] == 0 and cls[22, 22] == CAT
        with pytest.raises(FormatError, match="unicorn"):
            voc.export_dataset(p, tmp_path / "out2", JobContext(on_error="raise"))


def test_nothing_is_written_outside_out(project, tmp_path):
    before = snapshot(tmp_path, tmp_path / "out")
    export(project, tmp_path / "out")
    assert snapshot(tmp_path, tmp_path / "out") == before
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"VOCdevkit"}
    assert not [p for p in (tmp_path / "out").rglob("*") if p.name.endswith(".tmp")]


def test_class_ids_that_do_not_fit_a_palette_are_refused(tmp_path):
    noise_image(tmp_path / "p" / "x.png", 5)
    with Project.create(tmp_path / "p", Schema([LabelClass(0, "bg", (0, 0, 0)), LabelClass(300, "big", (1, 2, 3))])) as p:
        with pytest.raises(FormatError, match="big.*300"):
            export(p, tmp_path / "out")
        p.schema = Schema.from_names([f"c{i}" for i in range(300)])
        with pytest.raises(FormatError, match="300 classes"):
            export(p, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_stem_collision_names_both_images(tmp_path):
    noise_image(tmp_path / "p" / "one" / "x.png", 1)
    noise_image(tmp_path / "p" / "two" / "x.jpg", 2)
    with Project.create(tmp_path / "p", load_preset("voc")) as p:
        with pytest.raises(FormatError, match="one/x.png.*two/x.jpg"):
            export(p, tmp_path / "out")


def test_import_reports_missing_image_and_keeps_the_rest(project, tmp_path):
    export(project, tmp_path / "out")
    (vroot(tmp_path / "out") / "JPEGImages" / "b.jpg").unlink()
    (vroot(tmp_path / "out") / "SegmentationClass" / "c.png").write_bytes(b"not a png at all")
    with Project.create(tmp_path / "new") as p2:
        ctx = JobContext()
        voc.import_dataset(tmp_path / "out", p2, ctx)
        assert ctx.report.done == 1 and len(ctx.report.errors) == 2
        assert "b.jpg" in ctx.report.errors[0] and "c.png" in ctx.report.errors[1]
        assert [Path(k).name for k in p2.splits["train"]] == ["a.jpg"] and p2.splits["val"] == []
        assert [Path(k).name for k in p2.image_keys()] == ["a.jpg"]


def test_detect_finds_devkit_at_three_levels(project, tmp_path):
    export(project, tmp_path / "out")
    assert voc.detect(tmp_path / "out") and voc.detect(tmp_path / "out" / "VOCdevkit")
    assert voc.detect(vroot(tmp_path / "out"))
    assert not voc.detect(tmp_path / "proj") and not voc.detect(tmp_path / "missing")
    assert get_format("voc") is voc


@pytest.mark.camvid
def test_camvid_labels_export_exactly(camvid, tmp_path):
    schema = load_preset("camvid")
    stems = (camvid / "train.txt").read_text().split()[:5]
    with Project.create(tmp_path / "p", schema, image_roots=[]) as p:
        keys = p.add_images([camvid / "train" / f"{s}.png" for s in stems])
        labels = {}
        for key, stem in zip(keys, stems):
            lab = np.asarray(Image.open(camvid / "trainannot" / f"{stem}.png"))
            labels[stem] = lab
            shapes = [Shape(kind="mask", label=c.name, rle=rle_encode(lab == c.id)) for c in schema
                      if (lab == c.id).any()]
            annotate(p, key, shapes)
        ctx = export(p, tmp_path / "out")
    assert ctx.report.ok and ctx.report.done == 5
    for stem, lab in labels.items():
        cls, mode, _ = read_png(vroot(tmp_path / "out") / "SegmentationClass" / f"{stem}.png")
        expected = np.where(lab == 11, 255, lab)
        assert mode == "P"
        np.testing.assert_array_equal(cls, expected)
    assert any((lab == 11).any() for lab in labels.values())  # void really was exercised
    with Project.create(tmp_path / "back", load_preset("camvid")) as p2:
        ctx2 = JobContext()
        voc.import_dataset(tmp_path / "out", p2, ctx2)
        assert ctx2.report.ok and ctx2.report.done == 5 and not ctx2.report.warnings
        export(p2, tmp_path / "out2")
    roundtrip_pngs(tmp_path / "out", tmp_path / "out2")
    assert not list((tmp_path / "p").rglob("*.png"))  # the CamVid images were never copied
