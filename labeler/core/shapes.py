"""Plain-data shapes: one frozen dataclass, numpy points, validated on construction.

Coordinates are in image pixels, ``x`` to the right and ``y`` down, as labelme stores them.
A shape's meaning by kind:

==========  ================================================================
polygon     ``points`` is the exterior ring (N >= 3), ``holes`` the interior rings
rectangle   ``points`` holds two opposite corners
circle      ``points`` holds the centre and one point on the rim
point       ``points`` holds one point
line        ``points`` holds two points
linestrip   ``points`` holds N >= 2 points
scribble    ``points`` holds N >= 1 points of a freehand stroke of ``width`` pixels
mask        ``rle`` holds a COCO RLE (``{"size": [h, w], "counts": str}``) of the whole image
==========  ================================================================
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import InvalidShapeError

POLYGON = "polygon"
RECTANGLE = "rectangle"
CIRCLE = "circle"
POINT = "point"
LINE = "line"
LINESTRIP = "linestrip"
SCRIBBLE = "scribble"
MASK = "mask"

KINDS = (POLYGON, RECTANGLE, CIRCLE, POINT, LINE, LINESTRIP, SCRIBBLE, MASK)
#: Kinds that cover an area and so paint pixels in semantic / instance / panoptic maps.
AREA_KINDS = frozenset({POLYGON, RECTANGLE, CIRCLE, MASK})
#: Kinds that are weak labels by nature (they never paint a dense mask).
WEAK_KINDS = frozenset({POINT, SCRIBBLE})

#: Where a shape came from.
SOURCES = ("manual", "import", "sam", "grabcut", "superpixel", "model", "wand")
#: A model shape (source "model") is a proposal until a person accepts it; accepting sets this
#: flag to False and keeps the source, so one can still tell where the shape came from.
PROPOSAL_FLAG = "proposal"

def flagged_as_proposal(source: str, flags: dict) -> bool:
    """The rule of :attr:`Shape.is_proposal` on a shape's source and flags (also applied to a
    shape as stored in a file, without building the shape)."""
    flag = flags.get(PROPOSAL_FLAG)
    return flag is True or (source == "model" and flag is not False)


_MIN_POINTS = {POLYGON: 3, RECTANGLE: 2, CIRCLE: 2, POINT: 1, LINE: 2, LINESTRIP: 2, SCRIBBLE: 1}
_EXACT_POINTS = {RECTANGLE: 2, CIRCLE: 2, POINT: 1, LINE: 2}


def new_id() -> str:
    return uuid.uuid4().hex[:12]


def _as_points(points: Any) -> np.ndarray:
    arr = np.asarray(points if points is not None else np.zeros((0, 2)), dtype=np.float64)
    if arr.size == 0:
        arr = arr.reshape(0, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise InvalidShapeError(f"points must be a list of [x, y] pairs, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InvalidShapeError("points contain NaN or infinite coordinates")
    arr = arr.copy()
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Shape:
    kind: str
    label: str
    points: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    holes: tuple[np.ndarray, ...] = ()
    rle: dict | None = None
    width: float = 0.0
    instance_id: int | None = None
    z: int = 0
    source: str = "manual"
    score: float | None = None
    links: tuple[str, ...] = ()
    weak: bool = False
    description: str = ""
    flags: dict = field(default_factory=dict)
    id: str = field(default_factory=new_id)
    #: keys this program does not know, kept so that a save does not drop them
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InvalidShapeError(f"unknown shape kind {self.kind!r}; expected one of {KINDS}")
        if not isinstance(self.label, str) or not self.label:
            raise InvalidShapeError("a shape needs a non-empty class label")
        object.__setattr__(self, "points", _as_points(self.points))
        object.__setattr__(self, "holes", tuple(_as_points(h) for h in self.holes))
        object.__setattr__(self, "links", tuple(self.links))
        n = len(self.points)
        if self.kind == MASK:
            _check_rle(self.rle)
        else:
            need = _MIN_POINTS[self.kind]
            if n < need:
                raise InvalidShapeError(f"a {self.kind} needs at least {need} points, got {n}")
            exact = _EXACT_POINTS.get(self.kind)
            if exact is not None and n != exact:
                raise InvalidShapeError(f"a {self.kind} needs exactly {exact} points, got {n}")
        if self.holes and self.kind != POLYGON:
            raise InvalidShapeError(f"only polygons have holes, not a {self.kind}")
        for h in self.holes:
            if len(h) < 3:
                raise InvalidShapeError(f"a hole needs at least 3 points, got {len(h)}")
        if self.kind == SCRIBBLE and not self.width > 0:
            object.__setattr__(self, "width", 1.0)
        if self.kind == CIRCLE and np.allclose(self.points[0], self.points[1]):
            raise InvalidShapeError("a circle needs a radius greater than zero")

    # -- derived -------------------------------------------------------------------------
    @property
    def is_area(self) -> bool:
        """True when the shape paints pixels in dense label maps."""
        return self.kind in AREA_KINDS and not self.weak

    @property
    def is_proposal(self) -> bool:
        """A shape an engine made that no person has accepted yet: flagged ``proposal: True``
        (autolabel, SAM, GrabCut results) or a model pre-label (``source="model"``) whose flag is
        not False. Accepting sets the flag to False."""
        return flagged_as_proposal(self.source, self.flags)

    @property
    def is_weak(self) -> bool:
        return self.weak or self.kind in WEAK_KINDS

    def bbox(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of the shape's extent in pixel coordinates."""
        if self.kind == MASK:
            from .geometry import rle_bbox

            x, y, w, h = rle_bbox(self.rle)
            return (x, y, x + w, y + h)
        if self.kind == CIRCLE:
            c = self.points[0]
            r = float(np.hypot(*(self.points[1] - c)))
            return (c[0] - r, c[1] - r, c[0] + r, c[1] + r)
        pts = self.points
        pad = self.width / 2 if self.kind == SCRIBBLE else 0.0
        return (pts[:, 0].min() - pad, pts[:, 1].min() - pad, pts[:, 0].max() + pad, pts[:, 1].max() + pad)

    def replace(self, **changes: Any) -> "Shape":
        """A copy with some fields changed (the shape keeps its id unless ``id`` is given)."""
        return dataclasses.replace(self, **changes)

    def translated(self, dx: float, dy: float) -> "Shape":
        if self.kind == MASK:
            from .geometry import shift_rle

            return self.replace(rle=shift_rle(self.rle, dx, dy))
        d = np.array([dx, dy])
        return self.replace(points=self.points + d, holes=tuple(h + d for h in self.holes))

    def same_as(self, other: "Shape") -> bool:
        """Field-by-field equality, comparing point arrays by value."""
        if not isinstance(other, Shape):
            return False
        for f in dataclasses.fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if f.name == "points":
                if a.shape != b.shape or not np.allclose(a, b):
                    return False
            elif f.name == "holes":
                if len(a) != len(b) or any(x.shape != y.shape or not np.allclose(x, y) for x, y in zip(a, b)):
                    return False
            elif a != b:
                return False
        return True


def _check_rle(rle: Any) -> None:
    if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
        raise InvalidShapeError("a mask shape needs a COCO RLE with 'size' and 'counts'")
    size = rle["size"]
    if len(size) != 2 or int(size[0]) <= 0 or int(size[1]) <= 0:
        raise InvalidShapeError(f"mask RLE has an invalid size {size!r}")
    if not isinstance(rle["counts"], str):
        raise InvalidShapeError("mask RLE counts must be the compressed string form")
