"""labelme format: import of every shape type, bad files, embedded images, export that labelme reads."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from labeler.core import geometry
from labeler.core.annotation import ImageAnnotation
from labeler.core.jobs import JobContext
from labeler.core.project import Project
from labeler.core.schema import Schema
from labeler.core.shapes import Shape
from labeler.formats import labelme
from labeler.formats.registry import detect_format

W, H = 40, 30


def make_image(path: Path, seed: int = 0) -> np.ndarray:
    arr = np.random.default_rng(seed).integers(0, 256, (H, W, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return arr


def b64_png(arr: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def lm_shape(label, shape_type, points, **kw) -> dict:
    d = {"label": label, "points": points, "group_id": None, "description": "", "shape_type": shape_type,
         "flags": {}, "mask": None}
    d.update(kw)
    return d


MASK_CROP = np.array([[1, 1, 0], [0, 1, 1]], dtype=bool)


def all_types_shapes() -> list[dict]:
    return [
        lm_shape("cat", "polygon", [[2, 2], [12, 2], [12, 10], [2, 10]], group_id=3),
        lm_shape("dog", "rectangle", [[20, 5], [30, 15]]),
        lm_shape("ball", "circle", [[10, 20], [14, 20]]),
        lm_shape("edge", "line", [[0, 0], [5, 5]]),
        lm_shape("nose", "point", [[7, 7]]),
        lm_shape("tail", "linestrip", [[1, 25], [5, 27], [9, 25]]),
        lm_shape("seeds", "points", [[3, 3], [4, 4], [6, 3]]),
        lm_shape("blob", "mask", [[30, 20], [32, 21]], mask=b64_png(MASK_CROP.astype(np.uint8) * 255)),
    ]


def labelme_dict(image_path: str, shapes: list[dict], **extra) -> dict:
    d = {"version": "5.5.0", "flags": {}, "shapes": shapes, "imagePath": image_path, "imageData": None,
         "imageHeight": H, "imageWidth": W}
    d.update(extra)
    return d


def write_json(path: Path, d: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(d), "utf-8")


# ------------------------------------------------------------------------------- import


def test_import_reads_every_labelme_shape_type_and_extends_the_schema(tmp_path):
    src = tmp_path / "src"
    make_image(src / "imgs" / "a.png")
    write_json(src / "ann" / "a.json", labelme_dict("../imgs/a.png", all_types_shapes()))
    proj = Project.create(tmp_path / "proj", Schema.from_names(["cat"]))
    ctx = JobContext()
    labelme.import_dataset(src, proj, ctx)

    assert ctx.report.errors == [] and ctx.report.done == 1
    assert proj.schema.names() == ["cat", "dog", "ball", "edge", "nose", "tail", "seeds", "blob"]
    assert proj.schema.by_name("cat").id == 0  # existing classes keep their ids
    [key] = proj.image_keys()
    assert proj.image_path(key).resolve() == (src / "imgs" / "a.png").resolve()
    ann = Project.open(tmp_path / "proj", read_only=True).load(key)
    by_label = {s.label: s for s in ann.shapes}
    assert {lab: s.kind for lab, s in by_label.items()} == {
        "cat": "polygon", "dog": "rectangle", "ball": "circle", "edge": "line", "nose": "point",
        "tail": "linestrip", "seeds": "linestrip", "blob": "mask"}
    assert by_label["cat"].instance_id == 3
    assert len(by_label["seeds"].points) == 3
    full = np.zeros((H, W), bool)
    full[20:22, 30:33] = MASK_CROP
    assert np.array_equal(geometry.rle_decode(by_label["blob"].rle), full)


def test_corrupt_json_and_two_point_polygon_are_reported_and_the_rest_imported(tmp_path):
    src = tmp_path / "src"
    for name in ("good", "broken", "twopoint"):
        make_image(src / f"{name}.png")
    write_json(src / "good.json", labelme_dict("good.png", all_types_shapes()[:2]))
    (src / "broken.json").write_text('{"version": "5.5.0", "shapes": [', "utf-8")
    write_json(src / "twopoint.json", labelme_dict("twopoint.png", [
        lm_shape("cat", "polygon", [[1, 1], [5, 5]]), lm_shape("dog", "polygon", [[1, 1], [9, 1], [9, 9]])]))
    proj = Project.create(tmp_path / "proj")
    ctx = JobContext()
    labelme.import_dataset(src, proj, ctx)

    assert ctx.report.done == 2
    assert len(ctx.report.errors) == 2
    assert any("broken.json" in e and "corrupt JSON" in e for e in ctx.report.errors)
    assert any("twopoint.json" in e and "at least 3 points" in e for e in ctx.report.errors)
    keys = {Path(k).stem: k for k in proj.image_keys()}
    assert set(keys) == {"good", "twopoint"}
    assert [s.label for s in proj.load(keys["twopoint"]).shapes] == ["dog"]
    assert len(proj.load(keys["good"]).shapes) == 2


def test_strict_policy_stops_at_the_first_bad_file(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "broken.json").write_text("{", "utf-8")
    with pytest.raises(Exception, match="broken.json"):
        labelme.import_dataset(src, Project.create(tmp_path / "proj"), JobContext(on_error="raise"))


def test_embedded_image_data_is_written_into_the_project_only(tmp_path):
    src = tmp_path / "src"
    pixels = np.random.default_rng(1).integers(0, 256, (H, W, 3), dtype=np.uint8)
    d = labelme_dict("../../elsewhere/photo.png", all_types_shapes()[:1], imageData=b64_png(pixels))
    write_json(src / "sub" / "photo.json", d)
    proj = Project.create(tmp_path / "proj")
    before = sorted(p for p in tmp_path.rglob("*") if "proj" not in p.parts)
    ctx = JobContext()
    labelme.import_dataset(src, proj, ctx)

    assert ctx.report.errors == [] and ctx.report.done == 1
    assert sorted(p for p in tmp_path.rglob("*") if "proj" not in p.parts) == before
    [key] = proj.image_keys()
    assert key == "images/sub/photo.png"
    assert np.array_equal(np.asarray(Image.open(proj.image_path(key))), pixels)
    assert [s.label for s in proj.load(key).shapes] == ["cat"]


def test_missing_image_without_image_data_is_reported(tmp_path):
    src = tmp_path / "src"
    write_json(src / "lost.json", labelme_dict("lost.png", []))
    ctx = JobContext()
    labelme.import_dataset(src, Project.create(tmp_path / "proj"), ctx)
    assert ctx.report.done == 0
    assert len(ctx.report.errors) == 1 and "lost.json" in ctx.report.errors[0]


def test_windows_separators_and_stale_absolute_image_paths_are_resolved(tmp_path):
    src = tmp_path / "src"
    make_image(src / "imgs" / "a.png")
    make_image(src / "b.png", seed=2)
    write_json(src / "ann" / "a.json", labelme_dict("..\\imgs\\a.png", []))
    write_json(src / "b.json", labelme_dict("C:\\Users\\someone\\data\\b.png", []))
    proj = Project.create(tmp_path / "proj")
    ctx = JobContext()
    labelme.import_dataset(src, proj, ctx)
    assert ctx.report.errors == []
    assert sorted(Path(k).name for k in proj.image_keys()) == ["a.png", "b.png"]


# ------------------------------------------------------------------------------- export


def _check_labelme_loadable(json_path: Path) -> dict:
    """What labelme's LabelFile reader requires of a file (labelme 5 keys, labelme 7 checks)."""
    d = json.loads(json_path.read_text("utf-8"))
    for key in ("version", "flags", "shapes", "imagePath", "imageData", "imageHeight", "imageWidth"):
        assert key in d, key
    assert isinstance(d["version"], str) and isinstance(d["flags"], dict)
    assert all(isinstance(k, str) and isinstance(v, bool) for k, v in d["flags"].items())
    assert type(d["imageHeight"]) is int and type(d["imageWidth"]) is int
    if d["imageData"] is None:
        image = Image.open(json_path.parent / d["imagePath"])
    else:
        image = Image.open(io.BytesIO(base64.b64decode(d["imageData"])))
    assert (image.height, image.width) == (d["imageHeight"], d["imageWidth"])
    counts = {"rectangle": 2, "circle": 2, "line": 2, "point": 1, "mask": 2}
    for s in d["shapes"]:
        for key in ("label", "points", "group_id", "shape_type", "flags", "description", "mask"):
            assert key in s, key
        assert isinstance(s["label"], str) and isinstance(s["description"], str)
        assert s["group_id"] is None or type(s["group_id"]) is int
        assert isinstance(s["flags"], dict)
        pts = s["points"]
        assert pts and all(len(p) == 2 and all(type(c) in (int, float) for c in p) for p in pts)
        t = s["shape_type"]
        assert t in ("polygon", "rectangle", "circle", "line", "point", "linestrip", "points", "mask",
                     "oriented_rectangle"), t
        if t in counts:
            assert len(pts) == counts[t], (t, pts)
        if t == "mask":
            crop = np.asarray(Image.open(io.BytesIO(base64.b64decode(s["mask"]))))
            assert crop.ndim == 2
            (x1, y1), (x2, y2) = np.asarray(pts).astype(int)
            assert crop.shape == (y2 - y1 + 1, x2 - x1 + 1)
        else:
            assert s["mask"] is None
    return d


def _project_with_every_kind(tmp_path) -> tuple[Project, str, list[Shape]]:
    root = tmp_path / "proj"
    make_image(root / "pics" / "a.png")
    proj = Project.create(root, Schema.from_names(["cat", "dog"]))
    m = np.zeros((H, W), bool)
    m[5:9, 20:26] = True
    shapes = [
        Shape("polygon", "cat", [[2, 2], [12, 2], [12, 10]], holes=(), instance_id=1, z=2, source="sam", score=0.9),
        Shape("rectangle", "dog", [[20, 5], [30, 15]]),
        Shape("circle", "cat", [[10, 20], [14, 20]]),
        Shape("line", "dog", [[0, 0], [5, 5]]),
        Shape("point", "cat", [[7, 7]]),
        Shape("linestrip", "dog", [[1, 25], [5, 27], [9, 25]]),
        Shape("scribble", "cat", [[3, 3], [8, 4]], width=3.0),
        Shape("mask", "dog", rle=geometry.rle_encode(m), instance_id=2),
    ]
    [key] = proj.image_keys()
    ann = ImageAnnotation("", W, H, shapes, tags={"blurry": True})
    ann.extra["customTop"] = {"keep": 1}
    proj.save_annotation(key, ann)
    return proj, key, shapes


def test_export_writes_what_labelme_loads_and_round_trips(tmp_path):
    proj, key, shapes = _project_with_every_kind(tmp_path)
    out = tmp_path / "out"
    ctx = JobContext()
    labelme.export_dataset(proj, out, ctx)
    assert ctx.report.errors == [] and ctx.report.done == 1

    d = _check_labelme_loadable(out / "a.json")
    assert (out / "a.png").read_bytes() == proj.image_path(key).read_bytes()
    assert d["imagePath"] == "a.png" and d["imageData"] is None
    assert [s["shape_type"] for s in d["shapes"]] == [
        "polygon", "rectangle", "circle", "line", "point", "linestrip", "linestrip", "mask"]
    assert d["flags"] == {"blurry": True} and d["customTop"] == {"keep": 1}
    assert d["shapes"][0]["labeler"]["score"] == 0.9  # our extras are kept

    back = Project.create(tmp_path / "back")
    labelme.import_dataset(out, back, JobContext())
    ann = back.load(back.image_keys()[0])
    assert len(ann.shapes) == len(shapes)
    for a, b in zip(ann.shapes, shapes):
        # hand-drawn shapes come back marked as imported; shapes that name a source keep it
        assert a.source == (b.source if b.source != "manual" else "import")
        assert a.same_as(b.replace(source=a.source)), (a, b)
    assert ann.tags == {"blurry": True} and ann.extra["customTop"] == {"keep": 1}


def test_export_without_copies_points_at_the_originals(tmp_path):
    proj, key, _ = _project_with_every_kind(tmp_path)
    out = tmp_path / "out"
    labelme.export_dataset(proj, out, JobContext(), copy_images=False, image_data=True)
    assert sorted(p.name for p in out.iterdir()) == ["a.json"]
    d = _check_labelme_loadable(out / "a.json")
    assert (out / d["imagePath"]).resolve() == proj.image_path(key).resolve()
    assert base64.b64decode(d["imageData"]) == proj.image_path(key).read_bytes()


def test_points_and_oriented_rectangles_are_written_back_as_such(tmp_path):
    src = tmp_path / "src"
    make_image(src / "a.png")
    rotated = [[10, 2], [18, 10], [10, 18], [2, 10]]
    write_json(src / "a.json", labelme_dict("a.png", [lm_shape("seeds", "points", [[3, 3], [4, 4]]),
                                                      lm_shape("box", "oriented_rectangle", rotated)]))
    proj = Project.create(tmp_path / "proj")
    labelme.import_dataset(src, proj, JobContext())
    seeds, box = proj.load(proj.image_keys()[0]).shapes
    assert (seeds.kind, box.kind) == ("linestrip", "polygon") and box.is_area
    labelme.export_dataset(proj, tmp_path / "out", JobContext())
    d = _check_labelme_loadable(tmp_path / "out" / "a.json")
    assert [s["shape_type"] for s in d["shapes"]] == ["points", "oriented_rectangle"]
    assert d["shapes"][1]["points"] == rotated


# --------------------------------------------------------------------- plain labelme folder


def test_project_open_on_a_plain_labelme_folder(tmp_path):
    make_image(tmp_path / "a.png")
    make_image(tmp_path / "b.png", seed=3)
    make_image(tmp_path / "c.png", seed=4)
    write_json(tmp_path / "a.json", labelme_dict("a.png", all_types_shapes()[:2]))
    write_json(tmp_path / "b.json", labelme_dict("b.png", [lm_shape("bird", "point", [[1, 1]])]))
    proj = Project.open(tmp_path)
    try:
        assert proj.image_keys() == ["a.png", "b.png", "c.png"]
        assert proj.schema.names() == ["cat", "dog", "bird"]
        assert [s.kind for s in proj.load("a.png").shapes] == ["polygon", "rectangle"]
        assert proj.load("c.png").shapes == []
        assert detect_format(tmp_path) == "labelme"
    finally:
        proj.close()


def test_unknown_keys_survive_load_and_save_through_the_project(tmp_path):
    make_image(tmp_path / "a.png")
    shape = lm_shape("cat", "polygon", [[2, 2], [12, 2], [12, 10]], reviewer="alice",
                     labeler={"future_field": [1, 2]})
    write_json(tmp_path / "a.json", labelme_dict("a.png", [shape], customTop={"x": 1}, otherTool="v2"))
    proj = Project.open(tmp_path)
    try:
        ann = proj.load("a.png")
        ann.status = "done"
        proj.save_annotation("a.png", ann)
    finally:
        proj.close()
    d = json.loads((tmp_path / "a.json").read_text("utf-8"))
    assert d["customTop"] == {"x": 1} and d["otherTool"] == "v2"
    assert d["shapes"][0]["reviewer"] == "alice"
    assert d["shapes"][0]["labeler"]["future_field"] == [1, 2]
    assert d["labeler"]["status"] == "done"
    assert d["imagePath"] == "a.png"


# -------------------------------------------------------------------------------- detect


def test_detect(tmp_path):
    labelme_dir = tmp_path / "lm"
    write_json(labelme_dir / "x.json", labelme_dict("x.png", []))
    coco_dir = tmp_path / "coco"
    write_json(coco_dir / "instances.json", {"images": [], "annotations": [], "categories": []})
    (tmp_path / "empty").mkdir()
    assert labelme.detect(labelme_dir)
    assert labelme.detect(labelme_dir / "x.json")
    assert not labelme.detect(coco_dir)
    assert not labelme.detect(tmp_path / "empty")
    assert not labelme.detect(tmp_path / "missing")


def test_export_keeps_folders_of_images_registered_from_outside_the_project(tmp_path):
    """Keys that climb out of the project ("../data/train/a.png") land under out, folders kept."""
    proj = Project.create(tmp_path / "proj")
    make_image(tmp_path / "data" / "train" / "a.png")
    make_image(tmp_path / "data" / "val" / "b.png", seed=5)
    keys = proj.add_images([tmp_path / "data" / "train" / "a.png", tmp_path / "data" / "val" / "b.png"])
    for k in keys:
        proj.save_annotation(k, ImageAnnotation("", W, H, [Shape("point", "cat", [[1, 1]])]))
    out = tmp_path / "out"
    labelme.export_dataset(proj, out, JobContext())
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == ["train/a.json", "train/a.png", "val/b.json", "val/b.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "out", "proj"]


@pytest.mark.camvid
def test_camvid_masks_survive_a_trip_through_labelme(camvid, tmp_path):
    """mask-png -> labelme JSON (mask shapes as base64 crops) -> mask-png gives the same pixels."""
    from labeler.formats import mask_png

    src = tmp_path / "src"
    (src / "images").mkdir(parents=True)
    (src / "masks").mkdir()
    stems = (camvid / "train.txt").read_text().split()[:3]
    for s in stems:
        (src / "images" / f"{s}.png").symlink_to(camvid / "train" / f"{s}.png")
        (src / "masks" / f"{s}.png").symlink_to(camvid / "trainannot" / f"{s}.png")
    first = Project.create(tmp_path / "first")
    mask_png.import_dataset(src, first, JobContext(), images="images", masks="masks", schema="camvid")
    labelme.export_dataset(first, tmp_path / "lm", JobContext())
    for s in stems:
        _check_labelme_loadable(tmp_path / "lm" / f"{s}.json")
    second = Project.create(tmp_path / "second", first.schema)
    ctx = JobContext()
    labelme.import_dataset(tmp_path / "lm", second, ctx)
    assert ctx.report.errors == [] and ctx.report.done == 3
    mask_png.export_dataset(second, tmp_path / "masks_out", JobContext())
    for s in stems:
        back = np.asarray(Image.open(tmp_path / "masks_out" / "masks" / f"{s}.png"))
        assert np.array_equal(back, np.asarray(Image.open(camvid / "trainannot" / f"{s}.png")))
