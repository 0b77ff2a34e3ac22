"""Proposal engines on images too large to decode whole (a 20k x 20k scan, a slide).

:func:`load_for_engine` reads an ordinary image as an array, but gives a :class:`LargeImage`
(a :class:`~labeler.core.tiles.TileSource`, nothing decoded) for one over ``huge_pixels``.
:class:`LargeImageAdapter` wraps an engine and handles both:

* an ordinary array goes to the engine as it is (the engine's state, cached as before);
* **downscale** engines (SAM, which resizes to 1024 anyway; the default) are prepared on a
  pyramid level of the file whose long side is at most ``max_side`` (read through the tile source:
  memory-mapped rows of an uncompressed TIFF, a DCT draft of a JPEG); prompts are scaled down to
  it and the masks come back on it;
* **crop** engines (GrabCut: ``large_images = "crop"`` on the engine or a name in
  ``CROP_ENGINES``) prepare nothing up front; each request reads a crop around the prompts at full
  resolution (a coarser level only when the prompts span more than ``max_side`` pixels).

**View mode** (:mod:`labeler.assist.view_region`): a user zoomed in on a huge image sees objects
the overview shrinks to a few pixels. A :class:`LargeImage` with a ``region`` (chosen from the
visible rectangle by :func:`~labeler.assist.view_region.choose_view_region`: the view plus a 25%
margin, at the finest level that fits the engine's 1024 pixels, never above full resolution)
prepares a downscale engine on that region only, read through the tile source. Its state is cached
under the engine's cache key, the file's content key, the level and the box (in memory; on disk
for engines whose states serialise; an engine with its own cache, SAM, keeps its disk entry under
the crop's pixels), so going back to a region is instant. Prompts are mapped into the region and
its masks come back as :class:`PlacedProposal` with the region's offset and scale. Low-resolution
logits of a proposal made on another region (or the overview) are not fed back: they are in
another frame. The window uses the overview while the view covers most of the image.

Either way a proposal is a :class:`PlacedProposal`: its mask covers a region of the image
(``offset``, ``scale`` = mask pixels per image pixel), and :func:`placed_to_shapes` turns it into
shapes in full-resolution coordinates (polygons scaled up, or a mask RLE of the whole image built
from the region, never a dense full-size array).
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, Sequence

import numpy as np

from ..core.geometry import mask_to_polygons
from ..core.images import image_size, read_image
from ..core.shapes import MASK, POLYGON, Shape
from ..core.tiles import TILED_ABOVE_PIXELS, TileSource
from .cache import EmbeddingCache
from .engine import Prompts, Proposal, Scribble
from .view_region import ViewRegion, content_key, view_cache_key

MAX_SIDE = 2048
CROP_ENGINES = frozenset({"grabcut"})


@dataclass
class LargeImage:
    """An image file an engine must not decode whole: read it through ``source``. With a
    ``region``, a downscale engine is prepared on that region only (view mode, see the module)."""

    source: TileSource
    region: ViewRegion | None = None

    @property
    def size(self) -> tuple[int, int]:
        return self.source.size


def load_for_engine(path, huge_pixels: int = TILED_ABOVE_PIXELS, region: ViewRegion | None = None):
    """The image as an RGB array, or a :class:`LargeImage` (of ``region``, if given) when it has
    over ``huge_pixels``."""
    w, h = image_size(path)
    if w * h <= huge_pixels:
        return read_image(path)
    return LargeImage(TileSource(path), region)


def uses_crops(engine) -> bool:
    """The engine reads a full-resolution crop per request (GrabCut) instead of being prepared."""
    return getattr(engine, "large_images", "") == "crop" or engine.name in CROP_ENGINES


def level_for(extent: float, max_side: int) -> int:
    """The pyramid level (scale ``1 / 2**level``) at which ``extent`` pixels fit in ``max_side``."""
    return max(0, math.ceil(math.log2(max(1.0, extent) / max_side)))


@dataclass
class PlacedProposal(Proposal):
    """A proposal whose mask covers image pixels ``offset + mask_index / scale``."""

    offset: tuple[int, int] = (0, 0)  # (x, y) of the mask's first pixel, in image pixels
    scale: float = 1.0  # mask pixels per image pixel (1 / 2**level)
    image_size: tuple[int, int] = (0, 0)  # (width, height) of the whole image


@dataclass
class ScaledState:
    """What the adapter keeps for a large image: the engine's state of a downscaled copy (or None
    for crop engines), the source, the level the copy was read at and, for a view region, the
    region and the full-resolution ``origin`` of its first pixel."""

    source: TileSource
    inner: Any = None
    level: int = 0
    extra: dict = field(default_factory=dict)
    origin: tuple[int, int] = (0, 0)
    region: ViewRegion | None = None


def _scale_prompts(p: Prompts, dx: float, dy: float, s: float) -> Prompts:
    """Prompts in a region's pixels: ``(x - dx) * s``; a previous full-size mask is dropped."""
    def pts(a):
        return (np.asarray(a, float).reshape(-1, 2) - (dx, dy)) * s

    box = None if p.box is None else tuple((float(v) - d) * s for v, d in zip(p.box, (dx, dy, dx, dy)))
    return Prompts(positive=pts(p.positive), negative=pts(p.negative), box=box,
                   foreground=[Scribble(pts(sc.points), max(1.0, sc.width * s)) for sc in p.foreground],
                   background=[Scribble(pts(sc.points), max(1.0, sc.width * s)) for sc in p.background],
                   logits=p.logits, links=p.links, options=dict(p.options))


def prompt_bounds(p: Prompts) -> tuple[float, float, float, float] | None:
    """The box around every prompt (points, box, scribbles with their width)."""
    xs, ys = [], []
    for a in (p.positive, p.negative):
        xs += list(a[:, 0]); ys += list(a[:, 1])  # noqa: E702
    if p.box is not None:
        xs += [p.box[0], p.box[2]]; ys += [p.box[1], p.box[3]]  # noqa: E702
    for sc in [*p.foreground, *p.background]:
        r = sc.width / 2
        xs += [sc.points[:, 0].min() - r, sc.points[:, 0].max() + r]
        ys += [sc.points[:, 1].min() - r, sc.points[:, 1].max() + r]
    return (min(xs), min(ys), max(xs), max(ys)) if xs else None


class LargeImageAdapter:
    """``engine`` for ordinary arrays and :class:`LargeImage` alike (see the module)."""

    def __init__(self, engine, max_side: int = MAX_SIDE, margin: float = 0.5, min_context: int = 64,
                 memory_items: int = 6) -> None:
        self.engine = engine
        self.max_side = max_side
        self.margin = margin  # context around the prompts in a crop, as a fraction of their extent
        self.min_context = min_context
        own = getattr(engine, "cache", None)
        self.cache = own if isinstance(own, EmbeddingCache) else EmbeddingCache(memory_items)
        self.crop = uses_crops(engine)
        self._logit_frames: dict[int, tuple[weakref.ref, tuple]] = {}  # id(logits) -> (logits, frame)

    name = property(lambda self: self.engine.name)
    accepts = property(lambda self: self.engine.accepts)
    cache_key = property(lambda self: self.engine.cache_key)

    def _inner_prepare(self, image: np.ndarray) -> Any:
        if self.cache is getattr(self.engine, "cache", None):
            return self.engine.prepare(image)  # the engine caches by itself
        return self.cache.get_or_prepare(self.engine, image)

    def prepare(self, image) -> Any:
        if not isinstance(image, LargeImage):
            return self._inner_prepare(image)
        source = image.source
        if self.crop:
            return ScaledState(source)
        if image.region is not None:
            return self._prepare_region(source, image.region)
        level = min(level_for(max(source.size), self.max_side), source.levels - 1)
        small = source.read_region(level, 0, 0, *source.level_size(level))
        return ScaledState(source, self._inner_prepare(small), level)

    def _prepare_region(self, source: TileSource, region: ViewRegion) -> ScaledState:
        """The engine prepared on a view region, cached by content key, level and box (module)."""
        key = view_cache_key(self.engine.cache_key, content_key(source.path), region)
        inner = self.cache.get(self.engine, key)
        if inner is None:
            crop = source.read_region(region.level, *region.box)
            inner = self.engine.prepare(crop)  # SAM also keeps it under the crop's pixels, on disk too
            own = self.cache is getattr(self.engine, "cache", None)
            self.cache.put(self.engine, key, inner, disk=not own)
        return ScaledState(source, inner, region.level, origin=region.origin, region=region)

    def _feedable(self, prompts: Prompts, frame: tuple) -> Prompts:
        """``prompts`` without logits that came from a proposal in another frame (region or overview)."""
        known = self._logit_frames.get(id(prompts.logits)) if prompts.logits is not None else None
        if known is None or known[0]() is not prompts.logits or known[1] == frame:
            return prompts
        return replace(prompts, logits=None)

    def _remember_frames(self, proposals: list[Proposal], frame: tuple) -> None:
        for p in proposals:
            if p.logits is not None:
                try:
                    self._logit_frames[id(p.logits)] = (weakref.ref(p.logits), frame)
                except TypeError:  # logits that cannot be weakly referenced: not checked
                    pass
        if len(self._logit_frames) > 256:
            self._logit_frames = {k: v for k, v in self._logit_frames.items() if v[0]() is not None}

    def propose(self, state, prompts: Prompts) -> list[Proposal]:
        if not isinstance(state, ScaledState):
            return self.engine.propose(state, prompts)
        w, h = state.source.size
        if not self.crop:
            s = 2.0 ** -state.level
            inner, region, level = state.inner, state.origin, state.level
            frame = (region, level, state.region)
            prompts = self._feedable(prompts, frame)
        else:
            bounds = prompt_bounds(prompts)
            if bounds is None:
                raise ValueError(f"{self.engine.name} needs a prompt to know where to look")
            x0, y0, x1, y1 = bounds
            pad = max(self.min_context, self.margin * max(x1 - x0, y1 - y0))
            level = level_for(max(x1 - x0, y1 - y0) + 2 * pad, self.max_side)
            step = 2 ** level
            # the crop, aligned to the level's pixels, clipped to the image
            cx0, cy0 = (max(0, int(v - pad)) // step * step for v in (x0, y0))
            cx1, cy1 = min(w, int(math.ceil(x1 + pad))), min(h, int(math.ceil(y1 + pad)))
            lw, lh = state.source.level_size(level)
            crop = state.source.read_region(level, cx0 // step, cy0 // step, min(lw, -(-cx1 // step)),
                                            min(lh, -(-cy1 // step)))
            inner, region, s = self.engine.prepare(crop), (cx0, cy0), 1.0 / step
        scaled = _scale_prompts(prompts, region[0], region[1], s)
        proposals = self.engine.propose(inner, scaled)
        if not self.crop:
            self._remember_frames(proposals, frame)
        # a candidate's mask is made when first looked at (as the engine's own may be)
        return [PlacedProposal(mask=partial(getattr, p, "mask"), score=p.score, engine=p.engine, logits=p.logits,
                               offset=region, scale=s, image_size=(w, h))
                for p in proposals]


# ------------------------------------------------------------------------------- to shapes


def rle_from_region(region: np.ndarray, x0: int, y0: int, height: int, width: int) -> dict:
    """The COCO RLE (compressed, ``counts`` as str) of a ``height x width`` image that is zero
    except for ``region`` at ``(x0, y0)``; the full-size mask is never made."""
    from pycocotools import mask as mask_utils

    region = np.asarray(region, bool)
    rh, rw = region.shape
    if rh == 0 or rw == 0 or not region.any():
        changes = np.zeros(0, np.int64)
    else:
        padded = np.zeros((rw, rh + 2), np.int8)
        padded[:, 1:-1] = region.T  # one row per image column (COCO counts run down the columns)
        cols, idx = np.nonzero(np.diff(padded, axis=1))
        pos = (x0 + cols).astype(np.int64) * height + y0 + idx
        values, counts = np.unique(pos, return_counts=True)
        changes = values[counts % 2 == 1]  # a run ending where the next begins is no change
    runs = np.diff(np.concatenate([[0], changes, [height * width]]))
    if len(runs) > 1 and runs[-1] == 0:
        runs = runs[:-1]  # the mask reaches the last pixel: no closing run of zeros
    rle = mask_utils.frPyObjects({"counts": runs.tolist(), "size": [height, width]}, height, width)
    return {"size": [int(height), int(width)], "counts": rle["counts"].decode("ascii")}


def placed_to_shapes(proposal: PlacedProposal, label: str, *, links: Sequence[str] = (),
                     polygons: bool = False, min_iou: float = 0.99, **fields: Any) -> list[Shape]:
    """Shapes in full-resolution image coordinates for a :class:`PlacedProposal` (as
    :func:`~labeler.assist.engine.proposal_to_shapes` does for an ordinary one)."""
    mask = proposal.mask
    if not mask.any():
        return []
    common = dict(label=label, source=proposal.engine, score=float(proposal.score), links=tuple(links))
    common.update(fields)
    ox, oy = proposal.offset
    step = 1.0 / proposal.scale
    w, h = proposal.image_size
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    mask = mask[y0:y1, x0:x1]
    ox, oy = ox + x0 * step, oy + y0 * step
    if polygons:
        rings, _ = mask_to_polygons(mask, min_iou=min_iou)

        def up(ring):
            return np.asarray(ring, float) * step + (ox, oy)
        return [Shape(kind=POLYGON, points=up(ext), holes=tuple(up(r) for r in holes), **common)
                for ext, holes in rings if len(ext) >= 3]
    k = int(round(step))
    full = np.repeat(np.repeat(mask, k, axis=0), k, axis=1) if k > 1 else mask
    ix, iy = int(round(ox)), int(round(oy))
    full = full[:max(0, h - iy), :max(0, w - ix)]
    return [Shape(kind=MASK, rle=rle_from_region(full, ix, iy, h, w), **common)]


def to_shapes(proposal: Proposal, label: str, **kwargs) -> list[Shape]:
    """Shapes for any proposal, placed or not."""
    if isinstance(proposal, PlacedProposal):
        return placed_to_shapes(proposal, label, **kwargs)
    from .engine import proposal_to_shapes

    return proposal_to_shapes(proposal, label, **kwargs)
