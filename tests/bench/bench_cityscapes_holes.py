"""Cityscapes holes: the "bridge" and "paint" hole methods of the exporter, measured.

Cityscapes polygons have no holes (:mod:`labeler.formats.cityscapes`). Each scene's shapes are
exported with both methods, the JSON is rendered by cityscapesscripts' own ``createLabelImage``
and ``createInstanceImage`` (what ``json2labelImg`` / ``json2instanceImg`` write), and compared
with the source masks painted in z-order:

* ``label``: fraction of pixels whose labelId is the source's;
* ``inst``: fraction of instance-class pixels whose instanceId is the one of their source
  instance (each source instance's most frequent id; an id claimed by two instances counts for
  the larger one only);
* ``verts``: polygon vertices written (JSON size);
* ``frag``: instance ids per source instance, mean (its most frequent id and ids of its class
  that no other instance has: the new ids of pieces drawn again); ``split``: how many source
  instances show more than one.

Scenes: synthetic (a car with a hole over another car; a stuff class with holes over a car and
the sky; a car with an island in its hole; a polygon with a hole over a car; a fence mesh of
one-pixel holes over a car), 60 random vegetation blobs full of holes over a car, and CamVid val
images (when ``../shared/datasets/camvid`` exists) with one mask per class (cars, pedestrians and
bicyclists split into connected components), painted in class order and with the instance classes
first (so the stuff regions' holes show them).

Run: ``python -m tests.bench.bench_cityscapes_holes [N]`` (N CamVid images, default 20).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from cityscapesscripts.helpers.annotation import Annotation
from cityscapesscripts.preparation.json2instanceImg import createInstanceImage
from cityscapesscripts.preparation.json2labelImg import createLabelImage

from labeler.core import geometry
from labeler.core.schema import load_preset
from labeler.core.shapes import Shape
from labeler.formats import cityscapes as cs

CS = load_preset("cityscapes")
CAMVID = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "camvid"
#: CamVid class (in index order) -> cityscapes class
CAMVID_TO_CS = {"Sky": "sky", "Building": "building", "Pole": "pole", "Road": "road", "Pavement": "sidewalk",
                "Tree": "vegetation", "SignSymbol": "traffic sign", "Fence": "fence", "Car": "car",
                "Pedestrian": "person", "Bicyclist": "rider"}


def _mask(h: int, w: int, *boxes, holes=()) -> np.ndarray:
    m = np.zeros((h, w), bool)
    for y0, y1, x0, x1 in boxes:
        m[y0:y1, x0:x1] = True
    for y0, y1, x0, x1 in holes:
        m[y0:y1, x0:x1] = False
    return m


def _m(label: str, mask: np.ndarray, z: int) -> Shape:
    return Shape("mask", label, rle=geometry.rle_encode(mask), z=z)


def synthetic_scenes() -> dict[str, tuple[list[Shape], int, int]]:
    """name -> (shapes, height, width)."""
    h, w = 80, 120
    fence = _mask(h, w, (5, 75, 5, 115))
    fence[6:74:2, 6:114:2] = False
    return {
        # a car with a hole, over another car seen through the hole and beside it
        "thing_hole_over_thing": ([
            _m("road", _mask(h, w, (40, 80, 0, 120)), 0),
            _m("car", _mask(h, w, (20, 50, 30, 75)), 1),
            _m("car", _mask(h, w, (10, 70, 50, 110), holes=[(25, 40, 60, 70), (50, 60, 58, 66)]), 2)], h, w),
        # vegetation with holes showing the sky and a car behind it (the car seen through two holes)
        "stuff_holes": ([
            _m("sky", _mask(h, w, (0, 40, 0, 120)), 0),
            _m("car", _mask(h, w, (30, 60, 20, 100)), 1),
            _m("vegetation", _mask(h, w, (5, 75, 10, 110), holes=[(10, 20, 20, 40), (35, 50, 25, 45),
                                                                  (35, 50, 70, 95), (60, 70, 50, 52)]), 2)], h, w),
        # a car whose hole holds an island of the same car, over a person
        "island_in_hole": ([
            _m("road", _mask(h, w, (0, 80, 0, 120)), 0),
            _m("person", _mask(h, w, (15, 65, 45, 75)), 1),
            _m("car", _mask(h, w, (5, 75, 20, 100), (32, 48, 52, 68), holes=[(20, 60, 40, 80)]) |
               _mask(h, w, (32, 48, 52, 68)), 2)], h, w),
        # a polygon (not a mask) with a hole, over a car
        "polygon_hole": ([
            _m("car", _mask(h, w, (25, 55, 40, 90)), 0),
            Shape("polygon", "building", [[10, 5], [110, 5], [110, 70], [10, 70]], z=1,
                  holes=[np.array([[30, 20], [80, 15], [95, 50], [50, 60]])])], h, w),
        # a fence: a one-pixel mesh of one-pixel holes, over a car
        "fence_mesh": ([_m("car", _mask(h, w, (0, 80, 0, 120)), 0), _m("fence", fence, 1)], h, w),
    }


def random_scenes(n: int, seed: int = 0):
    """Vegetation blobs full of holes (blurred noise thresholded; every third a bullseye of
    nested rings) over a car."""
    h, w = 60, 80
    for k in range(n):
        rng = np.random.default_rng(seed + k)
        if k % 3 == 0:
            yy, xx = np.mgrid[:h, :w]
            r = np.hypot(yy - 30, xx - 40)
            m = ((r // 4) % 2 == 0) & (r < 28)
        else:
            noise = cv2.GaussianBlur(rng.random((h, w)), (0, 0), rng.uniform(0.7, 3))
            m = noise > np.quantile(noise, rng.uniform(0.2, 0.6))
        yield [_m("car", _mask(h, w, (10, 50, 10, 70)), 0), _m("vegetation", m, 1)], h, w


def truth(shapes: list[Shape], h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """The source's labelIds and, per pixel, the index of the shape seen there (-1: none)."""
    labels = np.zeros((h, w), np.int64)
    owner = np.full((h, w), -1, np.int64)
    for i, s in sorted(enumerate(shapes), key=lambda t: t[1].z):
        m = geometry.shape_to_mask(s, h, w, "pil-fill")
        labels[m] = CS.by_name(s.label).id
        owner[m] = i
    return labels, owner


#: polygon vertices written, per method
VERTICES: dict[str, int] = {}


def render(shapes: list[Shape], h: int, w: int, holes: str, tmp: Path) -> tuple[np.ndarray, np.ndarray, float]:
    """cityscapesscripts' labelIds and instanceIds of the export, and the seconds build_objects took."""
    t0 = time.perf_counter()
    objects = cs.build_objects(shapes, cs.LabelTable(CS), h, w, holes=holes)
    took = time.perf_counter() - t0
    VERTICES[holes] = VERTICES.get(holes, 0) + sum(len(o["polygon"]) for o in objects)
    path = tmp / f"{holes}_gtFine_polygons.json"
    path.write_text(json.dumps({"imgHeight": h, "imgWidth": w, "objects": objects}))
    ann = Annotation()
    ann.fromJsonFile(str(path))
    return np.asarray(createLabelImage(ann, "ids")), np.asarray(createInstanceImage(ann, "ids")), took


def compare(shapes: list[Shape], labels: np.ndarray, owner: np.ndarray, got_ids: np.ndarray,
            got_inst: np.ndarray) -> dict:
    """label / inst agreement and frag / split (see the module docstring), with pixel counts."""
    things = [i for i, s in enumerate(shapes) if CS.by_name(s.label).has_instances]
    claims: dict[int, tuple[int, int]] = {}  # id -> (pixels, instance) of its largest claimant
    seen: dict[int, np.ndarray] = {}
    majority = {}
    for i in things:
        sel = owner == i
        if not sel.any():
            continue
        vals, counts = np.unique(got_inst[sel], return_counts=True)
        seen[i] = vals[vals // 1000 == CS.by_name(shapes[i].label).id]
        best = int(vals[np.argmax(counts)])
        majority[i] = best
        if best not in claims or claims[best][0] < counts.max():
            claims[best] = (int(counts.max()), i)
    # an instance's ids: its own, and ids of its class that are no other instance's (new ones)
    frags = [sum(1 for v in vals if v == majority[i] or claims.get(int(v), (0, i))[1] == i)
             for i, vals in seen.items()]
    split = sum(f > 1 for f in frags)
    inst_px = sum(int((owner == i).sum()) for i in seen)
    right = sum(int(((owner == i) & (got_inst == v)).sum()) for i, v in majority.items() if claims[v][1] == i)
    return {"label_ok": int((got_ids == labels).sum()), "px": labels.size, "inst_ok": right, "inst_px": inst_px,
            "frags": frags, "split": split}


def _add(total: dict, part: dict) -> None:
    for k, v in part.items():
        total[k] = total.get(k, 0) + v if not isinstance(v, list) else total.get(k, []) + v


def _summary(t: dict) -> str:
    frag = np.mean(t["frags"]) if t["frags"] else float("nan")
    return (f"label {t['label_ok'] / t['px']:.5f}  inst {t['inst_ok'] / max(t['inst_px'], 1):.5f}  "
            f"frag {frag:.3f}  split {t['split']}/{len(t['frags'])}  verts {t['verts']}  build {t['secs']:.2f} s")


def camvid_scenes(n: int, things_first: bool):
    names = load_preset("camvid").names()[:11]
    for stem in (CAMVID / "val.txt").read_text().split()[:n]:
        with Image.open(CAMVID / "valannot" / f"{stem}.png") as im:
            label = np.asarray(im)
        shapes = []
        for idx, cls in enumerate(names):
            m = label == idx
            if not m.any():
                continue
            target = CAMVID_TO_CS[cls]
            thing = CS.by_name(target).has_instances
            z = (0 if thing else 1) if things_first else 0
            if thing:
                k, comp = cv2.connectedComponents(m.astype(np.uint8))
                shapes += [_m(target, comp == i, z) for i in range(1, k)]
            else:
                shapes.append(_m(target, m, z))
        yield stem, shapes, label.shape[0], label.shape[1]


def measure(scenes, tmp: Path) -> dict[str, dict]:
    totals = {"bridge": {"secs": 0.0}, "paint": {"secs": 0.0}}
    VERTICES.clear()
    for shapes, h, w in scenes:
        labels, owner = truth(shapes, h, w)
        for method in totals:
            ids, inst, took = render(shapes, h, w, method, tmp)
            _add(totals[method], compare(shapes, labels, owner, ids, inst))
            totals[method]["secs"] += took
    for method in totals:
        totals[method]["verts"] = VERTICES.get(method, 0)
    return totals


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    n = int(argv[0]) if argv else 20
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, scene in synthetic_scenes().items():
            for method, t in measure([scene], tmp).items():
                print(f"{name:24s} {method:6s} {_summary(t)}")
                figures[f"{name}_{method}_label"] = t["label_ok"] / t["px"]
        for method, t in measure(list(random_scenes(60)), tmp).items():
            print(f"{'random_blobs60':24s} {method:6s} {_summary(t)}")
            figures[f"random_blobs60_{method}_label"] = t["label_ok"] / t["px"]
        if (CAMVID / "val").is_dir() and n > 0:
            for things_first in (False, True):
                what = f"camvid{n}_{'things_first' if things_first else 'class_order'}"
                totals = measure([s[1:] for s in camvid_scenes(n, things_first)], tmp)
                for method, t in totals.items():
                    print(f"{what:24s} {method:6s} {_summary(t)}")
                    figures[f"{what}_{method}_label"] = t["label_ok"] / t["px"]
                    figures[f"{what}_{method}_split"] = t["split"]
        else:
            print("no CamVid images (absent, or N = 0): synthetic scenes only")
    return figures


if __name__ == "__main__":
    main()
