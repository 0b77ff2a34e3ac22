import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from labeler.core import geometry
from labeler.core.annotation import ImageAnnotation
from labeler.core.errors import FormatError
from labeler.core.jobs import JobContext
from labeler.core.project import Project
from labeler.core.schema import LabelClass, Schema, load_preset
from labeler.core.shapes import Shape
from labeler.formats import coco
from labeler.formats.registry import detect_format, get_format

H, W = 60, 80


def schema():
    return Schema([LabelClass(1, "cat", (255, 0, 0), True, supercategory="animal"),
                   LabelClass(2, "dog", (0, 255, 0), True),
                   LabelClass(3, "grass", (0, 0, 255), False)], name="pets")


def disk_mask(cx, cy, r):
    yy, xx = np.mgrid[:H, :W]
    return (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r


def sample_shapes(seed):
    rng = np.random.default_rng(seed)
    ox, oy = rng.integers(0, 6, size=2)
    m = disk_mask(60 - ox, 40 - oy, 9)
    m[38 - oy:42 - oy, 58 - ox:62 - ox] = False  # a mask with a hole
    return [
        Shape("polygon", "cat", [[2 + ox, 3 + oy], [20.5 + ox, 4 + oy], [15 + ox, 22.3 + oy]]),
        Shape("rectangle", "dog", [[30 + ox, 2], [45.5, 12 + oy]]),
        Shape("circle", "cat", [[12, 45], [12, 53.5 - oy]]),
        Shape("polygon", "dog", [[25, 25], [45, 25], [45, 45], [25, 45]],
              holes=[[[30, 30], [38, 30], [38, 38], [30, 38]]]),
        Shape("mask", "cat", rle=geometry.rle_encode(m)),
        # two parts of one dog: one annotation with two polygons
        Shape("polygon", "dog", [[70, 2], [78, 2], [78, 10]], instance_id=7),
        Shape("polygon", "dog", [[70, 20], [78, 20], [74, 28]], instance_id=7),
        Shape("polygon", "grass", [[0, 55], [79, 55], [79, 59], [0, 59]]),
        Shape("point", "cat", [[5, 5]]),
        Shape("scribble", "dog", [[1, 1], [5, 9]], width=3),
    ]


def make_project(root: Path, n_images=3, shapes_for=sample_shapes) -> Project:
    proj = Project.create(root, schema(), image_roots=["images"])
    rng = np.random.default_rng(0)
    for i in range(n_images):
        path = root / "images" / f"img{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (H, W, 3), dtype=np.uint8)).save(path)
    proj.refresh()
    for i, key in enumerate(proj.image_keys()):
        proj.save_annotation(key, ImageAnnotation("", W, H, shapes_for(i)))
    return proj


@pytest.fixture
def project(tmp_path):
    proj = make_project(tmp_path / "proj")
    yield proj
    proj.close()


@pytest.fixture
def empty_project(tmp_path):
    proj = Project.create(tmp_path / "target", Schema([], name="empty"))
    yield proj
    proj.close()


def instance_masks(proj: Project, key: str) -> list[tuple[str, bytes]]:
    """Sorted (class, packed mask) per instance: shapes sharing an instance_id are merged."""
    ann = proj.load(key)
    groups = coco.group_instances(ann.shapes, lambda s: True)
    out = []
    for g in groups:
        m = np.zeros((ann.height, ann.width), bool)
        for s in g:
            m |= geometry.shape_to_mask(s, ann.height, ann.width, "coco")
        out.append((g[0].label, np.packbits(m).tobytes()))
    return sorted(out)


def original_key(source: Project, target: Project, key: str) -> str:
    """The key in ``source`` of the image file that ``key`` names in ``target``."""
    path = target.image_path(key).resolve()
    return next(k for k in source.image_keys() if source.image_path(k).resolve() == path)


def test_export_loads_in_pycocotools_and_scores_ap_one(project, tmp_path):
    ctx = JobContext()
    path = coco.export_dataset(project, tmp_path / "out", ctx)
    assert path == tmp_path / "out" / "annotations" / "instances_all.json"
    gt = COCO(str(path))
    assert sorted(gt.getImgIds()) == [1, 2, 3]
    assert sorted(gt.getAnnIds()) == list(range(1, len(gt.anns) + 1))
    # things only by default, with a supercategory
    assert {c["name"]: c["supercategory"] for c in gt.loadCats(gt.getCatIds())} == {"cat": "animal", "dog": "thing"}
    # 5 instances per image (the two dog parts merge; grass is stuff; point and scribble are weak)
    assert len(gt.anns) == 3 * 6
    for ann in gt.anns.values():
        rle = gt.annToRLE(ann)
        assert ann["area"] == int(mask_utils.area(rle))
        assert ann["bbox"] == mask_utils.toBbox(rle).tolist()
    dets = [{"image_id": a["image_id"], "category_id": a["category_id"], "segmentation": gt.annToRLE(a), "score": 1.0}
            for a in gt.anns.values()]
    ev = COCOeval(gt, gt.loadRes(dets), "segm")
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    assert ev.stats[0] == 1.0
    for img in gt.dataset["images"]:
        assert (project.root / img["file_name"]).is_file()
    assert not (tmp_path / "out" / "images").exists()


def test_segmentation_kinds_holes_crowd_and_score(tmp_path):
    def shapes(i):
        return [Shape("polygon", "cat", [[2, 3], [20, 4], [15, 22]], score=0.75),
                Shape("polygon", "dog", [[25, 25], [45, 25], [45, 45], [25, 45]],
                      holes=[[[30, 30], [38, 30], [38, 38], [30, 38]]]),
                Shape("rectangle", "cat", [[50, 5], [60, 15]], flags={"iscrowd": True}),
                Shape("polygon", "dog", [[70, 2], [78, 2], [78, 10]], instance_id=7),
                Shape("polygon", "dog", [[70, 20], [78, 20], [74, 28]], instance_id=7)]
    proj = make_project(tmp_path / "p", 1, shapes)
    try:
        d = json.loads(coco.export_dataset(proj, tmp_path / "out", JobContext(), include_stuff=True).read_text())
    finally:
        proj.close()
    assert [c["name"] for c in d["categories"]] == ["cat", "dog", "grass"]
    tri, holed, crowd, parts = d["annotations"]
    assert tri["segmentation"] == [[2.0, 3.0, 20.0, 4.0, 15.0, 22.0]] and tri["score"] == 0.75
    assert tri["iscrowd"] == 0 and "score" not in holed
    assert isinstance(holed["segmentation"]["counts"], str) and holed["iscrowd"] == 0
    hm = mask_utils.decode({"size": holed["segmentation"]["size"], "counts": holed["segmentation"]["counts"]})
    assert hm[27, 27] == 1 and hm[34, 34] == 0 and hm.sum() == 20 * 20 - 8 * 8 == holed["area"]
    assert crowd["iscrowd"] == 1 and isinstance(crowd["segmentation"], dict) and crowd["area"] == 100
    assert len(parts["segmentation"]) == 2 and parts["category_id"] == 2


def test_round_trip_is_pixel_exact(project, empty_project, tmp_path):
    path = coco.export_dataset(project, tmp_path / "out", JobContext(), include_stuff=True)
    ctx = JobContext()
    coco.import_dataset(path, empty_project, ctx, images=project.root)
    assert ctx.report.ok and ctx.report.done == 3
    assert {c.name: c.id for c in empty_project.schema} == {"cat": 1, "dog": 2, "grass": 3}
    keys = empty_project.image_keys()
    assert len(keys) == 3
    for key in keys:
        original = original_key(project, empty_project, key)
        imported = empty_project.load(key)
        assert sorted({s.kind for s in imported.shapes}) == ["mask", "polygon"]
        assert instance_masks(empty_project, key) == instance_masks(project, original)
    # images are registered where they are, never copied into the target project
    assert not any(p.suffix == ".png" for p in empty_project.root.rglob("*"))


def test_weak_boxes_round_trip(tmp_path, empty_project):
    def shapes(i):
        return [Shape("rectangle", "cat", [[40.5, 30], [10, 5.25]], weak=True, score=0.5),
                Shape("polygon", "dog", [[2, 3], [20, 4], [15, 22]])]
    proj = make_project(tmp_path / "p", 1, shapes)
    try:
        path = coco.export_dataset(proj, tmp_path / "out", JobContext())
        d = json.loads(path.read_text())
        box = next(a for a in d["annotations"] if a["category_id"] == 1)
        assert box["segmentation"] == [] and box["bbox"] == [10.0, 5.25, 30.5, 24.75] and box["score"] == 0.5
        coco.import_dataset(path, empty_project, JobContext(), images=proj.root)
    finally:
        proj.close()
    (key,) = empty_project.image_keys()
    weak = [s for s in empty_project.load(key).shapes if s.label == "cat"]
    assert len(weak) == 1 and weak[0].kind == "rectangle" and weak[0].weak and weak[0].score == 0.5
    assert np.allclose(weak[0].points, [[10, 5.25], [40.5, 30]])
    again = json.loads(coco.export_dataset(empty_project, tmp_path / "out2", JobContext()).read_text())
    assert [(a["bbox"], a["segmentation"]) for a in again["annotations"]] == \
        [(a["bbox"], a["segmentation"]) for a in d["annotations"]]


def outside_project(folder: Path, proj: Project) -> set:
    """Every file and folder under ``folder`` but outside the project, with size and mtime."""
    return {(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")
            if p != proj.root and proj.root not in p.parents}


def test_unsafe_file_names_are_skipped_and_reported(tmp_path):
    root = tmp_path / "data"
    (root / "images").mkdir(parents=True)
    outside = tmp_path / "secret.png"
    for p in (outside, root / "images" / "ok.png"):
        Image.new("RGB", (W, H)).save(p)
    doc = {"images": [{"id": 1, "file_name": "../../secret.png", "width": W, "height": H},
                      {"id": 2, "file_name": str(outside), "width": W, "height": H},
                      {"id": 3, "file_name": "ok.png", "width": W, "height": H}],
           "annotations": [{"id": i, "image_id": i, "category_id": 1, "iscrowd": 0,
                            "segmentation": [[1, 1, 20, 1, 20, 20]], "bbox": [1, 1, 19, 19], "area": 1}
                           for i in (1, 2, 3)],
           "categories": [{"id": 1, "name": "cat", "supercategory": "animal"}]}
    src = root / "images" / "instances_x.json"
    src.write_text(json.dumps(doc))
    proj = Project.create(tmp_path / "proj", Schema([]))
    before = outside_project(tmp_path, proj)
    ctx = JobContext()
    try:
        coco.import_dataset(src, proj, ctx)
        assert ctx.report.done == 1 and ctx.report.skipped == 2
        assert any("'../../secret.png'" in e for e in ctx.report.errors)
        assert any(repr(str(outside)) in e and "absolute" in e for e in ctx.report.errors)
        assert all(str(src) in e for e in ctx.report.errors)
        (key,) = proj.image_keys()
        assert key.endswith("data/images/ok.png")
        assert [s.kind for s in proj.load(key).shapes] == ["polygon"]
    finally:
        proj.close()
    assert outside_project(tmp_path, proj) == before


def test_corrupt_json_names_the_file(tmp_path, empty_project):
    bad = tmp_path / "instances_val.json"
    bad.write_text('{"images": [1, 2')
    with pytest.raises(FormatError, match="instances_val.json: corrupt JSON at line 1"):
        coco.import_dataset(bad, empty_project, JobContext())
    bad.write_text('{"foo": 1}')
    with pytest.raises(FormatError, match="instances_val.json: not a COCO file"):
        coco.import_dataset(bad, empty_project, JobContext())


def test_uncompressed_rle_and_images_found_beside(tmp_path, empty_project):
    ann_dir, img_dir = tmp_path / "annotations", tmp_path / "val2017"
    ann_dir.mkdir()
    img_dir.mkdir()
    Image.new("RGB", (W, H)).save(img_dir / "a.jpg")
    m = disk_mask(30, 30, 12)
    raw = uncompressed_counts(m)
    doc = {"images": [{"id": 5, "file_name": "a.jpg", "width": W, "height": H}],
           "annotations": [{"id": 9, "image_id": 5, "category_id": 4, "iscrowd": 1, "area": 0, "bbox": [0, 0, 1, 1],
                            "segmentation": {"size": [H, W], "counts": raw}}],
           "categories": [{"id": 4, "name": "person", "supercategory": "person"}]}
    src = ann_dir / "instances_val2017.json"
    src.write_text(json.dumps(doc))
    assert detect_format(src) == "coco" and get_format("coco") is coco
    ctx = JobContext()
    coco.import_dataset(src, empty_project, ctx)
    assert ctx.report.ok and Path(ctx.report.outputs["images_dir"]) == img_dir.resolve()
    (key,) = empty_project.image_keys()
    (s,) = empty_project.load(key).shapes
    assert s.kind == "mask" and s.flags == {"iscrowd": True}
    assert np.array_equal(geometry.rle_decode(s.rle), m)
    assert empty_project.schema.by_name("person").id == 4


def uncompressed_counts(m: np.ndarray) -> list[int]:
    """COCO's uncompressed RLE: alternating run lengths, column-major, starting with zeros."""
    flat = m.flatten(order="F")
    counts = [len(list(g)) for _, g in itertools.groupby(flat)]
    return [0] + counts if flat[0] else counts


def test_copy_images_and_reimport_from_export_folder(project, empty_project, tmp_path):
    out = tmp_path / "out"
    path = coco.export_dataset(project, out, JobContext(), split=None, copy_images=True)
    d = json.loads(path.read_text())
    assert [im["file_name"] for im in d["images"]] == ["images/img0.png", "images/img1.png", "images/img2.png"]
    for im in d["images"]:
        assert (out / "images" / im["file_name"]).read_bytes() == (project.root / im["file_name"]).read_bytes()
    ctx = JobContext()
    coco.import_dataset(path, empty_project, ctx)  # images found in ../images by default
    assert ctx.report.ok and ctx.report.done == 3
    assert all(str(empty_project.image_path(k).resolve()).startswith(str(out.resolve())) for k in empty_project.image_keys())


def test_split_names_the_file(project, tmp_path):
    project.splits = {"val": [project.image_keys()[1]]}
    path = coco.export_dataset(project, tmp_path / "out", JobContext(), split="val")
    assert path.name == "instances_val.json"
    assert [im["file_name"] for im in json.loads(path.read_text())["images"]] == ["images/img1.png"]
    assert detect_format(tmp_path / "out") == "coco"


# ---------------------------------------------------------------------------------- CamVid


def camvid_project(camvid: Path, root: Path, n: int = 3) -> Project:
    """A few CamVid images as a project: a mask per connected component of each thing class,
    one mask per stuff class (void pixels stay unlabelled)."""
    import cv2

    schema = load_preset("camvid")
    proj = Project.create(root, schema, image_roots=[])
    stems = sorted(p.stem for p in (camvid / "train").glob("*.png"))[:n]
    keys = proj.add_images([camvid / "train" / f"{s}.png" for s in stems])
    for key, stem in zip(keys, stems):
        label = np.asarray(Image.open(camvid / "trainannot" / f"{stem}.png"))
        h, w = label.shape
        shapes, inst = [], 0
        for c in schema:
            m = label == c.id
            if not m.any():
                continue
            if not c.is_thing:
                shapes.append(Shape("mask", c.name, rle=geometry.rle_encode(m)))
                continue
            n_comp, comp = cv2.connectedComponents(m.astype(np.uint8), connectivity=8)
            for j in range(1, n_comp):
                inst += 1
                shapes.append(Shape("mask", c.name, rle=geometry.rle_encode(comp == j), instance_id=inst))
        proj.save_annotation(key, ImageAnnotation("", w, h, shapes))
    proj.save()
    return proj


@pytest.mark.camvid
def test_camvid_instances_round_trip(camvid, tmp_path, empty_project):
    proj = camvid_project(camvid, tmp_path / "camvid_proj")
    try:
        ctx_out = JobContext()
        path = coco.export_dataset(proj, tmp_path / "out", ctx_out, include_stuff=True)
        gt = COCO(str(path))
        for a in gt.anns.values():
            assert a["area"] == int(mask_utils.area(gt.annToRLE(a)))
        images_dir = Path(ctx_out.report.outputs["images_dir"])
        assert Path(images_dir).resolve() == (camvid / "train").resolve()
        ctx = JobContext()
        coco.import_dataset(path, empty_project, ctx, images=images_dir)
        assert ctx.report.ok and ctx.report.done == 3
        for key in empty_project.image_keys():
            original = original_key(proj, empty_project, key)
            assert instance_masks(empty_project, key) == instance_masks(proj, original)
    finally:
        proj.close()


def test_bad_files_and_categories_are_reported_and_the_rest_goes_on(tmp_path, empty_project):
    def shapes(i):
        return [Shape("polygon", "dog", [[2, 3], [20, 4], [15, 22]])]
    proj = make_project(tmp_path / "p", 2, shapes)
    try:
        broken = proj.annotation_path(proj.image_keys()[0])
        broken.write_text('{"shapes": [')
        ctx = JobContext()
        path = coco.export_dataset(proj, tmp_path / "out", ctx)
        (err,) = ctx.report.errors
        assert str(broken) in err and "corrupt JSON" in err and ctx.report.done == 1
        d = json.loads(path.read_text())
        assert [im["file_name"] for im in d["images"]] == ["images/img1.png"]
        assert [a["category_id"] for a in d["annotations"]] == [2]
        d["annotations"].append(dict(d["annotations"][0], id=2, category_id=99))
        path.write_text(json.dumps(d))
        ctx = JobContext()
        coco.import_dataset(path, empty_project, ctx, images=proj.root)
    finally:
        proj.close()
    (err,) = ctx.report.errors
    assert str(path) in err and "unknown category_id 99" in err
    (key,) = empty_project.image_keys()
    assert [s.label for s in empty_project.load(key).shapes] == ["dog"]
