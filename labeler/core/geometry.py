"""Geometry: polygon <-> mask <-> RLE, rasterising shapes with z-order, shapely conversions.

Pixel conventions differ between the consumers of our exports, so every rasteriser takes one:

``"coco"`` (pixel edges)
    A vertex ``(x, y)`` is a point on the continuous plane in which pixel ``(i, j)`` covers
    ``[i, i+1) x [j, j+1)``; a pixel is inside when pycocotools' polygon rasteriser says so. The
    square ``(0,0) (10,0) (10,10) (0,10)`` covers 10 x 10 pixels. Used by the COCO exporters and
    for area/IoU computations.
``"pil"`` (inclusive)
    Pillow's ``ImageDraw.polygon`` with fill and outline, as labelme and VOC converters draw: the
    same square covers 11 x 11 pixels. Used by labelme-style and VOC exports.
``"pil-fill"``
    Pillow's ``ImageDraw.polygon`` with fill only, exactly as cityscapesscripts'
    ``json2labelImg`` and ``json2instanceImg`` draw. Used by the Cityscapes exporter.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import cv2
import numpy as np
import shapely
from PIL import Image, ImageDraw
from pycocotools import mask as mask_utils
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.polygon import orient

from .errors import ImageTooLargeError, InvalidShapeError
from .shapes import CIRCLE, MASK, POLYGON, RECTANGLE, Shape

CONVENTIONS = ("coco", "pil", "pil-fill")

#: Largest image a dense label map (semantic, instance, panoptic) is made for in one piece: the
#: same bound as a whole-image decode. Larger images are refused with a clear error instead of
#: exhausting memory; their polygon/RLE exports (COCO instances, labelme) still work.
MAX_DENSE_PIXELS = 400_000_000


def check_dense_size(height: int, width: int) -> None:
    """Raise a clear error before allocating a whole-image label map that is too large."""
    if int(height) * int(width) > MAX_DENSE_PIXELS:
        raise ImageTooLargeError(
            f"{width} x {height} image is too large for a dense label map (limit "
            f"{MAX_DENSE_PIXELS:,} pixels); export it as COCO instances or labelme, or tile it first")

# ---------------------------------------------------------------------------------- RLE


def rle_encode(mask: np.ndarray) -> dict:
    """A boolean/0-1 mask (H, W) to a COCO compressed RLE with ``counts`` as str."""
    m = np.asfortranarray(np.asarray(mask, dtype=np.uint8))
    rle = mask_utils.encode(m)
    rle["counts"] = rle["counts"].decode("ascii")
    rle["size"] = [int(s) for s in rle["size"]]
    return rle


def _c_rle(rle: dict) -> dict:
    counts = rle["counts"]
    if isinstance(counts, list):  # uncompressed RLE (COCO iscrowd files)
        h, w = rle["size"]
        return mask_utils.frPyObjects(rle, h, w)
    return {"size": list(rle["size"]), "counts": counts.encode("ascii") if isinstance(counts, str) else counts}


def rle_decode(rle: dict) -> np.ndarray:
    return mask_utils.decode(_c_rle(rle)).astype(bool)


def rle_counts(rle: dict) -> np.ndarray:
    """The run lengths of an RLE (alternating 0s and 1s, column-major, starting with 0s), read
    from COCO's compressed string without decoding the mask (pycocotools' ``rleFrString``)."""
    counts = rle["counts"]
    if isinstance(counts, list):
        return np.asarray(counts, dtype=np.int64)
    c = np.frombuffer(counts.encode("ascii") if isinstance(counts, str) else bytes(counts), np.uint8)
    c = c.astype(np.int64) - 48
    if not c.size:
        return np.zeros(0, np.int64)
    last = (c & 0x20) == 0  # the last character of each number
    group = np.concatenate([[0], np.cumsum(last)[:-1]])
    first = np.concatenate([[0], np.flatnonzero(last)[:-1] + 1])
    shift = 5 * (np.arange(c.size) - first[group])
    x = np.bincount(group, weights=((c & 0x1F) << shift).astype(np.float64)).astype(np.int64)
    ends = np.flatnonzero(last)
    negative = (c[ends] & 0x10) != 0
    x[negative] -= np.left_shift(1, shift[ends][negative] + 5)
    out = x.copy()  # pycocotools: for m > 2, counts[m] = x[m] + counts[m - 2]
    out[2::2] = np.cumsum(x[2::2])
    out[1::2] = np.cumsum(x[1::2])
    return out


def rle_sample(rle: dict, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """``mask[np.ix_(ys, xs)]`` of an RLE without decoding the whole mask: memory is the
    (len(ys), len(xs)) result, whatever the mask's size."""
    h = int(rle["size"][0])
    bounds = np.cumsum(rle_counts(rle))
    idx = np.asarray(xs, np.int64)[None, :] * h + np.asarray(ys, np.int64)[:, None]
    return (np.searchsorted(bounds, idx, side="right") % 2) == 1


def rle_area(rle: dict) -> int:
    return int(mask_utils.area(_c_rle(rle)))


def rle_bbox(rle: dict) -> tuple[float, float, float, float]:
    """(x, y, w, h) as pycocotools computes it."""
    return tuple(float(v) for v in mask_utils.toBbox(_c_rle(rle)))


def placed_rle(crop: np.ndarray, left: int, top: int, height: int, width: int) -> dict:
    """The ``height`` x ``width`` RLE (as :func:`rle_encode` gives) of a boolean crop placed at
    (left, top), pixels off the image dropped; built from the crop's pixels, never from an
    image-size array, so a mask on a 40,000 px image costs what its crop costs."""
    rows, cols = np.nonzero(crop)
    x, y = cols.astype(np.int64) + int(left), rows.astype(np.int64) + int(top)
    keep = (x >= 0) & (x < width) & (y >= 0) & (y < height)
    idx = np.sort(x[keep] * height + y[keep])  # column-major, as COCO counts run
    if not len(idx):
        counts = [int(height) * int(width)]
    else:
        breaks = np.flatnonzero(np.diff(idx) != 1) + 1
        edges = np.column_stack([idx[np.r_[0, breaks]], idx[np.r_[breaks - 1, len(idx) - 1]] + 1]).ravel()
        counts = np.diff(np.r_[0, edges, int(height) * int(width)]).tolist()
        if counts[-1] == 0:  # no zeros after the last run: pycocotools' own encoding leaves the 0 out
            counts.pop()
    rle = mask_utils.frPyObjects({"counts": counts, "size": [int(height), int(width)]}, int(height), int(width))
    return {"size": [int(height), int(width)], "counts": rle["counts"].decode("ascii")}


def shift_rle(rle: dict, dx: float, dy: float) -> dict:
    """Translate a mask by whole pixels (rounded); pixels pushed off the image are dropped."""
    m = rle_decode(rle)
    dx, dy = int(round(dx)), int(round(dy))
    h, w = m.shape
    out = np.zeros_like(m)
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[yd, xd] = m[ys, xs]
    return rle_encode(out)


# ------------------------------------------------------------------------ shape outlines


def circle_polygon(center: Sequence[float], radius: float) -> np.ndarray:
    """A circle as a polygon whose edges are about 2 px long (at least 16, at most 720 sides)."""
    n = int(min(720, max(16, math.ceil(2 * math.pi * radius / 2))))
    t = np.linspace(0, 2 * math.pi, n, endpoint=False)
    return np.stack([center[0] + radius * np.cos(t), center[1] + radius * np.sin(t)], axis=1)


def rectangle_polygon(p0: Sequence[float], p1: Sequence[float]) -> np.ndarray:
    x0, x1 = sorted((float(p0[0]), float(p1[0])))
    y0, y1 = sorted((float(p0[1]), float(p1[1])))
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])


def outline(shape: Shape) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Exterior ring and holes of an area shape given by points (not a mask)."""
    if shape.kind == POLYGON:
        return shape.points, shape.holes
    if shape.kind == RECTANGLE:
        return rectangle_polygon(shape.points[0], shape.points[1]), ()
    if shape.kind == CIRCLE:
        c = shape.points[0]
        return circle_polygon(c, float(np.hypot(*(shape.points[1] - c)))), ()
    raise InvalidShapeError(f"a {shape.kind} has no area outline")


# --------------------------------------------------------------------------- rasterising


def check_near_image(rings, height: int, width: int) -> None:
    """Raise :class:`InvalidShapeError` for a point further outside the image than its own size:
    pycocotools walks every pixel step of an edge (1e7 px: gigabytes; 1e300: a segfault)."""
    for ring in rings:
        r = np.asarray(ring, dtype=np.float64).reshape(-1, 2)
        if len(r) and ((r.min(axis=0) < (-width, -height)).any() or (r.max(axis=0) > (2 * width, 2 * height)).any()):
            raise InvalidShapeError(f"points lie far outside the {width} x {height} image")


#: Largest coordinate rasterised with pycocotools (which crashes on 1e300); images are far smaller.
MAX_COORDINATE = 2 ** 24


def _ring_mask(ring: np.ndarray, h: int, w: int, convention: str) -> np.ndarray:
    if convention == "coco":
        if len(ring) and np.abs(ring).max() > MAX_COORDINATE:  # windows of huge images may lie far off
            raise InvalidShapeError(f"points beyond {MAX_COORDINATE:,} px cannot be rasterised")
        flat = ring.reshape(-1).tolist()
        if len(flat) < 6:
            return np.zeros((h, w), bool)
        rles = mask_utils.frPyObjects([flat], h, w)
        return mask_utils.decode(mask_utils.merge(rles)).astype(bool)
    if convention in ("pil", "pil-fill"):
        img = Image.new("L", (w, h), 0)
        xy = [tuple(p) for p in ring.tolist()]
        if len(xy) >= 2:
            if convention == "pil":
                ImageDraw.Draw(img).polygon(xy, fill=1, outline=1)
            else:
                ImageDraw.Draw(img).polygon(xy, fill=1)
        return np.asarray(img, dtype=bool)
    raise ValueError(f"unknown pixel convention {convention!r}; expected one of {CONVENTIONS}")


def polygon_to_mask(exterior, holes=(), height: int = 0, width: int = 0, convention: str = "coco") -> np.ndarray:
    """Fill a polygon with holes into a boolean (height, width) mask."""
    ext = np.asarray(exterior, dtype=np.float64)
    m = _ring_mask(ext, height, width, convention)
    for hole in holes:
        m &= ~_ring_mask(np.asarray(hole, dtype=np.float64), height, width, convention)
    return m


def shape_window(shape: Shape, height: int, width: int) -> tuple[int, int, int, int] | None:
    """Integer (x0, y0, x1, y1) of the image region a shape can touch, or None if off-image."""
    bx0, by0, bx1, by1 = shape.bbox()
    x0, y0 = max(0, int(math.floor(bx0)) - 1), max(0, int(math.floor(by0)) - 1)
    x1, y1 = min(width, int(math.ceil(bx1)) + 2), min(height, int(math.ceil(by1)) + 2)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


def shape_mask_window(shape: Shape, height: int, width: int, convention: str = "coco"):
    """The shape's pixels inside its window: ``(mask, (x0, y0))``, or ``None`` if off-image.

    Rendering only the window keeps rasterising cheap on huge images with many small shapes.
    """
    win = shape_window(shape, height, width)
    if win is None:
        return None
    x0, y0, x1, y1 = win
    if shape.kind == MASK:
        if list(shape.rle["size"]) != [height, width]:
            raise InvalidShapeError(
                f"mask of size {shape.rle['size']} does not match the image ({height}, {width})")
        return rle_decode(shape.rle)[y0:y1, x0:x1], (x0, y0)
    ext, holes = outline(shape)
    off = np.array([x0, y0], dtype=np.float64)
    m = polygon_to_mask(ext - off, [h - off for h in holes], y1 - y0, x1 - x0, convention)
    return m, (x0, y0)


def shape_to_mask(shape: Shape, height: int, width: int, convention: str = "coco") -> np.ndarray:
    out = np.zeros((height, width), bool)
    res = shape_mask_window(shape, height, width, convention)
    if res is not None:
        m, (x0, y0) = res
        out[y0:y0 + m.shape[0], x0:x0 + m.shape[1]] = m
    return out


def z_sorted(shapes: Iterable[Shape]) -> list[Shape]:
    """Shapes in painting order: by z, and by list order among equal z (later on top)."""
    return sorted(shapes, key=lambda s: s.z)


def rasterize(items: Iterable[tuple[Shape, int]], height: int, width: int, *, fill: int = 0,
              dtype=np.uint8, convention: str = "coco") -> np.ndarray:
    """Paint ``(shape, value)`` pairs into a (height, width) map; higher z paints over lower z.

    Only area shapes paint (weak labels such as points and scribbles are skipped).
    """
    check_dense_size(height, width)
    out = np.full((height, width), fill, dtype=dtype)
    pairs = [(s, v) for s, v in items if s.is_area]
    for shape, value in sorted(pairs, key=lambda sv: sv[0].z):
        res = shape_mask_window(shape, height, width, convention)
        if res is None:
            continue
        m, (x0, y0) = res
        region = out[y0:y0 + m.shape[0], x0:x0 + m.shape[1]]
        region[m] = value
    return out


def rasterize_window(items: Iterable[tuple[Shape, int]], window: tuple[int, int, int, int], *,
                     scale: float = 1.0, fill: int = 0, dtype=np.uint8, convention: str = "coco") -> np.ndarray:
    """:func:`rasterize` of only ``window`` = (x0, y0, x1, y1) of the image scaled by ``scale``
    (0.25: a pyramid level two halvings down): the (y1 - y0, x1 - x0) map, never a full-size one.

    Polygons are rasterised in their clipped bounding box only; a ``mask`` shape is sampled at the
    window's pixel centres straight from its run lengths (:func:`rle_sample`), never decoded whole.
    """
    x0, y0, x1, y1 = (int(v) for v in window)
    out = np.full((max(0, y1 - y0), max(0, x1 - x0)), fill, dtype=dtype)
    pairs = [(s, v) for s, v in items if s.is_area]
    for shape, value in sorted(pairs, key=lambda sv: sv[0].z):
        bx0, by0, bx1, by1 = (b * scale for b in shape.bbox())
        sx0, sy0 = max(x0, int(math.floor(bx0)) - 1), max(y0, int(math.floor(by0)) - 1)
        sx1, sy1 = min(x1, int(math.ceil(bx1)) + 2), min(y1, int(math.ceil(by1)) + 2)
        if sx1 <= sx0 or sy1 <= sy0:
            continue
        if shape.kind == MASK:
            mh, mw = (int(v) for v in shape.rle["size"])
            ys = np.minimum(((np.arange(sy0, sy1) + 0.5) / scale).astype(np.int64), mh - 1)
            xs = np.minimum(((np.arange(sx0, sx1) + 0.5) / scale).astype(np.int64), mw - 1)
            m = rle_sample(shape.rle, ys, xs)
        else:
            ext, holes = outline(shape)
            off = np.array([sx0, sy0], dtype=np.float64)
            m = polygon_to_mask(ext * scale - off, [h * scale - off for h in holes], sy1 - sy0, sx1 - sx0,
                                convention)
        out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0][m] = value
    return out


# ---------------------------------------------------------------------- mask -> polygons


def _mask_to_geometry(mask: np.ndarray):
    """Exact-ish vector outline of a mask on pixel edges, holes kept, as a shapely geometry."""
    m = np.ascontiguousarray(mask, dtype=np.uint8)
    contours, hierarchy = cv2.findContours(m, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    if hierarchy is None:
        return Polygon()
    hierarchy = hierarchy[0]
    polys = []
    for i, c in enumerate(contours):
        if hierarchy[i][3] != -1:
            continue  # a hole; handled with its parent
        outer = _ring_region(c, grow=True)
        holes = []
        child = hierarchy[i][2]
        while child != -1:
            holes.append(_ring_region(contours[child], grow=False))
            child = hierarchy[child][0]
        geom = outer
        if holes:
            geom = geom.difference(shapely.union_all(holes))
        polys.append(geom)
    return shapely.union_all(polys) if polys else Polygon()


def mask_to_geometry(mask: np.ndarray, offset: tuple[float, float] = (0.0, 0.0)):
    """A mask's exact outline on pixel edges (holes kept) as a shapely geometry, moved by
    ``offset`` and snapped to the half-pixel grid its vertices lie on, so that the outlines of
    neighbouring windows share their edges exactly and ``union_all`` joins them."""
    geom = _mask_to_geometry(mask)
    if offset != (0.0, 0.0) and not geom.is_empty:
        geom = shapely.transform(geom, lambda c: c + np.asarray(offset, dtype=np.float64))
    return shapely.set_precision(geom, 0.5)


def _ring_region(contour: np.ndarray, grow: bool):
    """Turn a contour through pixel centres into a region on pixel edges (grow or shrink 0.5)."""
    pts = contour.reshape(-1, 2).astype(np.float64) + 0.5
    if len(pts) == 1:
        base = shapely.Point(pts[0])
    elif len(pts) == 2:
        base = shapely.LineString(pts)
    else:
        base = Polygon(pts)
        if not base.is_valid:
            base = shapely.make_valid(base)
    if grow:
        return base.buffer(0.5, cap_style="square", join_style="mitre", mitre_limit=2.0)
    if isinstance(base, (shapely.Point, shapely.LineString)):
        return Polygon()
    return base.buffer(-0.5, join_style="mitre", mitre_limit=2.0)


def geometry_to_rings(geom) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    """A shapely (Multi)Polygon as ``[(exterior, [holes...]), ...]`` without closing points."""
    out = []
    polys = [geom] if isinstance(geom, Polygon) else list(getattr(geom, "geoms", []))
    for p in polys:
        if not isinstance(p, Polygon) or p.is_empty or p.area <= 0:
            continue
        p = orient(p)
        ext = np.asarray(p.exterior.coords)[:-1]
        holes = [np.asarray(r.coords)[:-1] for r in p.interiors]
        out.append((ext, [h for h in holes if len(h) >= 3]))
    return out


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def mask_to_polygons(mask: np.ndarray, min_iou: float = 0.99, convention: str = "coco"):
    """Simplified polygons (with holes) for a mask, as coarse as the fidelity allows.

    Returns ``(rings, iou)`` where rings is ``[(exterior, [holes...]), ...]`` and ``iou`` is the
    IoU between the mask and the polygons rasterised back with ``convention``. The simplest
    tolerance whose IoU reaches ``min_iou`` is used; if none does (tiny objects), the exact
    outline is returned and ``iou`` says how close it is.
    """
    mask = np.asarray(mask, dtype=bool)
    h, w = mask.shape
    if not mask.any():
        return [], 1.0
    ys, xs = np.nonzero(mask)
    x0, y0 = max(0, xs.min() - 1), max(0, ys.min() - 1)
    x1, y1 = min(w, xs.max() + 2), min(h, ys.max() + 2)
    crop = mask[y0:y1, x0:x1]
    geom = _mask_to_geometry(crop)
    best = None
    for tol in (1.0, 0.7, 0.5, 0.3, 0.15, 0.0):
        g = geom.simplify(tol, preserve_topology=True) if tol else geom
        rings = geometry_to_rings(g)
        back = np.zeros_like(crop)
        for ext, holes in rings:
            back |= polygon_to_mask(ext, holes, crop.shape[0], crop.shape[1], convention)
        iou = mask_iou(back, crop)
        if best is None or iou > best[1]:
            best = (rings, iou)
        if iou >= min_iou:
            best = (rings, iou)
            break
    off = np.array([x0, y0], dtype=np.float64)
    rings = [(ext + off, [hh + off for hh in holes]) for ext, holes in best[0]]
    return rings, best[1]


# ------------------------------------------------------------------------------ shapely


def shape_to_geometry(shape: Shape, height: int | None = None, width: int | None = None):
    """An area shape as a shapely geometry (masks are vectorised exactly, on pixel edges)."""
    if shape.kind == MASK:
        return _mask_to_geometry(rle_decode(shape.rle))
    ext, holes = outline(shape)
    poly = Polygon(ext, holes=[h for h in holes])
    return poly if poly.is_valid else shapely.make_valid(poly)


def polygon_problems(shape: Shape) -> list[str]:
    """Why a polygon-like shape is geometrically broken (empty list when it is fine)."""
    if shape.kind not in (POLYGON, RECTANGLE, CIRCLE):
        return []
    ext, holes = outline(shape)
    problems = []
    poly = Polygon(ext, holes=list(holes))
    if not poly.is_valid:
        problems.append(f"polygon is invalid: {shapely.is_valid_reason(poly)}")
    elif poly.area <= 0:
        problems.append("polygon has zero area")
    return problems


def polygons_from_geometry(geom, template: Shape) -> list[Shape]:
    """Polygon shapes (holes kept) from a shapely geometry, copying class etc. from template."""
    from .shapes import new_id

    out = []
    for i, (ext, holes) in enumerate(geometry_to_rings(geom)):
        if len(ext) < 3:
            continue
        out.append(template.replace(kind=POLYGON, points=ext, holes=tuple(holes), rle=None,
                                    id=template.id if i == 0 else new_id()))
    return out


def bbox_of_rings(rings: list[tuple[np.ndarray, list[np.ndarray]]]) -> tuple[float, float, float, float]:
    pts = np.concatenate([ext for ext, _ in rings])
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    return float(x0), float(y0), float(x1 - x0), float(y1 - y0)


def merge_shapes(shapes: Sequence[Shape]) -> list[Shape]:
    """Union of area shapes into polygons of the first shape's class (shapely)."""
    geom = shapely.union_all([shape_to_geometry(s) for s in shapes])
    return polygons_from_geometry(geom, shapes[0])


def subtract_shapes(target: Shape, cutters: Sequence[Shape]) -> list[Shape]:
    """``target`` minus the union of ``cutters`` (shapely); holes appear where needed."""
    geom = shape_to_geometry(target).difference(shapely.union_all([shape_to_geometry(s) for s in cutters]))
    return polygons_from_geometry(geom, target)


def mask_shape_to_polygons(shape: Shape, min_iou: float = 0.99) -> list[Shape]:
    rings, _ = mask_to_polygons(rle_decode(shape.rle), min_iou=min_iou)
    from .shapes import new_id

    return [shape.replace(kind=POLYGON, points=ext, holes=tuple(holes), rle=None,
                          id=shape.id if i == 0 else new_id()) for i, (ext, holes) in enumerate(rings)]


def polygon_shape_to_mask(shape: Shape, height: int, width: int) -> Shape:
    return shape.replace(kind=MASK, rle=rle_encode(shape_to_mask(shape, height, width)),
                         points=np.zeros((0, 2)), holes=())


# ------------------------------------------------------------- one ring for formats without holes


def polygon_parts(geom, min_area: float = 0.0) -> list[Polygon]:
    """The polygons of any shapely geometry (collections flattened, lines and points dropped)."""
    if isinstance(geom, Polygon):
        return [] if geom.is_empty or geom.area <= min_area else [geom]
    return [p for g in getattr(geom, "geoms", ()) for p in polygon_parts(g, min_area)]


def _insert_on_ring(ring: np.ndarray, point: np.ndarray) -> tuple[np.ndarray, int]:
    """``ring`` (open) with ``point``, which lies on one of its edges, inserted; and its index."""
    a, b = ring, np.roll(ring, -1, axis=0)
    d = b - a
    t = np.clip(((point - a) * d).sum(1) / np.maximum((d * d).sum(1), 1e-300), 0, 1)
    i = int(np.argmin(np.hypot(*(a + t[:, None] * d - point).T)))
    return np.vstack([ring[:i + 1], point, ring[i + 1:]]), i + 1


def bridged_ring(geom) -> np.ndarray:
    """One ring for a (Multi)Polygon, for formats that fill each polygon as a single ring (YOLO):
    holes and further parts are joined to the largest part's exterior by zero-width cuts. Each
    cut joins the nearest points of a piece and of everything joined so far, taking first the
    piece nearest to it, so no cut crosses a boundary or another cut. Exteriors run
    counter-clockwise (x right, y up), holes the other way, so even-odd and non-zero fills agree."""
    polys = [orient(p) for p in sorted(polygon_parts(geom), key=lambda p: -p.area)]
    if not polys:
        return np.zeros((0, 2))
    ring = np.asarray(polys[0].exterior.coords)[:-1]
    pieces = [np.asarray(r.coords)[:-1] for r in polys[0].interiors]
    for p in polys[1:]:
        pieces += [np.asarray(p.exterior.coords)[:-1]] + [np.asarray(r.coords)[:-1] for r in p.interiors]
    lines = np.array([shapely.LineString(np.vstack([pc, pc[:1]])) for pc in pieces], dtype=object)
    dist = shapely.distance(lines, shapely.LineString(np.vstack([ring, ring[:1]]))).astype(np.float64)
    for _ in range(len(pieces)):  # distances to the pieces left: one vectorised call per cut
        k = int(np.argmin(dist))
        dist[k] = np.inf
        cut = shapely.shortest_line(lines[k], shapely.LineString(np.vstack([ring, ring[:1]])))
        p, q = np.asarray(cut.coords[0]), np.asarray(cut.coords[1])
        ring, i = _insert_on_ring(ring, q)
        piece, j = _insert_on_ring(pieces[k], p)
        ring = np.vstack([ring[:i + 1], piece[j:], piece[:j + 1], ring[i:]])
        left = np.isfinite(dist)
        if left.any():
            dist[left] = np.minimum(dist[left], shapely.distance(lines[left], shapely.union_all([lines[k], cut])))
    keep = np.ones(len(ring), bool)
    keep[1:] = np.any(ring[1:] != ring[:-1], axis=1)  # repeats where a cut has length zero
    return ring[keep]
