"""Weak labels as data: scribble index PNGs, boxes and points as COCO-style JSON, image tags."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from labeler.core.jobs import JobContext
from labeler.core.project import Project
from labeler.core.schema import LabelClass, Schema
from labeler.core.shapes import MASK, POINT, RECTANGLE, SCRIBBLE, Shape
from labeler.core import geometry
from labeler.formats import coco, weak_labels
from labeler.formats.registry import detect_format, get_format

H, W = 60, 80


def schema():
    return Schema([LabelClass(1, "car", (255, 0, 0), True), LabelClass(2, "road", (0, 0, 255), False),
                   LabelClass(7, "person", (0, 255, 0), True)], name="street")


def make_project(root: Path, n: int = 2) -> Project:
    root.mkdir(parents=True)
    for i in range(n):
        Image.fromarray(np.full((H, W, 3), 40 * i, np.uint8)).save(root / f"img{i}.png")
    return Project.create(root, schema())


def weak_shapes():
    return [
        Shape(RECTANGLE, "car", points=[[50.25, 30.5], [10.1, 5.3]], weak=True, instance_id=3, score=0.5),
        Shape(POINT, "person", points=[[12.5, 40.25]], instance_id=4),
        Shape(POINT, "person", points=[[14.0, 44.0]], instance_id=4),
        Shape(SCRIBBLE, "road", points=[[2, 55], [70, 55]], width=5, z=0),
        Shape(SCRIBBLE, "car", points=[[20, 50], [20, 59]], width=3, z=1),  # crosses the road stroke, on top
        Shape(SCRIBBLE, "person", points=[[40, 20]], width=4),
    ]


def label(project: Project, key: str, shapes, tags=None):
    ann = project.load(key)
    ann.shapes = list(shapes)
    ann.tags = dict(tags or {})
    project.save_annotation(key, ann)


def export(project, out):
    ctx = JobContext()
    weak_labels.export_dataset(project, out, ctx)
    assert ctx.report.ok, ctx.report.errors
    return ctx


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_round_trip_export_import_export_is_identical(tmp_path):
    p1 = make_project(tmp_path / "p1")
    dense = Shape(MASK, "car", rle=geometry.rle_encode(np.pad(np.ones((5, 5), bool), ((0, H - 5), (0, W - 5)))))
    shapes = weak_shapes()
    label(p1, "img0.png", shapes + [dense], tags={"night": True, "rain": False, "urban": True})
    label(p1, "img1.png", [Shape(POINT, "car", points=[[1, 2]])])
    export(p1, tmp_path / "a")

    doc = json.loads((tmp_path / "a" / "weak_labels.json").read_text())
    by_kind = {k: [a for a in doc["annotations"] if k in a] for k in ("bbox", "point", "scribble")}
    assert len(by_kind["bbox"]) == 1 and len(by_kind["point"]) == 3 and len(by_kind["scribble"]) == 3
    box = by_kind["bbox"][0]
    assert "segmentation" not in box and box["bbox"] == [10.1, 5.3, 40.15, 25.2] and box["category_id"] == 1
    assert json.loads((tmp_path / "a" / "tags.json").read_text())["images"] == {"img0.png": ["night", "urban"]}

    p2 = make_project(tmp_path / "p2", n=0)
    ctx = JobContext()
    get_format("weak").import_dataset(tmp_path / "a", p2, ctx, images=tmp_path / "p1")
    assert ctx.report.ok and ctx.report.done == 2
    ann = p2.load("../p1/img0.png")
    assert [s.kind for s in ann.shapes] == [s.kind for s in shapes]  # the dense mask is not a weak label
    assert ann.tags == {"night": True, "urban": True}
    assert ann.shapes[0].weak and ann.shapes[0].instance_id == 3 and ann.shapes[0].score == 0.5
    assert [s.id for s in ann.shapes] == [s.id for s in shapes]  # ids kept: links to them stay valid
    export(p2, tmp_path / "b")
    assert files_of(tmp_path / "a") == files_of(tmp_path / "b")


def test_scribble_png_draws_strokes_with_their_width_in_z_order_255_elsewhere(tmp_path):
    p = make_project(tmp_path / "p", n=1)
    label(p, "img0.png", weak_shapes())
    export(p, tmp_path / "out")
    m = np.asarray(Image.open(tmp_path / "out" / "scribbles" / "img0.png"))
    assert m.shape == (H, W) and Image.open(tmp_path / "out" / "scribbles" / "img0.png").mode == "L"
    assert m[55, 60] == 2 and m[53, 60] == 2 and m[57, 60] == 2 and m[50, 60] == 255  # 5 px wide road
    assert m[55, 20] == 1  # the car stroke (z=1) is painted over the road stroke
    assert m[20, 40] == 7  # a one-point scribble is a dot
    assert m[5, 5] == 255 and set(np.unique(m)) == {1, 2, 7, 255}


def test_scribbles_import_from_the_png_alone_traced_back_to_strokes(tmp_path):
    p = make_project(tmp_path / "p", n=1)
    strokes = [Shape(SCRIBBLE, "road", points=[[5, 50], [40, 52], [70, 45]], width=5),
               Shape(SCRIBBLE, "car", points=[[30, 10], [30, 30]], width=3)]
    label(p, "img0.png", strokes)
    out = tmp_path / "out"
    export(p, out)
    original = np.asarray(Image.open(out / "scribbles" / "img0.png"))
    doc = json.loads((out / "weak_labels.json").read_text())
    doc["annotations"] = []  # as a dataset that ships only the PNGs
    (out / "weak_labels.json").write_text(json.dumps(doc))

    p2 = make_project(tmp_path / "p2", n=0)
    get_format("weak").import_dataset(out, p2, JobContext(on_error="raise"), images=tmp_path / "p")
    ann = p2.load("../p/img0.png")
    assert ann.shapes and all(s.kind == SCRIBBLE for s in ann.shapes)
    assert {s.label for s in ann.shapes} == {"road", "car"}
    redrawn = weak_labels.scribble_index_map(ann, {"car": 1, "road": 2})
    for cid in (1, 2):
        a, b = original == cid, redrawn == cid
        assert (a & b).sum() / (a | b).sum() > 0.85, cid
    assert {s.width for s in ann.shapes if s.label == "road"} == {5}
    assert {s.width for s in ann.shapes if s.label == "car"} == {3}


def test_coco_interplay_weak_boxes_both_ways(tmp_path):
    p = make_project(tmp_path / "p", n=1)
    label(p, "img0.png", weak_shapes())
    coco.export_dataset(p, tmp_path / "coco", JobContext())
    coco_file = tmp_path / "coco" / "annotations" / "instances_all.json"
    entry = json.loads(coco_file.read_text())["annotations"]
    assert [a["segmentation"] for a in entry] == [[]]  # COCO writes the weak box with an empty segmentation

    # the weak importer reads COCO's file: the bbox-only annotation becomes a weak box
    p2 = make_project(tmp_path / "p2", n=0)
    ctx = JobContext()
    weak_labels.import_dataset(coco_file, p2, ctx, images=tmp_path / "p")
    (box,) = p2.load("../p/img0.png").shapes
    assert box.kind == RECTANGLE and box.weak and box.label == "car"
    np.testing.assert_allclose(box.bbox(), (10.1, 5.3, 50.25, 30.5))

    # COCO's importer reads our weak_labels.json: boxes come back weak, points are reported, not lost silently
    export(p, tmp_path / "weak")
    p3 = make_project(tmp_path / "p3", n=0)
    ctx = JobContext()
    coco.import_dataset(tmp_path / "weak" / "weak_labels.json", p3, ctx, images=tmp_path / "p")
    boxes = [s for s in p3.load("../p/img0.png").shapes if s.kind == RECTANGLE]
    assert len(boxes) == 1 and boxes[0].weak
    assert ctx.report.errors  # points and scribbles are not COCO instances: each one is reported


def test_reimport_replaces_only_earlier_imported_weak_labels(tmp_path):
    p = make_project(tmp_path / "p", n=1)
    label(p, "img0.png", weak_shapes())
    export(p, tmp_path / "out")
    p2 = make_project(tmp_path / "p2", n=0)
    fmt = get_format("weak")
    fmt.import_dataset(tmp_path / "out", p2, JobContext(), images=tmp_path / "p")
    key = "../p/img0.png"
    ann = p2.load(key)
    mine = Shape(POINT, "car", points=[[3, 3]])
    dense = Shape(RECTANGLE, "road", points=[[0, 0], [9, 9]], source="import")
    ann.shapes += [mine, dense]
    ann.status = "in_progress"
    p2.save_annotation(key, ann)
    fmt.import_dataset(tmp_path / "out", p2, JobContext(), images=tmp_path / "p")
    again = p2.load(key)
    assert len(again.shapes) == len(weak_shapes()) + 2
    assert {mine.id, dense.id} <= {s.id for s in again.shapes} and again.status == "in_progress"


def test_bad_input_is_one_line_naming_the_file_and_the_rest_is_kept(tmp_path):
    p = make_project(tmp_path / "p", n=2)
    label(p, "img0.png", weak_shapes())
    label(p, "img1.png", [Shape(POINT, "car", points=[[1, 2]])])
    out = tmp_path / "out"
    export(p, out)
    doc = json.loads((out / "weak_labels.json").read_text())
    doc["annotations"][0]["bbox"] = [1, 2, 0, 5]  # an empty box
    (out / "weak_labels.json").write_text(json.dumps(doc))
    (out / "scribbles" / "img1.png").write_bytes(b"not a png")
    p2 = make_project(tmp_path / "p2", n=0)
    ctx = JobContext()
    weak_labels.import_dataset(out, p2, ctx, images=tmp_path / "p")
    bad_box, bad_png = ctx.report.errors
    assert "weak_labels.json" in bad_box and "empty bbox" in bad_box
    assert "scribbles/img1.png" in bad_png and "does not decode" in bad_png
    assert not any("\n" in e for e in ctx.report.errors)
    assert len(p2.load("../p/img0.png").shapes) == len(weak_shapes()) - 1
    assert [s.kind for s in p2.load("../p/img1.png").shapes] == [POINT]

    (out / "weak_labels.json").write_text("{broken")
    with pytest.raises(Exception, match=r"weak_labels\.json: corrupt JSON"):
        weak_labels.import_dataset(out, p2, JobContext())


def test_detect_and_keypoints(tmp_path):
    p = make_project(tmp_path / "p", n=1)
    label(p, "img0.png", [])
    export(p, tmp_path / "out")
    assert weak_labels.detect(tmp_path / "out") and detect_format(tmp_path / "out") == "weak"
    shapes = weak_labels.weak_shapes_from_annotation({"id": 9, "keypoints": [1, 2, 2, 0, 0, 0, 5, 6, 1]}, "person")
    assert [s.points.tolist() for s in shapes] == [[[1, 2]], [[5, 6]]] and {s.instance_id for s in shapes} == {9}


def test_cli_export_and_import_weak(tmp_path, capsys):
    from labeler.cli import main

    p = make_project(tmp_path / "p", n=1)
    label(p, "img0.png", weak_shapes(), tags={"night": True})
    p.close()
    assert main(["export", "weak", "--project", str(tmp_path / "p"), "--out", str(tmp_path / "out"), "-q"]) == 0
    assert main(["import", "weak", str(tmp_path / "out"), "--project", str(tmp_path / "new"),
                 "--images", str(tmp_path / "p"), "-q"]) == 0
    with Project.open(tmp_path / "new") as p2:
        (key,) = p2.image_keys()
        ann = p2.load(key)
        assert sorted(s.kind for s in ann.shapes) == sorted(s.kind for s in weak_shapes())
        assert ann.tags == {"night": True} and p2.schema.names() == ["car", "road", "person"]
