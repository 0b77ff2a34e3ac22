"""mask-png: folders of images and index masks (one PNG of class indices per image).

This is how CamVid, ADE20K, VOC's ``SegmentationClass`` and most semantic-segmentation sets ship.

Import pairs ``images=DIR`` with ``masks=DIR`` by file stem (masks as 'L', 'P' or 16-bit PNGs
of raw class indices) and reads each mask with a schema (a preset name, a schema file, or a
:class:`Schema`; the project's own schema when none is given). Pixels equal to the void value
(``void``, default ``schema.ignore_index``) stay unlabelled. Each thing class becomes one mask
shape per 8-connected component, with distinct instance ids; each stuff class becomes one mask
shape. Unmatched images and masks, masks of the wrong size and unreadable files are reported and
skipped. Masks saved as RGB colour images are read through the schema's class colours, or else
the VOC colour map (:mod:`labeler.formats.colour_masks`); a colour mask with a colour neither
explains is reported, naming the file and the colours, and its image skipped.
``splits={"train": "train.txt", ...}`` sets the project's splits from list files of names or
stems (relative to ``src``).

Without ``images``/``masks``, ``src`` is searched for the usual layouts: ``images/`` +
``masks/``, ``JPEGImages/`` + ``SegmentationClass/``, or CamVid's ``X/`` + ``Xannot/`` pairs
(each such pair also becomes split ``X``). ``detect`` (``registry.detect_format``) recognises
those layouts with index masks, and with colour masks where that is unambiguous: each of the
first pairs an RGB PNG of its image's size with at most 256 colours, fewer than the image, and
no other format claiming the folder.

Export writes one index PNG per image (mode 'L' when every value fits in a byte, 16-bit
otherwise) with void where no shape paints, a ``schema.json``, the split lists, and optionally a
colour PNG per image. Export then import gives back the same pixels.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from .colour_masks import ColourTable, read_mask, schema_colours, voc_colours
from .common import save_imported
from ..core import geometry
from ..core.annotation import ImageAnnotation
from ..core.errors import FormatError, ImageReadError, InvalidShapeError, LabelerError
from ..core.fileio import safe_join, save_image_atomic, write_bytes_atomic, write_json_atomic
from ..core.images import IMAGE_EXTENSIONS, image_size
from ..core.jobs import JobContext
from ..core.project import Project
from ..core.schema import Schema, load_schema
from ..core.shapes import MASK, Shape
from ..core.splits import split_from_lists
from .labelme import export_names

_LAYOUTS = (("images", "masks"), ("images", "labels"), ("images", "annotations"),
            ("JPEGImages", "SegmentationClass"), ("img", "ann"))
MASK_DIR = "masks"
COLOR_DIR = "color"
#: most colours a colour mask may hold to be taken for one by ``detect`` (a photo has thousands)
MAX_MASK_COLOURS = 256
#: image/mask pairs ``detect`` looks at, and the largest colour mask it decodes
DETECT_PAIRS = 3
DETECT_MAX_PIXELS = 64_000_000


# ----------------------------------------------------------------------------- layout


def _files_by_stem(folder: Path, exts: tuple[str, ...]) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in exts and not p.name.startswith("."):
            out.setdefault(p.stem, p)
    return out


def find_pairs(src: Path) -> list[tuple[Path, Path, str | None]]:
    """``(images_dir, masks_dir, split_name)`` triples for the layouts we recognise in ``src``."""
    src = Path(src)
    if not src.is_dir():
        return []
    for img, msk in _LAYOUTS:
        if (src / img).is_dir() and (src / msk).is_dir():
            return [(src / img, src / msk, None)]
    pairs = []
    for d in sorted(p for p in src.iterdir() if p.is_dir()):
        for suffix in ("annot", "_annot", "_labels", "_masks"):
            m = src / f"{d.name}{suffix}"
            if m.is_dir():
                pairs.append((d, m, d.name))
                break
    return pairs


def _is_index_png(path: Path) -> bool:
    try:
        with Image.open(path) as im:
            return im.format == "PNG" and im.mode in ("L", "P", "I;16", "I")
    except OSError:
        return False


def _is_colour_mask_for(mask: Path, image: Path) -> bool:
    """Whether ``mask`` reads as a colour label map of ``image``: an RGB(A) PNG of the image's
    size with at most :data:`MAX_MASK_COLOURS` colours, and fewer colours than the image (so
    which of the two is the photo is clear). Masks over :data:`DETECT_MAX_PIXELS` are not read
    (give the format by name)."""
    try:
        with Image.open(mask) as m, Image.open(image) as im:
            if m.format != "PNG" or m.mode not in ("RGB", "RGBA") or m.size != im.size or \
                    m.size[0] * m.size[1] > DETECT_MAX_PIXELS:
                return False
            colours = m.convert("RGB").getcolors(MAX_MASK_COLOURS)
            return colours is not None and im.convert("RGB").getcolors(len(colours)) is None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return False


def _claimed_by_another_format(path: Path) -> bool:
    from .registry import FORMATS, get_format  # the registry imports the formats lazily

    for name, module in FORMATS.items():
        det = getattr(get_format(name), "detect", None) if module != __name__ else None
        if det is not None and det(path):
            return True
    return False


def detect(path) -> bool:
    """A folder with an images folder and a masks folder whose files pair by stem, the masks
    being single-channel PNGs, or colour masks: the first :data:`DETECT_PAIRS` pairs each a
    colour label map of its image (see :func:`_is_colour_mask_for`), in a folder that no other
    format recognises (a VOC devkit with colour masks stays VOC)."""
    path = Path(path)
    for img_dir, mask_dir, _ in find_pairs(path):
        images = _files_by_stem(img_dir, IMAGE_EXTENSIONS)
        masks = _files_by_stem(mask_dir, (".png",))
        common = sorted(set(images) & set(masks))
        if not common:
            continue
        if _is_index_png(masks[common[0]]):
            return True
        if all(_is_colour_mask_for(masks[s], images[s]) for s in common[:DETECT_PAIRS]) and \
                not _claimed_by_another_format(path):
            return True
    return False


# ----------------------------------------------------------------------------- import


def _resolve_schema(schema, project: Project) -> Schema:
    if schema is None:
        if not len(project.schema):
            raise FormatError("mask-png import needs a schema (a preset name or a schema file): "
                              "a mask holds only class indices")
        return project.schema
    if isinstance(schema, Schema):
        return schema
    return load_schema(schema)


def _adopt_schema(project: Project, schema: Schema, void: int) -> None:
    """Make every class of ``schema`` known to the project; a project without classes takes the
    schema whole (ids, colours, and ``void`` as its ignore index)."""
    if schema is project.schema:
        return
    if not len(project.schema):
        project.schema = copy.deepcopy(schema)
        project.schema.ignore_index = void
        return
    for c in schema.classes:
        if c.name not in project.schema:
            project.schema.add(c.name, is_thing=c.is_thing, color=c.color)


def mask_to_shapes(mask: np.ndarray, schema: Schema, void: int, unknown: set | None = None) -> list[Shape]:
    """Mask shapes for an index mask: one per connected component (8-connectivity) of each thing
    class, one per stuff class. Values not in the schema go to ``unknown`` and are skipped."""
    shapes: list[Shape] = []
    next_instance = 1
    by_id = {c.id: c for c in schema.classes}
    for v in np.unique(mask).tolist():
        if v == void:
            continue
        cls = by_id.get(v)
        if cls is None:
            if unknown is not None:
                unknown.add(v)
            continue
        region = mask == v
        if not cls.has_instances:
            shapes.append(Shape(MASK, cls.name, rle=geometry.rle_encode(region), source="import"))
            continue
        n, comp = cv2.connectedComponents(region.astype(np.uint8), connectivity=8)
        for i in range(1, n):
            shapes.append(Shape(MASK, cls.name, rle=geometry.rle_encode(comp == i), instance_id=next_instance,
                                source="import"))
            next_instance += 1
    return shapes


def _resolve_dir(src: Path, d) -> Path:
    p = Path(d)
    return p if p.is_absolute() else src / p


def _import_pair(img_dir: Path, mask_dir: Path, project: Project, ctx: JobContext, schema: Schema, void: int,
                 mask_suffix: str, unknown: set, tables: list[ColourTable]) -> list[str]:
    if not img_dir.is_dir():
        raise FormatError(f"{img_dir}: images folder not found")
    if not mask_dir.is_dir():
        raise FormatError(f"{mask_dir}: masks folder not found")
    images = _files_by_stem(img_dir, IMAGE_EXTENSIONS)
    masks = {stem[:len(stem) - len(mask_suffix)] if mask_suffix else stem: p
             for stem, p in _files_by_stem(mask_dir, (".png",)).items()
             if not mask_suffix or stem.endswith(mask_suffix)}
    for stem in sorted(set(images) - set(masks)):
        ctx.problem(f"{images[stem]}: no mask named {stem}{mask_suffix}.png in {mask_dir}")
    for stem in sorted(set(masks) - set(images)):
        ctx.problem(f"{masks[stem]}: no image with stem {stem!r} in {img_dir}")
    stems = sorted(set(images) & set(masks))
    keys = []
    for stem in ctx.track(stems, len(stems), f"mask-png import {img_dir.name}"):
        img, msk = images[stem], masks[stem]
        try:
            w, h = image_size(img)
            mask = read_mask(msk, tables, ctx.report.warn)
            if mask.ndim != 2:
                raise ImageReadError(msk, f"expected a single-channel index mask, got shape {mask.shape}")
            if mask.shape != (h, w):
                raise ImageReadError(msk, f"mask is {mask.shape[1]} x {mask.shape[0]} but image {img.name} "
                                          f"is {w} x {h}")
            before = set(unknown)
            shapes = mask_to_shapes(mask, schema, void, unknown)
            for v in sorted(unknown - before):
                ctx.report.warn(f"{msk}: value {v} is not a class of schema {schema.name!r}; left unlabelled")
        except LabelerError as e:
            ctx.problem(str(e))
            continue
        key = project.add_images([Path(os.path.abspath(img))])[0]
        save_imported(project, key, w, h, shapes)
        keys.append(key)
        ctx.report.done += 1
    return keys


def _assign_splits(project: Project, new: dict[str, list[str]]) -> None:
    """Put each key in exactly one split: the new assignment wins over an old one."""
    moved = {k for keys in new.values() for k in keys}
    for name in list(project.splits):
        project.splits[name] = [k for k in project.splits[name] if k not in moved]
    for name, keys in new.items():
        project.splits[name] = sorted(set(project.splits.get(name, [])) | set(keys))


def import_dataset(src, project: Project, ctx: JobContext | None = None, *, images=None, masks=None,
                   schema=None, void: int | None = None, splits: dict | None = None, mask_suffix: str = "",
                   **options) -> None:
    """Read index-mask folders into ``project`` (see the module docstring)."""
    ctx = ctx or JobContext()
    if options:
        raise TypeError(f"mask-png import takes no options {sorted(options)}")
    src = Path(os.path.abspath(src))
    sch = _resolve_schema(schema, project)
    void = sch.ignore_index if void is None else int(void)
    if (images is None) != (masks is None):
        raise FormatError("give both images= and masks= folders, or neither")
    if images is not None:
        pairs = [(_resolve_dir(src, images), _resolve_dir(src, masks), None)]
    else:
        pairs = find_pairs(src)
        if not pairs:
            raise FormatError(f"{src}: no images/masks folders found; give images= and masks=")
    _adopt_schema(project, sch, void)
    unknown: set[int] = set()
    tables = [schema_colours(sch), voc_colours()]
    folder_splits: dict[str, list[str]] = {}
    imported: list[str] = []
    for img_dir, mask_dir, split_name in pairs:
        keys = _import_pair(img_dir, mask_dir, project, ctx, sch, void, mask_suffix, unknown, tables)
        imported.extend(keys)
        if split_name:
            folder_splits[split_name] = keys
    if splits:
        lists = {name: _resolve_dir(src, f) for name, f in splits.items()}
        try:
            _assign_splits(project, split_from_lists(imported, lists))
        except LabelerError as e:
            ctx.problem(str(e))
    elif folder_splits:
        _assign_splits(project, folder_splits)
    project.save()


# ----------------------------------------------------------------------------- export


def label_map(ann: ImageAnnotation, schema: Schema, void: int, dtype=np.uint8, convention: str = "pil",
              missing: set | None = None) -> np.ndarray:
    """The annotation as an index map: class ids where area shapes paint (by z-order), void
    elsewhere. Shapes whose label is not in ``schema`` go to ``missing`` and are skipped."""
    items = []
    for s in ann.shapes:
        c = schema.get(s.label)
        if c is None:
            if missing is not None:
                missing.add(s.label)
            continue
        items.append((s, c.id))
    return geometry.rasterize(items, ann.height, ann.width, fill=void, dtype=dtype, convention=convention)


def _index_image(arr: np.ndarray) -> Image.Image:
    return Image.fromarray(arr.astype(np.uint16) if arr.dtype == np.uint16 else arr.astype(np.uint8))


def export_dataset(project: Project, out, ctx: JobContext | None = None, split: str | None = None, *,
                   color: bool = False, convention: str = "pil", **options) -> None:
    """``out/masks/<name>.png`` per image (every image of the split; an image without shapes is
    all void), ``out/schema.json``, ``out/<split>.txt`` lists of stems, and with ``color=True``
    ``out/color/<name>.png`` in the schema's colours."""
    ctx = ctx or JobContext()
    if options:
        raise TypeError(f"mask-png export takes no options {sorted(options)}")
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    schema = project.schema
    void = schema.ignore_index
    top = max([void] + [c.id for c in schema.classes])
    dtype = np.uint8 if top < 256 else np.uint16
    lut = np.zeros((top + 1, 3), np.uint8)
    for c in schema.classes:
        lut[c.id] = c.color
    keys = project.keys_in_split(split)
    names = export_names(sorted(set(project.image_keys()) | set(keys)))  # same layout for any split
    for key in ctx.track(keys, len(keys), "mask-png export"):
        rel = str(Path(names[key]).with_suffix(".png"))
        try:
            ann, problems = project.load_with_problems(key)
            for p in problems:
                ctx.report.warn(p)
            missing: set[str] = set()
            index = label_map(ann, schema, void, dtype, convention, missing)
            for lab in sorted(missing):
                ctx.report.warn(f"{project.annotation_path(key)}: label {lab!r} is not in the schema; not exported")
            save_image_atomic(safe_join(out, f"{MASK_DIR}/{rel}"), _index_image(index))
            if color:
                save_image_atomic(safe_join(out, f"{COLOR_DIR}/{rel}"), Image.fromarray(lut[index], "RGB"))
        except (LabelerError, InvalidShapeError, OSError) as e:
            ctx.problem(f"{key}: {e}")
            continue
        ctx.report.done += 1
    write_json_atomic(out / "schema.json", schema.to_dict())
    exported = set(keys)
    for name, members in project.splits.items():
        stems = [Path(names[k]).stem for k in members if k in exported]
        if stems:
            write_bytes_atomic(safe_join(out, f"{name}.txt"), ("\n".join(stems) + "\n").encode("utf-8"))
    ctx.report.outputs["folder"] = str(out)
