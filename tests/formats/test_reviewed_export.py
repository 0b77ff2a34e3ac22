"""Exports leave out proposals awaiting review, as training does, unless asked to include them."""

import json

import numpy as np
from PIL import Image

from labeler import cli
from labeler.core.annotation import ImageAnnotation
from labeler.core.jobs import JobContext
from labeler.core.project import Project
from labeler.core.schema import Schema
from labeler.core.shapes import Shape
from labeler.formats.registry import export_project


def rect(label, x0, y0, x1, y1, **kw):
    return Shape(kind="rectangle", label=label, points=[[x0, y0], [x1, y1]], **kw)


def make_project(root):
    root.mkdir()
    for name in ("a.png", "b.png"):
        Image.fromarray(np.full((40, 50, 3), 90, np.uint8)).save(root / name)
    with Project.create(root, Schema.from_names(["background", "car", "person"])) as p:
        keys = p.add_images([root / "a.png", root / "b.png"])
        hand = rect("car", 2, 2, 12, 12)
        sam = rect("person", 20, 5, 30, 20, source="sam", score=0.9, flags={"proposal": True})
        prelabel = rect("car", 35, 20, 45, 35, source="model", score=0.6)
        accepted = rect("person", 5, 25, 15, 35, source="sam", flags={"proposal": False})
        p.save_annotation(keys[0], ImageAnnotation("a.png", 50, 40, [hand, sam, prelabel, accepted],
                                                   status="in_progress"))
        p.save_annotation(keys[1], ImageAnnotation("b.png", 50, 40, [rect("car", 1, 1, 9, 9, source="model")],
                                                   status="done"))
    return root


def coco_counts(out):
    (ann_file,) = (out / "annotations").glob("*.json")
    data = json.loads(ann_file.read_text())
    names = {im["id"]: im["file_name"].rsplit("/", 1)[-1] for im in data["images"]}
    counts = {}
    for a in data["annotations"]:
        counts[names[a["image_id"]]] = counts.get(names[a["image_id"]], 0) + 1
    return counts


def test_cli_export_leaves_out_unreviewed_proposals_and_says_so(tmp_path, capsys):
    project = make_project(tmp_path / "p")
    rc = cli.main(["export", "coco", "--project", str(project), "--out", str(tmp_path / "o"), "-q"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    # a.png: the hand-drawn car and the accepted SAM shape; b.png (done): its pre-label counts
    assert coco_counts(tmp_path / "o") == {"a.png": 2, "b.png": 1}
    assert "2 proposals awaiting review on 1 images" in out + err and "include_proposals=true" in out + err
    rc = cli.main(["export", "coco", "--project", str(project), "--out", str(tmp_path / "all"), "-q",
                   "-o", "include_proposals=true"])
    capsys.readouterr()
    assert rc == 0 and coco_counts(tmp_path / "all") == {"a.png": 4, "b.png": 1}
    # the project's own files are untouched by the filtering
    with Project.open(project, read_only=True) as p:
        assert len(p.load(p.image_keys()[0]).shapes) == 4


def test_dense_export_paints_no_unreviewed_proposal(tmp_path):
    project = make_project(tmp_path / "p")
    ctx = JobContext()
    with Project.open(project, read_only=True) as p:
        export_project("voc", p, tmp_path / "voc", ctx)
    assert ctx.report.outputs["proposals_left_out"] == 2
    (mask,) = [m for m in (tmp_path / "voc").rglob("SegmentationClass/a.png")]
    labels = np.asarray(Image.open(mask))
    assert (labels[2:12, 2:12] == 1).all()  # the hand-drawn car
    unlabelled = labels[0, 49]  # a pixel no shape covers (background or void, as VOC decides)
    assert (labels[6:19, 21:29] == unlabelled).all()  # where the SAM proposal was
    assert (labels[21:34, 36:44] == unlabelled).all()  # where the unaccepted pre-label was
    assert (labels[26:34, 6:14] == 2).all()  # the accepted SAM shape
