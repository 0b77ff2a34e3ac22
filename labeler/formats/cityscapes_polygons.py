"""Shapes as Cityscapes polygons: the ``objects`` list of a ``*_gtFine_polygons.json``.

Used by :mod:`labeler.formats.cityscapes`, whose docstring describes the two hole methods
("bridge", the default, and "paint") and what each of them was measured to lose.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np
import shapely
from shapely.geometry import Polygon

from ..core import geometry
from ..core.errors import FormatError
from ..core.shapes import MASK, Shape

if TYPE_CHECKING:
    from .cityscapes import LabelTable

GROUP_SUFFIX = "group"
#: how holes are written: joined to their outline by zero-width cuts, or painted over
HOLE_METHODS = ("bridge", "paint")


def _edge_ring_to_pixel_ring(ring: np.ndarray) -> np.ndarray:
    """A ring on pixel edges (pixel i spans [i, i+1)) moved half a pixel into its region, onto
    the centres of the boundary pixels, in Pillow's coordinates (pixel i centred on i)."""
    p = np.asarray(ring, dtype=np.float64)
    p = p[np.any(np.abs(np.roll(p, -1, axis=0) - p) > 1e-9, axis=1)]
    x0, y0 = p.min(axis=0) if len(p) else (0, 0)
    x1, y1 = p.max(axis=0) if len(p) else (0, 0)
    if len(p) < 3 or x1 - x0 < 1.5 or y1 - y0 < 1.5:
        # about one pixel wide: snap every vertex to the pixels the ring spans (Pillow floors)
        lo = np.floor(np.array([x0, y0]) + 1e-6)
        return np.clip(np.floor(p), lo, np.maximum(lo, np.ceil(np.array([x1, y1]) - 1e-6) - 1))
    area2 = np.sum(p[:, 0] * np.roll(p[:, 1], -1) - np.roll(p[:, 0], -1) * p[:, 1])
    sign = 1.0 if area2 > 0 else -1.0

    def inward(e: np.ndarray) -> np.ndarray:
        n = np.stack([-e[:, 1], e[:, 0]], axis=1) * sign
        return n / np.linalg.norm(n, axis=1, keepdims=True)

    n1, n2 = inward(p - np.roll(p, 1, axis=0)), inward(np.roll(p, -1, axis=0) - p)
    mitre = (n1 + n2) / np.maximum(1.0 + np.sum(n1 * n2, axis=1), 1e-9)[:, None] * 0.5
    length = np.linalg.norm(mitre, axis=1, keepdims=True)
    mitre = np.where(length > 0.75, mitre / np.maximum(length, 1e-12) * 0.75, mitre)
    return p + mitre - 0.5


def _mask_rings(mask: np.ndarray, min_iou: float) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    rings, _ = geometry.mask_to_polygons(mask, min_iou=min_iou)
    return sorted(rings, key=lambda r: -Polygon(r[0]).area)  # islands in holes come last


def shape_paint(shape: Shape, height: int, width: int, min_iou: float = 0.99) -> list[tuple[bool, np.ndarray]]:
    """An area shape as Pillow paint: ``[(True, exterior), (False, hole), ...]`` in pixel
    coordinates, each exterior followed by its holes (the ``"paint"`` hole method)."""
    if shape.kind == MASK:
        out = []
        for ext, holes in _mask_rings(_shape_mask(shape, height, width), min_iou):
            out.append((True, _edge_ring_to_pixel_ring(ext)))
            out.extend((False, _edge_ring_to_pixel_ring(h)) for h in holes)
        return out
    ext, holes = geometry.outline(shape)
    return [(True, np.asarray(ext))] + [(False, np.asarray(h)) for h in holes]


def _shape_mask(shape: Shape, height: int, width: int) -> np.ndarray:
    if shape.kind == MASK:
        if list(shape.rle["size"]) != [height, width]:
            raise FormatError(f"mask of size {shape.rle['size']} does not match the image ({height}, {width})")
        return geometry.rle_decode(shape.rle)
    return geometry.shape_to_mask(shape, height, width, "pil-fill")  # the pixels its outline and holes fill


def _hole_rings(mask: np.ndarray) -> list[np.ndarray]:
    """The holes of a mask as rings through the centres of the mask's pixels around each hole
    (OpenCV's border following; its straight runs compressed, losing nothing)."""
    contours, hierarchy = cv2.findContours(np.ascontiguousarray(mask, dtype=np.uint8), cv2.RETR_CCOMP,
                                           cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    rings = [c.reshape(-1, 2).astype(np.float64) for c, h in zip(contours, hierarchy[0]) if h[3] != -1]
    return [r for r in rings if len(r) >= 3]


def _owner(exteriors: list[Polygon], hole: np.ndarray) -> int:
    """The part a hole belongs to: the smallest exterior holding most of the pixels of its rim
    (an island in a hole of a bigger part is smaller than that part), else the nearest one."""
    x, y = hole[:, 0] + 0.5, hole[:, 1] + 0.5  # the rim's pixel centres, in edge coordinates
    inside = [i for i, e in enumerate(exteriors) if 2 * int(shapely.contains_xy(e, x, y).sum()) >= len(hole)]
    if inside:
        return min(inside, key=lambda i: exteriors[i].area)
    point = shapely.Point(x[0], y[0])
    return min(range(len(exteriors)), key=lambda i: exteriors[i].distance(point))


def bridged_paint(shape: Shape, height: int, width: int, min_iou: float = 0.99) -> list[np.ndarray]:
    """An area shape as Pillow paint without holes (the ``"bridge"`` hole method): one ring per
    part, its holes joined to it by zero-width cuts (:func:`labeler.core.geometry.bridged_ring`).
    A hole's ring runs through the centres of the shape's own pixels around the hole, so Pillow's
    inclusive fill paints the part, leaves exactly the hole's pixels alone, and each cut runs over
    the part's own pixels. Polygons with holes are filled first ("pil-fill") and drawn as masks."""
    if shape.kind != MASK and not any(len(h) for h in geometry.outline(shape)[1]):
        return [np.asarray(geometry.outline(shape)[0])]
    mask = _shape_mask(shape, height, width)
    rings = _mask_rings(mask, min_iou)
    holes = _hole_rings(mask)
    if not holes:
        return [_edge_ring_to_pixel_ring(ext) for ext, _ in rings]
    exteriors = [Polygon(ext) for ext, _ in rings]
    owned: dict[int, list[np.ndarray]] = {}
    for hole in holes:
        owned.setdefault(_owner(exteriors, hole), []).append(hole)
    out = []
    for i, (ext, _) in enumerate(rings):
        outer = _edge_ring_to_pixel_ring(ext)
        if i in owned:
            outer = geometry.bridged_ring(Polygon(outer, owned[i]))
            if len(outer) < 3:
                raise ValueError("a part and its holes leave no area")
        out.append(outer)
    return out


def _num(v: float) -> int | float:
    r = round(float(v), 3)
    return int(r) if r == int(r) else r


def _region(ring: list) -> Polygon | None:
    if len(ring) < 3:
        return None
    poly = Polygon(ring)
    if not poly.is_valid:
        poly = shapely.make_valid(poly)
    return None if poly.is_empty or poly.area <= 0 else poly


def _pieces(geom) -> list[Polygon]:
    if isinstance(geom, Polygon):
        return [geom] if geom.area > 0 else []
    return [p for g in getattr(geom, "geoms", []) for p in _pieces(g)]


def build_objects(shapes: list[Shape], table: LabelTable, height: int, width: int, *,
                  label_map: dict | None = None, min_iou: float = 0.99, holes: str = "bridge",
                  warn=lambda msg: None) -> list[dict]:
    """The cityscapes ``objects`` list for an image's shapes, in painting order; ``holes`` is
    the hole method, "bridge" or "paint" (see the module docstring)."""
    if holes not in HOLE_METHODS:
        raise FormatError(f"cityscapes holes={holes!r}: expected one of {', '.join(HOLE_METHODS)}")
    label_map = label_map or {}
    objects: list[dict] = []
    regions: dict[int, Polygon | None] = {}  # shapely region of an object, for clipping into holes

    def add(label: str, ring) -> None:
        objects.append({"label": label, "polygon": [[_num(x), _num(y)] for x, y in np.asarray(ring).tolist()]})

    def region(i: int) -> Polygon | None:
        if i not in regions:
            regions[i] = _region(objects[i]["polygon"])
        return regions[i]

    for shape in geometry.z_sorted(s for s in shapes if s.is_area):
        label = label_map.get(shape.label, shape.label)
        found = table.lookup(label)
        if found is None:
            warn(f"shape of class {shape.label!r}: {label!r} is not in the label table; left out")
            continue
        if shape.flags.get(GROUP_SUFFIX) and found[0].has_instances and not found[1]:
            label += GROUP_SUFFIX
        if holes == "bridge":
            try:
                rings = bridged_paint(shape, height, width, min_iou)
            except (ValueError, shapely.errors.ShapelyError) as e:
                warn(f"shape of class {shape.label!r}: its holes cannot be bridged ({e}); painted instead")
            else:
                for ring in rings:
                    add(label, ring)
                continue
        beneath = len(objects)
        for is_fill, ring in shape_paint(shape, height, width, min_iou):
            if is_fill:
                add(label, ring)
                continue
            add(table.background, ring)  # the hole, then what lay beneath it, clipped to it
            hole = region(len(objects) - 1)
            if hole is None:
                continue
            for i in range(beneath):
                under = region(i)
                if under is None or not under.intersects(hole):
                    continue
                for piece in _pieces(under.intersection(hole)):
                    add(objects[i]["label"], np.asarray(piece.exterior.coords)[:-1])
    return objects
