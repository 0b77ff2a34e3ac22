"""Superpixel selection (SLIC, Felzenszwalb) and a magic wand, from scikit-image.

Superpixels: ``prepare`` over-segments the image once (SLIC also at a finer scale); a positive
click or a foreground scribble adds every superpixel it touches to the current mask
(``Prompts.mask``), a negative click or a background scribble removes them, and a box adds the
superpixels lying mostly inside it. A click also takes the superpixels lying mostly inside its
colour region (:func:`click_regions`): the first click snaps it to the coarse superpixels,
later (correcting) clicks to the fine ones, and a negative click splits what a positive click
grew over two similar neighbours. ``grow=False, fine=0`` gives one superpixel per click. Magic wand: a flood fill (``skimage.segmentation.flood``) from each positive click over the
pixels whose CIE Lab colour lies within ``tolerance`` (a Delta E) of the clicked colour; negative
clicks cut their own flood out again.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
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
    lab: np.ndarray | None = None  # (H, W, 3) float32 smoothed CIE Lab, for growing clicks by colour
    fine: np.ndarray | None = None  # (H, W) finer superpixels, for the clicks that correct a boundary


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


#: Delta E tolerances tried, smallest first, when growing a region from a click by colour.
TOLERANCES = (3.0, 4.5, 6.0, 8.0, 10.5, 14.0, 18.0, 23.0, 30.0)


def smoothed_lab(rgb: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    """CIE Lab (float32, L in 0..100) of a lightly blurred RGB uint8 image (OpenCV: fast)."""
    if sigma > 0:
        rgb = cv2.GaussianBlur(rgb, (0, 0), sigma)
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def seed_colour(lab: np.ndarray, seed: tuple[int, int]) -> np.ndarray:
    """The mean Lab colour of the 5 x 5 patch around ``seed`` (row, col)."""
    r, c = seed
    return lab[max(0, r - 2):r + 3, max(0, c - 2):c + 3].reshape(-1, 3).mean(0)


def colour_region(lab: np.ndarray, seed: tuple[int, int], jump: float = 2.0,
                  tolerances=TOLERANCES) -> np.ndarray:
    """The pixels connected to ``seed`` (row, col) whose colour is near the clicked colour.

    The clicked colour is the mean Lab of a 5 x 5 patch. The flood is tried with ever larger
    Delta E tolerances and the largest is kept before the region's area jumps by more than
    ``jump`` times in one step (the flood leaking out of the object into its surroundings).
    """
    distance = np.linalg.norm(lab - seed_colour(lab, seed), axis=2)
    best, area = None, 0
    for t in tolerances:
        region = flood(distance, seed, tolerance=t)
        n = int(region.sum())
        if best is not None and n > jump * max(area, 25):
            break
        best, area = region, n
    return best


def click_regions(lab: np.ndarray, positive, negative) -> tuple[np.ndarray, np.ndarray]:
    """The colour regions (:func:`colour_region`) of the positive and of the negative clicks,
    given as (row, col) seeds. With clicks of both signs every pixel of either region goes to
    the side whose clicked colour is nearest its own: a negative click splits a region that one
    positive click grew over two neighbours of similar colours, and never claims what looks
    like the clicked object."""
    out = []
    for seeds in (positive, negative):
        region = np.zeros(lab.shape[:2], bool)
        for seed in seeds:
            region |= colour_region(lab, seed)
        out.append(region)
    pos, neg = out
    if len(positive) and len(negative):
        either = pos | neg
        pixels = lab[either]
        near = [np.min([np.linalg.norm(pixels - seed_colour(lab, s), axis=1) for s in seeds], axis=0)
                for seeds in (positive, negative)]
        to_neg = near[1] < near[0]
        pos[either] &= ~to_neg
        neg[either] &= to_neg
    return pos, neg


class SuperpixelEngine:
    accepts = frozenset({POSITIVE_POINTS, NEGATIVE_POINTS, FOREGROUND_SCRIBBLES, BACKGROUND_SCRIBBLES,
                         BOX, PREVIOUS_MASK})

    def __init__(self, method: str = "slic", region_size: int = 16, compactness: float = 10.0, smoothing: float = 1.0,
                 scale: float = 100.0, sigma: float = 0.8, min_size: int = 50, box_inside: float = 0.6,
                 grow: bool = True, grow_inside: float = 0.5, fine: float | None = None) -> None:
        if method not in ("slic", "felzenszwalb"):
            raise ValueError(f"unknown superpixel method {method!r}; expected 'slic' or 'felzenszwalb'")
        self.method = method
        self.name = "superpixel" if method == "slic" else "felzenszwalb"
        self.region_size = region_size  # SLIC: about this many pixels across a superpixel
        self.compactness = compactness
        self.smoothing = smoothing  # SLIC: Gaussian sigma first, so texture does not split regions
        self.scale, self.sigma, self.min_size = scale, sigma, min_size  # Felzenszwalb
        self.box_inside = box_inside  # a box takes superpixels with this fraction inside it
        self.grow = grow  # a click also takes the superpixels of its colour region (colour_region)
        self.grow_inside = grow_inside  # ... those with this fraction inside that region
        # correcting clicks use superpixels this much smaller (0: one scale only); by default
        # SLIC's at half the size (measured: better IoU@5 and NoC@90), Felzenszwalb's one scale
        self.fine = (0.5 if method == "slic" else 0.0) if fine is None else fine
        if method == "slic":
            self.cache_key = f"superpixel:slic:{region_size}:{compactness}:{smoothing}:{grow}:{self.fine}"
        else:
            self.cache_key = f"superpixel:felzenszwalb:{scale}:{sigma}:{min_size}:{grow}:{self.fine}"

    def prepare(self, image: np.ndarray) -> SuperpixelState:
        rgb = as_rgb(image)
        h, w = rgb.shape[:2]
        seg = self._segment(rgb, 1.0)
        fine = self._segment(rgb, self.fine) if self.fine else None
        return SuperpixelState(seg, int(seg.max()) + 1, smoothed_lab(rgb) if self.grow else None, fine)

    def _segment(self, rgb: np.ndarray, size: float) -> np.ndarray:
        """Superpixels ``size`` times as large (across) as the configured ones."""
        h, w = rgb.shape[:2]
        if self.method == "slic":
            n = max(1, int(round(h * w / (size * self.region_size) ** 2)))
            seg = slic(rgb, n_segments=n, compactness=self.compactness, sigma=self.smoothing,
                       start_label=0, channel_axis=-1)
        else:
            seg = felzenszwalb(rgb, scale=self.scale * size ** 2, sigma=self.sigma,
                               min_size=max(1, int(self.min_size * size ** 2)), channel_axis=-1)
        return np.asarray(seg, dtype=np.int32)

    def _touched(self, state: SuperpixelState, points: np.ndarray, scribbles, h: int, w: int) -> np.ndarray:
        ids = [state.segments[p] for p in (_pixel(pt, h, w) for pt in points) if p is not None]
        for s in scribbles:
            ids.extend(np.unique(state.segments[s.rasterize(h, w)]).tolist())
        return np.unique(np.asarray(ids, dtype=np.int64))

    def _grown(self, state: SuperpixelState, prompts: Prompts) -> tuple[np.ndarray, np.ndarray]:
        """The colour regions of the positive and the negative clicks (:func:`click_regions`)."""
        h, w = state.segments.shape
        if state.lab is None:
            return np.zeros((h, w), bool), np.zeros((h, w), bool)
        seeds = [[p for p in (_pixel(pt, h, w) for pt in points) if p is not None]
                 for points in (prompts.positive, prompts.negative)]
        return click_regions(state.lab, *seeds)

    def _inside(self, segments: np.ndarray, region: np.ndarray) -> np.ndarray:
        """The superpixels lying mostly (``grow_inside``) inside ``region``, as a mask."""
        if not region.any():
            return region
        count = int(segments.max()) + 1
        total = np.bincount(segments.ravel(), minlength=count)
        inside = np.bincount(segments[region], minlength=count)
        return (inside >= self.grow_inside * np.maximum(total, 1))[segments]

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
        # the first click picks the object at the coarse scale; later clicks correct its outline,
        # at the fine scale when there is one
        fine = state if state.fine is None else SuperpixelState(state.fine, int(state.fine.max()) + 1, state.lab)
        first, later = prompts.positive[:1], prompts.positive[1:]
        steps = [(state, first, prompts.foreground, True), (fine, later, [], True),
                 (fine, prompts.negative, prompts.background, False)]
        touched = [self._touched(st, pts, scr, h, w) for st, pts, scr, _ in steps]
        forced = [np.isin(st.segments, ids) for (st, *_), ids in zip(steps, touched)]
        forced_add, forced_remove = forced[0] | forced[1], forced[2]
        # what a click grows to by colour is weaker than what a click or stroke touches itself;
        # one click is snapped to the coarse superpixels, several (a corrected outline) to the fine
        grow_pos, grow_neg = self._grown(state, prompts)
        mask |= self._inside((state if len(prompts.positive) < 2 else fine).segments, grow_pos) & ~forced_remove
        mask &= ~(self._inside(fine.segments, grow_neg) & ~forced_add)
        mask = (mask | forced_add) & ~forced_remove
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
