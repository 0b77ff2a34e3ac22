"""CVAT "for images 1.1": ``annotations.xml`` (plus ``images/``), import and export.

``<annotations><version>1.1</version><meta>..<labels><label><name>..`` then per frame
``<image id name [subset] width height>`` with ``<polygon|polyline|points points="x,y;x,y">``,
``<box xtl ytl xbr ybr>``, ``<ellipse cx cy rx ry>``, ``<mask rle left top width height>`` and
``<tag>``; shapes carry ``label source occluded z_order [group_id]`` and ``<attribute>`` children.
A mask's ``rle`` is CVAT's own encoding, not COCO's: run lengths over the mask's bounding box,
row by row, alternating 0/1 and starting with zeros (a run of 0 when the first pixel is set).

Mapping: polygon, box (rectangle; a rotated box comes in as a polygon), polyline (linestrip, or
line for 2 points; scribbles go out as polylines without their width), points (one point shape
per point, regrouped on export), ellipse (circle; unequal radii come in as a polygon), mask, tag
(image tags); ``group_id`` = ``instance_id`` (0: none), ``z_order`` = ``z``, ``subset`` = split
(Train/Validation/Test = train/val/test). Checkbox attributes become flags; other attributes,
``occluded`` and CVAT's ``source`` ride along under the shape's ``"cvat"`` key and go back out.
CVAT polygons have no holes: a polygon with holes is exported as a ``<mask>`` of its pixels
(pixel-edge convention), the faithful choice, which CVAT edits as it is. Weak flags, scores and
descriptions have no place in CVAT.

Import reads the file (or a folder holding it) with defusedxml: entity declarations (billion
laughs), external references and invalid XML are refused in one line before anything is written.
Images are looked for under ``images/`` beside the XML, then beside it (or in ``images=DIR``);
absolute names and names climbing out with ``..`` are refused per image (``safe_join``). Bad
shapes are reported by file, image and element and skipped; tracks (CVAT for video) are not read.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from ..core import geometry
from ..core.errors import FormatError, InvalidShapeError, LabelerError
from ..core.fileio import atomic_open, safe_join
from ..core.images import image_size
from ..core.jobs import JobContext
from ..core.project import Project
from ..core.shapes import (CIRCLE, LINE, LINESTRIP, MASK, POINT, POLYGON, PROPOSAL_FLAG, RECTANGLE, SCRIBBLE, Shape,
                           new_id)
from .common import check_inside, save_imported
from .labelme import export_names

ANNOTATIONS_XML = "annotations.xml"
IMAGES_DIR = "images"
VERSION = "1.1"
SUBSETS = {"train": "Train", "val": "Validation", "test": "Test"}
_SPLITS = {v.lower(): k for k, v in SUBSETS.items()} | {k: k for k in SUBSETS}
#: labeler source -> CVAT source, for shapes that did not come from CVAT
_SOURCES = {"manual": "manual", "import": "file", "model": "auto"}
_SKIPPED_TAGS = ("cuboid", "skeleton")
_CIRCLE_TOLERANCE = 1e-3


# =============================================================================== mask RLE


def encode_mask_rle(crop: np.ndarray) -> list[int]:
    """CVAT's run lengths of a boolean crop: row-major, alternating 0/1, starting with zeros."""
    flat = np.asarray(crop, dtype=bool).ravel()
    if flat.size == 0:
        return []
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs = np.diff(np.concatenate([[0], change, [flat.size]])).tolist()
    return [0] + runs if flat[0] else runs


def decode_mask_rle(counts, width: int, height: int) -> np.ndarray:
    """The (height, width) boolean crop of CVAT run lengths; runs may stop short (zeros follow)."""
    width, height = int(width), int(height)
    if width <= 0 or height <= 0:
        raise ValueError(f"mask box {width} x {height} is empty")
    counts = np.asarray(list(counts), dtype=np.int64)
    if (counts < 0).any():
        raise ValueError("negative run length in rle")
    total = int(counts.sum())
    if total > width * height:
        raise ValueError(f"rle covers {total} pixels, more than its {width} x {height} box")
    flat = np.repeat(np.arange(len(counts)) % 2 == 1, counts)
    return np.concatenate([flat, np.zeros(width * height - total, bool)]).reshape(height, width)


def _parse_rle(text: str) -> list[int]:
    try:
        return [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise ValueError(f"rle is not a list of integers: {text[:40]!r}") from None


# ================================================================================== export


def _fmt(v: float) -> str:
    return f"{v:.2f}"  # as CVAT writes coordinates


def _points_text(points) -> str:
    return ";".join(f"{x:.2f},{y:.2f}" for x, y in points)


def _cvat_source(s: Shape) -> str:
    return str(s.extra.get("cvat", {}).get("source") or _SOURCES.get(s.source, "semi-auto"))


def _mask_attrs(mask: np.ndarray) -> dict | None:
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    x0, y0, x1, y1 = int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())
    runs = encode_mask_rle(mask[y0:y1 + 1, x0:x1 + 1])
    return {"rle": ", ".join(map(str, runs)), "left": str(x0), "top": str(y0),
            "width": str(x1 - x0 + 1), "height": str(y1 - y0 + 1)}


def _geometry(s: Shape, ann) -> tuple[str, dict]:
    """The CVAT element name and coordinate attributes of one shape (not a point)."""
    if s.kind == POLYGON and not s.holes:
        return "polygon", {"points": _points_text(s.points)}
    if s.kind == RECTANGLE:
        (x0, y0), (x1, y1) = s.points.min(axis=0), s.points.max(axis=0)
        return "box", {"xtl": _fmt(x0), "ytl": _fmt(y0), "xbr": _fmt(x1), "ybr": _fmt(y1)}
    if s.kind == CIRCLE:
        r = _fmt(float(np.hypot(*(s.points[1] - s.points[0]))))
        return "ellipse", {"cx": _fmt(s.points[0][0]), "cy": _fmt(s.points[0][1]), "rx": r, "ry": r}
    if s.kind in (LINE, LINESTRIP, SCRIBBLE):
        return "polyline", {"points": _points_text(s.points)}
    if s.kind == MASK and list(s.rle["size"]) != [ann.height, ann.width]:
        raise InvalidShapeError(f"mask of size {s.rle['size']} does not match the image ({ann.height}, {ann.width})")
    mask = geometry.rle_decode(s.rle) if s.kind == MASK else geometry.shape_to_mask(s, ann.height, ann.width)
    attrs = _mask_attrs(mask)
    if attrs is None:
        raise InvalidShapeError("no pixels inside the image")
    return "mask", attrs


def _group_ids(shapes: list[Shape]) -> dict:
    ids = sorted({s.instance_id for s in shapes if s.instance_id is not None})
    if all(i > 0 for i in ids):
        return {i: i for i in ids}
    return {i: n for n, i in enumerate(ids, 1)}  # CVAT's 0 means "no group"


def _add_attributes(el: ET.Element, s: Shape, declared: dict) -> None:
    flags = {k: v for k, v in s.flags.items() if isinstance(v, bool) and k != PROPOSAL_FLAG}
    values = {k: ("true" if v else "false") for k, v in flags.items()}
    values.update({str(k): str(v) for k, v in s.extra.get("cvat", {}).get("attributes", {}).items()})
    for name, value in values.items():
        kind = "checkbox" if name in flags else "text"
        declared.setdefault(s.label, {}).setdefault(name, [kind, set()])[1].add(value)
        ET.SubElement(el, "attribute", {"name": name}).text = value


def _image_element(ann, image_id: int, name: str, subset: str | None, declared: dict,
                   counts: Counter, problem) -> ET.Element:
    attrs = {"id": str(image_id), "name": name}
    if subset:
        attrs["subset"] = SUBSETS.get(subset, subset)
    attrs.update(width=str(ann.width), height=str(ann.height))
    image = ET.Element("image", attrs)
    groups = _group_ids(ann.shapes)
    point_sets: dict[tuple, list[Shape]] = {}
    for s in ann.shapes:
        if s.kind == POINT:
            point_sets.setdefault((s.label, s.extra.get("cvat", {}).get("set") or s.id), []).append(s)
    for s in ann.shapes:
        if s.kind == POINT:
            members = point_sets.pop((s.label, s.extra.get("cvat", {}).get("set") or s.id), None)
            if members is None:
                continue  # written with the first point of its set
            tag, coords = "points", {"points": _points_text(np.vstack([m.points for m in members]))}
        else:
            try:
                tag, coords = _geometry(s, ann)
            except (InvalidShapeError, ValueError) as e:
                problem(f"shape {s.id} ({s.label}): {e}; not exported")
                continue
        counts["holed" if s.holes else s.kind] += 1
        cvat = s.extra.get("cvat", {})
        el = ET.SubElement(image, tag, {"label": s.label, "source": _cvat_source(s),
                                        "occluded": "1" if cvat.get("occluded") else "0", **coords,
                                        "z_order": str(int(s.z))})
        if s.instance_id is not None:
            el.set("group_id", str(groups[s.instance_id]))
        _add_attributes(el, s, declared)
    for tag, on in ann.tags.items():
        if on:
            ET.SubElement(image, "tag", {"label": tag, "source": "manual"})
    return image


def _meta(project: Project, size: int, used: list[str], tags: set[str], declared: dict) -> ET.Element:
    meta = ET.Element("meta")
    task = ET.SubElement(meta, "task")
    for k, v in (("id", "0"), ("name", project.root.name), ("size", str(size)), ("mode", "annotation"),
                 ("overlap", "0"), ("z_order", "True")):
        ET.SubElement(task, k).text = v
    labels = ET.SubElement(task, "labels")
    names = project.schema.names() + [n for n in used if n not in project.schema]
    for name in names + sorted(tags - set(names)):
        label = ET.SubElement(labels, "label")
        ET.SubElement(label, "name").text = name
        cls = project.schema.get(name)
        color = cls.color if cls is not None else (128, 128, 128)
        ET.SubElement(label, "color").text = "#" + "".join(f"{int(c):02x}" for c in color[:3])
        ET.SubElement(label, "type").text = "any" if name in names else "tag"
        attributes = ET.SubElement(label, "attributes")
        for attr, (kind, values) in declared.get(name, {}).items():
            a = ET.SubElement(attributes, "attribute")
            options = ["false", "true"] if kind == "checkbox" else sorted(values)
            for k, v in (("name", attr), ("mutable", "False"), ("input_type", kind),
                         ("default_value", options[0] if kind == "checkbox" else ""), ("values", "\n".join(options))):
                ET.SubElement(a, k).text = v
    ET.SubElement(meta, "dumped").text = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f+00:00")
    return meta


def export_dataset(project: Project, out, ctx: JobContext | None = None, split: str | None = None, *,
                   copy_images: bool = True, **options) -> None:
    """``OUT/annotations.xml`` for every image of the project (or split), and with ``copy_images``
    the images under ``OUT/images/<name>`` (the layout of CVAT's dataset export)."""
    ctx = ctx or JobContext()
    if options:
        raise TypeError(f"cvat export takes no options {sorted(options)}")
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    keys = project.keys_in_split(split)
    names = export_names(sorted(set(project.image_keys()) | set(keys)))
    root = ET.Element("annotations")
    ET.SubElement(root, "version").text = VERSION
    declared: dict = {}
    counts: Counter = Counter()
    used: list[str] = []
    tags: set[str] = set()
    images = []
    for key in ctx.track(keys, len(keys), "cvat export"):
        src = project.image_path(key)
        where = project.annotation_path(key)
        try:
            ann, problems = project.load_with_problems(key)
            for p in problems:
                ctx.report.warn(p)
            if not src.is_file():
                raise LabelerError(f"{src}: image not found")
            image = _image_element(ann, len(images), names[key], project.split_of(key), declared, counts,
                                   lambda m: ctx.problem(f"{where}: {m}"))
            if copy_images:
                with open(src, "rb") as fin, atomic_open(safe_join(out, f"{IMAGES_DIR}/{names[key]}"), "wb") as fout:
                    shutil.copyfileobj(fin, fout)
        except (LabelerError, OSError) as e:
            msg = str(e)
            ctx.problem(msg if key in msg or str(src) in msg else f"{key}: {msg}")
            continue
        images.append(image)
        used += [label for label in dict.fromkeys(s.label for s in ann.shapes) if label not in used]
        tags |= {t for t, on in ann.tags.items() if on}
        ctx.report.done += 1
    root.append(_meta(project, len(images), used, tags, declared))
    root.extend(images)
    ET.indent(root)
    with atomic_open(out / ANNOTATIONS_XML, "wb") as f:
        ET.ElementTree(root).write(f, encoding="utf-8", xml_declaration=True)
    if counts[SCRIBBLE]:
        ctx.report.warn(f"{counts[SCRIBBLE]} scribble(s) written as CVAT polylines (CVAT keeps no stroke width)")
    if counts["holed"]:
        ctx.report.warn(f"{counts['holed']} polygon(s) with holes written as CVAT masks (CVAT polygons have no holes)")
    ctx.report.outputs["folder"] = str(out)
    ctx.report.outputs["annotations"] = str(out / ANNOTATIONS_XML)


# ================================================================================== import


def _find_xml(src: Path) -> Path:
    if src.is_file():
        return src
    if (src / ANNOTATIONS_XML).is_file():
        return src / ANNOTATIONS_XML
    raise FormatError(f"{src}: no {ANNOTATIONS_XML} found")


def detect(path) -> bool:
    """``annotations.xml`` (or a folder holding it) whose root is CVAT's ``<annotations>``."""
    try:
        xml = _find_xml(Path(path))
        with open(xml, "rb") as f:
            head = f.read(4096)
    except (LabelerError, OSError):
        return False
    return xml.suffix.lower() == ".xml" and re.search(rb"<annotations[\s>]", head) is not None \
        and b"<version>" in head


def read_xml(path: Path) -> ET.Element:
    """The root of a CVAT XML file, parsed safely; a clear one-line :class:`FormatError` if not."""
    try:
        root = SafeET.parse(str(path)).getroot()
    except DefusedXmlException as e:
        raise FormatError(f"{path}: refused: the XML declares entities or external references ({e}), "
                          "which CVAT files never do") from None
    except ET.ParseError as e:
        raise FormatError(f"{path}: not valid XML: {e}") from None
    except OSError as e:
        raise FormatError(f"{path}: cannot read: {e.strerror or e}") from None
    if root.tag != "annotations":
        raise FormatError(f"{path}: not a CVAT annotations file (root element <{root.tag}>, expected <annotations>)")
    return root


def _labels(root: ET.Element) -> dict[str, dict]:
    """Meta labels: name -> {"color", "type", "checkbox": set of attribute names}."""
    out = {}
    for label in root.iterfind("meta//labels/label"):
        name = (label.findtext("name") or "").strip()
        if not name or (label.findtext("parent") or "").strip():
            continue  # skeleton sub-labels
        color = (label.findtext("color") or "").strip()
        checkbox = {(a.findtext("name") or "").strip() for a in label.iterfind("attributes/attribute")
                    if (a.findtext("input_type") or "").strip() == "checkbox"}
        out[name] = {"color": tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))
                     if re.fullmatch(r"#[0-9a-fA-F]{6}", color) else None,
                     "type": (label.findtext("type") or "any").strip(), "checkbox": checkbox}
    return out


def _floats(el: ET.Element, *names: str) -> list[float]:
    try:
        values = [float(el.attrib[n]) for n in names]
    except KeyError as e:
        raise ValueError(f"attribute {e.args[0]} missing") from None
    if not all(math.isfinite(v) for v in values):
        raise ValueError("coordinates are not finite numbers")
    return values


def _point_list(el: ET.Element) -> np.ndarray:
    text = el.get("points")
    if text is None:
        raise ValueError("attribute points missing")
    pts = [p.split(",") for p in text.strip().split(";") if p.strip()]
    if any(len(p) != 2 for p in pts):
        raise ValueError(f"points are not 'x,y;x,y' pairs: {text[:40]!r}")
    return np.array(pts, dtype=np.float64).reshape(-1, 2)


def _rotated(pts: np.ndarray, centre, degrees: float) -> np.ndarray:
    t = math.radians(degrees)  # CVAT: clockwise on screen, y pointing down
    rot = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    return (pts - centre) @ rot.T + centre


def _parse_shape(el: ET.Element, base: dict, width: int, height: int) -> list[Shape]:
    tag = el.tag
    if tag == "polygon":
        return [Shape(kind=POLYGON, points=_point_list(el), **base)]
    if tag == "polyline":
        pts = _point_list(el)
        return [Shape(kind=LINE if len(pts) == 2 else LINESTRIP, points=pts, **base)]
    if tag == "points":
        pts = _point_list(el)
        if len(pts) > 1:
            base["extra"].setdefault("cvat", {})["set"] = new_id()
        return [Shape(kind=POINT, points=[p], **{**base, "extra": dict(base["extra"])}) for p in pts]
    if tag == "box":
        x0, y0, x1, y1 = _floats(el, "xtl", "ytl", "xbr", "ybr")
        rotation = float(el.get("rotation") or 0)
        if rotation % 360 == 0:
            return [Shape(kind=RECTANGLE, points=[[x0, y0], [x1, y1]], **base)]
        corners = geometry.rectangle_polygon((x0, y0), (x1, y1))
        return [Shape(kind=POLYGON, points=_rotated(corners, ((x0 + x1) / 2, (y0 + y1) / 2), rotation), **base)]
    if tag == "ellipse":
        cx, cy, rx, ry = _floats(el, "cx", "cy", "rx", "ry")
        if abs(rx - ry) <= _CIRCLE_TOLERANCE * max(rx, ry, 1):
            return [Shape(kind=CIRCLE, points=[[cx, cy], [cx + rx, cy]], **base)]
        t = np.linspace(0, 2 * math.pi, 72, endpoint=False)
        ring = np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)
        return [Shape(kind=POLYGON, points=_rotated(ring, (cx, cy), float(el.get("rotation") or 0)), **base)]
    if tag == "mask":
        left, top, w, h = (int(v) for v in _floats(el, "left", "top", "width", "height"))
        if w > width or h > height:  # decoding it would allocate the box, however large
            raise ValueError(f"mask box {w} x {h} is larger than the image ({width} x {height})")
        crop = decode_mask_rle(_parse_rle(el.get("rle", "")), w, h)
        rle = geometry.placed_rle(crop, left, top, height, width)
        if not geometry.rle_area(rle):
            raise ValueError("mask has no pixels inside the image")
        return [Shape(kind=MASK, rle=rle, **base)]
    raise ValueError(f"unknown element <{tag}>")


def _shape_base(el: ET.Element, labels: dict) -> dict:
    label = el.get("label") or ""
    if not label:
        raise ValueError("no label")
    flags, attributes = {}, {}
    checkbox = labels.get(label, {}).get("checkbox", set())
    for a in el.iterfind("attribute"):
        name, value = a.get("name") or "", (a.text or "").strip()
        if name in checkbox and value.lower() in ("true", "false"):
            flags[name] = value.lower() == "true"
        elif name:
            attributes[name] = value
    cvat = {k: v for k, v in (("source", el.get("source")), ("occluded", el.get("occluded") == "1"),
                              ("attributes", attributes)) if v}
    group = int(el.get("group_id") or 0)
    return dict(label=label, z=int(float(el.get("z_order") or 0)), instance_id=group if group > 0 else None,
                flags=flags, extra={"cvat": cvat} if cvat else {})


def _find_image(name: str, folders: list[Path]) -> Path:
    tried = []
    for folder in folders:
        p = safe_join(folder, name)  # raises UnsafePathError for absolute names and '..'
        if p.is_file():
            return p
        tried.append(str(p))
    raise LabelerError(f"image not found (looked for {', '.join(tried)})")


def import_dataset(src, project: Project, ctx: JobContext | None = None, *, images=None, **options) -> None:
    """Read a CVAT for images 1.1 ``annotations.xml`` (or a folder holding it) into ``project``."""
    ctx = ctx or JobContext()
    if options:
        raise TypeError(f"cvat import takes no options {sorted(options)}")
    xml = _find_xml(Path(os.path.abspath(src)))
    root = read_xml(xml)
    version = (root.findtext("version") or "").strip()
    if version and version != VERSION:
        ctx.report.warn(f"{xml}: version {version}; read as CVAT for images {VERSION}")
    if root.find("track") is not None:
        ctx.report.warn(f"{xml}: <track> elements (CVAT for video) are not read; export the task as "
                        "'CVAT for images 1.1'")
    labels = _labels(root)
    folders = [Path(images).resolve()] if images else [xml.parent / IMAGES_DIR, xml.parent]
    for label, info in labels.items():  # the task's classes, in its order; tag labels are not classes
        if info["type"] != "tag":
            project.schema.add(label, color=info["color"])
    elements = root.findall("image")
    skipped: Counter = Counter()
    found: dict[str, list[str]] = {}
    imported: set[str] = set()
    for el in ctx.track(elements, len(elements), "cvat import"):
        name = el.get("name") or ""
        where = f"{xml}: image {name!r}"
        try:
            path = _find_image(name, folders)
            w, h = image_size(path)
        except (LabelerError, OSError) as e:
            ctx.problem(f"{where}: {e}; image skipped")
            continue
        if (el.get("width"), el.get("height")) != (str(w), str(h)):
            ctx.report.warn(f"{where}: width x height {el.get('width')} x {el.get('height')} differs from the "
                            f"image ({w} x {h}); using the image's size")
        shapes: list[Shape] = []
        tags: dict[str, bool] = {}
        for i, child in enumerate(el):
            if child.tag == "tag" and child.get("label"):
                tags[child.get("label")] = True
            elif child.tag in _SKIPPED_TAGS:
                skipped[child.tag] += 1
            elif child.tag != "tag":
                try:
                    shapes += check_inside(_parse_shape(child, _shape_base(child, labels), w, h), w, h)
                except (InvalidShapeError, ValueError, TypeError) as e:
                    ctx.problem(f"{where}: <{child.tag}> #{i} ({child.get('label')}): {e}; shape skipped")
        for s in shapes:
            project.schema.add(s.label, color=labels.get(s.label, {}).get("color"))
        key = project.add_images([path])[0]
        if key in imported:  # a second <image> of the same file would silently replace the first's shapes
            ctx.problem(f"{where}: the same image as an earlier <image>; this one skipped")
            continue
        imported.add(key)
        save_imported(project, key, w, h, shapes, tags=tags)
        split = _SPLITS.get((el.get("subset") or "").lower(), el.get("subset") or None)
        if split:
            found.setdefault(split, []).append(key)
        ctx.report.done += 1
    for tag, n in sorted(skipped.items()):
        ctx.report.warn(f"{xml}: {n} <{tag}> element(s) not read: labeler has no {tag} shapes")
    for split, keys in found.items():
        project.splits[split] = sorted(set(project.splits.get(split, [])) | set(keys))
    project.save()
