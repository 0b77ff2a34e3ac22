"""COCO instances (object detection / instance segmentation): import and export.

Export writes ``out/annotations/instances_<split or "all">.json``. Images stay where they are
unless ``copy_images=True`` (then they are copied under ``out/images/``); ``file_name`` is relative
to the images folder, which is reported as ``ctx.report.outputs["images_dir"]``.

Shapes become annotations this way:

* polygons without holes, rectangles and circles -> polygon segmentations, coordinates as they
  are (COCO's pixel-edge convention, the one :mod:`labeler.core.geometry` calls ``"coco"``);
* polygons with holes, masks, and shapes flagged crowd (``flags["iscrowd"]``) -> compressed RLE;
* shapes sharing an ``instance_id`` and a class -> one annotation;
* a weak box (``rectangle`` with ``weak=True``) -> an annotation with a ``bbox`` and an empty
  ``segmentation``; points, scribbles and lines are not instances and are left out.

``area`` and ``bbox`` are what pycocotools computes from the segmentation. (pycocotools' own
``COCOeval(..., "segm")`` cannot rasterise an empty segmentation: evaluate files holding weak boxes
with ``"bbox"``.) Import is the reverse:
polygons -> polygon shapes, RLE (compressed or not) -> mask shapes, a bbox without segmentation
-> a weak rectangle. The helpers shared with :mod:`labeler.formats.coco_panoptic` live here too.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

from ..core import geometry
from ..core.annotation import ImageAnnotation
from ..core.errors import FormatError, LabelerError, UnsafePathError
from ..core.fileio import atomic_open, safe_join, write_json_atomic
from ..core.images import image_size
from ..core.schema import LabelClass, Schema, default_color
from ..core.shapes import MASK, POLYGON, RECTANGLE, Shape
from .common import check_inside, save_imported

COCO_CONVENTION = "coco"

# ====================================================================== shared helpers


def is_void(cls: LabelClass, schema: Schema) -> bool:
    """Classes that are not categories: the schema's ignore class and classes ignored in eval."""
    return cls.id == schema.ignore_index or cls.ignore_in_eval


def categories_for(schema: Schema, include_stuff: bool, panoptic: bool = False) -> list[dict]:
    cats = []
    for c in schema:
        if is_void(c, schema) or not (c.is_thing or include_stuff):
            continue
        d = {"id": int(c.id), "name": c.name, "supercategory": c.supercategory or ("thing" if c.is_thing else "stuff")}
        if panoptic:
            d["isthing"] = int(c.is_thing)
            d["color"] = [int(v) for v in c.color]
        cats.append(d)
    return cats


def _copy_name(key: str) -> str:
    """Where an image with project key ``key`` goes under ``out/images`` (never above it)."""
    return "/".join("_up_" if p == ".." else p for p in Path(key).as_posix().split("/") if p not in ("", "."))


class ImageTable:
    """The ``images`` list of an export: ids from 1, ``file_name`` relative to the images folder,
    images copied under ``out/images`` only when asked."""

    def __init__(self, project, out: Path, copy_images: bool) -> None:
        self.project, self.out, self.copy_images = project, Path(out), copy_images
        self.root = (self.out / "images") if copy_images else Path(project.root)
        self.entries: list[dict] = []

    def images_dir_for(self, keys: list[str]) -> Path:
        """Without copying, the images folder is the project folder, or, when some images lie
        outside it, the deepest folder holding every image."""
        if not self.copy_images and any(".." in Path(k).parts for k in keys):
            self.root = Path(os.path.commonpath([self._path(k).parent for k in keys]))
        return self.root

    def _path(self, key: str) -> Path:
        return Path(os.path.normpath(self.project.image_path(key)))  # symlinks are not followed

    def add(self, key: str, width: int, height: int) -> dict:
        src = self._path(key)
        if self.copy_images:
            name = _copy_name(key)
            dst = safe_join(self.root, name)
            with open(src, "rb") as fin, atomic_open(dst, "wb") as fout:
                shutil.copyfileobj(fin, fout)
        else:
            name = src.relative_to(self.root).as_posix()
        entry = {"id": len(self.entries) + 1, "file_name": name, "width": int(width), "height": int(height)}
        self.entries.append(entry)
        return entry


def load_images(project, ctx, split):
    """``(key, annotation)`` for every readable image of the split; bad ones go to ``ctx.problem``."""
    keys = project.keys_in_split(split)
    for key, ann, problems in ctx.track(project.iter_annotations(keys), total=len(keys), desc="reading"):
        for p in problems:
            ctx.report.warn(p)
        if ann is None:
            ctx.problem(f"{project.image_path(key)}: skipped: {'; '.join(problems)}")
            continue
        yield key, ann


def read_coco_json(src: Path) -> dict:
    """A COCO-style JSON file, with a clear one-line error naming the file when it is broken."""
    try:
        text = Path(src).read_text("utf-8")
    except UnicodeDecodeError:
        raise FormatError(f"{src}: not UTF-8 text") from None
    except OSError as e:
        raise FormatError(f"{src}: cannot read: {e.strerror or e}") from None
    try:
        d = json.loads(text)
    except json.JSONDecodeError as e:
        raise FormatError(f"{src}: corrupt JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    if not isinstance(d, dict) or not isinstance(d.get("images"), list) or not isinstance(d.get("annotations"), list):
        raise FormatError(f"{src}: not a COCO file (needs 'images' and 'annotations' lists)")
    if not isinstance(d.get("categories", []), list):
        raise FormatError(f"{src}: 'categories' must be a list")
    return d


def images_dir_candidates(src: Path) -> list[Path]:
    split = re.sub(r"^(instances|panoptic)_", "", src.stem)
    return [src.parent, src.parent.parent / "images", src.parent.parent / split]


def resolve_images_dir(src: Path, file_names: list[str], images=None) -> Path:
    """``images`` if given; otherwise the candidate folder in which most images exist."""
    if images is not None:
        return Path(images).resolve()
    best, best_n = src.parent.resolve(), -1
    sample = [f for f in file_names if isinstance(f, str)][:50]
    for cand in images_dir_candidates(src):
        if not cand.is_dir():
            continue
        n = 0
        for f in sample:
            try:
                n += safe_join(cand, f).is_file()
            except UnsafePathError:
                pass
        if n > best_n:
            best, best_n = cand.resolve(), n
    return best


def merge_categories(schema: Schema, categories: list, src: Path, ctx) -> dict[int, LabelClass]:
    """Category id -> schema class, adding unknown categories to the schema (ids kept if free)."""
    out: dict[int, LabelClass] = {}
    for cat in categories:
        try:
            cid, name = int(cat["id"]), str(cat["name"])
        except (KeyError, TypeError, ValueError):
            ctx.problem(f"{src}: malformed category {cat!r}; skipped")
            continue
        if cid in out:  # else its annotations would silently take the second one's name
            ctx.problem(f"{src}: category id {cid} is both {out[cid].name!r} and {name!r}; {name!r} skipped")
            continue
        cls = schema.get(name)
        if cls is None:
            taken = {c.id for c in schema}
            is_thing = bool(cat.get("isthing", True))
            if cid in taken or cid == schema.ignore_index:
                cls = schema.add(name, is_thing=is_thing)
            else:
                color = cat.get("color") if isinstance(cat.get("color"), list) and len(cat["color"]) == 3 else None
                cls = LabelClass(cid, name, tuple(int(v) for v in (color or default_color(cid))), is_thing,
                                 supercategory=str(cat.get("supercategory") or ""))
                schema.classes.append(cls)
        out[cid] = cls
    return out


def register_image(project, images_dir: Path, entry: dict, src: Path, ctx):
    """Check one ``images`` entry and register its file by relative path; ``None`` if skipped."""
    fn = entry.get("file_name") if isinstance(entry, dict) else None
    if not isinstance(fn, str) or not fn:
        ctx.problem(f"{src}: image entry {entry!r} has no file_name; skipped")
        return None
    try:
        path = safe_join(images_dir, fn)
    except UnsafePathError as e:
        ctx.problem(f"{src}: image {entry.get('id')} file_name {e}; skipped")
        return None
    try:
        w, h = image_size(path)
    except LabelerError as e:
        ctx.problem(f"{src}: image {entry.get('id')}: {e}; skipped")
        return None
    jw, jh = entry.get("width"), entry.get("height")
    if (jw, jh) != (None, None) and (jw, jh) != (w, h):
        ctx.problem(f"{src}: image {fn}: JSON says {jw}x{jh} but the file is {w}x{h}; skipped")
        return None
    ann_path = project.annotation_path(Path(os.path.relpath(path, project.root)).as_posix()).resolve()
    if project.root not in ann_path.parents:
        ctx.problem(f"{src}: image {fn}: its annotation would be written outside the project "
                    f"({ann_path}); skipped")
        return None
    return project.add_images([path])[0], w, h


# ============================================================================== export


def _is_crowd(shapes: list[Shape]) -> bool:
    return any(bool(s.flags.get("iscrowd")) for s in shapes)


def group_instances(shapes: list[Shape], accept) -> list[list[Shape]]:
    """Area shapes grouped into instances: same ``instance_id`` and class, or one shape each."""
    groups: dict[tuple, list[Shape]] = {}
    for i, s in enumerate(shapes):
        if not s.is_area or not accept(s):
            continue
        key = (s.label, s.instance_id) if s.instance_id is not None else (s.label, None, i)
        groups.setdefault(key, []).append(s)
    return list(groups.values())


def polygon_or_rle(group: list[Shape], height: int, width: int):
    """The segmentation of one instance, and its pycocotools RLE (for area and bbox)."""
    needs_rle = _is_crowd(group) or any(s.kind == MASK or (s.kind == POLYGON and s.holes) for s in group)
    if needs_rle:
        m = np.zeros((height, width), bool)
        for s in group:
            m |= geometry.shape_to_mask(s, height, width, COCO_CONVENTION)
        seg = geometry.rle_encode(m)
        return seg, {"size": seg["size"], "counts": seg["counts"].encode("ascii")}
    seg = [[float(v) for v in geometry.outline(s)[0].reshape(-1)] for s in group]
    geometry.check_near_image(seg, height, width)  # pycocotools would crash on 1e300
    return seg, mask_utils.merge(mask_utils.frPyObjects(seg, height, width))


def _weak_box(s: Shape) -> list[float]:
    ring = geometry.rectangle_polygon(s.points[0], s.points[1])
    x0, y0 = ring[0]
    x1, y1 = ring[2]
    return [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]


def image_annotations(ann: ImageAnnotation, cat_ids: dict[str, int], next_id: int, image_id: int,
                      where: str, ctx) -> list[dict]:
    out = []
    h, w = ann.height, ann.width
    for group in group_instances(ann.shapes, lambda s: s.label in cat_ids):
        try:
            seg, rle = polygon_or_rle(group, h, w)
        except LabelerError as e:
            ctx.problem(f"{where}: {group[0].label} shape {group[0].id}: {e}; left out")
            continue
        area = int(mask_utils.area(rle))
        if area == 0:
            ctx.report.warn(f"{where}: {group[0].label} shape {group[0].id} covers no pixel of the image; left out")
            continue
        d = {"id": next_id + len(out), "image_id": image_id, "category_id": cat_ids[group[0].label],
             "segmentation": seg, "area": area, "bbox": [float(v) for v in mask_utils.toBbox(rle)],
             "iscrowd": int(_is_crowd(group))}
        score = next((s.score for s in group if s.score is not None), None)
        if score is not None:
            d["score"] = float(score)
        out.append(d)
    for s in ann.shapes:
        if s.kind == RECTANGLE and s.weak and s.label in cat_ids:
            box = _weak_box(s)
            d = {"id": next_id + len(out), "image_id": image_id, "category_id": cat_ids[s.label],
                 "segmentation": [], "area": box[2] * box[3], "bbox": box, "iscrowd": int(_is_crowd([s]))}
            if s.score is not None:
                d["score"] = float(s.score)
            out.append(d)
    return out


def export_dataset(project, out, ctx, split=None, *, copy_images: bool = False, include_stuff: bool = False,
                   **options) -> Path:
    """Write ``out/annotations/instances_<split or "all">.json``; returns its path."""
    out = Path(out)
    categories = categories_for(project.schema, include_stuff)
    cat_ids = {c["name"]: c["id"] for c in categories}
    table = ImageTable(project, out, copy_images)
    table.images_dir_for(project.keys_in_split(split))
    annotations: list[dict] = []
    skipped_weak = 0
    for key, ann in load_images(project, ctx, split):
        try:
            entry = table.add(key, ann.width, ann.height)
        except (OSError, LabelerError) as e:
            ctx.problem(f"{project.image_path(key)}: cannot export image: {e}")
            continue
        where = str(project.annotation_path(key))
        annotations.extend(image_annotations(ann, cat_ids, len(annotations) + 1, entry["id"], where, ctx))
        skipped_weak += sum(1 for s in ann.shapes if s.is_weak and s.kind != RECTANGLE)
        ctx.report.done += 1
    if skipped_weak:
        ctx.report.warn(f"{skipped_weak} point/scribble labels are not COCO instances and were left out")
    doc = {"info": {"description": f"exported by labeler from {project.root.name}", "version": "1.0"},
           "licenses": [], "images": table.entries, "annotations": annotations, "categories": categories}
    path = out / "annotations" / f"instances_{split or 'all'}.json"
    write_json_atomic(path, doc, indent=None)
    ctx.report.outputs.update({"annotations": str(path), "images_dir": str(table.root)})
    return path


# ============================================================================== import


def _rle_from_json(seg: dict, height: int, width: int) -> dict:
    size = [int(v) for v in seg.get("size", [])]
    if size != [height, width]:
        raise FormatError(f"RLE size {size} does not match the image ({height}, {width})")
    counts = seg.get("counts")
    if isinstance(counts, list):
        if not all(isinstance(v, int) and 0 <= v <= height * width for v in counts):  # else OverflowError
            raise FormatError(f"RLE counts must be integers from 0 to {height * width}")
        c = mask_utils.frPyObjects({"size": size, "counts": counts}, height, width)
    elif isinstance(counts, str):
        c = {"size": size, "counts": counts.encode("ascii")}
    else:
        raise FormatError("RLE counts must be a list or a string")
    m = mask_utils.decode(c)  # validates the counts
    return geometry.rle_encode(m)


def shapes_from_annotation(a: dict, cls: LabelClass, height: int, width: int, instance_id: int) -> list[Shape]:
    """One COCO annotation as shapes of one instance (raises on malformed input)."""
    seg = a.get("segmentation")
    common = dict(label=cls.name, instance_id=instance_id, source="import")
    if a.get("score") is not None:
        common["score"] = float(a["score"])
    if a.get("iscrowd"):
        common["flags"] = {"iscrowd": True}
    if seg is not None and not isinstance(seg, (dict, list)):
        raise FormatError(f"segmentation {seg!r} is neither a list of polygons nor an RLE object")
    if isinstance(seg, dict):
        return [Shape(MASK, rle=_rle_from_json(seg, height, width), **common)]
    if isinstance(seg, list) and seg:
        shapes = []
        for poly in seg:
            if not isinstance(poly, list) or len(poly) < 6 or len(poly) % 2:
                raise FormatError(f"polygon with {len(poly) if isinstance(poly, list) else '?'} coordinates")
            shapes.append(Shape(POLYGON, points=np.asarray(poly, dtype=np.float64).reshape(-1, 2), **common))
        return shapes
    box = a.get("bbox")
    if isinstance(box, list) and len(box) == 4:
        return [weak_box(box, **common)]
    raise FormatError("annotation has neither a segmentation nor a bbox")


def weak_box(box: list, **fields) -> Shape:
    """A COCO ``[x, y, w, h]`` bbox (no segmentation) as a weak rectangle."""
    x, y, bw, bh = (float(v) for v in box)
    if bw <= 0 or bh <= 0:
        raise FormatError(f"empty bbox {box}")
    return Shape(RECTANGLE, points=[[x, y], [x + bw, y + bh]], weak=True, **fields)


def import_dataset(src, project, ctx, images=None, **options) -> None:
    """Read a COCO instances JSON into ``project`` (images registered where they are)."""
    src = Path(src)
    d = read_coco_json(src)
    classes = merge_categories(project.schema, d.get("categories") or [], src, ctx)
    by_image: dict = {}
    for a in d["annotations"]:
        if isinstance(a, dict):
            by_image.setdefault(a.get("image_id"), []).append(a)
        else:
            ctx.problem(f"{src}: annotation {a!r} is not a JSON object; skipped")
    images_dir = resolve_images_dir(src, [e.get("file_name") for e in d["images"] if isinstance(e, dict)], images)
    ctx.report.outputs["images_dir"] = str(images_dir)
    for entry in ctx.track(d["images"], total=len(d["images"]), desc="importing"):
        reg = register_image(project, images_dir, entry, src, ctx)
        if reg is None:
            continue
        key, w, h = reg
        shapes: list[Shape] = []
        for n, a in enumerate(by_image.get(entry.get("id"), []), start=1):
            cls = classes.get(a.get("category_id"))
            if cls is None:
                ctx.problem(f"{src}: annotation {a.get('id')}: unknown category_id {a.get('category_id')!r}; skipped")
                continue
            try:
                shapes.extend(check_inside(shapes_from_annotation(a, cls, h, w, n), w, h))
            except (LabelerError, ValueError, TypeError) as e:
                ctx.problem(f"{src}: annotation {a.get('id')} ({entry.get('file_name')}): {e}; skipped")
        save_imported(project, key, w, h, shapes)
        ctx.report.done += 1
    project.save()


def json_head(p: Path) -> str | None:
    """The first 64 KiB of a JSON file (enough to tell COCO flavours apart), or None."""
    if p.suffix.lower() != ".json" or not p.is_file():
        return None
    try:
        with open(p, "r", encoding="utf-8", errors="replace") as f:
            return f.read(1 << 16)
    except OSError:
        return None


def detect(path) -> bool:
    """A COCO instances JSON, or a folder with ``annotations/instances_*.json``."""
    p = Path(path)
    if p.is_dir():
        return any((p / "annotations").glob("instances_*.json"))
    head = json_head(p)
    if head is None:
        return False
    if p.stem.startswith("panoptic_") or '"segments_info"' in head:
        return False
    return '"annotations"' in head and '"images"' in head and (
        '"segmentation"' in head or '"bbox"' in head or p.stem.startswith("instances_"))

