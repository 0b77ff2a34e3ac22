"""Pre-labelling huge images tile by tile: sliding windows, then one polygon per object.

A huge image (:func:`labeler.train.tiling.is_huge`) is never decoded whole. The model sees
windows of ``tile`` pixels read with :meth:`TileSource.read_region`, overlapping by ``margin`` on
every side (512 and 64: a step of 384); only each window's centre part (its *core*; at the image's
edges the window reaches the edge) is kept, so every pixel is predicted with at least ``margin``
pixels of context wherever the image has them, and the cores tile the image exactly.

How proposals are made (decided for bounded memory and exact borders): each core's class map is
vectorised per class into its exact outline on pixel edges (:func:`geometry.mask_to_geometry`,
vertices on the half-pixel grid), and the outlines are merged per class with shapely
``union_all`` after every row of tiles. Neighbouring cores share their border edges exactly, so an
object crossing tile borders comes out as one polygon. Memory is the windows in flight plus the
outlines, which grow with the objects' boundary length, never with the image's area; no full-size
class map exists (a downscaled full map was the alternative, but it loses small objects and
blurs every border by the downscale factor). Each connected region of a class at least
``min_pixels`` in area becomes a ``polygon`` proposal (holes kept), simplified by
``simplify`` pixels, with ``source="model"``, ``score`` = the class's mean probability over its
pixels and ``z = -1``, as whole-image proposals are (there: one mask per class). The schema's
background class is not proposed.

Progress goes through ``ctx.track`` (one step per tile) and a cancelled job stops at the next
tile with :class:`labeler.core.jobs.Cancelled`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator

import numpy as np
import shapely
import shapely.affinity

from ..core import geometry
from ..core.jobs import JobContext
from ..core.shapes import POLYGON, Shape
from ..core.tiles import TileSource

PREDICT_TILE = 512
PREDICT_MARGIN = 64
#: tolerance in pixels of the Douglas-Peucker simplification of tiled proposals
SIMPLIFY_PIXELS = 0.5


Window = tuple[int, int, int, int]


def tile_windows(width: int, height: int, tile: int = PREDICT_TILE, margin: int = PREDICT_MARGIN
                 ) -> list[list[tuple[Window, Window]]]:
    """Rows of ``(read window, core window)`` pairs, each (x0, y0, x1, y1): the cores tile the
    image exactly; a read window is its core grown by ``margin`` on each side, within the image."""
    step = tile - 2 * margin
    if step <= 0:
        raise ValueError(f"a tile of {tile} pixels has no centre left with a margin of {margin}")
    rows = []
    for cy0 in range(0, height, step):
        cy1 = min(height, cy0 + step)
        row = []
        for cx0 in range(0, width, step):
            cx1 = min(width, cx0 + step)
            read = (max(0, cx0 - margin), max(0, cy0 - margin), min(width, cx1 + margin), min(height, cy1 + margin))
            row.append((read, (cx0, cy0, cx1, cy1)))
        rows.append(row)
    return rows


@dataclass
class TiledPrediction:
    """What predicting a huge image by tiles gives: per class the merged outline (coordinates of
    the level predicted at), pixel counts and probability sums, and the mean uncertainty."""

    class_names: list[str]
    geometries: dict[int, object] = field(default_factory=dict)
    pixels: np.ndarray | None = None
    confidence_sum: np.ndarray | None = None
    uncertainty_sum: float = 0.0
    tiles: int = 0

    @property
    def mean_uncertainty(self) -> float:
        n = float(self.pixels.sum()) if self.pixels is not None else 0.0
        return self.uncertainty_sum / n if n else 0.0


def predict_tiled(model, source: TileSource, *, level: int = 0, tile: int = PREDICT_TILE,
                  margin: int = PREDICT_MARGIN, skip: Iterable[str] = (), ctx: JobContext | None = None,
                  desc: str = "predict tiles") -> TiledPrediction:
    """Predict ``source`` at ``level`` window by window with ``model`` (anything with
    ``class_names`` and ``predict(image)``); classes in ``skip`` get no outline."""
    ctx = ctx or JobContext()
    names = list(model.class_names)
    k = len(names)
    wanted = [c for c in range(k) if names[c] not in set(skip)]
    out = TiledPrediction(names, pixels=np.zeros(k, np.int64), confidence_sum=np.zeros(k, np.float64))
    width, height = source.level_size(level)
    rows = tile_windows(width, height, tile, margin)
    pending: dict[int, list] = {c: [] for c in wanted}

    def windows() -> Iterator[tuple[bool, Window, Window]]:
        for row in rows:
            for i, (read, core) in enumerate(row):
                yield i == len(row) - 1, read, core

    for row_end, read, core in ctx.track(windows(), sum(len(r) for r in rows), desc):
        image = source.read_region(level, *read)
        labels, confidence, uncertainty = model.predict(image)
        cut = np.s_[core[1] - read[1]:core[3] - read[1], core[0] - read[0]:core[2] - read[0]]
        labels, confidence = labels[cut], confidence[cut]
        flat = labels.reshape(-1).astype(np.int64)
        out.pixels += np.bincount(flat, minlength=k)[:k]
        out.confidence_sum += np.bincount(flat, weights=confidence.reshape(-1), minlength=k)[:k]
        out.uncertainty_sum += float(uncertainty[cut].sum())
        out.tiles += 1
        for c in wanted:
            mask = labels == c
            if mask.any():
                # kept within the core: a mitred corner of the outline can stick out half a pixel
                outline = geometry.mask_to_geometry(mask, (core[0], core[1]))
                pending[c].append(shapely.intersection(outline, shapely.box(*core)))
        del image, labels, confidence, uncertainty  # not held while the next tile is predicted
        if row_end:  # merge a row at a time: what is held stays the outlines, not the tiles
            for c in wanted:
                if pending[c]:
                    parts = pending[c] + ([out.geometries[c]] if c in out.geometries else [])
                    out.geometries[c] = shapely.set_precision(shapely.union_all(parts), 0.5)
                    pending[c] = []
    return out


def proposals_from_tiles(pred: TiledPrediction, *, level: int = 0, min_pixels: int = 16,
                         simplify: float = SIMPLIFY_PIXELS) -> list[Shape]:
    """One model polygon per connected region of each class of at least ``min_pixels``
    full-resolution pixels (see the module docstring), in full-resolution coordinates;
    ``level``: the level ``pred`` was predicted at."""
    out = []
    scale = float(2 ** level)
    for c, geom in sorted(pred.geometries.items()):
        n = int(pred.pixels[c])
        if not n:
            continue
        score = round(float(pred.confidence_sum[c] / n), 4)
        for poly in geometry.polygon_parts(geom, min_area=max(1, min_pixels) / scale ** 2 - 0.5):
            if simplify > 0:
                poly = poly.simplify(simplify, preserve_topology=True)
            if scale != 1.0:
                poly = shapely.affinity.scale(poly, scale, scale, origin=(0, 0))
            for ext, holes in geometry.geometry_to_rings(poly):
                if len(ext) >= 3:
                    out.append(Shape(kind=POLYGON, label=pred.class_names[c], points=ext, holes=tuple(holes),
                                     source="model", score=score, z=-1))
    return out
