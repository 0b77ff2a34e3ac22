"""Cityscapes export/import, checked against cityscapesscripts' own renderers.

The installed cityscapesScripts 2.3.0 imports cleanly with Pillow 13 / numpy 2, so no shim is
needed: ``createLabelImage`` and ``createInstanceImage`` are called in memory on the JSON we
wrote (loaded with their ``Annotation``), and their arrays compared with our PNGs.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from cityscapesscripts.helpers.annotation import Annotation
from cityscapesscripts.helpers.labels import labels as cs_labels
from cityscapesscripts.preparation.json2instanceImg import createInstanceImage
from cityscapesscripts.preparation.json2labelImg import createLabelImage

from labeler.core import geometry
from labeler.core.annotation import ImageAnnotation
from labeler.core.jobs import JobContext
from labeler.core.project import Project
from labeler.core.schema import load_preset
from labeler.core.shapes import Shape
from labeler.formats import cityscapes as cs

H, W = 64, 96
CS = load_preset("cityscapes")


def _image(path: Path, h: int = H, w: int = W, seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)).save(path)


def _scene() -> list[Shape]:
    """Overlaps, three car instances, a stuff region, a mask with a hole, a polygon with a hole."""
    person = np.zeros((H, W), bool)
    person[34:60, 60:90] = True
    person[42:50, 70:80] = False  # a hole in the mask: the road shows through
    return [  # listed out of z-order on purpose: z decides what is on top
        Shape("mask", "person", rle=geometry.rle_encode(person), z=3),
        Shape("polygon", "road", [[0, 32], [95, 32], [95, 63], [0, 63]]),
        Shape("polygon", "car", [[20, 6], [36, 6], [36, 26], [20, 26]], z=-1),  # beneath the building
        Shape("polygon", "building", [[4, 2], [90, 2], [90, 30], [4, 30]],
              holes=[np.array([[16, 8], [40, 8], [40, 22], [16, 22]])]),
        Shape("rectangle", "car", [[24, 44], [50, 58]], z=2),  # overlaps the car below it
        Shape("polygon", "car", [[8, 36], [30, 36], [30, 52], [8, 52]], z=1),
        Shape("point", "person", [[5, 5]]),  # weak: never painted
    ]


def _project(tmp_path: Path, shapes=None, images=("imgs/bonn/a.png",), splits=None) -> Project:
    root = tmp_path / "proj"
    for i, rel in enumerate(images):
        _image(root / rel, seed=i)
    proj = Project.create(root, load_preset("cityscapes"), splits=splits)
    for rel in images:
        proj.save_annotation(rel, ImageAnnotation("", W, H, list(_scene() if shapes is None else shapes)))
    return proj


def _gt(out: Path, kind: str) -> list[Path]:
    return sorted(out.glob(f"gtFine/*/*/*_gtFine_{kind}"))


def _png(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im)


def _cs_render(json_path: Path):
    ann = Annotation()
    ann.fromJsonFile(str(json_path))
    return (np.asarray(createLabelImage(ann, "ids")), np.asarray(createLabelImage(ann, "trainIds")),
            np.asarray(createLabelImage(ann, "color")), np.asarray(createInstanceImage(ann, "ids")))


def _assert_same_as_cityscapesscripts(out: Path, train_ids: bool = True) -> None:
    polys = _gt(out, "polygons.json")
    assert polys
    for p in polys:
        stem = str(p)[:-len("polygons.json")]
        ids, train, color, inst = _cs_render(p)
        np.testing.assert_array_equal(_png(Path(stem + "labelIds.png")), ids)
        np.testing.assert_array_equal(_png(Path(stem + "instanceIds.png")).astype(np.int64), inst)
        np.testing.assert_array_equal(_png(Path(stem + "color.png")), color)
        if train_ids:
            np.testing.assert_array_equal(_png(Path(stem + "labelTrainIds.png")), train)


# ------------------------------------------------------------------------------ preset


def test_preset_is_the_official_label_table():
    assert len(CS) == len(cs_labels) == 35
    for lab in cs_labels:
        c = CS.by_name(lab.name)
        assert (c.id, c.train_id, c.color) == (lab.id, lab.trainId, lab.color), lab.name
        assert c.extra["category"] == lab.category
        assert c.has_instances == c.is_thing == lab.hasInstances
        assert c.ignore_in_eval == lab.ignoreInEval
    assert CS.background == "unlabeled" and CS.ignore_index == 255


# ------------------------------------------------------------------------------ export


def test_export_pngs_equal_cityscapesscripts_rendering(tmp_path):
    proj = _project(tmp_path)
    ctx = JobContext(on_error="raise")
    cs.export_dataset(proj, tmp_path / "out", ctx, train_ids=True)
    assert ctx.report.done == 1 and not ctx.report.errors
    _assert_same_as_cityscapesscripts(tmp_path / "out")

    ids = _png(_gt(tmp_path / "out", "labelIds.png")[0])
    inst = _png(_gt(tmp_path / "out", "instanceIds.png")[0])
    car, person, building, road = (CS.by_name(n).id for n in ("car", "person", "building", "road"))
    # z-order: the rectangle car (z=2) lies over the z=1 car; the person over the road
    assert ids[50, 27] == car and inst[50, 27] == inst[56, 45] == car * 1000 + 2
    assert inst[40, 12] == car * 1000 + 1
    assert ids[55, 65] == person
    # the building's hole shows the car beneath it and the unlabeled background around it
    assert ids[15, 28] == car and ids[15, 38] == CS.by_name("unlabeled").id and ids[5, 28] == building
    # the mask's hole shows the road beneath; the stuff region has the plain id
    assert ids[46, 75] == road and inst[46, 75] == road and inst[62, 2] == road
    # instances: id*1000+k, k counting car polygons in painting order. The building's polygon
    # leaves its hole unpainted (bridged), so the car beneath keeps its own instance there
    assert inst[15, 28] == car * 1000
    assert set(np.unique(inst[inst >= 1000]).tolist()) == {car * 1000 + k for k in (0, 1, 2)} | {person * 1000}
    doc = json.loads(_gt(tmp_path / "out", "polygons.json")[0].read_text())
    assert "unlabeled" not in [o["label"] for o in doc["objects"]]  # no hole painted over

    # agreement with the project's own pil-fill rasterising of the shapes (the mask is
    # vectorised at min_iou 0.99, so a few rim pixels may differ)
    ref = geometry.rasterize([(s, CS.by_name(s.label).id) for s in _scene()], H, W, convention="pil-fill")
    assert (ref == ids).mean() > 0.99


def test_instance_ids_are_16_bit_and_train_ids_follow_the_table(tmp_path):
    proj = _project(tmp_path)
    cs.export_dataset(proj, tmp_path / "out", train_ids=True)
    with Image.open(_gt(tmp_path / "out", "instanceIds.png")[0]) as im:
        assert im.mode == "I;16"
        inst = np.asarray(im)
    assert inst.dtype == np.uint16 and inst.max() > 255
    ids = _png(_gt(tmp_path / "out", "labelIds.png")[0])
    train = _png(_gt(tmp_path / "out", "labelTrainIds.png")[0])
    assert ids.dtype == train.dtype == np.uint8
    for value in np.unique(ids):
        assert set(np.unique(train[ids == value])) == {CS.by_id(int(value)).train_id % 256}
    assert _png(_gt(tmp_path / "out", "color.png")[0]).shape == (H, W, 4)


def test_file_names_splits_and_sidecar(tmp_path):
    images = ("imgs/bonn/a.png", "imgs/bonn/b.png", "imgs/x/zurich_000123_000045_leftImg8bit.png",
              "imgs/lone_dir/c.png")
    proj = _project(tmp_path, shapes=[], images=images,
                    splits={"val": ["imgs/bonn/b.png"], "test": ["imgs/lone_dir/c.png"]})
    out = tmp_path / "out"
    cs.export_dataset(proj, out)
    got = sorted(p.relative_to(out).as_posix() for p in out.glob("leftImg8bit/*/*/*.png"))
    assert got == ["leftImg8bit/test/lone-dir/lone-dir_000000_000000_leftImg8bit.png",
                   "leftImg8bit/train/bonn/bonn_000000_000000_leftImg8bit.png",
                   "leftImg8bit/train/zurich/zurich_000123_000045_leftImg8bit.png",
                   "leftImg8bit/val/bonn/bonn_000000_000001_leftImg8bit.png"]
    for p in out.glob("leftImg8bit/*/*/*.png"):
        stem = p.name[:-len("_leftImg8bit.png")]
        gt = out / "gtFine" / p.parent.relative_to(out / "leftImg8bit")
        for kind in ("polygons.json", "labelIds.png", "instanceIds.png", "color.png"):
            assert (gt / f"{stem}_gtFine_{kind}").is_file()
    names = json.loads((out / cs.SIDECAR).read_text())["images"]
    assert names["imgs/bonn/b.png"] == "leftImg8bit/val/bonn/bonn_000000_000001_leftImg8bit.png"
    # the image is copied unchanged
    assert (out / names["imgs/bonn/a.png"]).read_bytes() == (proj.root / "imgs/bonn/a.png").read_bytes()
    # one city for all, and one split only
    cs.export_dataset(proj, tmp_path / "one", split="val", city="aachen")
    assert [p.name for p in (tmp_path / "one").glob("leftImg8bit/*/*/*.png")] == \
        ["aachen_000000_000000_leftImg8bit.png"]


def test_group_labels_and_label_map(tmp_path):
    shapes = [Shape("polygon", "Auto", [[10, 10], [40, 10], [40, 40], [10, 40]], flags={"group": True}),
              Shape("polygon", "Auto", [[50, 10], [80, 10], [80, 40], [50, 40]]),
              Shape("polygon", "Unknown", [[0, 50], [20, 50], [20, 60]])]
    proj = _project(tmp_path, shapes=shapes)
    ctx = JobContext()
    cs.export_dataset(proj, tmp_path / "out", ctx, schema="cityscapes", label_map={"Auto": "car"})
    doc = json.loads(_gt(tmp_path / "out", "polygons.json")[0].read_text())
    assert [o["label"] for o in doc["objects"]] == ["cargroup", "car"]
    assert any("Unknown" in w for w in ctx.report.warnings)
    inst = _png(_gt(tmp_path / "out", "instanceIds.png")[0])
    assert inst[20, 20] == 26 and inst[20, 60] == 26000  # a group has no instance number
    _assert_same_as_cityscapesscripts(tmp_path / "out", train_ids=False)


@pytest.mark.parametrize("region", [(slice(3, 4), slice(5, 6)), (slice(3, 4), slice(2, 9)),
                                    (slice(1, 9), slice(4, 5)), (slice(2, 8), slice(3, 10))],
                         ids=["pixel", "row", "column", "block"])
def test_small_and_thin_masks_are_drawn_exactly(region):
    mask = np.zeros((10, 12), bool)
    mask[region] = True
    table = cs.LabelTable(CS)
    objects = cs.build_objects([Shape("mask", "car", rle=geometry.rle_encode(mask))], table, 10, 12)
    drawn = cs.render_label_image({"imgWidth": 12, "imgHeight": 10, "objects": objects}, table)
    np.testing.assert_array_equal(drawn == CS.by_name("car").id, mask)


# ------------------------------------------------------------------------------ import


def test_round_trip_export_import_export(tmp_path):
    proj = _project(tmp_path, images=("imgs/bonn/a.png", "imgs/koeln/b.png"), splits={"val": ["imgs/koeln/b.png"]})
    first = tmp_path / "first"
    cs.export_dataset(proj, first, train_ids=True)
    assert cs.detect(first) and cs.detect(first / "gtFine") and not cs.detect(proj.root)

    back = Project.create(tmp_path / "back")
    ctx = JobContext(on_error="raise")
    cs.import_dataset(first, back, ctx)
    assert ctx.report.done == 2
    assert back.schema.by_name("car").id == 26  # an empty schema adopts the cityscapes table
    assert {k: len(v) for k, v in back.splits.items()} == {"train": 1, "val": 1}
    key = back.splits["val"][0]
    assert key.endswith("leftImg8bit/val/koeln/koeln_000000_000000_leftImg8bit.png")
    ann = back.load(key)
    doc = json.loads(next(first.glob("gtFine/val/koeln/*polygons.json")).read_text())
    assert [s.label for s in ann.shapes] == [o["label"] for o in doc["objects"]]
    assert [s.z for s in ann.shapes] == list(range(len(doc["objects"])))
    assert all(s.kind == "polygon" for s in ann.shapes)

    second = tmp_path / "second"
    cs.export_dataset(Project.open(tmp_path / "back", read_only=True), second, train_ids=True)
    a, b = sorted(first.rglob("*_gtFine_*")), sorted(second.rglob("*_gtFine_*"))
    assert [p.name for p in a] == [p.name for p in b] and len(a) == 10
    for pa, pb in zip(a, b):
        if pa.suffix == ".png":
            np.testing.assert_array_equal(_png(pa), _png(pb), err_msg=pa.name)
        else:
            assert json.loads(pa.read_text()) == json.loads(pb.read_text())


def test_import_reports_bad_files_and_keeps_the_rest(tmp_path):
    proj = _project(tmp_path, images=("imgs/bonn/a.png", "imgs/bonn/b.png", "imgs/bonn/c.png"))
    out = tmp_path / "out"
    cs.export_dataset(proj, out)
    jsons = _gt(out, "polygons.json")
    jsons[0].write_text("{ not json")
    next(out.glob("leftImg8bit/train/bonn/bonn_000000_000001_*.png")).unlink()
    doc = json.loads(jsons[2].read_text())
    doc["objects"].append({"label": "car", "polygon": [[1, 2]]})
    doc["objects"].append({"label": "car", "polygon": [[1, 1], [9, 1], [9, 9]], "deleted": 1})
    jsons[2].write_text(json.dumps(doc))

    back = Project.create(tmp_path / "back")
    ctx = JobContext()
    cs.import_dataset(out, back, ctx)
    assert ctx.report.done == 1 and len(ctx.report.errors) == 2
    assert any(str(jsons[0]) in e and "corrupt JSON" in e for e in ctx.report.errors)
    assert any(str(jsons[1]) in e and "image" in e for e in ctx.report.errors)
    assert any("object" in w and str(jsons[2]) in w for w in ctx.report.warnings)
    assert len(back.load(back.image_keys()[0]).shapes) == len(doc["objects"]) - 2
    with pytest.raises(Exception, match="gtFine"):
        cs.import_dataset(tmp_path / "proj", Project.create(tmp_path / "empty"))


# ------------------------------------------------------------------------------ CamVid

#: CamVid class -> cityscapes class (Car and Pedestrian are the instance classes)
CAMVID_TO_CS = {"Sky": "sky", "Building": "building", "Pole": "pole", "Road": "road", "Pavement": "sidewalk",
                "Tree": "vegetation", "SignSymbol": "traffic sign", "Fence": "fence", "Car": "car",
                "Pedestrian": "person", "Bicyclist": "rider"}


def test_camvid_images_export_like_cityscapesscripts(tmp_path, camvid):
    names = load_preset("camvid").names()
    stems = (camvid / "val.txt").read_text().split()[:3]
    proj = Project.create(tmp_path / "proj", load_preset("cityscapes"))
    keys = proj.add_images([camvid / "val" / f"{s}.png" for s in stems])
    expected = {}
    for key, stem in zip(keys, stems):
        label = _png(camvid / "valannot" / f"{stem}.png")
        shapes, exp = [], np.zeros(label.shape, np.uint8)
        for idx, cls in enumerate(names[:11]):
            m = label == idx
            if not m.any():
                continue
            target = CAMVID_TO_CS[cls]
            exp[m] = CS.by_name(target).id
            parts = [m]
            if target in ("car", "person"):  # instances approximated by connected components
                n, comp = cv2.connectedComponents(m.astype(np.uint8))
                parts = [comp == i for i in range(1, n)]
            shapes += [Shape("mask", target, rle=geometry.rle_encode(p)) for p in parts]
        proj.save_annotation(key, ImageAnnotation("", label.shape[1], label.shape[0], shapes))
        expected[key] = exp
    out = tmp_path / "out"
    ctx = JobContext(on_error="raise")
    cs.export_dataset(proj, out, ctx, city="cambridge", train_ids=True)
    assert ctx.report.done == 3
    _assert_same_as_cityscapesscripts(out)
    names_map = json.loads((out / cs.SIDECAR).read_text())["images"]
    for key, exp in expected.items():
        gt = names_map[key][:-len("leftImg8bit.png")].replace("leftImg8bit/", "gtFine/", 1)
        got = _png(out / f"{gt}gtFine_labelIds.png")
        assert (got == exp).mean() > 0.97
