"""One image's annotations, and their labelme-compatible JSON form.

The file is the one labelme writes (``version``, ``flags``, ``shapes``, ``imagePath``,
``imageData``, ``imageHeight``, ``imageWidth``) so labelme opens it. What labelme lacks goes under
a ``"labeler"`` key at the top level (status, tags, weak image labels) and in each shape
(id, z-order, source, score, links, holes, scribble width, weak flag). Keys this program does not
know, at either level, are kept and written back unchanged.

Scribbles are stored as labelme ``linestrip`` shapes (labelme shows the stroke) and masks as
labelme ``mask`` shapes (two bbox points and a base64 PNG of the crop).
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from . import geometry
from .errors import AnnotationFileError, InvalidShapeError
from .fileio import write_bytes_atomic
from .shapes import LINESTRIP, MASK, SCRIBBLE, Shape

STATUSES = ("new", "in_progress", "done", "reviewed")
#: statuses of images a person has finished looking at: what is on them, proposals included, is kept
LOOKED_AT_STATUSES = ("done", "reviewed")
LABELME_VERSION = "5.5.0"

_SHAPE_KEYS = {"label", "points", "group_id", "description", "shape_type", "flags", "mask", "labeler"}
_TOP_KEYS = {"version", "flags", "shapes", "imagePath", "imageData", "imageHeight", "imageWidth", "labeler"}


@dataclass
class ImageAnnotation:
    image_path: str  # as written in the file: relative to the JSON's folder
    width: int
    height: int
    shapes: list[Shape] = field(default_factory=list)
    #: image-level labels (labelme "flags"): tag name -> present
    tags: dict[str, bool] = field(default_factory=dict)
    status: str = "new"
    extra: dict = field(default_factory=dict)  # unknown top-level keys, kept on save
    labeler_extra: dict = field(default_factory=dict)  # unknown keys under "labeler"

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise AnnotationFileError(self.image_path, f"unknown status {self.status!r}")

    def copy(self) -> "ImageAnnotation":
        return ImageAnnotation(self.image_path, self.width, self.height, list(self.shapes), dict(self.tags),
                               self.status, dict(self.extra), dict(self.labeler_extra))


# ------------------------------------------------------------------------------ masks


def _mask_crop_b64(rle: dict) -> tuple[list[list[float]], str]:
    # the crop is read from the run lengths: a mask on a 40,000 px image is never decoded whole
    x, y, w, h = (int(v) for v in geometry.rle_bbox(rle))
    x1, y1, x2, y2 = (x, y, x + w - 1, y + h - 1) if w and h else (0, 0, 0, 0)
    crop = geometry.rle_sample(rle, np.arange(y1, y2 + 1), np.arange(x1, x2 + 1))
    buf = io.BytesIO()
    Image.fromarray(crop.astype(np.uint8) * 255, mode="L").convert("1").save(buf, format="PNG")
    return [[float(x1), float(y1)], [float(x2), float(y2)]], base64.b64encode(buf.getvalue()).decode("ascii")


def _mask_from_b64(points, b64: str, height: int, width: int) -> dict:
    crop = np.asarray(Image.open(io.BytesIO(base64.b64decode(b64)))).astype(bool)
    if crop.ndim == 3:
        crop = crop.any(axis=2)
    x1, y1 = int(round(points[0][0])), int(round(points[0][1]))
    return geometry.placed_rle(crop, x1, y1, height, width)  # never an image-size array


# ------------------------------------------------------------------------ shape <-> dict


def shape_to_labelme(shape: Shape) -> dict:
    ext: dict[str, Any] = {"id": shape.id}
    if shape.z:
        ext["z"] = shape.z
    if shape.source != "manual":
        ext["source"] = shape.source
    if shape.score is not None:
        ext["score"] = shape.score
    if shape.links:
        ext["links"] = list(shape.links)
    if shape.weak:
        ext["weak"] = True
    if shape.holes:
        ext["holes"] = [h.tolist() for h in shape.holes]
    shape_type = shape.kind
    d: dict[str, Any] = {"label": shape.label}
    if shape.kind == SCRIBBLE:
        shape_type = LINESTRIP
        ext["kind"] = SCRIBBLE
        ext["width"] = shape.width
    if shape.kind == MASK:
        points, b64 = _mask_crop_b64(shape.rle)
        d["points"] = points
        d["mask"] = b64
    else:
        d["points"] = shape.points.tolist()
    d.update({"group_id": shape.instance_id, "description": shape.description, "shape_type": shape_type,
              "flags": dict(shape.flags)})
    if shape.kind != MASK:
        d["mask"] = None
    ext.update(shape.extra.get("labeler", {}))
    d["labeler"] = ext
    # labelme types read as one of ours ("points", "oriented_rectangle") are written back as such
    orig = ext.get("labelme_type")
    if (orig == "points" and shape.kind in (LINESTRIP, "point")) or (
            orig == "oriented_rectangle" and shape.kind == "polygon" and len(shape.points) == 4
            and not shape.holes):
        d["shape_type"] = orig
    d.update({k: v for k, v in shape.extra.items() if k != "labeler"})
    return d


def shape_from_labelme(d: dict, height: int, width: int) -> Shape:
    if not isinstance(d, dict):
        raise InvalidShapeError(f"a shape must be an object, got {type(d).__name__}")
    ext = d.get("labeler") or {}
    kind = ext.get("kind") or d.get("shape_type") or "polygon"
    labelme_type = kind if kind in ("points", "oriented_rectangle") else None
    if kind == "points":  # labelme's multi-point type: keep as a linestrip-like weak set
        kind = "linestrip" if len(d.get("points") or []) >= 2 else "point"
    elif kind == "oriented_rectangle":  # labelme 7: four corners of a rotated box
        kind = "polygon"
    label = d.get("label")
    if not isinstance(label, str) or not label:
        raise InvalidShapeError("shape has no label")
    rle = None
    points = d.get("points") or []
    if kind == MASK:
        if ext.get("rle"):
            rle = ext["rle"]
        elif d.get("mask"):
            rle = _mask_from_b64(points, d["mask"], height, width)
        else:
            raise InvalidShapeError("mask shape has no mask data")
        points = []
    known_ext = {"id", "z", "source", "score", "links", "weak", "holes", "kind", "width", "rle"}
    extra = {k: v for k, v in d.items() if k not in _SHAPE_KEYS}
    unknown_ext = {k: v for k, v in ext.items() if k not in known_ext}
    if labelme_type:
        unknown_ext["labelme_type"] = labelme_type
    if unknown_ext:
        extra["labeler"] = unknown_ext
    kwargs = dict(kind=kind, label=label, points=points, holes=tuple(ext.get("holes") or ()), rle=rle,
                  width=float(ext.get("width") or 0.0), instance_id=d.get("group_id"), z=int(ext.get("z", 0)),
                  source=str(ext.get("source", "manual")), score=ext.get("score"),
                  links=tuple(ext.get("links") or ()), weak=bool(ext.get("weak", False)),
                  description=d.get("description") or "", flags=dict(d.get("flags") or {}), extra=extra)
    if ext.get("id"):
        kwargs["id"] = str(ext["id"])
    return Shape(**kwargs)


# ------------------------------------------------------------------- annotation <-> dict


def to_labelme_dict(ann: ImageAnnotation) -> dict:
    lab = dict(ann.labeler_extra)
    lab["status"] = ann.status
    d = {"version": ann.extra.get("version", LABELME_VERSION), "flags": dict(ann.tags),
         "shapes": [shape_to_labelme(s) for s in ann.shapes], "imagePath": ann.image_path,
         "imageData": None, "imageHeight": ann.height, "imageWidth": ann.width, "labeler": lab}
    d.update({k: v for k, v in ann.extra.items() if k not in _TOP_KEYS})
    return d


def from_labelme_dict(d: dict, source: str = "<dict>", strict: bool = True) -> tuple[ImageAnnotation, list[str]]:
    """Parse a labelme dict. Returns the annotation and a list of per-shape problems.

    With ``strict=False`` a broken shape is dropped and reported instead of failing the file.
    """
    if not isinstance(d, dict):
        raise AnnotationFileError(source, "top level must be a JSON object")
    try:
        height, width = int(d["imageHeight"]), int(d["imageWidth"])
    except (KeyError, TypeError, ValueError):
        raise AnnotationFileError(source, "imageHeight/imageWidth missing or not integers") from None
    shapes, problems = [], []
    raw = d.get("shapes") or []
    if not isinstance(raw, list):
        raise AnnotationFileError(source, "'shapes' must be a list")
    for i, sd in enumerate(raw):
        try:
            shapes.append(shape_from_labelme(sd, height, width))
        except (InvalidShapeError, TypeError, ValueError) as e:
            if strict:
                raise AnnotationFileError(source, f"shape {i}: {e}") from None
            problems.append(f"{source}: shape {i} ({sd.get('label') if isinstance(sd, dict) else '?'}): {e}")
    lab = d.get("labeler") or {}
    extra = {k: v for k, v in d.items() if k not in _TOP_KEYS}
    if "version" in d:
        extra["version"] = d["version"]
    ann = ImageAnnotation(image_path=str(d.get("imagePath") or ""), width=width, height=height, shapes=shapes,
                          tags={str(k): bool(v) for k, v in (d.get("flags") or {}).items()},
                          status=lab.get("status", "new"), extra=extra,
                          labeler_extra={k: v for k, v in lab.items() if k != "status"})
    return ann, problems


def read_annotation(path: str | Path, strict: bool = True) -> tuple[ImageAnnotation, list[str]]:
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except UnicodeDecodeError:
        raise AnnotationFileError(path, "not UTF-8 text") from None
    except OSError as e:
        raise AnnotationFileError(path, f"cannot read: {e.strerror or e}") from None
    try:
        d = json.loads(text)
    except json.JSONDecodeError as e:
        raise AnnotationFileError(path, f"corrupt JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    return from_labelme_dict(d, source=str(path), strict=strict)


_COMPACT = json.JSONEncoder(ensure_ascii=False)


def labelme_text(d: dict) -> str:
    """A labelme dict as indented JSON text, each shape on one line: the shapes go through the C
    JSON encoder (``indent`` forces the pure-Python one: 5,000 polygons took ~130 ms, now ~15)."""
    head = dict(d)
    head["shapes"] = []
    text = json.dumps(head, indent=2, ensure_ascii=False)
    if not d.get("shapes"):
        return text
    marker = '\n  "shapes": []'  # the first top-level one: only "version" and "flags" come before
    i = text.index(marker) + len(marker) - 1
    encode = _COMPACT.encode
    body = ",\n".join("    " + encode(s) for s in d["shapes"])
    return text[:i] + "\n" + body + "\n  " + text[i:]


def write_annotation(path: str | Path, ann: ImageAnnotation) -> None:
    write_bytes_atomic(path, labelme_text(to_labelme_dict(ann)).encode("utf-8"))
