"""COCO panoptic segmentation: import and export.

Export writes ``out/annotations/panoptic_<split or "all">.json`` and one RGB PNG per image in
``out/annotations/panoptic_<split or "all">/<stem>.png`` whose pixel colour encodes the segment id
(``id = R + 256 G + 256² B``; 0 is void). Every thing instance (shapes sharing an ``instance_id``
and class, or a single shape) is one segment; every stuff class is one segment per image.
Overlapping shapes are resolved by z-order (higher z wins; later in the list wins among equal z)
exactly as :func:`labeler.core.geometry.rasterize` paints them, with the ``"coco"`` pixel
convention, so segments never overlap. ``area`` and ``bbox`` are measured on the PNG.

Import reads the JSON and PNGs back into mask shapes (things get an ``instance_id``).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image

from ..core import geometry
from ..core.errors import FormatError, LabelerError, UnsafePathError
from ..core.fileio import safe_join, save_image_atomic, write_json_atomic
from ..core.images import read_image
from ..core.shapes import MASK, Shape
from .coco import (COCO_CONVENTION, ImageTable, categories_for, group_instances, load_images, merge_categories,
                   json_head, read_coco_json, register_image, resolve_images_dir)
from .common import save_imported

MAX_SEGMENT_ID = 256 ** 3 - 1


def ids_to_rgb(ids: np.ndarray) -> np.ndarray:
    ids = np.asarray(ids, dtype=np.uint32)
    return np.stack([ids % 256, ids // 256 % 256, ids // 65536 % 256], axis=-1).astype(np.uint8)


def rgb_to_ids(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb, dtype=np.uint32)
    return rgb[..., 0] + 256 * rgb[..., 1] + 65536 * rgb[..., 2]


def _mask_bbox(mask: np.ndarray) -> list[int]:
    ys, xs = np.nonzero(mask)
    x0, y0 = int(xs.min()), int(ys.min())
    return [x0, y0, int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1]


def panoptic_segments(shapes: list[Shape], schema, cat_ids: dict[str, int]) -> list[tuple[str, list[Shape], bool]]:
    """``(label, shapes, iscrowd)`` per segment: each thing instance, each stuff class."""
    segments: list[tuple[str, list[Shape], bool]] = []
    things = group_instances(shapes, lambda s: s.label in cat_ids and schema.by_name(s.label).is_thing)
    for group in things:
        segments.append((group[0].label, group, any(bool(s.flags.get("iscrowd")) for s in group)))
    stuff: dict[str, list[Shape]] = {}
    for s in shapes:
        if s.is_area and s.label in cat_ids and not schema.by_name(s.label).is_thing:
            stuff.setdefault(s.label, []).append(s)
    segments.extend((label, group, False) for label, group in stuff.items())
    return segments


def render_panoptic(shapes: list[Shape], segments, height: int, width: int) -> np.ndarray:
    """The segment-index map (0 void, i + 1 for ``segments[i]``), painted in z-order."""
    if len(segments) > MAX_SEGMENT_ID:
        raise FormatError(f"{len(segments)} segments do not fit in a panoptic PNG")
    index = {id(s): i + 1 for i, (_, group, _) in enumerate(segments) for s in group}
    pairs = [(s, index[id(s)]) for s in shapes if id(s) in index]  # annotation order breaks z ties
    return geometry.rasterize(pairs, height, width, dtype=np.uint32, convention=COCO_CONVENTION)


def _png_names(keys: list[str]) -> dict[str, str]:
    """PNG file name per image: its stem, or its whole path flattened where stems clash."""
    stems: dict[str, int] = {}
    for k in keys:
        stems[Path(k).stem] = stems.get(Path(k).stem, 0) + 1
    out = {}
    for k in keys:
        stem = Path(k).stem
        if stems[stem] > 1:
            stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(k).with_suffix("").as_posix().replace("../", "up_"))
        out[k] = f"{stem}.png"
    return out


def export_dataset(project, out, ctx, split=None, *, copy_images: bool = False, **options) -> Path:
    """Write the panoptic JSON and PNGs; returns the JSON's path."""
    out = Path(out)
    name = f"panoptic_{split or 'all'}"
    png_dir = out / "annotations" / name
    schema = project.schema
    categories = categories_for(schema, include_stuff=True, panoptic=True)
    cat_ids = {c["name"]: c["id"] for c in categories}
    keys = project.keys_in_split(split)
    table = ImageTable(project, out, copy_images)
    table.images_dir_for(keys)
    png_names = _png_names(keys)
    annotations = []
    for key, ann in load_images(project, ctx, split):
        where = str(project.annotation_path(key))
        try:
            segments = panoptic_segments(ann.shapes, schema, cat_ids)
            index_map = render_panoptic(ann.shapes, segments, ann.height, ann.width)
            entry = table.add(key, ann.width, ann.height)
        except (OSError, LabelerError) as e:
            ctx.problem(f"{where}: cannot export: {e}")
            continue
        infos = []
        present, counts = np.unique(index_map, return_counts=True)
        area_of = dict(zip(present.tolist(), counts.tolist()))
        for i, (label, _group, crowd) in enumerate(segments, start=1):
            if i not in area_of:
                ctx.report.warn(f"{where}: a {label} segment is hidden entirely by shapes above it; left out")
                continue
            infos.append({"id": i, "category_id": cat_ids[label], "area": int(area_of[i]),
                          "bbox": _mask_bbox(index_map == i), "iscrowd": int(crowd)})
        save_image_atomic(png_dir / png_names[key], Image.fromarray(ids_to_rgb(index_map), mode="RGB"))
        annotations.append({"image_id": entry["id"], "file_name": png_names[key], "segments_info": infos})
        ctx.report.done += 1
    doc = {"info": {"description": f"exported by labeler from {project.root.name}", "version": "1.0"},
           "licenses": [], "images": table.entries, "annotations": annotations, "categories": categories}
    path = out / "annotations" / f"{name}.json"
    write_json_atomic(path, doc, indent=None)
    ctx.report.outputs.update({"annotations": str(path), "panoptic_dir": str(png_dir), "images_dir": str(table.root)})
    return path


# ============================================================================== import


def _segment_shapes(ids: np.ndarray, infos: list, classes: dict, src: Path, png: Path, ctx) -> list[Shape]:
    shapes = []
    present = set(np.unique(ids).tolist())
    listed: set[int] = set()
    for n, info in enumerate(infos, start=1):
        try:
            sid, cid = int(info["id"]), info["category_id"]
        except (KeyError, TypeError, ValueError):
            ctx.problem(f"{src}: malformed segment {info!r} for {png.name}; skipped")
            continue
        if sid in listed:
            ctx.problem(f"{src}: segment id {sid} listed twice for {png.name}; the second skipped")
            continue
        listed.add(sid)
        cls = classes.get(cid)
        if cls is None:
            ctx.problem(f"{src}: segment {sid} in {png.name}: unknown category_id {cid!r}; skipped")
            continue
        if sid not in present:
            ctx.report.warn(f"{png}: segment {sid} ({cls.name}) has no pixels; skipped")
            continue
        flags = {"iscrowd": True} if info.get("iscrowd") else {}
        shapes.append(Shape(MASK, cls.name, rle=geometry.rle_encode(ids == sid), source="import", flags=flags,
                            instance_id=n if cls.is_thing else None))
    unlisted = present - listed - {0}
    if unlisted:  # the panoptic format lists every segment; these pixels would be dropped without a word
        ctx.report.warn(f"{png}: {len(unlisted)} segment id(s) in the PNG are not in its segments_info; "
                        "their pixels are left unlabelled")
    return shapes


def import_dataset(src, project, ctx, images=None, masks=None, **options) -> None:
    """Read a COCO panoptic JSON (and its PNG folder, by default the JSON's name without
    ``.json``) into ``project`` as mask shapes."""
    src = Path(src)
    d = read_coco_json(src)
    png_dir = Path(masks) if masks is not None else src.with_suffix("")
    if not png_dir.is_dir():
        raise FormatError(f"{src}: panoptic PNG folder {png_dir} not found")
    classes = merge_categories(project.schema, d.get("categories") or [], src, ctx)
    by_image = {a.get("image_id"): a for a in d["annotations"] if isinstance(a, dict)}
    images_dir = resolve_images_dir(src, [e.get("file_name") for e in d["images"] if isinstance(e, dict)], images)
    ctx.report.outputs["images_dir"] = str(images_dir)
    for entry in ctx.track(d["images"], total=len(d["images"]), desc="importing"):
        a = by_image.get(entry.get("id") if isinstance(entry, dict) else None)
        if a is None:
            ctx.report.warn(f"{src}: image {entry!r} has no panoptic annotation; skipped")
            continue
        reg = register_image(project, images_dir, entry, src, ctx)
        if reg is None:
            continue
        key, w, h = reg
        try:
            png = safe_join(png_dir, str(a.get("file_name") or ""))
            ids = rgb_to_ids(read_image(png, mode="RGB"))
        except (UnsafePathError, LabelerError) as e:
            ctx.problem(f"{src}: image {entry.get('file_name')}: panoptic PNG: {e}; skipped")
            continue
        if ids.shape != (h, w):
            ctx.problem(f"{png}: {ids.shape[1]}x{ids.shape[0]} does not match its image ({w}x{h}); skipped")
            continue
        save_imported(project, key, w, h, _segment_shapes(ids, a.get("segments_info") or [], classes, src, png, ctx))
        ctx.report.done += 1
    project.save()


def detect(path) -> bool:
    """A COCO panoptic JSON, or a folder with ``annotations/panoptic_*.json``."""
    p = Path(path)
    if p.is_dir():
        return any((p / "annotations").glob("panoptic_*.json"))
    head = json_head(p)
    if head is None:
        return False
    return '"segments_info"' in head or (p.stem.startswith("panoptic_") and '"annotations"' in head)
