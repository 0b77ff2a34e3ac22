"""YOLO segmentation (Ultralytics YOLOv8/11-seg ``segment`` datasets): import and export.

``OUT/data.yaml`` (``path``: OUT, absolute, as Ultralytics resolves it; ``train``/``val``/``test``
image folders; ``names: {0: name}``), ``OUT/images/<split>/<file>`` (copies; ``link_images=True`` hard-links
them where OUT shares the images' file system, which is faster but shares the file: a tool that
edits an exported image in place would change the project's image too) and
``OUT/labels/<split>/<stem>.txt``: one object a line, ``class x1 y1 x2 y2 ...``.

Export: one line per object (an area shape; shapes of one class sharing an ``instance_id`` are one
object, as in COCO). Coordinates are pixel edges (the ``"coco"`` convention of
:mod:`labeler.core.geometry`) over the image size, clipped to the image (a vertex on the right edge
writes 1.0). Rectangles give 4 points, circles and masks polygons (``mask_to_polygons``). YOLO
fills each line as one ring, so holes and further parts are joined to the outer ring by
zero-width cuts (``geometry.bridged_ring``). Class indices follow the schema's order without the
classes that are not objects: the ignore class, classes ignored in evaluation, and the
background class (the schema's ``background`` or one named background), since unlabelled pixels
are YOLO's background.
Shapes of those or unknown classes, points, lines, scribbles and weak labels are skipped and
counted in the report. Every image of the project (or split) is written, with an empty label
file when it has no objects, into its split's folder (train, val, test or its own split's
name); images in no split go to train. Ultralytics needs ``train`` and ``val``: a missing one
points at the other, with a warning. Overlapping objects stay as they are.

Import reads ``data.yaml`` (or the one ``*.yaml`` in the folder), the image folders or ``.txt``
lists of train/val/test, and each image's label file (the last ``images`` folder of its path
becomes ``labels``; none = no objects). A line becomes a pixel polygon; a ring with cuts is
repaired with shapely into a polygon with holes (parts of one line share an ``instance_id``).
Malformed lines (odd number of coordinates, fewer than 3 points, coordinates outside [0, 1] by
more than ``TOLERANCE``, unknown class index) are reported by file:line and skipped. ``path`` or
split entries leading outside the folder of ``data.yaml`` are refused; an absolute ``path``
that does not exist (a moved dataset) means that folder, with a warning.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import shapely
import yaml
from shapely.geometry import MultiPolygon, Polygon, box

from ..core import geometry
from ..core.errors import FormatError, ImageReadError, InvalidShapeError, LabelerError, UnsafePathError
from ..core.fileio import atomic_open, link_or_copy_atomic, safe_join
from ..core.images import IMAGE_EXTENSIONS, image_size
from ..core.jobs import JobContext
from ..core.project import Project
from ..core.shapes import MASK, POLYGON, Shape
from .coco import is_void
from .common import save_imported
from .labelme import export_names

DATA_YAML = "data.yaml"
SPLITS = ("train", "val", "test")
BACKGROUND_NAMES = ("background", "_background_", "__background__")
#: how far outside [0, 1] a normalised coordinate may lie (rounding) before the line is refused
TOLERANCE = 1e-3
#: polygons of a smaller area (square pixels) are degenerate: collinear points up to rounding
MIN_AREA = 1e-6


def class_names(schema) -> list[str]:
    """The classes that get YOLO indices, in schema order (see the module docstring)."""
    return [c.name for c in schema if not is_void(c, schema) and c.name != schema.background
            and c.name.lower() not in BACKGROUND_NAMES]


# =========================================================================== geometry


def _object_geometry(shapes: list[Shape], height: int, width: int, min_iou: float):
    parts = []
    for s in shapes:
        if s.kind == MASK:
            if list(s.rle["size"]) != [height, width]:
                raise InvalidShapeError(f"mask of size {s.rle['size']} does not match the image ({height}, {width})")
            rings, _ = geometry.mask_to_polygons(geometry.rle_decode(s.rle), min_iou=min_iou)
            parts.extend(Polygon(ext, holes) for ext, holes in rings)
        else:
            parts.append(geometry.shape_to_geometry(s))
    geom = shapely.union_all(parts) if len(parts) > 1 else parts[0]
    return geom.intersection(box(0, 0, width, height))


def label_lines(ann, index: dict[str, int], skipped: Counter, min_iou: float = 0.99, problem=None) -> list[str]:
    """The YOLO lines of an annotation; what cannot be written is counted in ``skipped``."""
    objects: dict[tuple, list[Shape]] = {}
    for s in geometry.z_sorted(ann.shapes):
        if not s.is_area:
            skipped[("kind", f"weak {s.kind}" if s.weak else s.kind)] += 1
        elif s.label not in index:
            skipped[("class", s.label)] += 1
        else:
            objects.setdefault((s.label, s.instance_id) if s.instance_id is not None else (s.id,), []).append(s)
    lines = []
    for group in objects.values():
        try:
            ring = geometry.bridged_ring(_object_geometry(group, ann.height, ann.width, min_iou))
        except (InvalidShapeError, ValueError, shapely.errors.ShapelyError) as e:
            if problem is not None:
                problem(f"shape {group[0].id} ({group[0].label}): {e}")
            continue
        if len(ring) < 3:
            skipped[("kind", "zero-area or off-image")] += 1
            continue
        xy = np.clip(ring / [ann.width, ann.height], 0.0, 1.0)
        lines.append(" ".join([str(index[group[0].label])] + [f"{v:.6f}" for v in xy.ravel()]))
    return lines


# ============================================================================= export


def _split_folders(project: Project, keys: list[str]) -> dict[str, str]:
    order = [s for s in SPLITS if s in project.splits] + [s for s in project.splits if s not in SPLITS]
    folder: dict[str, str] = {}
    for name in reversed(order):  # the first split that lists an image wins
        folder.update({k: name for k in project.splits[name]})
    return {k: folder.get(k, "train") for k in sorted(set(project.image_keys()) | set(keys))}


def export_dataset(project: Project, out, ctx: JobContext | None = None, split: str | None = None, *,
                   link_images: bool = False, min_iou: float = 0.99, **options) -> None:
    """Write the project (or one split) as a YOLO segmentation dataset under ``out``.

    ``link_images``: hard-link images where possible instead of copying them. ``min_iou``: the
    fidelity asked of the mask vectoriser."""
    ctx = ctx or JobContext()
    if options:
        raise TypeError(f"yolo export takes no options {sorted(options)}")
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    names = class_names(project.schema)
    index = {n: i for i, n in enumerate(names)}
    keys = project.keys_in_split(split)
    folders = _split_folders(project, keys)
    rel: dict[str, str] = {}
    for name in set(folders.values()):  # names from every image of the folder: the same for any split
        members = sorted(k for k, f in folders.items() if f == name)
        rel.update({k: f"{name}/{r}" for k, r in export_names(members).items()})
    skipped: Counter = Counter()
    labels_used: dict[str, str] = {}
    written: set[str] = set()
    for key in ctx.track(keys, len(keys), "yolo export"):
        src = project.image_path(key)
        label_rel = f"labels/{Path(rel[key]).with_suffix('.txt').as_posix()}"
        try:
            if label_rel in labels_used:
                raise LabelerError(f"its label file {label_rel} is also {labels_used[label_rel]}'s (same name)")
            ann, problems = project.load_with_problems(key)
            for p in problems:
                ctx.report.warn(p)
            if not src.is_file():
                raise LabelerError(f"{src}: image not found")
            where = project.annotation_path(key)
            lines = label_lines(ann, index, skipped, min_iou, lambda m: ctx.problem(f"{where}: {m}"))
            with atomic_open(safe_join(out, label_rel), "w") as f:
                f.write("".join(ln + "\n" for ln in lines))
            target = safe_join(out, f"images/{rel[key]}")
            if link_images:
                link_or_copy_atomic(src, target)
            else:
                with open(src, "rb") as fin, atomic_open(target, "wb") as fout:
                    shutil.copyfileobj(fin, fout)
        except (LabelerError, OSError) as e:
            msg = str(e)
            ctx.problem(msg if key in msg or str(src) in msg else f"{key}: {msg}")
            continue
        labels_used[label_rel] = key
        written.add(rel[key].split("/", 1)[0])
        ctx.report.done += 1
    for (why, what), n in sorted(skipped.items()):
        ctx.report.warn(f"{n} {what} shape(s) not exported: YOLO segmentation holds area shapes only" if why == "kind"
                        else f"{n} shape(s) of class {what!r} not exported: not one of the YOLO classes {names}")
    ctx.report.outputs["skipped_shapes"] = {what: n for (_, what), n in skipped.items()}
    _write_data_yaml(out, names, sorted(written), ctx)


def _write_data_yaml(out: Path, names: list[str], folders: list[str], ctx: JobContext) -> None:
    data: dict = {"path": str(out)}
    for name in [s for s in SPLITS if s in folders] + [s for s in folders if s not in SPLITS]:
        data[name] = f"images/{name}"
    for need, other in (("train", "val"), ("val", "train")):
        if need not in data and other in data:
            data[need] = data[other]
            ctx.report.warn(f"{out / DATA_YAML}: no {need} images; '{need}' points at the {other} images "
                            "(Ultralytics needs both)")
    data.setdefault("train", "images/train")
    data.setdefault("val", "images/val")
    data["names"] = dict(enumerate(names))
    with atomic_open(out / DATA_YAML, "w") as f:
        yaml.safe_dump(data, f, sort_keys=False, allow_unicode=True)
    ctx.report.outputs["folder"] = str(out)
    ctx.report.outputs["data_yaml"] = str(out / DATA_YAML)


# ============================================================================= import


def _find_yaml(src: Path) -> Path:
    if src.is_file():
        return src
    if (src / DATA_YAML).is_file():
        return src / DATA_YAML
    found = sorted(p for p in src.glob("*.y*ml") if p.suffix.lower() in (".yaml", ".yml"))
    if len(found) != 1:
        raise FormatError(f"{src}: no {DATA_YAML} found" if not found else
                          f"{src}: several YAML files ({', '.join(p.name for p in found)}); give the one to read")
    return found[0]


def detect(path) -> bool:
    """A ``data.yaml`` with ``names`` and a ``train`` or ``val`` entry, or a folder holding one."""
    try:
        data = yaml.safe_load(_find_yaml(Path(path)).read_text("utf-8"))
    except (LabelerError, OSError, ValueError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and ("names" in data or "nc" in data) and ("train" in data or "val" in data)


def _read_data_yaml(path: Path) -> tuple[dict, dict[int, str]]:
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise FormatError(f"{path}: cannot read: {' '.join(str(e).split())}") from None
    if not isinstance(data, dict):
        raise FormatError(f"{path}: not a YOLO data.yaml (expected a mapping with names, train, val)")
    raw = data.get("names")
    try:
        if isinstance(raw, list):
            names = {i: str(n) for i, n in enumerate(raw)}
        elif isinstance(raw, dict):
            names = {int(k): str(v) for k, v in raw.items()}
        elif raw is None and isinstance(data.get("nc"), int):
            names = {i: f"class_{i}" for i in range(data["nc"])}
        else:
            raise ValueError(f"'names' must be a list or a mapping, not {raw!r}")
    except (TypeError, ValueError) as e:
        raise FormatError(f"{path}: {e}") from None
    return data, names


def _inside(root: Path, base: Path, entry, what: str) -> Path:
    """``entry`` (absolute, or relative to ``base``) resolved, refused unless inside ``root``."""
    cand = Path(str(entry))
    cand = cand if cand.is_absolute() else base / cand
    try:
        return safe_join(root, os.path.relpath(cand, root))
    except (UnsafePathError, ValueError):
        raise FormatError(f"{what} {str(entry)!r} leads outside the dataset folder {root}; "
                          "only files inside it are read") from None


def _image_files(entry: Path, root: Path, ctx: JobContext) -> list[Path]:
    if entry.is_dir():
        return sorted(p for p in entry.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
    out = []
    for n, line in enumerate(entry.read_text("utf-8").splitlines(), 1):
        line = line.strip()
        if line:
            try:
                out.append(_inside(root, entry.parent, line, f"{entry}:{n}: image"))
            except FormatError as e:
                ctx.problem(str(e))
    return out


def _label_path(image: Path) -> Path:
    """Ultralytics' rule: the last ``images`` folder of the path becomes ``labels``, suffix .txt."""
    parts = list(image.parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            break
    return Path(*parts).with_suffix(".txt")


def parse_line(text: str, names: dict[int, str], width: int, height: int) -> list[Shape]:
    """Polygon shapes in pixels for one label line; raises ValueError saying what is wrong."""
    fields = text.split()
    try:
        cls = int(fields[0])
        values = np.array([float(v) for v in fields[1:]])
    except ValueError:
        raise ValueError("not a class index followed by numbers") from None
    if cls not in names:
        raise ValueError(f"class index {cls} is not in names (0..{max(names, default=-1)})")
    if len(values) % 2:
        raise ValueError(f"odd number of coordinates ({len(values)})")
    if len(values) < 6:
        hint = " (a detection box: class cx cy w h?)" if len(values) == 4 else ""
        raise ValueError(f"{len(values) // 2} points; a polygon needs at least 3{hint}")
    if not np.isfinite(values).all() or values.min() < -TOLERANCE or values.max() > 1 + TOLERANCE:
        raise ValueError(f"coordinates outside [0, 1] ({values.min():g} .. {values.max():g}): not normalised?")
    pts = np.clip(values, 0, 1).reshape(-1, 2) * [width, height]
    poly = Polygon(pts)
    if poly.is_valid and poly.area > MIN_AREA:
        return [Shape(kind=POLYGON, label=names[cls], points=pts)]
    rings = geometry.geometry_to_rings(MultiPolygon(geometry.polygon_parts(shapely.make_valid(poly), MIN_AREA)))
    if not rings:
        raise ValueError("the polygon has no area")
    return [Shape(kind=POLYGON, label=names[cls], points=ext, holes=tuple(holes)) for ext, holes in rings]


def _read_labels(path: Path, names: dict[int, str], w: int, h: int, ctx: JobContext) -> list[Shape]:
    if not path.is_file():
        return []
    shapes: list[Shape] = []
    try:
        text = path.read_text("utf-8")
    except UnicodeDecodeError as e:  # name the label file, not only its image
        raise FormatError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            parts = parse_line(line, names, w, h)
        except ValueError as e:
            ctx.problem(f"{path}:{n}: {e}; line skipped")
            continue
        if len(parts) > 1:  # one object in several parts: one instance
            iid = max([s.instance_id or 0 for s in shapes] + [0]) + 1
            parts = [s.replace(instance_id=iid) for s in parts]
        shapes.extend(parts)
    return shapes


def import_dataset(src, project: Project, ctx: JobContext | None = None, **options) -> None:
    """Read a YOLO segmentation dataset (a folder with ``data.yaml``, or the YAML file)."""
    ctx = ctx or JobContext()
    if options:
        raise TypeError(f"yolo import takes no options {sorted(options)}")
    yaml_path = _find_yaml(Path(os.path.abspath(src)))
    root = yaml_path.parent.resolve()
    data, names = _read_data_yaml(yaml_path)
    base = root
    if data.get("path"):
        p = Path(str(data["path"]))
        if p.is_absolute() and not p.exists():
            ctx.report.warn(f"{yaml_path}: path {str(p)!r} does not exist (the dataset was moved?); "
                            f"reading the folder of {yaml_path.name}")
        else:
            base = _inside(root, root, data["path"], f"{yaml_path}: path")
    for i in sorted(names):
        project.schema.add(names[i])
    found: dict[str, list[str]] = {}
    seen: set[Path] = set()
    for split in SPLITS:
        entries = data.get(split) or []
        if not isinstance(entries, (str, list)):
            raise FormatError(f"{yaml_path}: {split} must be a folder, a list file or a list of them")
        for entry in [entries] if isinstance(entries, str) else entries:
            folder = _inside(root, base, entry, f"{yaml_path}: {split}")
            try:
                images = [p for p in _image_files(folder, root, ctx) if p not in seen]
            except (OSError, UnicodeDecodeError) as e:
                ctx.problem(f"{yaml_path}: {split} {str(entry)!r} cannot be read: {e}")
                continue
            seen.update(images)
            for image in ctx.track(images, len(images), f"yolo import {split}"):
                try:
                    w, h = image_size(image)
                    label = _inside(root, root, _label_path(image), f"label file of {image}")
                    shapes = _read_labels(label, names, w, h, ctx)
                except (ImageReadError, FormatError, OSError, UnicodeDecodeError) as e:
                    ctx.problem(str(e) if str(image) in str(e) else f"{image}: {e}")
                    continue
                key = project.add_images([image])[0]
                save_imported(project, key, w, h, shapes)
                found.setdefault(split, []).append(key)
                ctx.report.done += 1
    for split, keys in found.items():
        project.splits[split] = sorted(set(project.splits.get(split, [])) | set(keys))
    project.save()
