"""View mode: a downscale engine (SAM) prepared on the part of a huge image the user is looking at.

On a 40,000 x 40,000 slide the overview a downscale engine is prepared on (a pyramid level of at
most 2048 pixels, which SAM shrinks again to 1024) makes a 60-pixel object 1.5 pixels wide. A
user zoomed in on it sees it large, so the engine is prepared on what the user sees instead:

* :func:`choose_view_region` takes the visible rectangle (full-resolution image pixels), adds a
  margin of ``VIEW_MARGIN`` of its size on every side, and picks the finest pyramid level at which
  that fits, with room to spare, in the engine's working size ``VIEW_SIDE`` (1024: SAM's input;
  level 0 at the finest, so nothing is ever upsampled). The region is then a ``VIEW_SIDE``
  square of that level (less where the image is smaller), placed on a grid of a quarter of its
  side: the engine gets the most context its input holds, and panning back near the same place
  gives the same region, whose prepared state is in the cache.
* When that region is less than ``MIN_GAIN`` times finer than the overview as the engine sees it,
  i.e. the view covers most of the image, there is no region (None): the overview is used.
* The current region is kept while it holds the view and the prompts at the level the view
  wants, so small pans and prompts near the view re-prepare nothing. Prompts outside the view
  count as part of it: every prompt always lies inside the region it is proposed on.

A :class:`ViewRegion` maps points both ways between full-resolution image pixels and its own
(``u = (x - origin_x) / step``), the convention :class:`~labeler.assist.large_image.PlacedProposal`
uses to place a mask back. Its prepared state is cached under :func:`view_cache_key`: the engine's
cache key, the file's content key (:func:`content_key`), the level and the box.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

VIEW_SIDE = 1024  # the engine's working size: SAM resizes its input's long side to 1024
VIEW_MARGIN = 0.25  # context added around the view, as a fraction of its size, on each side
MIN_GAIN = 2.0  # view mode only when the region is at least this many times finer than the overview
GRID_FRACTION = 4  # regions are placed on a grid of 1 / GRID_FRACTION of their side
FINGERPRINT_BYTES = 64 * 1024

Box = tuple[float, float, float, float]  # (x0, y0, x1, y1)


@dataclass(frozen=True)
class ViewRegion:
    """``box`` (x0, y0, x1, y1) in pixels of pyramid ``level`` (the image scaled by ``1 / 2**level``)."""

    level: int
    box: tuple[int, int, int, int]

    @property
    def step(self) -> int:
        """Full-resolution pixels per region pixel."""
        return 2 ** self.level

    @property
    def scale(self) -> float:
        """Region pixels per full-resolution pixel (a :class:`PlacedProposal`'s ``scale``)."""
        return 1.0 / self.step

    @property
    def origin(self) -> tuple[int, int]:
        """The full-resolution (x, y) of the region's first pixel's corner."""
        return self.box[0] * self.step, self.box[1] * self.step

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in region pixels."""
        x0, y0, x1, y1 = self.box
        return x1 - x0, y1 - y0

    @property
    def image_box(self) -> tuple[int, int, int, int]:
        """The full-resolution pixels the region covers (the last column may reach past the image
        by less than a step, as the level's last pixel does)."""
        x0, y0, x1, y1 = self.box
        s = self.step
        return x0 * s, y0 * s, x1 * s, y1 * s

    def to_region(self, points) -> np.ndarray:
        """Full-resolution ``[x, y]`` points in region pixels."""
        return (np.asarray(points, float).reshape(-1, 2) - self.origin) / self.step

    def to_image(self, points) -> np.ndarray:
        """Region ``[u, v]`` points in full-resolution pixels (the inverse of :meth:`to_region`)."""
        return np.asarray(points, float).reshape(-1, 2) * self.step + self.origin

    def contains(self, box: Box) -> bool:
        x0, y0, x1, y1 = self.image_box
        return x0 <= box[0] and y0 <= box[1] and box[2] <= x1 and box[3] <= y1


def union(a: Box | None, b: Box | None) -> Box | None:
    if a is None or b is None:
        return a if b is None else b
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def _clamp(box: Box, size: tuple[int, int]) -> Box | None:
    w, h = size
    x0, y0 = max(0.0, float(box[0])), max(0.0, float(box[1]))
    x1, y1 = min(float(w), float(box[2])), min(float(h), float(box[3]))
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def overview_step(image_size: tuple[int, int], max_side: int, side: int = VIEW_SIDE) -> float:
    """Full-resolution pixels per pixel of the overview as the engine sees it: a pyramid level of
    at most ``max_side`` pixels, shrunk again to the engine's ``side``."""
    long_side = max(image_size)
    level = max(0, math.ceil(math.log2(max(1.0, long_side) / max_side)))
    return max(2.0 ** level, long_side / side)


def _place(lo: float, hi: float, side: int, grid: int, limit: int) -> tuple[int, int]:
    """``[start, start + side)`` on the grid, holding ``[lo, hi]``, shifted back inside ``[0, limit)``."""
    start = int(math.floor(lo / grid)) * grid
    if start + side > limit:
        start = max(0, limit - side)
    return start, min(limit, start + side)


def choose_view_region(view: Box, image_size: tuple[int, int], levels: int, *, prompts: Box | None = None,
                       current: ViewRegion | None = None, side: int = VIEW_SIDE, margin: float = VIEW_MARGIN,
                       min_gain: float = MIN_GAIN, max_side: int = 2048) -> ViewRegion | None:
    """The region to prepare an engine on for the visible rectangle ``view`` (full-resolution
    pixels) and the bounds of the ``prompts`` given so far; None: use the overview (see the module).

    ``levels`` is the number of pyramid levels; ``max_side`` the overview's long side
    (:data:`labeler.assist.large_image.MAX_SIDE`)."""
    wanted = _clamp(union(view, prompts), image_size)
    if wanted is None:
        return None
    x0, y0, x1, y1 = wanted
    grid = max(1, side // GRID_FRACTION)
    padded = max(x1 - x0, y1 - y0) * (1 + 2 * margin)
    # the finest level at which the padded view fits in ``side`` with a grid cell to spare
    level = min(levels - 1, max(0, math.ceil(math.log2(max(1.0, padded) / (side - grid)))))
    if overview_step(image_size, max_side, side) < min_gain * 2 ** level:
        return None  # the view covers most of the image: the overview sees it as well
    if current is not None and current.level == level and current.contains(wanted):
        return current
    step = 2 ** level
    mx, my = margin * (x1 - x0), margin * (y1 - y0)
    w, h = image_size
    lw, lh = -(-w // step), -(-h // step)
    rx0, rx1 = _place(max(0.0, x0 - mx) / step, min(w, x1 + mx) / step, side, grid, lw)
    ry0, ry1 = _place(max(0.0, y0 - my) / step, min(h, y1 + my) / step, side, grid, lh)
    return ViewRegion(level, (rx0, ry0, rx1, ry1))


def content_key(path: str | Path) -> str:
    """A key for the file's content that is cheap to make: its size, modification time and a hash
    of its first and last 64 KiB (as the pyramid cache's key; the file's name is left out, so a
    renamed image keeps its cached regions)."""
    path = Path(path)
    st = path.stat()
    h = hashlib.blake2b(f"{st.st_size}\0{st.st_mtime_ns}\0".encode(), digest_size=16)
    with open(path, "rb") as f:
        h.update(f.read(FINGERPRINT_BYTES))
        if st.st_size > 2 * FINGERPRINT_BYTES:
            f.seek(st.st_size - FINGERPRINT_BYTES)
            h.update(f.read(FINGERPRINT_BYTES))
    return h.hexdigest()


def view_cache_key(engine_key: str, image_key: str, region: ViewRegion) -> str:
    """The embedding cache's key for ``region`` of an image (see :class:`~labeler.assist.cache.EmbeddingCache`)."""
    return f"{engine_key}/view/{image_key}/level{region.level}/{','.join(map(str, region.box))}"
