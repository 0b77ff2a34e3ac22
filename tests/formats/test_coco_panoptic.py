import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from labeler.core.jobs import JobContext
from labeler.core.project import Project
from labeler.core.schema import Schema
from labeler.core.shapes import Shape
from labeler.formats import coco_panoptic as cp
from labeler.formats.registry import detect_format
from labeler.train.panoptic_quality import panoptic_quality
from tests.formats.test_coco import camvid_project, instance_masks, make_project, original_key


def overlapping_shapes(i):
    return [
        # listed first but on top: the dog wins where it overlaps the cat
        Shape("rectangle", "dog", [[20, 10], [40, 30]], z=1),
        Shape("rectangle", "cat", [[5, 5], [30, 25]]),
        # two parts of one cat instance: one segment
        Shape("polygon", "cat", [[50, 2], [70, 2], [70, 12]], instance_id=3),
        Shape("circle", "cat", [[60, 40], [60, 48]], instance_id=3),
        # a second, separate dog
        Shape("polygon", "dog", [[2, 40], [20, 40], [10, 55]], flags={"iscrowd": True}),
        # two grass shapes: one stuff segment; the second grass lies under everything else
        Shape("rectangle", "grass", [[0, 50], [80, 60]], z=-1),
        Shape("rectangle", "grass", [[0, 0], [80, 4]], z=-1),
        Shape("point", "cat", [[1, 1]]),
    ]


@pytest.fixture
def project(tmp_path):
    proj = make_project(tmp_path / "proj", 2, overlapping_shapes)
    yield proj
    proj.close()


@pytest.fixture
def empty_project(tmp_path):
    proj = Project.create(tmp_path / "target", Schema([], name="empty"))
    yield proj
    proj.close()


def read_export(path: Path):
    """``(doc, [(annotation, id map)])`` of a panoptic export."""
    doc = json.loads(path.read_text())
    png_dir = path.with_suffix("")
    maps = [(a, cp.rgb_to_ids(np.asarray(Image.open(png_dir / a["file_name"]).convert("RGB"))))
            for a in doc["annotations"]]
    return doc, maps


def test_ids_decode_from_png_and_match_segments_info(project, tmp_path):
    ctx = JobContext()
    path = cp.export_dataset(project, tmp_path / "out", ctx)
    assert path == tmp_path / "out" / "annotations" / "panoptic_all.json" and ctx.report.done == 2
    doc, maps = read_export(path)
    assert {c["name"]: c["isthing"] for c in doc["categories"]} == {"cat": 1, "dog": 1, "grass": 0}
    assert [a["file_name"] for a in doc["annotations"]] == ["img0.png", "img1.png"]
    for ann, ids in maps:
        infos = ann["segments_info"]
        assert set(np.unique(ids).tolist()) - {0} == {s["id"] for s in infos}
        names = [next(c["name"] for c in doc["categories"] if c["id"] == s["category_id"]) for s in infos]
        assert sorted(names) == ["cat", "cat", "dog", "dog", "grass"]  # one segment per instance / stuff class
        for s in infos:
            m = ids == s["id"]
            ys, xs = np.nonzero(m)
            assert s["area"] == m.sum()
            assert s["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
        assert [s["iscrowd"] for s in infos] == [0, 0, 0, 1, 0]
        # the dog (z=1) covers the cat where they overlap; grass (z=-1) is under everything
        dog, cat = infos[0]["id"], infos[1]["id"]
        assert ids[20, 25] == dog and ids[8, 8] == cat and ids[26, 10] == 0
        grass = infos[4]["id"]
        assert ids[2, 40] == grass and ids[2, 55] == infos[2]["id"] and ids[52, 10] == infos[3]["id"]


def test_equal_z_later_shape_wins(tmp_path):
    def shapes(i):
        return [Shape("rectangle", "cat", [[0, 0], [30, 30]]), Shape("rectangle", "dog", [[10, 10], [40, 40]])]
    proj = make_project(tmp_path / "p", 1, shapes)
    try:
        _, [(ann, ids)] = read_export(cp.export_dataset(proj, tmp_path / "out", JobContext()))
    finally:
        proj.close()
    cat, dog = (s["id"] for s in ann["segments_info"])
    assert ids[20, 20] == dog and ids[5, 5] == cat
    assert ann["segments_info"][0]["area"] == 30 * 30 - 20 * 20


def test_pq_of_export_against_itself_is_100(project, tmp_path):
    doc, maps = read_export(cp.export_dataset(project, tmp_path / "out", JobContext()))
    isthing = {c["id"]: bool(c["isthing"]) for c in doc["categories"]}
    res = panoptic_quality([(ids, a["segments_info"], ids, a["segments_info"]) for a, ids in maps], isthing)
    assert res["pq"] * 100 == 100 and res["sq"] == 1.0 and res["rq"] == 1.0
    assert res["n"] == 3 and res["things"]["n"] == 2 and res["stuff"]["n"] == 1
    # the crowd dog is neither matched nor missed: 2 dogs listed per image, 1 counted
    assert res["per_category"][2]["tp"] == 2 and res["per_category"][2]["fn"] == 0


def test_pq_hand_made_case():
    gt = np.zeros((10, 10), np.int64)
    gt[0:2] = 1          # A, cat 1, 20 px
    gt[2:5] = 2          # D, cat 4, 30 px
    gt[5:, 0:3] = 3      # B1, cat 2, 15 px
    gt[5:, 3:6] = 4      # C, cat 3, 15 px
    gt[5:, 6:9] = 5      # B2, cat 2, 15 px; column 9 below row 5 is void
    gt_segs = [{"id": 1, "category_id": 1}, {"id": 2, "category_id": 4}, {"id": 3, "category_id": 2},
               {"id": 4, "category_id": 3}, {"id": 5, "category_id": 2}]
    pred = np.zeros((10, 10), np.int64)
    pred[0:3] = 11       # A': IoU 20 / 30 with A
    pred[3:5] = 12       # D': IoU 20 / 30 with D
    pred[5:, 0:3] = 13   # B1 exactly
    pred[5:, 3:6] = 14   # C labelled as cat 2: a false positive for 2, a miss for 3
    pred[5:, 9] = 15     # cat 5, entirely on void: ignored
    pred_segs = [{"id": 11, "category_id": 1}, {"id": 12, "category_id": 4}, {"id": 13, "category_id": 2},
                 {"id": 14, "category_id": 2}, {"id": 15, "category_id": 5}]
    res = panoptic_quality([(gt, gt_segs, pred, pred_segs)])
    per = res["per_category"]
    assert per[1]["pq"] == pytest.approx(2 / 3) and per[1]["rq"] == 1.0
    assert per[4]["pq"] == pytest.approx(2 / 3)
    # cat 2: TP 1 (IoU 1), FP 1, FN 1 -> RQ = 1 / (1 + 0.5 + 0.5)
    assert (per[2]["tp"], per[2]["fp"], per[2]["fn"]) == (1, 1, 1) and per[2]["pq"] == pytest.approx(0.5)
    assert per[3]["pq"] == 0.0 and per[3]["fn"] == 1
    assert 5 not in per and res["n"] == 4
    assert res["pq"] == pytest.approx((2 / 3 + 2 / 3 + 0.5 + 0) / 4)  # 0.4583...
    # IoU of exactly 0.5 is not a match (panopticapi uses >)
    pred2 = pred.copy()
    pred2[0:4] = 11      # A' now 40 px: IoU 20 / 40
    pred2[4] = 12        # D' 10 px: IoU 10 / 30
    res2 = panoptic_quality([(gt, gt_segs, pred2, pred_segs)])
    assert res2["per_category"][1]["tp"] == 0 and res2["per_category"][1]["fn"] == 1


def test_pq_rejects_unlisted_ids():
    m = np.ones((4, 4), np.int64)
    with pytest.raises(ValueError, match="segment id 1"):
        panoptic_quality([(m, [], m, [{"id": 1, "category_id": 1}])])


def test_round_trip_reimports_the_same_segments(project, empty_project, tmp_path):
    path = cp.export_dataset(project, tmp_path / "out", JobContext())
    ctx = JobContext()
    cp.import_dataset(path, empty_project, ctx, images=project.root)
    assert ctx.report.ok and ctx.report.done == 2
    assert {c.name: (c.id, c.is_thing) for c in empty_project.schema} == {
        "cat": (1, True), "dog": (2, True), "grass": (3, False)}
    for key in empty_project.image_keys():
        shapes = empty_project.load(key).shapes
        assert {s.kind for s in shapes} == {"mask"}
        assert [s.instance_id is None for s in shapes] == [False] * 4 + [True]
        assert [bool(s.flags.get("iscrowd")) for s in shapes] == [False, False, False, True, False]
        assert original_key(project, empty_project, key)
    again = cp.export_dataset(empty_project, tmp_path / "again", JobContext())
    (doc1, maps1), (doc2, maps2) = read_export(path), read_export(again)
    assert [a["segments_info"] for a in doc1["annotations"]] == [a["segments_info"] for a in doc2["annotations"]]
    for (_, ids1), (_, ids2) in zip(maps1, maps2):
        assert np.array_equal(ids1, ids2)


def test_png_outside_its_folder_is_refused(project, empty_project, tmp_path):
    path = cp.export_dataset(project, tmp_path / "out", JobContext())
    doc = json.loads(path.read_text())
    doc["annotations"][0]["file_name"] = "../../out/annotations/panoptic_all/img0.png"
    path.write_text(json.dumps(doc))
    ctx = JobContext()
    cp.import_dataset(path, empty_project, ctx, images=project.root)
    assert ctx.report.done == 1 and len(ctx.report.errors) == 1
    assert "resolves outside" in ctx.report.errors[0] and str(path) in ctx.report.errors[0]


def test_detect(project, tmp_path):
    cp.export_dataset(project, tmp_path / "out", JobContext(), split=None)
    assert detect_format(tmp_path / "out") == "coco-panoptic"
    assert detect_format(tmp_path / "out" / "annotations" / "panoptic_all.json") == "coco-panoptic"


@pytest.mark.camvid
def test_camvid_panoptic_round_trip(camvid, tmp_path, empty_project):
    proj = camvid_project(camvid, tmp_path / "camvid_proj")
    try:
        ctx = JobContext()
        path = cp.export_dataset(proj, tmp_path / "out", ctx)
        doc, maps = read_export(path)
        label_of = {c["id"]: c["name"] for c in doc["categories"]}
        for (a, ids), key in zip(maps, proj.image_keys()):
            ann = proj.load(key)
            assert len(a["segments_info"]) == len(ann.shapes)  # the shapes of a label map never hide each other
            assert sorted(label_of[s["category_id"]] for s in a["segments_info"]) == sorted(s.label for s in ann.shapes)
        isthing = {c["id"]: bool(c["isthing"]) for c in doc["categories"]}
        assert panoptic_quality([(i, a["segments_info"], i, a["segments_info"]) for a, i in maps], isthing)["pq"] == 1.0
        cp.import_dataset(path, empty_project, (ictx := JobContext()), images=ctx.report.outputs["images_dir"])
        assert ictx.report.ok and ictx.report.done == 3
        for key in empty_project.image_keys():
            assert instance_masks(empty_project, key) == instance_masks(proj, original_key(proj, empty_project, key))
    finally:
        proj.close()
