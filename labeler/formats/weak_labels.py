"""weak: weak labels (scribbles, points, boxes, image tags) as data, exported and imported back.

Export writes, under ``out``::

    weak_labels.json     COCO-style: images, categories, annotations (boxes, points, scribbles)
    scribbles/<name>.png one index PNG per image: the class id of every stroke pixel (strokes
                         drawn with their width, in z-order, later strokes on top), 255 = unlabelled
    tags.json            image -> its tags: {"images": {file_name: [tag, ...]}, "tags": [all names]}

Each ``weak_labels.json`` annotation has ``id``, ``image_id``, ``category_id``, and one of

* ``bbox`` ``[x, y, w, h]`` and **no** ``segmentation`` (a weak box, ``area`` = w * h), as
  COCO's own exporter writes a weak box and as detection datasets ship;
* ``point`` ``[x, y]`` (a point label). We chose a ``point`` field rather than COCO
  ``keypoints`` because a point label is not a keypoint of a skeleton: it has no keypoint
  category and no visibility. ``keypoints`` lists ``[x1, y1, v1, ...]`` are read too (each
  visible keypoint becomes one point of that instance);
* ``scribble`` ``{"points": [[x, y], ...], "width": w}`` (the stroke's vector form, so a
  round trip gives back the very same strokes; the PNG is what training code reads).

plus ``shape_id`` (the labeler shape id, kept so that masks that link to these weak labels keep
their links), ``group_id`` (the instance id, when set) and ``score`` (when set). Images carry
``file_name`` (relative to the images folder, as in :mod:`labeler.formats.coco`) and
``scribbles`` (their PNG, relative to ``out``).

Import reads ``weak_labels.json`` (or any COCO instances file: annotations with a ``bbox`` and no
segmentation become weak boxes, ones with a segmentation are not weak labels and are left out
with a warning), ``tags.json`` when present, and for images whose annotations carry no
``scribble`` vectors, their scribble PNG: each 8-connected stroke of a class is traced along its
skeleton back into scribble shapes of the stroke's width. Imported weak labels replace the weak
labels an earlier import brought and nothing else; image statuses are not changed.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from skimage.morphology import skeletonize

from ..core.annotation import ImageAnnotation
from ..core.errors import FormatError, LabelerError, UnsafePathError
from ..core.fileio import safe_join, save_image_atomic, write_json_atomic
from ..core.geometry import z_sorted
from ..core.images import read_label_png
from ..core.shapes import POINT, RECTANGLE, SCRIBBLE, Shape
from .coco import (ImageTable, _copy_name, _weak_box, weak_box, categories_for, load_images, merge_categories,
                   read_coco_json, register_image, resolve_images_dir)
from .common import check_inside

WEAK_FILE = "weak_labels.json"
TAGS_FILE = "tags.json"
SCRIBBLE_DIR = "scribbles"
UNLABELLED = 255
IMPORTED = "import"
#: digits kept in box coordinates, so that export -> import -> export gives the same numbers
_BOX_DIGITS = 3


def is_weak_label(shape: Shape) -> bool:
    """Points, scribbles and weak boxes: the shapes this format carries."""
    return shape.kind in (POINT, SCRIBBLE) or (shape.kind == RECTANGLE and shape.weak)


# ============================================================================== export


def stroke_mask(points: np.ndarray, width: float, height: int, img_width: int) -> np.ndarray:
    """The pixels a scribble of ``width`` covers (drawn as the assist engines draw it)."""
    out = np.zeros((height, img_width), np.uint8)
    thickness = max(1, int(round(width)))
    pts = np.round(np.asarray(points)).astype(np.int32)
    if len(pts) == 1:
        cv2.circle(out, (int(pts[0][0]), int(pts[0][1])), max(1, thickness // 2), 1, -1)
    else:
        cv2.polylines(out, [pts.reshape(-1, 1, 2)], False, 1, thickness)
    return out.astype(bool)


def scribble_index_map(ann: ImageAnnotation, class_ids: dict[str, int]) -> np.ndarray:
    """(H, W) uint8: the class id under every scribble pixel, later z on top; 255 elsewhere."""
    out = np.full((ann.height, ann.width), UNLABELLED, np.uint8)
    for s in z_sorted(s for s in ann.shapes if s.kind == SCRIBBLE and s.label in class_ids):
        out[stroke_mask(s.points, s.width, ann.height, ann.width)] = class_ids[s.label]
    return out


def _annotation(shape: Shape, ann_id: int, image_id: int, category_id: int) -> dict:
    d: dict = {"id": ann_id, "image_id": image_id, "category_id": category_id}
    if shape.kind == RECTANGLE:
        box = [round(v, _BOX_DIGITS) for v in _weak_box(shape)]
        d.update(bbox=box, area=round(box[2] * box[3], _BOX_DIGITS), iscrowd=0)
    elif shape.kind == POINT:
        d["point"] = [float(v) for v in shape.points[0]]
    else:
        d["scribble"] = {"points": shape.points.tolist(), "width": float(shape.width)}
    d["shape_id"] = shape.id
    if shape.instance_id is not None:
        d["group_id"] = int(shape.instance_id)
    if shape.score is not None:
        d["score"] = float(shape.score)
    return d


def _scribble_name(file_name: str) -> str:
    return f"{SCRIBBLE_DIR}/{Path(_copy_name(file_name)).with_suffix('.png').as_posix()}"


def export_dataset(project, out, ctx, split=None, **options) -> Path:
    """Write ``weak_labels.json``, ``tags.json`` and ``scribbles/*.png`` under ``out``."""
    out = Path(out)
    categories = categories_for(project.schema, include_stuff=True)
    class_ids = {c["name"]: c["id"] for c in categories}
    too_big = sorted(n for n, i in class_ids.items() if not 0 <= i < UNLABELLED)
    if too_big:
        ctx.report.warn(f"classes {', '.join(too_big)} have ids outside 0..254 and cannot be drawn in "
                        "scribble PNGs; their scribbles are only in the JSON")
    png_ids = {n: i for n, i in class_ids.items() if n not in too_big}
    table = ImageTable(project, out, copy_images=False)
    table.images_dir_for(project.keys_in_split(split))
    annotations: list[dict] = []
    tags: dict[str, list[str]] = {}
    unknown = 0
    for key, ann in load_images(project, ctx, split):
        try:
            entry = table.add(key, ann.width, ann.height)
            png = _scribble_name(entry["file_name"])
            safe_join(out, png)
        except (OSError, LabelerError) as e:
            ctx.problem(f"{project.image_path(key)}: cannot export image: {e}")
            continue
        entry["scribbles"] = png
        for s in ann.shapes:
            if not is_weak_label(s):
                continue
            if s.label not in class_ids:
                unknown += 1
                continue
            annotations.append(_annotation(s, len(annotations) + 1, entry["id"], class_ids[s.label]))
        save_image_atomic(out / png, Image.fromarray(scribble_index_map(ann, png_ids), mode="L"))
        present = [t for t, on in ann.tags.items() if on]
        if present:
            tags[entry["file_name"]] = present
        ctx.report.done += 1
    if unknown:
        ctx.report.warn(f"{unknown} weak labels have classes outside the schema and were left out")
    doc = {"info": {"description": "weak labels exported by labeler",
                    "unlabelled": UNLABELLED, "scribble_dir": SCRIBBLE_DIR},
           "images": table.entries, "annotations": annotations, "categories": categories}
    path = out / WEAK_FILE
    write_json_atomic(path, doc, indent=None)
    all_tags = sorted({t for values in tags.values() for t in values})
    write_json_atomic(out / TAGS_FILE, {"tags": all_tags, "images": tags}, indent=1)
    ctx.report.outputs.update({"annotations": str(path), "tags": str(out / TAGS_FILE),
                               "scribbles": str(out / SCRIBBLE_DIR), "images_dir": str(table.root)})
    return path


# ============================================================================== import


def _points_xy(value, what: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2 or len(arr) == 0:
        raise FormatError(f"{what} must be a non-empty list of [x, y] pairs")
    return arr


def weak_shapes_from_annotation(a: dict, label: str) -> list[Shape]:
    """One annotation as weak shapes; ``[]`` for an annotation that is not a weak label."""
    common: dict = dict(label=label, source=IMPORTED)
    if a.get("group_id") is not None:
        common["instance_id"] = int(a["group_id"])
    if a.get("score") is not None:
        common["score"] = float(a["score"])
    if isinstance(a.get("shape_id"), str) and a["shape_id"]:
        common["id"] = a["shape_id"]
    if a.get("segmentation"):  # a dense COCO instance: not a weak label
        return []
    if "point" in a:
        return [Shape(POINT, points=_points_xy([a["point"]], "point"), **common)]
    if isinstance(a.get("scribble"), dict):
        sc = a["scribble"]
        width = float(sc.get("width") or 1.0)
        if not 0 < width < float("inf"):
            raise FormatError(f"scribble width {sc.get('width')!r} is not a positive number")
        return [Shape(SCRIBBLE, points=_points_xy(sc.get("points"), "scribble points"), width=width, **common)]
    kp = a.get("keypoints")
    if isinstance(kp, list) and kp:
        if len(kp) % 3:
            raise FormatError(f"keypoints has {len(kp)} values, not a multiple of 3")
        xyv = np.asarray(kp, dtype=np.float64).reshape(-1, 3)
        shared = {k: v for k, v in common.items() if k != "id"}
        if "instance_id" not in shared:
            shared["instance_id"] = int(a.get("id", 0)) or None
        return [Shape(POINT, points=[xy[:2]], **shared) for xy in xyv if xy[2] > 0]
    box = a.get("bbox")
    if isinstance(box, list) and len(box) == 4:
        return [weak_box(box, **common)]
    raise FormatError("annotation has no bbox, point, keypoints or scribble")


def _skeleton_paths(skeleton: np.ndarray) -> list[list[tuple[int, int]]]:
    """Walk a one-pixel-wide skeleton into paths of 8-connected pixels (from endpoints first)."""
    remaining = {(int(r), int(c)) for r, c in zip(*np.nonzero(skeleton))}
    steps = [(0, 1), (1, 0), (0, -1), (-1, 0), (1, 1), (1, -1), (-1, 1), (-1, -1)]  # 4-neighbours first

    def neighbours(p):
        return [(p[0] + dr, p[1] + dc) for dr, dc in steps if (p[0] + dr, p[1] + dc) in remaining]

    paths = []
    while remaining:
        ends = sorted(p for p in remaining if len(neighbours(p)) <= 1)
        cur = ends[0] if ends else min(remaining)
        remaining.discard(cur)
        path = [cur]
        while True:
            nxt = neighbours(cur)
            if not nxt:
                break
            cur = nxt[0]
            remaining.discard(cur)
            path.append(cur)
        paths.append(path)
    return paths


def scribbles_from_index_map(index_map: np.ndarray, classes: dict[int, str], step: int = 3) -> list[Shape]:
    """Scribble shapes traced from an index PNG (255 = unlabelled): for each class, each stroke's
    skeleton becomes one or more polylines, as wide as the stroke (from its distance transform)."""
    out: list[Shape] = []
    for value in sorted(int(v) for v in np.unique(index_map) if v != UNLABELLED):
        if value not in classes:
            raise FormatError(f"scribble PNG has class id {value}, which is not a category")
        region = (index_map == value).astype(np.uint8)
        n, cc = cv2.connectedComponents(region, connectivity=8)
        for i in range(1, n):
            out.extend(_trace_stroke(cc == i, classes[value], step))
    return out


def _trace_stroke(comp: np.ndarray, label: str, step: int) -> list[Shape]:
    """Polylines along one stroke's skeleton, with the brush width that redraws it best."""
    ys, xs = np.nonzero(comp)
    pad = 2
    y0, x0 = max(0, ys.min() - pad), max(0, xs.min() - pad)
    crop = comp[y0:ys.max() + pad + 1, x0:xs.max() + pad + 1]
    paths = []
    for path in _skeleton_paths(skeletonize(crop)):
        keep = path[::step] + ([path[-1]] if (len(path) - 1) % step else [])
        paths.append(np.array([[c, r] for r, c in keep], dtype=np.float64))
    dist = cv2.distanceTransform(np.pad(crop, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    best, best_iou = 1.0, -1.0
    for width in range(1, int(2 * dist.max()) + 3):  # cv2's brush is not exactly 2 * distance wide
        drawn = np.zeros(crop.shape, bool)
        for pts in paths:
            drawn |= stroke_mask(pts, width, *crop.shape)
        iou = (drawn & crop).sum() / (drawn | crop).sum()
        if iou > best_iou:
            best, best_iou = float(width), iou
    return [Shape(SCRIBBLE, label=label, points=pts + [x0, y0], width=best, source=IMPORTED) for pts in paths]


def _read_tags(src_dir: Path, ctx) -> dict[str, list[str]]:
    path = src_dir / TAGS_FILE
    if not path.is_file():
        return {}
    try:
        d = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        ctx.problem(f"{path}: cannot read image tags: {e}; tags skipped")
        return {}
    images = d.get("images") if isinstance(d, dict) else None
    if not isinstance(images, dict):
        ctx.problem(f"{path}: needs an 'images' object of file name -> list of tags; tags skipped")
        return {}
    tags = {}
    for k, v in images.items():
        if isinstance(v, list) and all(isinstance(t, str) for t in v):
            tags[str(k)] = v
        else:  # a tag named "None" or "n","o","t" would be a silent wrong import
            ctx.report.warn(f"{path}: tags of {k!r} are not a list of names; skipped")
    return tags


def save_weak(project, key: str, width: int, height: int, shapes: list[Shape], tags: list[str]) -> None:
    """Replace the weak labels an earlier import brought (and shapes with the same ids); keep the
    rest (dense shapes, the user's own weak labels, proposals); add the tags; keep the status."""
    if project.has_annotation(key):
        ann = project.load(key)
    else:
        ann = ImageAnnotation(image_path="", width=width, height=height)
    incoming = {s.id for s in shapes}
    ann.shapes = [s for s in ann.shapes
                  if s.id not in incoming and not (s.source == IMPORTED and is_weak_label(s))] + shapes
    for t in tags:
        ann.tags[t] = True
    project.save_annotation(key, ann)


def _source_file(src: Path) -> Path:
    if src.is_dir():
        if (src / WEAK_FILE).is_file():
            return src / WEAK_FILE
        raise FormatError(f"{src}: no {WEAK_FILE} in this folder")
    return src


def import_dataset(src, project, ctx, images=None, **options) -> None:
    """Read weak labels (``weak_labels.json`` or a COCO instances file) into ``project``."""
    src = _source_file(Path(src))
    d = read_coco_json(src)
    classes = merge_categories(project.schema, d.get("categories") or [], src, ctx)
    names = {cid: cls.name for cid, cls in classes.items()}
    by_image: dict = {}
    for a in d["annotations"]:
        if isinstance(a, dict):
            by_image.setdefault(a.get("image_id"), []).append(a)
        else:
            ctx.problem(f"{src}: annotation {a!r} is not a JSON object; skipped")
    file_names = [e.get("file_name") for e in d["images"] if isinstance(e, dict)]
    images_dir = resolve_images_dir(src, file_names, images)
    tags = _read_tags(src.parent, ctx)
    dense = 0
    for entry in ctx.track(d["images"], total=len(d["images"]), desc="importing weak labels"):
        reg = register_image(project, images_dir, entry, src, ctx)
        if reg is None:
            continue
        key, w, h = reg
        shapes: list[Shape] = []
        anns = by_image.get(entry.get("id"), [])
        for a in anns:
            label = names.get(a.get("category_id"))
            if label is None:
                ctx.problem(f"{src}: annotation {a.get('id')}: unknown category_id {a.get('category_id')!r}; skipped")
                continue
            try:
                got = check_inside(weak_shapes_from_annotation(a, label), w, h)
            except (LabelerError, ValueError, TypeError) as e:
                ctx.problem(f"{src}: annotation {a.get('id')} ({entry.get('file_name')}): {e}; skipped")
                continue
            dense += not got
            shapes.extend(got)
        if not any("scribble" in a for a in anns):
            shapes.extend(_scribbles_from_png(src.parent, entry, h, w, names, ctx))
        save_weak(project, key, w, h, shapes, tags.get(str(entry.get("file_name")), []))
        ctx.report.done += 1
    if dense:
        ctx.report.warn(f"{src}: {dense} annotations with a segmentation are not weak labels and were "
                        "left out (import them with the coco format)")
    project.save()


def _scribbles_from_png(src_dir: Path, entry: dict, h: int, w: int, names: dict, ctx) -> list[Shape]:
    rel = entry.get("scribbles")
    if not isinstance(rel, str) or not rel:
        return []
    try:
        path = safe_join(src_dir, rel)
    except UnsafePathError as e:
        ctx.problem(f"{src_dir / WEAK_FILE}: image {entry.get('file_name')}: scribbles {e}; skipped")
        return []
    if not path.is_file():
        return []
    try:
        index_map = read_label_png(path)
        if index_map.shape != (h, w):
            raise FormatError(f"is {index_map.shape[1]}x{index_map.shape[0]}, the image {w}x{h}")
        return scribbles_from_index_map(index_map, names)
    except LabelerError as e:
        msg = str(e) if str(path) in str(e) else f"{path}: {e}"
        ctx.problem(f"{msg}; scribbles skipped")
        return []


def detect(path) -> bool:
    """A folder holding ``weak_labels.json``, or that file itself."""
    p = Path(path)
    return (p / WEAK_FILE).is_file() if p.is_dir() else (p.name == WEAK_FILE and p.is_file())
