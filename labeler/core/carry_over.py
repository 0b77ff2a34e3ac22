"""Keep previous annotation: the shapes of one image carried onto the next (video frames).

Copies get new ids and keep their class, instance id, z-order and the rest; they are clipped to
the new image (``0 <= x <= width``, ``0 <= y <= height``) and shapes entirely outside it are
dropped. Links between carried shapes point at the copies; links to shapes left behind are
dropped. No Qt here.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import shapely
from shapely.geometry import LineString, Polygon, box

from .geometry import outline, polygons_from_geometry, rle_decode, rle_encode
from .shapes import CIRCLE, LINE, LINESTRIP, MASK, POINT, POLYGON, RECTANGLE, SCRIBBLE, Shape, new_id


def _inside(points: np.ndarray, width: int, height: int) -> bool:
    return bool(len(points) == 0 or (points.min(axis=0) >= 0).all()
                and points[:, 0].max() <= width and points[:, 1].max() <= height)


def _clip_mask(shape: Shape, width: int, height: int) -> list[Shape]:
    m = rle_decode(shape.rle)
    out = np.zeros((height, width), dtype=np.uint8)
    h, w = min(height, m.shape[0]), min(width, m.shape[1])
    out[:h, :w] = m[:h, :w]
    return [shape.replace(rle=rle_encode(out))] if out.any() else []


def _clip_area(shape: Shape, frame: Polygon) -> list[Shape]:
    ext, holes = outline(shape)
    geom = Polygon(ext, holes=list(holes))
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    return polygons_from_geometry(geom.intersection(frame), shape.replace(kind=POLYGON, points=ext, holes=()))


def _clip_lines(shape: Shape, frame: Polygon) -> list[Shape]:
    part = LineString(shape.points).intersection(frame)
    lines = [g for g in getattr(part, "geoms", [part]) if isinstance(g, LineString) and g.length > 0]
    out = []
    for g in lines:
        pts = np.asarray(g.coords)
        if shape.kind == LINE:
            pts = pts[[0, -1]]
        out.append(shape.replace(points=pts))
    return out


def clip_shape(shape: Shape, width: int, height: int) -> list[Shape]:
    """``shape`` clipped to a ``width`` x ``height`` image: itself when inside, else its parts
    inside (an area shape cut by the border becomes polygons), nothing when all of it is outside.
    Parts keep the shape's id; the caller gives new ones."""
    if shape.kind == MASK:
        return _clip_mask(shape, width, height)
    if shape.kind == CIRCLE:
        x0, y0, x1, y1 = shape.bbox()
        if _inside(np.array([[x0, y0], [x1, y1]]), width, height):
            return [shape]
    elif _inside(shape.points, width, height):
        return [shape]
    frame = box(0, 0, width, height)
    if shape.kind == RECTANGLE:
        (x0, y0), (x1, y1) = np.clip(shape.points, 0, [width, height])
        return [shape.replace(points=[[x0, y0], [x1, y1]])] if x0 != x1 and y0 != y1 else []
    if shape.kind in (POLYGON, CIRCLE):
        return _clip_area(shape, frame)
    if shape.kind in (LINE, LINESTRIP):
        return _clip_lines(shape, frame)
    if shape.kind in (POINT, SCRIBBLE):  # points: those inside; a scribble keeps its inner dots
        kept = shape.points[[_inside(p[None, :], width, height) for p in shape.points]]
        return [shape.replace(points=kept)] if len(kept) else []
    raise ValueError(f"cannot clip a {shape.kind}")


def carried_shapes(shapes: Sequence[Shape], width: int, height: int) -> list[Shape]:
    """Copies of ``shapes`` for an image of ``width`` x ``height``: new ids, clipped, the ones
    entirely outside dropped, links remapped to the copies."""
    parts = [(s, clip_shape(s, width, height)) for s in shapes]
    first_copy: dict[str, str] = {}
    out: list[Shape] = []
    for s, pieces in parts:
        for piece in pieces:
            copy = piece.replace(id=new_id())
            first_copy.setdefault(s.id, copy.id)
            out.append(copy)
    return [s.replace(links=tuple(first_copy[i] for i in s.links if i in first_copy)) if s.links else s
            for s in out]

