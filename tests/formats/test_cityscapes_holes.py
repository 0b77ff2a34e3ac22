"""Cityscapes holes: the exporter's "bridge" method (default) against the old "paint" method.

Every export is drawn by cityscapesscripts' own ``createLabelImage`` / ``createInstanceImage``
(what ``json2labelImg`` / ``json2instanceImg`` write) from the JSON the exporter wrote, and
compared with the source masks painted in z-order.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from cityscapesscripts.helpers.annotation import Annotation
from cityscapesscripts.preparation.json2instanceImg import createInstanceImage
from cityscapesscripts.preparation.json2labelImg import createLabelImage

from labeler.core import geometry
from labeler.core.annotation import ImageAnnotation
from labeler.core.errors import FormatError
from labeler.core.jobs import JobContext
from labeler.core.project import Project
from labeler.core.schema import load_preset
from labeler.core.shapes import Shape
from labeler.formats import cityscapes as cs

CS = load_preset("cityscapes")
H, W = 80, 120


def _box(*boxes, holes=()) -> np.ndarray:
    m = np.zeros((H, W), bool)
    for y0, y1, x0, x1 in boxes:
        m[y0:y1, x0:x1] = True
    for y0, y1, x0, x1 in holes:
        m[y0:y1, x0:x1] = False
    return m


def _mask(label: str, mask: np.ndarray, z: int) -> Shape:
    return Shape("mask", label, rle=geometry.rle_encode(mask), z=z)


def _truth(shapes: list[Shape], h: int = H, w: int = W) -> tuple[np.ndarray, np.ndarray]:
    """labelIds of the source, and the index of the shape seen at each pixel (-1: none)."""
    labels, owner = np.zeros((h, w), np.int64), np.full((h, w), -1)
    for i, s in sorted(enumerate(shapes), key=lambda t: t[1].z):
        m = geometry.shape_to_mask(s, h, w, "pil-fill")
        labels[m], owner[m] = CS.by_name(s.label).id, i
    return labels, owner


def _cityscapesscripts(shapes, tmp_path: Path, holes: str, h: int = H, w: int = W):
    """labelIds and instanceIds as cityscapesscripts draws the exported JSON."""
    objects = cs.build_objects(shapes, cs.LabelTable(CS), h, w, holes=holes)
    path = tmp_path / f"x_{holes}_gtFine_polygons.json"
    path.write_text(json.dumps({"imgHeight": h, "imgWidth": w, "objects": objects}))
    ann = Annotation()
    ann.fromJsonFile(str(path))
    return np.asarray(createLabelImage(ann, "ids")), np.asarray(createInstanceImage(ann, "ids")), objects


def _ids_of(inst: np.ndarray, owner: np.ndarray, i: int) -> set[int]:
    return set(np.unique(inst[owner == i]).tolist())


def _car_ids(inst: np.ndarray, owner: np.ndarray, i: int) -> set[int]:
    """The car instance ids drawn over at least 5 pixels of source shape ``i`` (not a rim)."""
    vals, counts = np.unique(inst[owner == i], return_counts=True)
    return {int(v) for v, n in zip(vals, counts) if v // 1000 == CS.by_name("car").id and n >= 5}


def test_a_car_seen_through_a_cars_holes_keeps_its_instance_id(tmp_path):
    shapes = [_mask("road", _box((40, 80, 0, 120)), 0),
              _mask("car", _box((20, 50, 30, 75)), 1),  # seen beside the top car and through its hole
              _mask("car", _box((10, 70, 50, 110), holes=[(25, 40, 60, 70), (50, 60, 58, 66)]), 2)]
    labels, owner = _truth(shapes)
    ids, inst, objects = _cityscapesscripts(shapes, tmp_path, "bridge")
    np.testing.assert_array_equal(ids, labels)
    car = CS.by_name("car").id
    assert _ids_of(inst, owner, 1) == {car * 1000} and _ids_of(inst, owner, 2) == {car * 1000 + 1}
    assert [o["label"] for o in objects] == ["road", "car", "car"]  # one polygon each, no hole paint
    # the old method: the car beneath gets a second instance id where it shows through the hole
    old_ids, old_inst, _ = _cityscapesscripts(shapes, tmp_path, "paint")
    assert len(_car_ids(old_inst, owner, 1)) >= 2
    assert (ids == labels).mean() >= (old_ids == labels).mean()


def test_a_stuff_region_with_holes_shows_what_lies_beneath(tmp_path):
    shapes = [_mask("sky", _box((0, 40, 0, 120)), 0),
              _mask("car", _box((30, 60, 20, 100)), 1),  # seen through two holes
              _mask("vegetation", _box((5, 75, 10, 110), holes=[(10, 20, 20, 40), (35, 50, 25, 45),
                                                                (35, 50, 70, 95), (60, 70, 50, 52)]), 2)]
    labels, owner = _truth(shapes)
    ids, inst, _ = _cityscapesscripts(shapes, tmp_path, "bridge")
    old_ids, old_inst, _ = _cityscapesscripts(shapes, tmp_path, "paint")
    np.testing.assert_array_equal(ids, labels)
    assert _ids_of(inst, owner, 1) == {CS.by_name("car").id * 1000}
    assert len(_car_ids(old_inst, owner, 1)) == 2  # its own polygon is hidden: one id per hole
    assert (ids == labels).mean() >= (old_ids == labels).mean()


def test_an_island_in_a_hole_and_a_polygon_with_a_hole(tmp_path):
    ring = _box((5, 75, 20, 100), holes=[(20, 60, 40, 80)]) | _box((32, 48, 52, 68))
    shapes = [_mask("road", _box((0, 80, 0, 120)), 0), _mask("person", _box((15, 65, 45, 75)), 1),
              _mask("car", ring, 2)]
    labels, owner = _truth(shapes)
    ids, inst, _ = _cityscapesscripts(shapes, tmp_path, "bridge")
    old_ids, _, _ = _cityscapesscripts(shapes, tmp_path, "paint")
    np.testing.assert_array_equal(ids, labels)
    assert (ids == labels).mean() >= (old_ids == labels).mean()
    assert _ids_of(inst, owner, 1) == {CS.by_name("person").id * 1000}
    # a polygon shape with a slanted hole: its pixels as the project's own pil-fill draws them
    poly = [_mask("car", _box((25, 55, 40, 90)), 0),
            Shape("polygon", "building", [[10, 5], [110, 5], [110, 70], [10, 70]], z=1,
                  holes=[np.array([[30, 20], [80, 15], [95, 50], [50, 60]])])]
    labels, owner = _truth(poly)
    ids, inst, _ = _cityscapesscripts(poly, tmp_path, "bridge")
    np.testing.assert_array_equal(ids, labels)
    assert _ids_of(inst, owner, 0) == {CS.by_name("car").id * 1000}


def test_a_mesh_of_one_pixel_holes_is_drawn_exactly(tmp_path):
    """A fence: one-pixel holes in a one-pixel mesh, over a car. Painting the holes over (and
    the car into them) loses pixels at every hole's rim; bridging loses none."""
    fence = _box((5, 35, 5, 55))
    fence[6:34:2, 6:54:2] = False
    shapes = [_mask("car", _box((0, 80, 0, 120)), 0), _mask("fence", fence, 1)]
    labels, owner = _truth(shapes)
    ids, inst, _ = _cityscapesscripts(shapes, tmp_path, "bridge")
    old_ids, _, _ = _cityscapesscripts(shapes, tmp_path, "paint")
    np.testing.assert_array_equal(ids, labels)
    assert _ids_of(inst, owner, 0) == {CS.by_name("car").id * 1000}
    assert (old_ids == labels)[5:35, 5:55].mean() < 0.9  # over the fence


def test_hole_method_is_an_export_option(tmp_path):
    root = tmp_path / "proj"
    (root / "imgs/bonn").mkdir(parents=True)
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(root / "imgs/bonn/a.png")
    proj = Project.create(root, CS)
    shapes = [_mask("car", _box((20, 50, 30, 75)), 0),
              _mask("building", _box((10, 70, 50, 110), holes=[(25, 40, 60, 70)]), 1)]
    proj.save_annotation("imgs/bonn/a.png", ImageAnnotation("", W, H, shapes))
    for method, n_objects in (("bridge", 2), ("paint", 4)):  # paint: hole + the car piece in it
        cs.export_dataset(proj, tmp_path / method, JobContext(on_error="raise"), holes=method)
        doc = json.loads(next((tmp_path / method).glob("gtFine/*/*/*_polygons.json")).read_text())
        assert len(doc["objects"]) == n_objects
    with pytest.raises(FormatError, match="holes='cut'"):
        cs.export_dataset(proj, tmp_path / "bad", holes="cut")
    assert not (tmp_path / "bad").exists() or not any((tmp_path / "bad").iterdir())


#: CamVid class -> cityscapes class
CAMVID_TO_CS = {"Sky": "sky", "Building": "building", "Pole": "pole", "Road": "road", "Pavement": "sidewalk",
                "Tree": "vegetation", "SignSymbol": "traffic sign", "Fence": "fence", "Car": "car",
                "Pedestrian": "person", "Bicyclist": "rider"}


def test_camvid_labels_agree_at_least_as_well_as_painting_holes(tmp_path, camvid):
    """Three CamVid val images, one mask per class in class order (Building's and Tree's holes
    show the sky, poles and signs drawn before them), instances as connected components."""
    names = load_preset("camvid").names()[:11]
    agree = {"bridge": 0, "paint": 0}
    total = 0
    for stem in (camvid / "val.txt").read_text().split()[:3]:
        with Image.open(camvid / "valannot" / f"{stem}.png") as im:
            label = np.asarray(im)
        h, w = label.shape
        shapes = []
        for idx, cls in enumerate(names):
            m = label == idx
            target = CAMVID_TO_CS[cls]
            if not m.any():
                continue
            if CS.by_name(target).has_instances:
                n, comp = cv2.connectedComponents(m.astype(np.uint8))
                shapes += [_mask(target, comp == i, 0) for i in range(1, n)]
            else:
                shapes.append(_mask(target, m, 0))
        labels, owner = _truth(shapes, h, w)
        total += labels.size
        for method in agree:
            ids, inst, _ = _cityscapesscripts(shapes, tmp_path, method, h, w)
            agree[method] += int((ids == labels).sum())
            if method == "bridge":  # every visible instance keeps one id
                for i, s in enumerate(shapes):
                    if CS.by_name(s.label).has_instances and (owner == i).sum() > 50:
                        own = {v for v in _ids_of(inst, owner, i) if v // 1000 == CS.by_name(s.label).id}
                        assert len(own) == 1, (stem, s.label)
    assert agree["bridge"] >= agree["paint"] and agree["bridge"] / total > 0.98


@pytest.mark.parametrize("seed", range(4))
def test_blobs_full_of_holes_over_a_car(tmp_path, seed):
    """Vegetation made of blurred noise (holes of every shape, islands in holes) over a car:
    the labels agree at least as well as painting the holes, and the car keeps one id."""
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.random((H, W)), (0, 0), 1.0 + seed / 2)
    blobs = noise > np.quantile(noise, 0.3 + seed / 20)
    shapes = [_mask("car", _box((10, 70, 10, 110)), 0), _mask("vegetation", blobs, 1)]
    labels, owner = _truth(shapes)
    ids, inst, _ = _cityscapesscripts(shapes, tmp_path, "bridge")
    old_ids, _, _ = _cityscapesscripts(shapes, tmp_path, "paint")
    assert (ids == labels).mean() >= (old_ids == labels).mean()
    assert (ids == labels).mean() > 0.98
    assert _car_ids(inst, owner, 0) == {CS.by_name("car").id * 1000}
