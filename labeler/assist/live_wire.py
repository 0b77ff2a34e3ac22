"""Intelligent scissors (live wire): paths between anchors that follow the image's edges.

A thin layer over OpenCV's ``cv2.segmentation.IntelligentScissorsMB``, in three costs
(measured on 2 CPU cores, synthetic RGB images):

- :class:`LiveWire` (``applyImage``): once per image or crop; ~50 ms for 1000 x 1000 pixels,
  ~135 ms for 2000 x 2000.
- :meth:`LiveWire.build_map` (``buildMap``): once per anchor; ~90-140 ms for a CamVid image
  (480 x 360), ~300 ms for 1000 x 1000 and ~1.2 s for 2000 x 2000, so far over a frame: the
  GUI runs it in a worker thread.
- :meth:`LiveWire.path` (``getContour``): per mouse move; under 0.1 ms (median 7 us on CamVid);
  the scissors tool's whole mouse-move handler, preview path included, ~0.4 ms on 1000 x 1000.

Only a window of at most :data:`MAX_SIDE` x :data:`MAX_SIDE` pixels of an image is prepared
(:func:`crop_window`): a larger image is worked on in the crop around a chosen point, and a path
to a point outside the crop is a straight segment. Coordinates in and out are image coordinates
in which pixel ``(i, j)`` covers ``[i, i+1] x [j, j+1]``; paths run through pixel centres.

The object is safe to share between one worker thread (``build_map``) and the GUI thread
(``path(..., wait=False)``, which answers None instead of waiting while a map is being built).
No Qt here.
"""

from __future__ import annotations

import threading
from typing import Sequence

import cv2
import numpy as np
import shapely
from shapely.geometry import Polygon

MAX_SIDE = 2000  # the largest crop prepared at once (pixels, each side)
CANNY = (32, 100)  # OpenCV's sample values for the edge feature
GRADIENT_LIMIT = 200
SIMPLIFY_PX = 0.7  # approxPolyDP tolerance of the finished polygon (image pixels)

Point = tuple[float, float]


def crop_window(width: int, height: int, center: Point, max_side: int = MAX_SIDE) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)``: the whole image when it fits in ``max_side`` each way, else a window of
    ``max_side`` (each side that is too long) centred on ``center`` and kept inside the image."""
    if width <= 0 or height <= 0:
        raise ValueError(f"an image of {width} x {height} pixels has no pixels to trace")

    def span(n: int, c: float) -> tuple[int, int]:
        if n <= max_side:
            return 0, n
        start = int(round(c)) - max_side // 2
        start = min(max(start, 0), n - max_side)
        return start, start + max_side

    x0, x1 = span(width, center[0])
    y0, y1 = span(height, center[1])
    return x0, y0, x1, y1


def to_rgb8(pixels: np.ndarray) -> np.ndarray:
    """A uint8 RGB (H, W, 3) copy of grey, RGB or RGBA pixels of any integer or float type."""
    a = np.asarray(pixels)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"expected an image array, got shape {a.shape}")
    if a.dtype != np.uint8:
        a = a.astype(np.float64)
        hi = float(a.max()) if a.size else 0.0
        a = np.clip(a * (255.0 / hi) if hi > 255 else a, 0, 255).astype(np.uint8)
    if a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    return np.ascontiguousarray(a[:, :, :3])


class LiveWire:
    """Edge-following paths inside ``pixels`` (a crop whose top-left pixel is ``origin`` in the
    image). Construction runs ``applyImage``: do it off the GUI thread for large crops."""

    def __init__(self, pixels: np.ndarray, origin: tuple[int, int] = (0, 0)) -> None:
        rgb = to_rgb8(pixels)
        if max(rgb.shape[:2]) > MAX_SIDE:
            raise ValueError(f"a live-wire crop is at most {MAX_SIDE} pixels a side, got "
                             f"{rgb.shape[1]} x {rgb.shape[0]}")
        self.origin = (int(origin[0]), int(origin[1]))
        self.size = (rgb.shape[1], rgb.shape[0])
        self._tool = cv2.segmentation.IntelligentScissorsMB()
        self._tool.setEdgeFeatureCannyParameters(*CANNY)
        self._tool.setGradientMagnitudeMaxLimit(GRADIENT_LIMIT)
        self._tool.applyImage(rgb)
        self._lock = threading.Lock()
        self._map_at: tuple[int, int] | None = None  # the crop pixel whose map is built

    # -- coordinates --------------------------------------------------------------------------
    def pixel_of(self, p: Point) -> tuple[int, int] | None:
        """The crop pixel holding image point ``p``; None when ``p`` is outside the crop."""
        i, j = int(np.floor(p[0])) - self.origin[0], int(np.floor(p[1])) - self.origin[1]
        w, h = self.size
        if 0 <= i < w and 0 <= j < h:
            return i, j
        if -1 <= i <= w and -1 <= j <= h:  # on the crop's border (an image edge): the nearest pixel
            return min(max(i, 0), w - 1), min(max(j, 0), h - 1)
        return None

    def contains(self, p: Point) -> bool:
        return self.pixel_of(p) is not None

    # -- maps and paths -----------------------------------------------------------------------
    def build_map(self, anchor: Point) -> bool:
        """Work out the cheapest paths from ``anchor`` to every pixel (slow: a worker's job).
        False when the anchor is outside the crop (paths from it are straight)."""
        px = self.pixel_of(anchor)
        if px is None:
            return False
        with self._lock:
            if self._map_at != px:
                self._tool.buildMap(px)
                self._map_at = px
        return True

    def map_ready(self, anchor: Point) -> bool:
        px = self.pixel_of(anchor)
        return px is not None and self._map_at == px

    def path(self, anchor: Point, target: Point, wait: bool = True) -> np.ndarray | None:
        """Points from ``anchor`` to ``target`` along the edges, both ends included exactly
        (``(n, 2)`` float image coordinates). None when the map of ``anchor`` is not built, when
        either end lies outside the crop, or (``wait=False``) while a map is being built."""
        a, t = self.pixel_of(anchor), self.pixel_of(target)
        if a is None or t is None:
            return None
        if not self._lock.acquire(blocking=wait):
            return None
        try:
            if self._map_at != a:
                return None
            contour = self._tool.getContour(t)
        finally:
            self._lock.release()
        pts = contour.reshape(-1, 2).astype(np.float64)
        pts += np.array(self.origin, dtype=np.float64) + 0.5
        if len(pts) <= 2:
            return np.array([anchor, target], dtype=np.float64)
        pts[0], pts[-1] = anchor, target  # the clicked points themselves, not their pixel centres
        return pts

    def segment(self, anchor: Point, target: Point, wait: bool = True) -> tuple[np.ndarray, bool]:
        """:meth:`path`, or the straight segment when no path can be had; and whether it snapped."""
        pts = self.path(anchor, target, wait)
        if pts is None:
            return np.array([anchor, target], dtype=np.float64), False
        return pts, True


def join_segments(segments: Sequence[np.ndarray]) -> np.ndarray:
    """One polyline from segments that each start where the previous one ended."""
    parts = [np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in segments if len(s)]
    if not parts:
        return np.zeros((0, 2))
    out = [parts[0]] + [p[1:] if np.allclose(p[0], prev[-1]) else p for prev, p in zip(parts, parts[1:])]
    return np.concatenate(out, axis=0)


def closed_polygon(segments: Sequence[np.ndarray], epsilon: float = SIMPLIFY_PX) -> np.ndarray:
    """The closed ring through ``segments`` (the last ending at the first one's start), with
    repeated points removed and simplified by ``cv2.approxPolyDP`` within ``epsilon`` pixels."""
    pts = join_segments(segments)
    if len(pts) > 1 and np.allclose(pts[0], pts[-1]):
        pts = pts[:-1]
    if len(pts) < 3:
        return pts
    keep = np.ones(len(pts), dtype=bool)
    keep[1:] = np.any(np.abs(np.diff(pts, axis=0)) > 1e-9, axis=1)
    pts = pts[keep]
    if epsilon > 0 and len(pts) > 3:
        simplified = cv2.approxPolyDP(pts.astype(np.float32).reshape(-1, 1, 2), float(epsilon), True)
        simplified = simplified.reshape(-1, 2).astype(np.float64)
        if len(simplified) >= 3:
            pts = simplified
    return _untangled(pts)


def _untangled(pts: np.ndarray) -> np.ndarray:
    """A ring that crosses itself (a path that came back over itself) as the outline of its
    largest valid part; a valid ring as it is."""
    if len(pts) < 3:
        return pts
    poly = Polygon(pts)
    if poly.is_valid:
        return pts
    fixed = shapely.make_valid(poly)
    parts = [g for part in shapely.get_parts(fixed) for g in shapely.get_parts(part)
             if isinstance(g, Polygon) and g.area > 0]
    if not parts:
        return pts
    best = max(parts, key=lambda g: g.area)
    return np.asarray(best.exterior.coords)[:-1]


def trace_polygon(wire: LiveWire, anchors: Sequence[Point], epsilon: float = SIMPLIFY_PX) -> np.ndarray:
    """The closed polygon through ``anchors`` along the edges (each map built here, in turn):
    what the scissors tool makes from the same clicks."""
    if len(anchors) < 2:
        raise ValueError("a traced polygon needs at least 2 anchors")
    segments = []
    ring = list(anchors) + [anchors[0]]
    for a, b in zip(ring, ring[1:]):
        wire.build_map(a)
        segments.append(wire.segment(a, b)[0])
    return closed_polygon(segments, epsilon)
