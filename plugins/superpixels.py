"""Superpixel selection (SLIC, Felzenszwalb) and a magic wand, from scikit-image.

Superpixels: ``prepare`` over-segments the image once; a positive click or a foreground
scribble adds every superpixel it touches to the current mask (``Prompts.mask``), a negative
click or a background scribble removes them, and a box adds the superpixels lying mostly inside
it. Magic wand: a flood fill (``skimage.segmentation.flood``) from each positive click over the
pixels whose CIE Lab colour lies within ``tolerance`` (a Delta E) of the clicked colour; negative
clicks cut their own flood out again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from skimage.color import rgb2lab
from skimage.filters import gaussian
from skimage.segmentation import felzenszwalb, flood, slic

from labeler.assist.engine import (BACKGROUND_SCRIBBLES, BOX, FOREGROUND_SCRIBBLES, NEGATIVE_POINTS,
                                   POSITIVE_POINTS, PREVIOUS_MASK, Prompts, Proposal, as_rgb)


@dataclass
class SuperpixelState:
    segments: np.ndarray  # (H, W) int labels 0..n-1
    count: int


def _start(prompts: Prompts, h: int, w: int) -> np.ndarray:
    if prompts.mask is None:
        return np.zeros((h, w), bool)
    if prompts.mask.shape != (h, w):
        raise ValueError(f"the previous mask is {prompts.mask.shape[::-1]} (w, h), the image {w} x {h}")
    return prompts.mask.copy()


def _pixel(point, h: int, w: int) -> tuple[int, int] | None:
    """(row, col) of an [x, y] point, or None when it lies off the image."""
    col, row = int(np.floor(point[0])), int(np.floor(point[1]))
    return (row, col) if 0 <= row < h and 0 <= col < w else None


class SuperpixelEngine:
    accepts = frozenset({POSITIVE_POINTS, NEGATIVE_POINTS, FOREGROUND_SCRIBBLES, BACKGROUND_SCRIBBLES,
                         BOX, PREVIOUS_MASK})

    def __init__(self, method: str = "slic", region_size: int = 16, compactness: float = 10.0, smoothing: float = 1.0,
                 scale: float = 100.0, sigma: float = 0.8, min_size: int = 50, box_inside: float = 0.6) -> None:
        if method not in ("slic", "felzenszwalb"):
            raise ValueError(f"unknown superpixel method {method!r}; expected 'slic' or 'felzenszwalb'")
        self.method = method
        self.name = "superpixel" if method == "slic" else "felzenszwalb"
        self.region_size = region_size  # SLIC: about this many pixels across a superpixel
        self.compactness = compactness
        self.smoothing = smoothing  # SLIC: Gaussian sigma first, so texture does not split regions
        self.scale, self.sigma, self.min_size = scale, sigma, min_size  # Felzenszwalb
        self.box_inside = box_inside  # a box takes superpixels with this fraction inside it
        if method == "slic":
            self.cache_key = f"superpixel:slic:{region_size}:{compactness}:{smoothing}"
        else:
            self.cache_key = f"superpixel:felzenszwalb:{scale}:{sigma}:{min_size}"

    def prepare(self, image: np.ndarray) -> SuperpixelState:
        rgb = as_rgb(image)
        h, w = rgb.shape[:2]
        if self.method == "slic":
            n = max(1, int(round(h * w / self.region_size ** 2)))
            seg = slic(rgb, n_segments=n, compactness=self.compactness, sigma=self.smoothing,
                       start_label=0, channel_axis=-1)
        else:
            seg = felzenszwalb(rgb, scale=self.scale, sigma=self.sigma, min_size=self.min_size, channel_axis=-1)
        seg = np.asarray(seg, dtype=np.int32)
        return SuperpixelState(seg, int(seg.max()) + 1)

    def _touched(self, state: SuperpixelState, points: np.ndarray, scribbles, h: int, w: int) -> np.ndarray:
        ids = [state.segments[p] for p in (_pixel(pt, h, w) for pt in points) if p is not None]
        for s in scribbles:
            ids.extend(np.unique(state.segments[s.rasterize(h, w)]).tolist())
        return np.unique(np.asarray(ids, dtype=np.int64))

    def propose(self, state: SuperpixelState, prompts: Prompts) -> list[Proposal]:
        h, w = state.segments.shape
        mask = _start(prompts, h, w)
        score = 1.0  # every superpixel taken is one the user pointed at
        if prompts.box is not None:
            x0, y0, x1, y1 = (int(round(v)) for v in prompts.box)
            inside = np.zeros((h, w), bool)
            inside[max(0, y0):max(0, y1), max(0, x0):max(0, x1)] = True
            total = np.bincount(state.segments.ravel(), minlength=state.count)
            within = np.bincount(state.segments[inside], minlength=state.count)
            frac = within / np.maximum(total, 1)
            chosen = frac >= self.box_inside
            mask |= chosen[state.segments]
            score = float(frac[chosen].mean()) if chosen.any() else 0.0
        add = self._touched(state, prompts.positive, prompts.foreground, h, w)
        remove = self._touched(state, prompts.negative, prompts.background, h, w)
        if add.size:
            mask |= np.isin(state.segments, add)
        if remove.size:
            mask &= ~np.isin(state.segments, remove)
        return [Proposal(mask=mask, score=score, engine=self.name)]


@dataclass
class WandState:
    lab: np.ndarray  # (H, W, 3) float32 CIE Lab, lightly smoothed


class MagicWandEngine:
    name = "wand"
    accepts = frozenset({POSITIVE_POINTS, NEGATIVE_POINTS, PREVIOUS_MASK})

    def __init__(self, tolerance: float = 12.0, smoothing: float = 1.0) -> None:
        self.tolerance = tolerance  # Delta E (CIE76) from the clicked colour
        self.smoothing = smoothing
        self.cache_key = f"wand:{smoothing}"

    def prepare(self, image: np.ndarray) -> WandState:
        rgb = as_rgb(image).astype(np.float32) / 255.0
        if self.smoothing > 0:
            rgb = gaussian(rgb, sigma=self.smoothing, channel_axis=-1, preserve_range=True)
        return WandState(rgb2lab(rgb).astype(np.float32))

    def _flood(self, state: WandState, point, tolerance: float) -> np.ndarray | None:
        h, w = state.lab.shape[:2]
        seed = _pixel(point, h, w)
        if seed is None:
            return None
        distance = np.linalg.norm(state.lab - state.lab[seed], axis=2)
        return flood(distance, seed, tolerance=tolerance)

    def propose(self, state: WandState, prompts: Prompts) -> list[Proposal]:
        h, w = state.lab.shape[:2]
        tolerance = float(prompts.options.get("tolerance", self.tolerance))
        if tolerance < 0:
            raise ValueError(f"the wand tolerance must be >= 0, got {tolerance}")
        mask = _start(prompts, h, w)
        for point in prompts.positive:
            region = self._flood(state, point, tolerance)
            if region is not None:
                mask |= region
        for point in prompts.negative:
            region = self._flood(state, point, tolerance)
            if region is not None:
                mask &= ~region
        return [Proposal(mask=mask, score=1.0, engine=self.name)]


def plugin() -> list:
    return [SuperpixelEngine("slic"), SuperpixelEngine("felzenszwalb"), MagicWandEngine()]
