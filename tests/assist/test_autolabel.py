"""autolabel: weak labels -> proposals with GrabCut, superpixels and a tiny SAM, and `labeler autolabel`."""

import numpy as np
import pytest
from PIL import Image

from labeler.assist.autolabel import (PROPOSAL_FLAG, autolabel, group_weak_labels, regenerate,
                                      resolve_engine)
from labeler.cli import main
from labeler.core import geometry
from labeler.core.errors import LabelerError
from labeler.core.jobs import Cancelled, JobContext
from labeler.core.project import Project
from labeler.core.schema import Schema
from labeler.core.shapes import MASK, POINT, RECTANGLE, SCRIBBLE, Shape
from labeler.plugins.grabcut import GrabCutEngine
from labeler.plugins.superpixels import SuperpixelEngine

from .synthetic import scene


def iou(a, b):
    return float((a & b).sum() / max(1, (a | b).sum()))


@pytest.fixture
def street(tmp_path):
    """A project of two synthetic images, each with one red object; returns (project, truths)."""
    root = tmp_path / "proj"
    root.mkdir()
    truths = {}
    for i, kind in enumerate(("ellipse", "rectangle")):
        img, truth, _ = scene(kind, seed=i)
        Image.fromarray(img).save(root / f"img{i}.png")
        truths[f"img{i}.png"] = truth
    project = Project.create(root, Schema.from_names(["car", "road"]))
    yield project, truths
    project.close()


def put(project, key, shapes):
    ann = project.load(key)
    ann.shapes = list(shapes)
    project.save_annotation(key, ann)


def box_of(truth, **kw):
    ys, xs = np.nonzero(truth)
    return Shape(RECTANGLE, "car", points=[[xs.min(), ys.min()], [xs.max() + 1, ys.max() + 1]], weak=True, **kw)


def proposals(ann):
    return [s for s in ann.shapes if s.is_proposal]


def test_grabcut_from_boxes_writes_linked_proposals_and_keeps_accepted_shapes(street):
    project, truths = street
    boxes = {}
    for key, truth in truths.items():
        boxes[key] = box_of(truth, instance_id=5)
        put(project, key, [boxes[key]])
    accepted = Shape(MASK, "road", rle=geometry.rle_encode(np.pad(np.ones((4, 4), bool), ((0, 156), (0, 196)))),
                     source="grabcut", links=(boxes["img0.png"].id,))
    ann = project.load("img0.png")
    ann.shapes.append(accepted)
    project.save_annotation("img0.png", ann)

    ctx = autolabel(project, GrabCutEngine(), "boxes")
    assert ctx.report.ok and ctx.report.done == 2 and ctx.report.outputs["proposals"] == 2
    for key, truth in truths.items():
        (p,) = proposals(project.load(key))
        assert p.kind == MASK and p.source == "grabcut" and p.links == (boxes[key].id,)
        assert p.label == "car" and p.instance_id == 5 and p.flags[PROPOSAL_FLAG] is True and p.score is not None
        assert iou(geometry.rle_decode(p.rle), truth) > 0.85, key

    # a re-run with another engine swaps the proposals; the weak box and the accepted shape stay
    autolabel(project, SuperpixelEngine("slic"), "boxes", keys=["img0.png"])
    shapes = project.load("img0.png").shapes
    assert [s.id for s in shapes if not s.is_proposal] == [boxes["img0.png"].id, accepted.id]
    (p,) = proposals(project.load("img0.png"))
    assert p.source == "superpixel" and iou(geometry.rle_decode(p.rle), truths["img0.png"]) > 0.7
    assert proposals(project.load("img1.png"))[0].source == "grabcut"  # not in --images: untouched


def test_scribbles_of_other_instances_are_background(street):
    project, truths = street
    truth = truths["img0.png"]
    ys, xs = np.nonzero(truth)
    cy, cx = int(ys.mean()), int(xs.mean())
    car = Shape(SCRIBBLE, "car", points=[[cx - 25, cy], [cx + 25, cy]], width=5)
    road = Shape(SCRIBBLE, "road", points=[[5, 5], [190, 5], [190, 150], [5, 150], [5, 10]], width=5)
    put(project, "img0.png", [car, road])
    autolabel(project, GrabCutEngine(), "scribbles", keys=["img0.png"])
    by_label = {p.label: p for p in proposals(project.load("img0.png"))}
    assert by_label["car"].links == (car.id,) and by_label["road"].links == (road.id,)
    assert iou(geometry.rle_decode(by_label["car"].rle), truth) > 0.8

    # as polygons: the road's proposal is a ring around the car, so it keeps a hole
    autolabel(project, GrabCutEngine(), "scribbles", keys=["img0.png"], polygons=True)
    polys = proposals(project.load("img0.png"))
    assert {p.kind for p in polys} == {"polygon"} and len([p for p in polys if p.label == "car"]) >= 1
    assert any(p.holes for p in polys if p.label == "road")
    assert all(p.links == (road.id,) for p in polys if p.label == "road")


def test_regenerate_a_proposal_with_another_engine_from_its_links(street):
    project, truths = street
    box = box_of(truths["img1.png"])
    put(project, "img1.png", [box])
    autolabel(project, GrabCutEngine(), "boxes", keys=["img1.png"])
    (old,) = proposals(project.load("img1.png"))
    new = regenerate(project, "img1.png", old.id, SuperpixelEngine("slic"))
    shapes = project.load("img1.png").shapes
    assert old.id not in {s.id for s in shapes}
    assert [s.id for s in new] == [s.id for s in proposals(project.load("img1.png"))]
    assert new[0].source == "superpixel" and new[0].links == (box.id,)
    with pytest.raises(LabelerError, match="no links"):
        regenerate(project, "img1.png", box.id, GrabCutEngine())


def test_points_group_by_instance_id_and_by_proximity():
    near = [Shape(POINT, "car", points=[[10 + 20 * i, 10]]) for i in range(3)]  # chained gaps of 20 px
    far = Shape(POINT, "car", points=[[150, 150]])
    other_class = Shape(POINT, "road", points=[[12, 12]])
    tagged = [Shape(POINT, "car", points=[[0, 200]], instance_id=2),
              Shape(POINT, "car", points=[[300, 0]], instance_id=2)]
    groups = group_weak_labels(near + [far, other_class] + tagged, "points", cluster_distance=25)
    assert sorted(len(g.shapes) for g in groups) == [1, 1, 2, 3]
    assert {g.links for g in groups} >= {tuple(s.id for s in near), (far.id,), (other_class.id,),
                                        tuple(s.id for s in tagged)}


def test_cancel_stops_between_images_and_keeps_what_was_done(street):
    project, truths = street
    for key, truth in truths.items():
        put(project, key, [box_of(truth)])
    seen = []

    def progress(items, total=None, desc=""):
        for item in items:
            seen.append(item)
            yield item

    ctx = JobContext(progress=progress, cancelled=lambda: len(seen) > 1)
    with pytest.raises(Cancelled):
        autolabel(project, GrabCutEngine(), "boxes", ctx)
    assert len(proposals(project.load("img0.png"))) == 1 and not proposals(project.load("img1.png"))


def test_cli_autolabel(street, capsys, monkeypatch):
    monkeypatch.delenv("LABELER_SAM_CHECKPOINT", raising=False)
    project, truths = street
    put(project, "img0.png", [box_of(truths["img0.png"])])
    root = str(project.root)
    project.close()
    assert main(["autolabel", "--project", root, "--engine", "superpixels", "--from", "boxes", "-q"]) == 0
    err = capsys.readouterr().err
    assert "autolabel (superpixel from boxes, 1 proposals): 1 done, 1 skipped" in err  # img1 has no box
    with Project.open(root) as p:
        assert len(proposals(p.load("img0.png"))) == 1
    assert main(["autolabel", "--project", root, "--engine", "nope", "--from", "boxes"]) == 1
    assert "labeler: error: no proposal engine named 'nope'" in capsys.readouterr().err
    assert main(["autolabel", "--project", root, "--engine", "grabcut", "--from", "boxes",
                 "--images", "missing.png", "-q"]) == 1
    assert "no image 'missing.png'" in capsys.readouterr().err
    assert main(["autolabel", "--project", root, "--engine", "sam", "--from", "points", "-q"]) == 1
    assert "labeler: error: no SAM checkpoint" in capsys.readouterr().err
    assert main(["autolabel", "--project", root, "--engine", "grabcut", "--from", "boxes", "--model", "x.pth"]) == 1
    assert "--model is for the sam engine" in capsys.readouterr().err


def test_tiny_sam_from_points(street, tmp_path):
    from .test_sam import save_tiny

    project, truths = street
    ys, xs = np.nonzero(truths["img0.png"])
    put(project, "img0.png", [Shape(POINT, "car", points=[[xs.mean(), ys.mean()]])])
    save_tiny(tmp_path / "tiny.pth")
    engine = resolve_engine("sam", str(tmp_path / "tiny.pth"))
    ctx = autolabel(project, engine, "points", keys=["img0.png"])
    assert ctx.report.ok
    # random weights: the mask may be empty (then a warning), never an accepted shape
    shapes = project.load("img0.png").shapes
    assert all(s.is_proposal and s.source == "sam" for s in shapes if s.kind == MASK)
    assert len([s for s in shapes if s.kind == MASK]) + len(ctx.report.warnings) == 1
