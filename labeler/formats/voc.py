"""Pascal VOC segmentation: ``VOCdevkit/VOC2012`` with class and object PNGs, XMLs and ImageSets.

Layout written by :func:`export_dataset` (and read by :func:`import_dataset`)::

    out/VOCdevkit/VOC2012/
        JPEGImages/<stem>.jpg              the image (copied when it is a JPEG, converted otherwise)
        SegmentationClass/<stem>.png       'P' PNG, VOC colour map: schema class id per pixel
        SegmentationObject/<stem>.png      'P' PNG, VOC colour map: instance index 1..N per pixel
        Annotations/<stem>.xml             size and one <object> per instance
        ImageSets/Segmentation/{train,val,trainval}.txt   stems, one a line

Pixel values: the class id of the topmost shape (z-order) in SegmentationClass; 0 for background
when the schema has a background class (pixels no shape covers), otherwise those pixels are void;
**255 is void** in both PNGs. Shapes are painted with the ``"pil"`` convention (inclusive), as
labelme's and VOC's own converters draw them. In SegmentationObject, instances are numbered 1..N
in painting order, counting only instances that stay visible; shapes sharing ``instance_id`` and
class form one instance; shapes of the background class paint 0.

Bounding boxes in the XMLs follow the VOC devkit: the visible pixels of the instance, as 1-based
inclusive pixel indices, so a pixel in column 0 gives ``xmin = 1`` and an object whose rightmost
pixel is column 9 gives ``xmax = 10``.

Import also reads class and object PNGs saved as RGB colour images (see
:mod:`labeler.formats.colour_masks`): a SegmentationClass colour is read through the VOC colour
map (224, 224, 192 is void), or else through the project schema's class colours; a
SegmentationObject colour through the VOC colour map. A mask with a colour neither explains is
reported (naming the file and the colours) and its image skipped.

Import makes one mask shape per instance (per object index and class when SegmentationObject
exists; otherwise per connected component of a thing class and one shape per stuff class), so
export -> import -> export reproduces both PNGs pixel for pixel.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from .colour_masks import read_mask, schema_colours, voc_colours
from .common import save_imported
from ..core import geometry
from ..core.errors import FormatError, InvalidShapeError, LabelerError
from ..core.fileio import atomic_open, safe_join, write_bytes_atomic
from ..core.images import read_image
from ..core.schema import LabelClass, Schema, default_color, load_preset, voc_palette
from ..core.shapes import MASK, Shape

VOID = 255
YEARS = tuple(str(y) for y in range(2007, 2013))
_STANDARD_SETS = ("train", "val", "trainval")


def _year_folder(year) -> str:
    year = str(year)
    if year not in YEARS:
        raise FormatError(f"VOC year must be one of {', '.join(YEARS)}, got {year!r}")
    return f"VOC{year}"


# ------------------------------------------------------------------------------ detect


def find_voc_root(path) -> Path | None:
    """The ``VOC20xx`` folder at ``path``, under ``path``, or under ``path/VOCdevkit``."""
    path = Path(path)
    if not path.is_dir():
        return None
    candidates = [path]
    for base in (path, path / "VOCdevkit"):
        if base.is_dir():
            candidates.extend(sorted(p for p in base.iterdir() if re.fullmatch(r"VOC20\d\d", p.name)))
    for c in candidates:
        if (c / "SegmentationClass").is_dir() and (c / "JPEGImages").is_dir():
            return c
    return None


def detect(path) -> bool:
    return find_voc_root(path) is not None


# ------------------------------------------------------------------------------ export


def _check_schema(schema: Schema) -> None:
    """Class ids must fit a palette PNG beside void (255)."""
    real = [c for c in schema if c.id != schema.ignore_index]
    if len(real) > VOID:
        raise FormatError(f"schema {schema.name!r} has {len(schema)} classes; a VOC palette PNG holds at most "
                          f"{VOID} besides void ({VOID})")
    for c in real:
        if not 0 <= c.id < VOID:
            raise FormatError(f"class {c.name!r} has id {c.id}; VOC PNGs need class ids 0..254 ({VOID} is void)")


def _check_stems(keys: list[str]) -> None:
    seen: dict[str, str] = {}
    for key in keys:
        stem = Path(key).stem
        if stem in seen:
            raise FormatError(f"images {seen[stem]!r} and {key!r} share the file stem {stem!r}; VOC names files "
                              "by stem, so rename one of them before exporting")
        seen[stem] = key


def _palette_png(arr: np.ndarray) -> bytes:
    im = Image.fromarray(np.ascontiguousarray(arr, dtype=np.uint8), mode="L")
    im.putpalette(voc_palette())  # an 'L' image with a palette becomes a 'P' image
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def _instance_keys(shapes: list[Shape]) -> dict[str, int]:
    """Provisional instance number per shape id, in painting order (grouped by instance_id + class)."""
    numbers: dict[tuple, int] = {}
    out = {}
    for s in geometry.z_sorted(shapes):
        key = (s.instance_id, s.label) if s.instance_id is not None else ("shape", s.id)
        out[s.id] = numbers.setdefault(key, len(numbers) + 1)
    return out


def render_maps(shapes: list[Shape], schema: Schema, height: int, width: int,
                on_unknown=None) -> tuple[np.ndarray, np.ndarray]:
    """The (SegmentationClass, SegmentationObject) uint8 maps for one image's shapes.

    Shapes whose label is not in the schema are left out (``on_unknown(label)`` is told once per
    label). Raises :class:`FormatError` when more than 254 instances stay visible.
    """
    bg = schema.get(schema.background) if schema.background else None
    fill = bg.id if bg is not None else VOID
    known, told = [], set()
    for s in shapes:
        if not s.is_area:
            continue
        if s.label not in schema:
            if on_unknown is not None and s.label not in told:
                on_unknown(s.label)
            told.add(s.label)
            continue
        known.append(s)
    values = {}
    for s in known:
        cid = schema.by_name(s.label).id
        values[s.id] = VOID if cid == schema.ignore_index else cid
    cls = geometry.rasterize([(s, values[s.id]) for s in known], height, width, fill=fill,
                             convention="pil")
    bg_id = bg.id if bg is not None else None
    # background shapes paint 0 and void shapes -1 (255 below); every other shape an instance
    instances = _instance_keys([s for s in known if values[s.id] not in (VOID, bg_id)])
    obj_items = [(s, instances.get(s.id, -1 if values[s.id] == VOID else 0)) for s in known]
    obj = geometry.rasterize(obj_items, height, width, fill=0, dtype=np.int32, convention="pil")
    visible = [int(v) for v in np.unique(obj) if v > 0]
    if len(visible) >= VOID:
        raise FormatError(f"{len(visible)} visible instances; a VOC object PNG holds at most {VOID - 1}")
    lut = np.zeros(max(visible, default=0) + 1, dtype=np.uint8)
    lut[visible] = np.arange(1, len(visible) + 1, dtype=np.uint8)
    obj_out = np.where(obj > 0, lut[np.clip(obj, 0, None)], 0).astype(np.uint8)
    obj_out[(obj < 0) | (cls == VOID)] = VOID
    return cls, obj_out


def objects_from_maps(cls: np.ndarray, obj: np.ndarray, schema: Schema) -> list[dict]:
    """One ``{"name", "bndbox": (xmin, ymin, xmax, ymax)}`` per instance, 1-based inclusive pixels."""
    out = []
    for idx in (int(v) for v in np.unique(obj) if 0 < v < VOID):
        ys, xs = np.nonzero(obj == idx)
        ids, counts = np.unique(cls[ys, xs], return_counts=True)
        cid = int(ids[np.argmax(counts)])
        try:
            name = schema.by_id(cid).name
        except LabelerError:
            continue
        out.append({"name": name, "bndbox": (int(xs.min()) + 1, int(ys.min()) + 1,
                                             int(xs.max()) + 1, int(ys.max()) + 1)})
    return out


def annotation_xml(stem: str, folder: str, width: int, height: int, objects: list[dict]) -> bytes:
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = folder
    ET.SubElement(root, "filename").text = f"{stem}.jpg"
    ET.SubElement(ET.SubElement(root, "source"), "database").text = "labeler"
    size = ET.SubElement(root, "size")
    for tag, val in (("width", width), ("height", height), ("depth", 3)):
        ET.SubElement(size, tag).text = str(val)
    ET.SubElement(root, "segmented").text = "1"
    for o in objects:
        el = ET.SubElement(root, "object")
        ET.SubElement(el, "name").text = o["name"]
        ET.SubElement(el, "pose").text = "Unspecified"
        ET.SubElement(el, "truncated").text = "0"
        ET.SubElement(el, "difficult").text = "0"
        box = ET.SubElement(el, "bndbox")
        for tag, val in zip(("xmin", "ymin", "xmax", "ymax"), o["bndbox"]):
            ET.SubElement(box, tag).text = str(val)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=False) + b"\n"


def _jpeg_bytes(path: Path, rgb: np.ndarray) -> bytes:
    """The original bytes when the file is a JPEG already, otherwise a quality-95 JPEG of ``rgb``."""
    with Image.open(path) as im:
        is_jpeg = im.format == "JPEG" and im.mode == "RGB"
    if is_jpeg:
        return path.read_bytes()
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def _export_one(project, key: str, voc: Path, folder: str, ctx) -> bool:
    ann, problems = project.load_with_problems(key, strict=False)
    for p in problems:
        ctx.report.warn(p)
    img_path = project.image_path(key)
    rgb = read_image(img_path, "RGB")
    height, width = rgb.shape[:2]
    if (ann.width, ann.height) != (width, height):
        raise FormatError(f"{img_path}: image is {width} x {height} but its annotation says "
                          f"{ann.width} x {ann.height}")

    unknown: list[str] = []
    try:
        cls, obj = render_maps(ann.shapes, project.schema, height, width, on_unknown=unknown.append)
    except (FormatError, InvalidShapeError) as e:
        raise FormatError(f"{project.annotation_path(key)}: {e}") from None
    for label in unknown:
        msg = f"{project.annotation_path(key)}: class {label!r} is not in the schema; its shapes are left out"
        if ctx.on_error == "raise":
            raise FormatError(msg)
        ctx.report.warn(msg)
    stem = Path(key).stem
    xml = annotation_xml(stem, folder, width, height, objects_from_maps(cls, obj, project.schema))
    jpeg = _jpeg_bytes(img_path, rgb)
    # everything is computed: only now touch the output, so a failure leaves no partial image
    write_bytes_atomic(safe_join(voc, f"SegmentationClass/{stem}.png"), _palette_png(cls))
    write_bytes_atomic(safe_join(voc, f"SegmentationObject/{stem}.png"), _palette_png(obj))
    write_bytes_atomic(safe_join(voc, f"Annotations/{stem}.xml"), xml)
    write_bytes_atomic(safe_join(voc, f"JPEGImages/{stem}.jpg"), jpeg)
    return True


def _image_sets(project, exported: list[str]) -> dict[str, list[str]]:
    done = set(exported)
    if not project.splits:
        sets = {"train": list(exported), "val": []}
    else:
        sets = {name: [k for k in keys if k in done] for name, keys in project.splits.items()}
        sets.setdefault("train", [])
        sets.setdefault("val", [])
    if "trainval" not in sets:
        tv = set(sets["train"]) | set(sets["val"])
        sets["trainval"] = [k for k in exported if k in tv]
    return {name: sorted(Path(k).stem for k in keys) for name, keys in sets.items()}


def export_dataset(project, out, ctx, split: str | None = None, year: str = "2012", **options) -> None:
    """Write the project (or one split) as ``out/VOCdevkit/VOC<year>``."""
    folder = _year_folder(year)
    keys = project.keys_in_split(split)
    _check_schema(project.schema)
    _check_stems(keys)
    out = Path(out)
    voc = safe_join(out, f"VOCdevkit/{folder}")
    for sub in ("JPEGImages", "SegmentationClass", "SegmentationObject", "Annotations", "ImageSets/Segmentation"):
        safe_join(voc, sub).mkdir(parents=True, exist_ok=True)
    exported = []
    for key in ctx.track(keys, len(keys), "Exporting VOC"):
        try:
            _export_one(project, key, voc, folder, ctx)
        except (LabelerError, OSError) as e:
            if ctx.on_error == "raise":
                raise
            ctx.problem(str(e))
            continue
        exported.append(key)
        ctx.report.done += 1
    for name, stems in _image_sets(project, exported).items():
        if not re.fullmatch(r"[\w.-]+", name) or name.startswith("."):
            ctx.report.warn(f"split {name!r} has a name that cannot be a file name; not written")
            continue
        with atomic_open(safe_join(voc, f"ImageSets/Segmentation/{name}.txt"), "w") as f:
            f.write("".join(f"{s}\n" for s in stems))
    ctx.report.outputs["voc_root"] = str(voc)


# ------------------------------------------------------------------------------ import


def _mask_shape(mask: np.ndarray, name: str, instance_id: int | None = None) -> Shape:
    return Shape(kind=MASK, label=name, rle=geometry.rle_encode(mask), instance_id=instance_id, source="import")


def _components(mask: np.ndarray) -> list[np.ndarray]:
    n, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    return [labels == i for i in range(1, n)]


def shapes_from_maps(cls: np.ndarray, obj: np.ndarray | None, schema: Schema) -> list[Shape]:
    """Mask shapes that paint ``cls`` (and ``obj``) back exactly; background and void get none."""
    bg = schema.get(schema.background) if schema.background else None
    skip = {VOID} | ({bg.id} if bg is not None else set())
    shapes: list[Shape] = []
    covered = np.zeros(cls.shape, bool)
    if obj is not None:
        for idx in (int(v) for v in np.unique(obj) if 0 < v < VOID):
            inst = obj == idx
            for cid in (int(c) for c in np.unique(cls[inst]) if int(c) not in skip):
                m = inst & (cls == cid)
                shapes.append(_mask_shape(m, schema.by_id(cid).name, instance_id=idx))
                covered |= m
    for cid in (int(c) for c in np.unique(cls[~covered]) if int(c) not in skip):
        c = schema.by_id(cid)
        m = (cls == cid) & ~covered
        parts = _components(m) if c.is_thing else [m]
        shapes.extend(_mask_shape(p, c.name) for p in parts)
    return shapes


def _read_sets(voc: Path) -> dict[str, list[str]]:
    folder = voc / "ImageSets" / "Segmentation"
    sets = {}
    if folder.is_dir():
        for f in sorted(folder.glob("*.txt")):
            lines = f.read_text("utf-8", errors="replace").splitlines()
            sets[f.stem] = [ln.split()[0] for ln in lines if ln.strip()]
    return sets


def _add_unknown_ids(schema: Schema, values, source: Path, ctx) -> None:
    for v in values:
        v = int(v)
        if v == VOID or any(c.id == v for c in schema):
            continue
        name = f"class_{v}"
        while name in schema:
            name += "_"
        schema.classes.append(LabelClass(v, name, default_color(v), True))
        ctx.report.warn(f"{source}: pixel value {v} is not a class of schema {schema.name!r}; "
                        f"added it as {name!r}")


def _import_one(project, voc: Path, stem: str, ctx) -> str:
    cls_path = voc / "SegmentationClass" / f"{stem}.png"
    obj_path = voc / "SegmentationObject" / f"{stem}.png"
    img_path = voc / "JPEGImages" / f"{stem}.jpg"
    if not img_path.is_file():
        raise FormatError(f"{img_path}: image listed for {stem!r} is missing")
    if not cls_path.is_file():
        raise FormatError(f"{cls_path}: no SegmentationClass PNG for {stem!r}")
    cls = read_mask(cls_path, [voc_colours(), schema_colours(project.schema)], ctx.report.warn)
    if cls.ndim != 2:
        raise FormatError(f"{cls_path}: expected a single-channel index PNG, got shape {cls.shape}")
    obj = read_mask(obj_path, [voc_colours()]) if obj_path.is_file() else None
    if obj is not None and obj.shape != cls.shape:
        raise FormatError(f"{obj_path}: size {obj.shape[::-1]} differs from its SegmentationClass {cls.shape[::-1]}")
    with Image.open(img_path) as im:
        size = im.size
    if size != (cls.shape[1], cls.shape[0]):
        raise FormatError(f"{cls_path}: mask is {cls.shape[1]} x {cls.shape[0]} but {img_path.name} is "
                          f"{size[0]} x {size[1]}")
    _add_unknown_ids(project.schema, np.unique(cls), cls_path, ctx)
    shapes = shapes_from_maps(cls, obj, project.schema)
    key = project.add_images([img_path.resolve()])[0]
    save_imported(project, key, size[0], size[1], shapes)
    return key


def import_dataset(src, project, ctx, **options) -> None:
    """Read a ``VOCdevkit/VOC20xx`` folder (or VOCdevkit, or its parent) into ``project``."""
    voc = find_voc_root(src)
    if voc is None:
        raise FormatError(f"{src}: no VOC folder (VOC20xx with SegmentationClass and JPEGImages) found")
    if not len(project.schema):
        project.schema = load_preset("voc")
    sets = _read_sets(voc)
    if sets:
        stems = sorted({s for names in sets.values() for s in names})
    else:
        stems = sorted(p.stem for p in (voc / "SegmentationClass").glob("*.png"))
    key_of: dict[str, str] = {}
    for stem in ctx.track(stems, len(stems), "Importing VOC"):
        if not re.fullmatch(r"[^/\\]+", stem) or stem in (".", ".."):
            ctx.problem(f"{voc}: image name {stem!r} in ImageSets is not a plain file stem")
            continue
        try:
            key_of[stem] = _import_one(project, voc, stem, ctx)
        except (LabelerError, OSError) as e:
            if ctx.on_error == "raise":
                raise
            ctx.problem(str(e))
            continue
        ctx.report.done += 1
    new_splits = {name: sorted(key_of[s] for s in names if s in key_of) for name, names in sets.items()}
    if "trainval" in new_splits and set(new_splits["trainval"]) == (
            set(new_splits.get("train", [])) | set(new_splits.get("val", []))):
        del new_splits["trainval"]  # the project derives trainval from train + val
    for name, keys in new_splits.items():
        project.splits[name] = sorted(set(project.splits.get(name, [])) | set(keys))
    project.save()
