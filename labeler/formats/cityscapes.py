"""Cityscapes: ``leftImg8bit/`` images and ``gtFine/`` polygons with their label PNGs.

Layout (``{split}`` is train / val / test, ``{name}`` is ``{city}_{seq:06}_{frame:06}``)::

    leftImg8bit/{split}/{city}/{name}_leftImg8bit.png
    gtFine/{split}/{city}/{name}_gtFine_polygons.json      imgHeight, imgWidth, objects[label, polygon]
    gtFine/{split}/{city}/{name}_gtFine_labelIds.png       uint8 label ids
    gtFine/{split}/{city}/{name}_gtFine_instanceIds.png    uint16: id*1000+k for hasInstances classes
    gtFine/{split}/{city}/{name}_gtFine_color.png          RGBA class colours
    gtFine/{split}/{city}/{name}_gtFine_labelTrainIds.png  uint8 train ids (``train_ids=True``)

Cityscapes draws polygons in file order, later on top, with Pillow's ``ImageDraw.polygon(xy,
fill=v)`` (the "pil-fill" convention of :mod:`labeler.core.geometry`). The exporter writes the
shapes in z-order and renders every PNG *from the polygons it wrote*, exactly as
cityscapesscripts' ``json2labelImg`` / ``json2instanceImg`` would, so the two always agree.

Cityscapes polygons have no holes; ``holes=`` picks how a shape with holes is written:

``"bridge"`` (default)
    Each part of the shape is one polygon whose holes are joined to its outline by zero-width
    cuts (:func:`labeler.core.geometry.bridged_ring`, as the YOLO exporter does). A hole's ring
    runs exactly through the centres of the shape's own pixels around the hole (OpenCV border
    following), so Pillow's inclusive fill leaves the hole's pixels unpainted and paints each cut
    over the shape's own pixels: whatever was drawn before shows through the hole with its own
    label and instance id. A polygon shape with holes is written as the pixels it fills.
``"paint"`` (the earlier method)
    After the outer polygon, the hole itself with the background label (``unlabeled``), then
    every object drawn before the shape, clipped to the hole (shapely), in its original order.
    A thing seen through a hole gets a new instance id there (cityscapes numbers instances per
    polygon), and holes are vector approximations (the vectoriser's ``min_iou``).

Measured with ``python -m tests.bench.bench_cityscapes_holes``: cityscapesscripts'
``createLabelImage`` / ``createInstanceImage`` of the export against the source masks.
Synthetic scenes (a car with holes over a car; vegetation with holes over the sky and a car; a
car with an island in its hole; a polygon with a slanted hole; a fence mesh of one-pixel holes
over a car): labelIds agree on every pixel with "bridge", on 99.82, 99.95, 99.99, 99.97 and
80.9 % with "paint"; a car seen through holes keeps one instance id with "bridge" and gets one
more per hole with "paint" (a one-pixel hole shows unlabeled). 60 random vegetation blobs full
of holes over a car: labelIds 99.60 % against 98.45 %, never lower with "bridge"; the car keeps
one instance id in all 60 with "bridge", and shows 8.5 ids on average with "paint" (split in 58).
20 CamVid val images (one mask
per class, cars, pedestrians and bicyclists split into connected components): labelIds 99.01 %
("bridge") against 98.96 % ("paint") in class order, 98.96 against 98.91 % with the instance
classes drawn first; "bridge" writes 17 % more polygon vertices and builds the objects 10-50 %
slower (5,000 holes in one 480 x 360 mask: about 20 s against 5 s).
Known losses with "bridge", all documented here: a mask with several parts (an island in a hole
too) becomes several polygons, so several instances; outlines are vector approximations (the
vectoriser's ``min_iou``: the remaining 1 % on CamVid, the same with either method).

Mask shapes are vectorised with :func:`labeler.core.geometry.mask_to_polygons` (rings on pixel
edges), and each ring is then moved half a pixel inwards onto the centres of its boundary pixels,
which is where Pillow's filler wants it.

Names: an image already called ``{city}_{seq}_{frame}[_leftImg8bit]`` keeps its numbers; any
other gets ``seq 000000`` and the next free frame number of its city. The mapping from project
image keys to cityscapes names is written to ``labeler_cityscapes_names.json`` beside ``gtFine``.

Import reads ``gtFine/*/*/*_gtFine_polygons.json`` with the images under ``leftImg8bit``:
each polygon becomes a polygon shape whose z is its position in the file; the split is the
folder name; deleted objects are skipped; ``cargroup``-style labels become the class with the
shape flag ``group``. Polygons are kept as written: a bridged hole reads back as a polygon whose
zero-width cut touches itself (drawn the same; shapely, and so ``labeler check``, calls it invalid).
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image, ImageDraw

from .cityscapes_polygons import GROUP_SUFFIX, HOLE_METHODS, build_objects
from .common import far_outside, save_imported
from ..core import geometry
from ..core.errors import FormatError, LabelerError, SchemaError
from ..core.fileio import atomic_open, safe_join, save_image_atomic, write_json_atomic
from ..core.images import image_size, read_image
from ..core.jobs import JobContext
from ..core.project import Project
from ..core.schema import LabelClass, Schema, load_preset
from ..core.shapes import POLYGON, Shape

IMAGES = "leftImg8bit"
GT = "gtFine"
SIDECAR = "labeler_cityscapes_names.json"
BACKGROUND = "unlabeled"
_NAME_RE = re.compile(r"^(?P<city>[A-Za-z0-9-]+)_(?P<seq>\d{6})_(?P<frame>\d{6})(?:_leftImg8bit)?$")
_POLY_SUFFIX = "_gtFine_polygons.json"


# ------------------------------------------------------------------------ label table


@dataclass(frozen=True)
class _Entry:
    id: int
    train_id: int
    color: tuple[int, int, int]
    has_instances: bool


class LabelTable:
    """Label name -> ids, as cityscapesscripts' ``name2label``, built from a schema."""

    def __init__(self, schema: Schema) -> None:
        ignore = schema.ignore_index
        self.entries = {c.name: self._entry(c, ignore) for c in schema}
        self.background = schema.background if schema.background in self.entries else BACKGROUND
        if self.background not in self.entries:
            self.entries[self.background] = _Entry(ignore, ignore, (0, 0, 0), False)

    @staticmethod
    def _entry(c: LabelClass, ignore: int) -> _Entry:
        train = c.train_id if c.train_id is not None else ignore
        return _Entry(int(c.id), int(train), tuple(int(v) for v in c.color), c.has_instances)

    def lookup(self, label: str) -> tuple[_Entry, bool] | None:
        """``(entry, is_group)``, reading ``cargroup`` as a group of ``car``; None if unknown."""
        if label in self.entries:
            return self.entries[label], False
        if label.endswith(GROUP_SUFFIX) and label[:-len(GROUP_SUFFIX)] in self.entries:
            return self.entries[label[:-len(GROUP_SUFFIX)]], True
        return None


def render_label_image(doc: dict, table: LabelTable, encoding: str = "ids") -> np.ndarray:
    """The label image cityscapesscripts' ``createLabelImage`` draws from a polygons dict.

    ``encoding``: "ids" and "trainIds" give (H, W) uint8, "color" gives (H, W, 4) RGBA uint8.
    """
    size = (int(doc["imgWidth"]), int(doc["imgHeight"]))
    bg = table.entries[table.background]
    pick = {"ids": lambda e: e.id, "trainIds": lambda e: e.train_id, "color": lambda e: e.color}
    if encoding not in pick:
        raise ValueError(f"unknown encoding {encoding!r}; expected ids, trainIds or color")
    img = Image.new("RGBA" if encoding == "color" else "L", size, pick[encoding](bg))
    draw = ImageDraw.Draw(img)
    for obj in doc["objects"]:
        if obj.get("deleted"):
            continue
        found = table.lookup(obj["label"])
        if found is None:
            raise FormatError(f"label {obj['label']!r} is not in the label table")
        entry = found[0]
        if entry.id < 0:
            continue
        draw.polygon([tuple(p) for p in obj["polygon"]], fill=pick[encoding](entry))
    return np.asarray(img)


def render_instance_image(doc: dict, table: LabelTable, encoding: str = "ids") -> np.ndarray:
    """The instance image of ``createInstanceImage``: id*1000+k for instance classes (k counts
    that class's polygons in file order, from 0), the plain id otherwise; (H, W) int32."""
    size = (int(doc["imgWidth"]), int(doc["imgHeight"]))
    bg = table.entries[table.background]
    if encoding not in ("ids", "trainIds"):
        raise ValueError(f"unknown encoding {encoding!r}; expected ids or trainIds")
    img = Image.new("I", size, bg.id if encoding == "ids" else bg.train_id)
    draw = ImageDraw.Draw(img)
    counts: dict[int, int] = {}
    for obj in doc["objects"]:
        if obj.get("deleted"):
            continue
        found = table.lookup(obj["label"])
        if found is None:
            raise FormatError(f"label {obj['label']!r} is not in the label table")
        entry, is_group = found
        value = entry.id if encoding == "ids" else entry.train_id
        if entry.has_instances and not is_group and value != 255:
            k = counts.get(entry.id, 0)
            counts[entry.id] = k + 1
            value = value * 1000 + k
        if value < 0:
            continue
        draw.polygon([tuple(p) for p in obj["polygon"]], fill=value)
    return np.asarray(img, dtype=np.int32)


# ------------------------------------------------------------------------------ export


def _safe_part(text: str, default: str) -> str:
    """A city or split name usable in cityscapes file names (no '_', no path characters)."""
    clean = re.sub(r"[^A-Za-z0-9-]+", "-", str(text)).strip("-")
    return clean or default


def assign_names(keys: list[str], city: str | None = None) -> dict[str, tuple[str, str]]:
    """``key -> (city, "{city}_{seq}_{frame}")``; names that follow the pattern are kept, the
    others numbered with seq 000000 and the next free frame number of their city."""
    out: dict[str, tuple[str, str]] = {}
    used: set[str] = set()
    pending = []
    for key in sorted(keys):
        m = _NAME_RE.match(PurePosixPath(key).stem)
        if m and (city is None or _safe_part(city, "city") == m["city"]):
            name = f"{m['city']}_{m['seq']}_{m['frame']}"
            if name not in used:
                used.add(name)
                out[key] = (m["city"], name)
                continue
        pending.append(key)
    next_frame: dict[str, int] = {}
    for key in pending:
        c = _safe_part(city or PurePosixPath(key).parent.name, "city")
        frame = next_frame.get(c, 0)
        while f"{c}_000000_{frame:06d}" in used:
            frame += 1
        name = f"{c}_000000_{frame:06d}"
        used.add(name)
        next_frame[c] = frame + 1
        out[key] = (c, name)
    return out


def _write_png(path: Path, array: np.ndarray) -> None:
    save_image_atomic(path, Image.fromarray(array))


def _copy_image(src: Path, dst: Path) -> None:
    if src.suffix.lower() == ".png":
        with open(src, "rb") as fin, atomic_open(dst, "wb") as fout:
            shutil.copyfileobj(fin, fout)
    else:
        save_image_atomic(dst, Image.fromarray(read_image(src, "RGB")))


def export_dataset(project: Project, out, ctx: JobContext | None = None, split: str | None = None, *,
                   city: str | None = None, train_ids: bool = False, schema: Schema | str | None = None,
                   label_map: dict | None = None, min_iou: float = 0.99, holes: str = "bridge",
                   **options) -> None:
    """Write the project (or one split) as a Cityscapes ``gtFine`` + ``leftImg8bit`` tree.

    ``city``: one city name for every image (default: each image's folder name).
    ``train_ids``: also write ``_gtFine_labelTrainIds.png``.
    ``schema``: the label table for ids and colours (a Schema or preset name; default the
    project's). ``label_map``: project class name -> table class name.
    ``min_iou``: fidelity asked of the mask vectoriser.
    ``holes``: "bridge" (default) or "paint", how holes are written (see the module docstring).
    Images without an annotation file are skipped; images in no split go to ``train``.
    """
    ctx = ctx or JobContext()
    if options:
        raise TypeError(f"cityscapes export takes no options {sorted(options)}")
    if holes not in HOLE_METHODS:
        raise FormatError(f"cityscapes holes={holes!r}: expected one of {', '.join(HOLE_METHODS)}")
    if isinstance(schema, str):
        schema = load_preset(schema)
    table = LabelTable(schema or project.schema)
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    keys = [k for k in project.keys_in_split(split) if project.has_annotation(k)]
    names = assign_names(keys, city)
    mapping: dict[str, str] = {}
    for key in ctx.track(keys, len(keys), "cityscapes export"):
        try:
            part = _safe_part(split if split not in (None, "trainval") else (project.split_of(key) or "train"),
                              "train")
            c, name = names[key]
            _export_one(project, key, out, f"{part}/{c}/{name}", table, label_map, min_iou, train_ids, ctx,
                        holes)
            mapping[key] = f"{IMAGES}/{part}/{c}/{name}_{IMAGES}.png"
        except (LabelerError, OSError, ValueError) as e:
            msg = str(e)
            ctx.problem(msg if key in msg else f"{key}: {msg}")
            continue
        ctx.report.done += 1
    write_json_atomic(out / SIDECAR, {"images": mapping})
    ctx.report.outputs["folder"] = str(out)


def _export_one(project: Project, key: str, out: Path, stem: str, table: LabelTable, label_map, min_iou: float,
                train_ids: bool, ctx: JobContext, holes: str = "bridge") -> None:
    src = project.image_path(key)
    if not src.is_file():
        raise LabelerError(f"{src}: image not found")
    ann, problems = project.load_with_problems(key)
    for p in problems:
        ctx.report.warn(p)
    geometry.check_dense_size(ann.height, ann.width)
    objects = build_objects(ann.shapes, table, ann.height, ann.width, label_map=label_map, min_iou=min_iou,
                            holes=holes, warn=lambda msg: ctx.report.warn(f"{key}: {msg}"))
    doc = {"imgHeight": ann.height, "imgWidth": ann.width, "objects": objects}
    instances = render_instance_image(doc, table, "ids")
    if instances.max(initial=0) > 65535 or instances.min(initial=0) < 0:
        raise LabelerError(f"{key}: instance ids do not fit a 16-bit PNG (too many instances of one class)")
    labels = render_label_image(doc, table, "ids")
    gt = PurePosixPath(GT) / stem
    _copy_image(src, safe_join(out, f"{IMAGES}/{stem}_{IMAGES}.png"))
    write_json_atomic(safe_join(out, f"{gt}{_POLY_SUFFIX}"), doc)
    _write_png(safe_join(out, f"{gt}_gtFine_labelIds.png"), labels)
    _write_png(safe_join(out, f"{gt}_gtFine_instanceIds.png"), instances.astype(np.uint16))
    _write_png(safe_join(out, f"{gt}_gtFine_color.png"), render_label_image(doc, table, "color"))
    if train_ids:
        _write_png(safe_join(out, f"{gt}_gtFine_labelTrainIds.png"), render_label_image(doc, table, "trainIds"))


# ------------------------------------------------------------------------------ import


def _root_of(path: Path) -> Path:
    return path.parent if path.name == GT else path


def _polygon_files(root: Path) -> list[Path]:
    return sorted((root / GT).glob(f"*/*/*{_POLY_SUFFIX}"))


def detect(path) -> bool:
    """A folder holding ``gtFine/{split}/{city}/*_gtFine_polygons.json`` (or that gtFine)."""
    path = Path(path)
    if not path.is_dir():
        return False
    gt = _root_of(path) / GT
    return gt.is_dir() and next(iter(gt.glob(f"*/*/*{_POLY_SUFFIX}")), None) is not None


def _parse_objects(doc, json_path: Path, ctx: JobContext) -> list[Shape]:
    if not isinstance(doc, dict) or not isinstance(doc.get("objects"), list):
        raise FormatError(f"{json_path}: not a cityscapes polygons file (no 'objects' list)")
    shapes = []
    for i, obj in enumerate(doc["objects"]):
        if not isinstance(obj, dict):
            ctx.report.warn(f"{json_path}: object {i} is not a JSON object; skipped")
            continue
        if obj.get("deleted"):
            continue
        label = obj.get("label")
        try:
            if not isinstance(label, str) or not label:
                raise ValueError("no label")
            pts = np.asarray(obj.get("polygon"), dtype=np.float64)
            flags = {}
            if label.endswith(GROUP_SUFFIX) and len(label) > len(GROUP_SUFFIX):
                label, flags = label[:-len(GROUP_SUFFIX)], {GROUP_SUFFIX: True}
            shapes.append(Shape(POLYGON, label, pts, z=i, source="import", flags=flags))
        except (ValueError, TypeError) as e:
            ctx.report.warn(f"{json_path}: object {i} ({label!r}) skipped: {e}")
    return shapes


def _extend_schema(project: Project, labels: list[str]) -> None:
    if not len(project.schema) and labels:
        preset = load_preset("cityscapes")
        project.schema = Schema(list(preset.classes), name=preset.name, ignore_index=preset.ignore_index,
                                background=preset.background, extra=dict(preset.extra))
        return
    preset = None
    for label in labels:
        if label in project.schema:
            continue
        preset = preset or load_preset("cityscapes")
        known = preset.get(label)
        if known is not None and all(c.id != known.id for c in project.schema):
            project.schema.classes.append(known)
        else:
            project.schema.add(label, is_thing=known.is_thing if known else True)


def _import_one(json_path: Path, root: Path, project: Project, ctx: JobContext) -> None:
    rel = json_path.relative_to(root / GT)
    split, city_dir = rel.parts[0], rel.parts[1]
    stem = json_path.name[:-len(_POLY_SUFFIX)]
    image = root / IMAGES / split / city_dir / f"{stem}_{IMAGES}.png"
    if not image.is_file():
        raise LabelerError(f"{json_path}: its image {image} is not there")
    try:
        doc = json.loads(json_path.read_text("utf-8"))
    except UnicodeDecodeError:
        raise FormatError(f"{json_path}: not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise FormatError(f"{json_path}: corrupt JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    shapes = _parse_objects(doc, json_path, ctx)
    w, h = image_size(image)
    if (doc.get("imgWidth"), doc.get("imgHeight")) != (w, h):
        ctx.report.warn(f"{json_path}: imgWidth x imgHeight {doc.get('imgWidth')} x {doc.get('imgHeight')} "
                        f"does not match the image ({w} x {h}); using the image's size")
    for s in [s for s in shapes if far_outside(s, w, h)]:
        ctx.report.warn(f"{json_path}: object {s.z} ({s.label!r}) skipped: {far_outside(s, w, h)}")
        shapes.remove(s)
    _extend_schema(project, list(dict.fromkeys(s.label for s in shapes)))
    key = project.add_images([image.resolve()])[0]
    for keys in project.splits.values():
        if key in keys:
            keys.remove(key)
    project.splits.setdefault(split, []).append(key)
    save_imported(project, key, w, h, shapes)
    ctx.report.done += 1


def import_dataset(src, project: Project, ctx: JobContext | None = None, **options) -> None:
    """Read a Cityscapes tree (the folder holding gtFine/ and leftImg8bit/) into ``project``."""
    ctx = ctx or JobContext()
    if options:
        raise TypeError(f"cityscapes import takes no options {sorted(options)}")
    root = _root_of(Path(src).resolve())
    files = _polygon_files(root)
    if not files:
        raise FormatError(f"{root}: no {GT}/<split>/<city>/*{_POLY_SUFFIX} files")
    for json_path in ctx.track(files, len(files), "cityscapes import"):
        try:
            _import_one(json_path, root, project, ctx)
        except (LabelerError, SchemaError, OSError, ValueError) as e:
            msg = str(e)
            ctx.problem(msg if str(json_path) in msg else f"{json_path}: {msg}")
    for keys in project.splits.values():
        keys.sort()
    project.save()
