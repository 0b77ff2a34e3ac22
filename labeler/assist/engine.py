"""The one protocol every proposal engine follows, and what goes in and out of it.

Like segment-anything's ``SamPredictor`` (encode once, ask many times) an engine splits its work:

``prepare(image) -> state``
    The slow part (an image encoder, superpixels, a colour conversion). Runs in a worker thread,
    and its result may be cached under ``(engine.cache_key, image content)``.
``propose(state, prompts) -> list[Proposal]``
    The fast, interactive part: turn points, a box, scribbles and a previous mask into masks.

An engine declares ``name`` (also the ``source`` of the shapes it makes), ``accepts`` (the
prompt kinds below that it understands) and ``cache_key`` (the identity of its model and
settings, so that a cached state is never reused for another model).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Protocol, Sequence, runtime_checkable

import cv2
import numpy as np

from ..core.geometry import mask_to_polygons, rle_encode
from ..core.shapes import MASK, POINT, POLYGON, RECTANGLE, SCRIBBLE, Shape

# Prompt kinds an engine may accept.
POSITIVE_POINTS = "positive_points"
NEGATIVE_POINTS = "negative_points"
BOX = "box"
FOREGROUND_SCRIBBLES = "foreground_scribbles"
BACKGROUND_SCRIBBLES = "background_scribbles"
PREVIOUS_MASK = "mask"
LOW_RES_LOGITS = "logits"
PROMPT_KINDS = frozenset({POSITIVE_POINTS, NEGATIVE_POINTS, BOX, FOREGROUND_SCRIBBLES,
                          BACKGROUND_SCRIBBLES, PREVIOUS_MASK, LOW_RES_LOGITS})


def _points(value: Any) -> np.ndarray:
    arr = np.asarray(value if value is not None else np.zeros((0, 2)), dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, 2))
    arr = arr.reshape(-1, 2) if arr.ndim == 1 else arr
    if arr.ndim != 2 or arr.shape[1] != 2 or not np.all(np.isfinite(arr)):
        raise ValueError(f"points must be finite [x, y] pairs, got an array of shape {arr.shape}")
    return arr


@dataclass
class Scribble:
    """A freehand stroke: ``points`` (N, 2) as ``[x, y]`` and a brush ``width`` in pixels."""

    points: np.ndarray
    width: float = 3.0

    def __post_init__(self) -> None:
        self.points = _points(self.points)
        if len(self.points) == 0:
            raise ValueError("a scribble needs at least one point")
        if not self.width > 0:
            raise ValueError(f"a scribble width must be positive, got {self.width}")

    def rasterize(self, height: int, width: int) -> np.ndarray:
        """The pixels the stroke covers, as a boolean (height, width) mask."""
        out = np.zeros((height, width), np.uint8)
        thickness = max(1, int(round(self.width)))
        pts = np.round(self.points).astype(np.int32)
        if len(pts) == 1:
            cv2.circle(out, tuple(int(v) for v in pts[0]), max(1, thickness // 2), 1, -1)
        else:
            cv2.polylines(out, [pts.reshape(-1, 1, 2)], False, 1, thickness)
        return out.astype(bool)


@dataclass
class Prompts:
    """Everything a user can give an engine. All coordinates are image pixels, ``x`` right.

    ``box`` is ``(x0, y0, x1, y1)``; ``mask`` a boolean mask of the whole image from a previous
    proposal; ``logits`` the low-resolution logits of a previous proposal (SAM's ``mask_input``);
    ``links`` the ids of the weak-label shapes these prompts came from; ``options`` per-engine
    settings a user can turn (a tolerance, a number of iterations).
    """

    positive: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    negative: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    box: tuple[float, float, float, float] | None = None
    foreground: list[Scribble] = field(default_factory=list)
    background: list[Scribble] = field(default_factory=list)
    mask: np.ndarray | None = None
    logits: np.ndarray | None = None
    links: tuple[str, ...] = ()
    options: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.positive = _points(self.positive)
        self.negative = _points(self.negative)
        if self.box is not None:
            x0, y0, x1, y1 = (float(v) for v in self.box)
            self.box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        self.foreground = [s if isinstance(s, Scribble) else Scribble(*s) for s in self.foreground]
        self.background = [s if isinstance(s, Scribble) else Scribble(*s) for s in self.background]
        if self.mask is not None:
            self.mask = np.asarray(self.mask, dtype=bool)
        self.links = tuple(self.links)

    def kinds(self) -> frozenset[str]:
        """The prompt kinds present."""
        present = {POSITIVE_POINTS: len(self.positive) > 0, NEGATIVE_POINTS: len(self.negative) > 0,
                   BOX: self.box is not None, FOREGROUND_SCRIBBLES: bool(self.foreground),
                   BACKGROUND_SCRIBBLES: bool(self.background), PREVIOUS_MASK: self.mask is not None,
                   LOW_RES_LOGITS: self.logits is not None}
        return frozenset(k for k, v in present.items() if v)

    def scribble_mask(self, height: int, width: int, foreground: bool = True) -> np.ndarray:
        out = np.zeros((height, width), bool)
        for s in (self.foreground if foreground else self.background):
            out |= s.rasterize(height, width)
        return out


@dataclass
class Proposal:
    """One candidate mask: boolean (H, W), a confidence ``score``, the engine's name.

    ``mask`` may be given as a function of no arguments that makes it: it is then made on first
    use (an engine ranks several candidates and the user may never look past the first).
    """

    mask: np.ndarray
    score: float
    engine: str
    logits: np.ndarray | None = None

    def __post_init__(self) -> None:
        if callable(self.mask):
            self._make_mask = self.mask
            del self.mask  # made by __getattr__ when first read
        else:
            self.mask = _checked_mask(self.mask)

    def __getattr__(self, name: str):
        make = self.__dict__.get("_make_mask")
        if name != "mask" or make is None:
            raise AttributeError(name)
        self.mask = _checked_mask(make())
        del self._make_mask
        return self.mask


def _checked_mask(mask) -> np.ndarray:
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(f"a proposal mask must be 2-D, got shape {mask.shape}")
    return mask


@runtime_checkable
class Engine(Protocol):
    name: str
    accepts: frozenset[str]
    cache_key: str

    def prepare(self, image: np.ndarray) -> Any: ...

    def propose(self, state: Any, prompts: Prompts) -> list[Proposal]: ...


def check_prompts(engine: Engine, prompts: Prompts) -> None:
    """Refuse prompts the engine cannot use, with one line naming the engine and the kinds."""
    unknown = prompts.kinds() - frozenset(engine.accepts)
    if unknown:
        raise ValueError(f"engine {engine.name!r} does not accept {', '.join(sorted(unknown))} "
                         f"(it accepts {', '.join(sorted(engine.accepts))})")


def as_rgb(image: np.ndarray) -> np.ndarray:
    """An (H, W, 3) uint8 RGB copy of a grey, RGB or RGBA image."""
    img = np.asarray(image)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] not in (3, 4):
        raise ValueError(f"expected an (H, W), (H, W, 3) or (H, W, 4) image, got shape {img.shape}")
    img = img[:, :, :3]
    if img.dtype != np.uint8:
        if np.issubdtype(img.dtype, np.floating) and img.max(initial=0) <= 1.0:
            img = img * 255.0
        img = np.clip(img, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(img)


# ---------------------------------------------------------------------- weak labels -> prompts


def prompts_from_shapes(foreground: Iterable[Shape], background: Iterable[Shape] = (),
                        **options: Any) -> Prompts:
    """Prompts from weak-label shapes: points, scribbles and rectangles (a box).

    The shapes' ids become ``links``, so the proposal's shapes say where they came from.
    """
    pos, neg, fg, bg, links, box = [], [], [], [], [], None
    for shapes, points, scribbles in ((foreground, pos, fg), (background, neg, bg)):
        for s in shapes:
            if s.kind == POINT:
                points.append(s.points[0])
            elif s.kind == SCRIBBLE:
                scribbles.append(Scribble(s.points, s.width))
            elif s.kind == RECTANGLE and shapes is foreground:
                if box is not None:
                    raise ValueError("only one box prompt can be given")
                (x0, y0), (x1, y1) = s.points
                box = (x0, y0, x1, y1)
            else:
                raise ValueError(f"a {s.kind} shape cannot be used as a "
                                 f"{'foreground' if shapes is foreground else 'background'} prompt")
            links.append(s.id)
    return Prompts(positive=np.array(pos).reshape(-1, 2), negative=np.array(neg).reshape(-1, 2),
                   box=box, foreground=fg, background=bg, links=tuple(links), options=options)


# ------------------------------------------------------------------------ proposal -> shapes


def proposal_to_shapes(proposal: Proposal, label: str, *, links: Sequence[str] = (),
                       polygons: bool = False, min_iou: float = 0.99, **fields: Any) -> list[Shape]:
    """Core shapes for a proposal: one mask shape, or polygons (holes kept) when ``polygons``.

    Every shape gets ``source`` = the engine's name, the proposal's ``score`` and ``links`` (ids
    of the weak-label shapes it came from). An empty proposal gives no shapes.
    """
    if not proposal.mask.any():
        return []
    common = dict(label=label, source=proposal.engine, score=float(proposal.score), links=tuple(links))
    common.update(fields)
    if not polygons:
        return [Shape(kind=MASK, rle=rle_encode(proposal.mask), **common)]
    rings, _ = mask_to_polygons(proposal.mask, min_iou=min_iou)
    return [Shape(kind=POLYGON, points=ext, holes=tuple(holes), **common)
            for ext, holes in rings if len(ext) >= 3]
