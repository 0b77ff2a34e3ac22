"""YOLO segmentation format: export, import again, compare; data.yaml, layout, bad input."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from PIL import Image
from shapely.geometry import box

from labeler import cli
from labeler.core import geometry
from labeler.core.annotation import ImageAnnotation
from labeler.core.errors import FormatError, LabelerError
from labeler.core.jobs import JobContext
from labeler.core.project import Project
from labeler.core.schema import LabelClass, Schema, load_preset
from labeler.core.shapes import Shape
from labeler.formats import mask_png, yolo
from labeler.formats.export_target import MANIFEST
from labeler.formats.registry import detect_format, export_project

from .voc_fixtures import noise_image

W, H = 64, 48
HOLED = [[4, 4], [30, 4], [30, 30], [4, 30]], [[[12, 12], [20, 12], [20, 22], [12, 22]]]


def schema() -> Schema:
    return Schema([LabelClass(0, "background", (0, 0, 0), False), LabelClass(1, "cat", (200, 0, 0)),
                   LabelClass(2, "dog", (0, 200, 0)), LabelClass(3, "void", (255, 255, 255), False)],
                  name="pets", ignore_index=3, background="background")


def blob_mask() -> np.ndarray:
    yy, xx = np.mgrid[:H, :W]
    return ((xx - 48) ** 2 / 100 + (yy - 34) ** 2 / 49) <= 1  # an ellipse, one component


def make_project(root: Path) -> Project:
    """a.png: cat polygon with a hole, dog rectangle, dog mask, cat point; b.png: a cat reaching
    past the right edge; c.jpg (val): nothing; d.png: in no split."""
    for name, seed in (("a.png", 1), ("b.png", 2), ("c.jpg", 3), ("d.png", 4)):
        noise_image(root / "images" / name, seed, (W, H))
    proj = Project.create(root, schema(), splits={"train": ["images/a.png", "images/b.png"], "val": ["images/c.jpg"]})
    shapes = {
        "images/a.png": [Shape(kind="polygon", label="cat", points=HOLED[0], holes=HOLED[1]),
                         Shape(kind="rectangle", label="dog", points=[[34, 2], [60, 14]]),
                         Shape(kind="mask", label="dog", rle=geometry.rle_encode(blob_mask())),
                         Shape(kind="point", label="cat", points=[[8, 40]])],
        "images/b.png": [Shape(kind="polygon", label="cat", points=[[40, 10], [W + 5, 20], [W, 40], [44, 40]])],
        "images/c.jpg": [],
        "images/d.png": [Shape(kind="circle", label="dog", points=[[20, 24], [30, 24]])],
    }
    for key, ss in shapes.items():
        proj.save_annotation(key, ImageAnnotation(image_path="", width=W, height=H, shapes=ss))
    return proj


@pytest.fixture
def project(tmp_path):
    with make_project(tmp_path / "proj") as p:
        yield p


def read_lines(path: Path) -> list[list[float]]:
    return [[float(v) for v in ln.split()] for ln in path.read_text().splitlines()]


def ring_mask(values: list[float], w: int = W, h: int = H) -> np.ndarray:
    """A label line's polygon filled as one ring, its coordinates taken as they are written."""
    return geometry.polygon_to_mask(np.reshape(values, (-1, 2)) * [w, h], (), h, w, "coco")


# ------------------------------------------------------------------------------ export


def test_round_trip_keeps_classes_shapes_and_holes(project, tmp_path):
    out = tmp_path / "out"
    ctx = JobContext()
    export_project("yolo", project, out, ctx)
    assert ctx.report.errors == [] and ctx.report.done == 4
    assert ctx.report.outputs["skipped_shapes"] == {"point": 1}
    assert sum("1 point shape(s) not exported" in w for w in ctx.report.warnings) == 1
    assert detect_format(out) == "yolo"

    back = Project.create(tmp_path / "back")
    ictx = JobContext()
    yolo.import_dataset(out, back, ictx)
    assert ictx.report.errors == [] and ictx.report.done == 4
    assert back.schema.names() == ["cat", "dog"]
    assert {k: sorted(Path(x).name for x in v) for k, v in back.splits.items()} == {
        "train": ["a.png", "b.png", "d.png"], "val": ["c.jpg"]}
    by_name = {Path(k).name: k for k in back.image_keys()}
    for key in project.image_keys():
        original = [s for s in project.load(key).shapes if s.is_area]
        imported = back.load(by_name[Path(key).name]).shapes
        assert len(imported) == len(original)
        assert all(s.source == "import" and s.kind == "polygon" for s in imported)
        for s in original:
            want = geometry.shape_to_mask(s, H, W)  # the pixels inside the image
            ious = [geometry.mask_iou(want, geometry.shape_to_mask(t, H, W)) for t in imported if t.label == s.label]
            assert max(ious) >= 0.98, (key, s.kind, ious)
    holed = [s for s in back.load(by_name["a.png"]).shapes if s.label == "cat"]
    assert len(holed) == 1 and len(holed[0].holes) == 1  # the cut line came back as a hole
    assert back.load(by_name["a.png"]).status == "done"

    yolo.import_dataset(out, back, JobContext())  # importing again replaces, never doubles
    assert len(back.load(by_name["a.png"]).shapes) == 3


def test_data_yaml_layout_links_and_empty_label_files(project, tmp_path):
    out = tmp_path / "out"
    export_project("yolo", project, out, JobContext(), link_images=True)
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert data == {"path": str(out.resolve()), "train": "images/train", "val": "images/val",
                    "names": {0: "cat", 1: "dog"}}  # background and void get no index
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert files == {"data.yaml", MANIFEST, "images/train/a.png", "images/train/b.png", "images/train/d.png",
                     "images/val/c.jpg", "labels/train/a.txt", "labels/train/b.txt", "labels/train/d.txt",
                     "labels/val/c.txt"}
    assert (out / "labels/val/c.txt").read_text() == ""
    assert [ln[0] for ln in read_lines(out / "labels/train/a.txt")] == [0, 1, 1]
    assert os.path.samefile(out / "images/train/a.png", project.image_path("images/a.png"))  # hard link

    copied = tmp_path / "copied"
    export_project("yolo", project, copied, JobContext())  # the default copies
    assert not os.path.samefile(copied / "images/val/c.jpg", project.image_path("images/c.jpg"))
    assert (copied / "images/val/c.jpg").read_bytes() == project.image_path("images/c.jpg").read_bytes()


def test_coordinates_are_normalised_and_clipped_to_the_image(project, tmp_path):
    out = tmp_path / "out"
    export_project("yolo", project, out, JobContext())
    (line,) = read_lines(out / "labels/train/b.txt")
    xs, ys = np.array(line[1::2]), np.array(line[2::2])
    assert line[0] == 0 and xs.max() == 1.0 and 0 <= xs.min() and ys.max() <= 1
    assert np.isclose(ys.max(), 40 / H, atol=1e-6) and np.isclose(xs.min(), 40 / W, atol=1e-6)
    (rect, _mask) = [ln for ln in read_lines(out / "labels/train/a.txt") if ln[0] == 1]
    assert len(rect) == 1 + 8 and sorted(set(np.round(np.array(rect[1::2]) * W, 4))) == [34, 60]


def test_reexport_after_removing_an_image_leaves_no_stale_label(project, tmp_path):
    out = tmp_path / "out"
    export_project("yolo", project, out, JobContext())
    project.annotation_path("images/b.png").unlink()
    project.image_path("images/b.png").unlink()
    project.splits["train"].remove("images/b.png")
    project.save()
    project.refresh()
    ctx = JobContext()
    export_project("yolo", project, out, ctx)
    assert sorted(ctx.report.outputs["removed"]) == ["images/train/b.png", "labels/train/b.txt"]
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {MANIFEST}
    assert files == set(json.loads((out / MANIFEST).read_text())["files"]) and "labels/train/b.txt" not in files


def test_one_split_and_a_missing_train_split(project, tmp_path):
    out = tmp_path / "out"
    ctx = JobContext()
    export_project("yolo", project, out, ctx, split="val")
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert data["val"] == data["train"] == "images/val"
    assert any("no train images" in w for w in ctx.report.warnings)
    assert not (out / "labels" / "train").exists()


def test_cli_export_prints_the_summary(project, tmp_path, capsys):
    project.close()
    out = tmp_path / "out"
    rc = cli.main(["export", "yolo", "--project", str(project.root), "--out", str(out), "-q"])
    stdout, stderr = capsys.readouterr()
    assert rc == 0
    assert f"exported yolo to {out}" in stdout
    assert "export yolo: 4 done, 1 warnings" in stderr and "1 point shape(s) not exported" in stderr
    assert (out / "labels/train/a.txt").is_file()
    rc = cli.main(["import", "yolo", str(out / "data.yaml"), "--project", str(tmp_path / "back"), "-q"])
    stdout, stderr = capsys.readouterr()
    assert rc == 0 and "4 images added, 4 in the project, 2 classes; splits train 3, val 1" in stdout


def test_images_are_copied_where_they_cannot_be_linked(project, tmp_path, monkeypatch):
    def no_links(src, dst, *a, **k):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_links)
    out = tmp_path / "out"
    export_project("yolo", project, out, JobContext())
    copy = out / "images/train/a.png"
    assert not os.path.samefile(copy, project.image_path("images/a.png"))
    assert copy.read_bytes() == project.image_path("images/a.png").read_bytes()
    assert "images/train/a.png" in json.loads((out / MANIFEST).read_text())["files"]
    assert not [p for p in out.rglob("*.tmp")]


# ------------------------------------------------------------------------ holes, cuts


def test_shapes_sharing_an_instance_id_are_one_object():
    parts = [Shape(kind="rectangle", label="dog", points=[[2, 2], [20, 20]], instance_id=5),
             Shape(kind="rectangle", label="dog", points=[[40, 10], [60, 40]], instance_id=5),
             Shape(kind="rectangle", label="cat", points=[[30, 30], [36, 36]], instance_id=5),
             Shape(kind="rectangle", label="dog", points=[[0, 0], [9, 9]], weak=True)]
    skipped = Counter()
    lines = yolo.label_lines(ImageAnnotation("", W, H, parts), {"cat": 0, "dog": 1}, skipped)
    assert sorted(ln.split()[0] for ln in lines) == ["0", "1"] and skipped == {("kind", "weak rectangle"): 1}
    dog = next([float(v) for v in ln.split()[1:]] for ln in lines if ln.startswith("1 "))
    want = geometry.shape_to_mask(parts[0], H, W) | geometry.shape_to_mask(parts[1], H, W)
    assert geometry.mask_iou(ring_mask(dog), want) >= 0.98


def test_bridged_polygon_rasterises_like_the_polygon_with_holes():
    """Twelve random holes, a large hole with an island in it, and a second part: one ring whose
    fill is the object's mask up to the cuts' boundary pixels (no cut crosses another)."""
    rng = np.random.default_rng(0)
    big_hole = box(70, 50, 110, 82)
    holes = [big_hole]
    while len(holes) < 13:
        x, y = rng.uniform(6, 100), rng.uniform(6, 70)
        hole = box(x, y, x + rng.uniform(3, 12), y + rng.uniform(3, 12))
        if all(hole.distance(other) > 1 for other in holes):
            holes.append(hole)
    geom = box(2, 2, 118, 86)
    for hole in holes:
        geom = geom.difference(hole)
    geom = geom.union(box(80, 58, 96, 74).difference(box(84, 62, 88, 66)))  # island with its own hole
    geom = geom.union(box(125, 10, 145, 80))
    assert len(geometry.geometry_to_rings(geom)) == 3
    h, w = 90, 150
    want = np.zeros((h, w), bool)
    for ext, hs in geometry.geometry_to_rings(geom):
        want |= geometry.polygon_to_mask(ext, hs, h, w, "coco")
    ring = geometry.bridged_ring(geom)
    got = geometry.polygon_to_mask(ring, (), h, w, "coco")
    assert (got != want).sum() <= 60  # at most the boundary pixels some cuts pass through
    assert geometry.mask_iou(got, want) >= 0.99
    drawn = np.zeros((h, w), np.uint8)  # Ultralytics' own rasteriser: cv2.fillPoly on pixel coordinates
    cv2.fillPoly(drawn, [np.round(ring).astype(np.int32)], 1)
    assert geometry.mask_iou(drawn.astype(bool), want) >= 0.9
    repaired = yolo.parse_line("0 " + " ".join(f"{v:.6f}" for v in (ring / [w, h]).ravel()), {0: "a"}, w, h)
    assert sorted(len(s.holes) for s in repaired) == [0, 1, 13]  # import gives the holes back


# ------------------------------------------------------------------------------ import


def write_dataset(root: Path, data: dict, labels: dict[str, str], size=(W, H)) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "data.yaml").write_text(yaml.safe_dump(data))
    for stem, text in labels.items():
        noise_image(root / "images" / "train" / f"{stem}.jpg", 0, size)
        (root / "labels" / "train").mkdir(parents=True, exist_ok=True)
        (root / "labels" / "train" / f"{stem}.txt").write_text(text)
    return root


def test_malformed_lines_are_reported_with_file_and_line(tmp_path):
    src = write_dataset(tmp_path / "ds", {"train": "images/train", "val": "images/train", "names": ["a", "b"]}, {
        "x": "0 0.1 0.1 0.5 0.1 0.5 0.5\n"
             "1 0.1 0.1 0.5 0.1 0.5\n"          # odd number of coordinates
             "1 0.5 0.5 0.2 0.2\n"              # a detection box, 2 points
             "\n"
             "0 0.1 0.1 1.5 0.1 0.5 0.5\n"      # not normalised
             "7 0.1 0.1 0.5 0.1 0.5 0.5\n"      # unknown class
             "car 0.1 0.1 0.5 0.1 0.5 0.5\n"
             "1 0.2 0.2 0.6 0.6 0.9 0.9\n"      # collinear: no area
             "1 0.6 0.6 1.0004 0.6 1.0 1.0\n"}) # within the rounding tolerance
    proj = Project.create(tmp_path / "proj")
    ctx = JobContext()
    yolo.import_dataset(src, proj, ctx)
    label = src / "labels" / "train" / "x.txt"
    assert [e.split(": ")[0] for e in ctx.report.errors] == [f"{label}:{n}" for n in (2, 3, 5, 6, 7, 8)]
    assert "odd number of coordinates" in ctx.report.errors[0] and "detection box" in ctx.report.errors[1]
    assert "outside [0, 1]" in ctx.report.errors[2] and "class index 7" in ctx.report.errors[3]
    assert ctx.report.done == 1
    shapes = proj.load(proj.image_keys()[0]).shapes
    assert [s.label for s in shapes] == ["a", "b"]
    assert np.allclose(shapes[0].points, [[0.1 * W, 0.1 * H], [0.5 * W, 0.1 * H], [0.5 * W, 0.5 * H]])
    assert shapes[1].points[:, 0].max() == W
    with pytest.raises(LabelerError, match=r"x\.txt:2: odd number"):
        yolo.import_dataset(src, Project.create(tmp_path / "strict"), JobContext(on_error="raise"))


@pytest.mark.parametrize("entry", ["../../x", "images/../../outside"])
def test_entries_leading_outside_the_dataset_are_refused(tmp_path, entry):
    outside = tmp_path / "outside"
    noise_image(outside / "secret.png", 0)
    src = write_dataset(tmp_path / "a" / "ds", {"train": entry, "val": "images/train", "names": ["a"]}, {"x": ""})
    proj = Project.create(tmp_path / "proj")
    with pytest.raises(FormatError, match=r"data\.yaml: train .* leads outside the dataset folder"):
        yolo.import_dataset(src, proj, JobContext())
    assert proj.image_keys() == []


def test_absolute_path_outside_is_refused_and_a_stale_one_falls_back(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    src = write_dataset(tmp_path / "ds", {"path": str(tmp_path / "elsewhere"), "train": "images/train",
                                          "val": "images/train", "names": {0: "a"}}, {"x": "0 0 0 1 0 1 1\n"})
    with pytest.raises(FormatError, match="path .* leads outside"):
        yolo.import_dataset(src, Project.create(tmp_path / "p1"), JobContext())
    (src / "data.yaml").write_text(yaml.safe_dump({"path": "/no/such/machine/ds", "train": "images/train",
                                                   "val": "images/train", "names": {0: "a"}}))
    ctx = JobContext()
    proj = Project.create(tmp_path / "p2")
    yolo.import_dataset(src / "data.yaml", proj, ctx)
    assert ctx.report.done == 1 and any("does not exist" in w for w in ctx.report.warnings)
    assert proj.load(proj.image_keys()[0]).shapes[0].label == "a"


# ------------------------------------------------------------------------------ CamVid


@pytest.mark.camvid
def test_camvid_val_export_matches_the_labels(camvid, tmp_path):
    stems = (camvid / "val.txt").read_text().split()[:5]
    src = tmp_path / "subset"
    (src / "images").mkdir(parents=True)
    (src / "masks").mkdir()
    for stem in stems:
        (src / "images" / f"{stem}.png").symlink_to(camvid / "val" / f"{stem}.png")
        (src / "masks" / f"{stem}.png").symlink_to(camvid / "valannot" / f"{stem}.png")
    proj = Project.create(tmp_path / "proj")
    mask_png.import_dataset(src, proj, JobContext(), images="images", masks="masks", schema="camvid")
    proj.splits = {"val": proj.image_keys()}
    out = tmp_path / "out"
    ctx = JobContext()
    export_project("yolo", proj, out, ctx)
    assert ctx.report.errors == [] and ctx.report.done == 5
    names = yaml.safe_load((out / "data.yaml").read_text())["names"]
    assert list(names.values()) == load_preset("camvid").names()
    ious = []
    for stem in stems:
        truth = np.asarray(Image.open(camvid / "valannot" / f"{stem}.png"))
        h, w = truth.shape
        painted = {}
        for values in read_lines(out / "labels" / "val" / f"{stem}.txt"):
            cls = int(values[0])
            assert cls in names and len(values) % 2 == 1 and len(values) >= 7
            assert min(values[1:]) >= 0 and max(values[1:]) <= 1
            painted[cls] = painted.get(cls, np.zeros((h, w), bool)) | ring_mask(values[1:], w, h)
        assert set(painted) == {c for c in np.unique(truth) if c in names}
        ious += [geometry.mask_iou(m, truth == load_preset("camvid").by_name(names[c]).id) for c, m in painted.items()]
    assert np.mean(ious) >= 0.95, ious
