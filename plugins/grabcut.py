"""GrabCut (OpenCV ``cv2.grabCut``) from a box, refined by scribbles, points and a previous mask.

Bare ``cv2.grabCut`` from a tight box does poorly on street scenes: the objects are small, dark
and low in contrast, its colour models re-learnt from its own shrinking guess collapse to
nothing within two iterations, and its fixed smoothness term swamps the colour evidence of an
object only 20 pixels tall. So this engine

* works on a crop around the prompts with a context margin (fast on large images, and the
  background model sees the object's surroundings, not the whole scene);
* seeds the labels: outside the box is background, a central ellipse of the box probable
  foreground and its core sure foreground, the box's corners probable background; scribbles
  and points are hard labels; a previous mask is probable foreground with a probable-background
  band around it;
* learns the colour models once, foreground from the seeded centre and background from the
  context outside the box only (the uncertain corners train neither), then freezes them
  (``GC_EVAL_FREEZE_MODEL``) so they cannot collapse; ``iterations`` > 0 re-learns afterwards;
* from clicks alone (no box, no mask) grows each positive click by colour similarity (a flood
  over the smoothed Lab image whose tolerance is the largest before the region's area jumps)
  and adds a disc sized from the image around the first click (its core sure foreground): that
  region is probable foreground, a thin frame around it probable background, the rest sure
  background; each negative click's colour region, less what looks nearer a positive click's
  colour, is sure background (CamVid val, 40 objects: IoU after one click 0.07 -> 0.48);
* upscales small crops before the graph cut, which gives the colour evidence more weight
  against the smoothness term;
* cleans up: keeps the component(s) that hold the seeds and fills holes; falls back to the box
  with a low score when the result collapses or spills far outside it.

``score`` is how clearly the frozen colour models separate the result from its surroundings:
the mean of ``|2 sigmoid(log p_fg - log p_bg) - 1|`` over the crop (0 = no evidence, 1 = sure).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

from labeler.assist.engine import (BACKGROUND_SCRIBBLES, BOX, FOREGROUND_SCRIBBLES, NEGATIVE_POINTS,
                                   POSITIVE_POINTS, PREVIOUS_MASK, Prompts, Proposal, as_rgb)
from labeler.plugins.superpixels import click_regions, smoothed_lab

FALLBACK_SCORE = 0.05
_FG = (cv2.GC_FGD, cv2.GC_PR_FGD)


@dataclass
class GrabCutState:
    image: np.ndarray  # RGB uint8 (H, W, 3)


class GrabCutEngine:
    name = "grabcut"
    accepts = frozenset({BOX, POSITIVE_POINTS, NEGATIVE_POINTS, FOREGROUND_SCRIBBLES,
                         BACKGROUND_SCRIBBLES, PREVIOUS_MASK})
    cache_key = "grabcut"  # the prepared state is the image itself: no model, no settings

    def __init__(self, iterations: int = 0, margin: float = 0.25, min_margin: int = 8,
                 min_object_size: int = 200, max_upscale: float = 8.0, max_pixels: int = 600_000,
                 probable: float = 1.2, sure: float = 0.4, point_radius: int = 3,
                 band: int = 7, seed_context: int = 64, collapse: float = 0.2, spill: float = 1.5,
                 click_reach: float = 0.25, click_margin: float = 0.05, click_radius: float = 0.04,
                 click_sure: float = 0.4) -> None:
        self.iterations = iterations  # re-learning rounds after the frozen-model cut
        self.margin = margin  # context around the prompts, as a fraction of their extent
        self.min_margin = min_margin
        self.min_object_size = min_object_size  # upscale until the box's short side is this
        self.max_upscale = max_upscale
        self.max_pixels = max_pixels  # ... but never past this many pixels in the crop
        self.probable = probable  # axes of the probable-foreground ellipse, relative to the box
        self.sure = sure  # axes of the sure-foreground ellipse
        self.point_radius = point_radius
        self.band = band  # width of the probable-background band around a previous mask
        self.seed_context = seed_context  # without a box: how far around the seeds to look
        self.collapse = collapse  # a result under this fraction of the box collapsed
        self.spill = spill  # a result over this fraction of the box spilled out
        self.click_reach = click_reach  # clicks only: grow by colour this far (of the image's side)
        self.click_margin = click_margin  # ... and let the cut go this far past it (of its extent)
        self.click_radius = click_radius  # ... and at least a disc this wide (of the image's side)
        self.click_sure = click_sure  # ... whose core, this fraction of it, is sure foreground

    def prepare(self, image: np.ndarray) -> GrabCutState:
        return GrabCutState(as_rgb(image))

    # ------------------------------------------------------------------------------ propose
    def propose(self, state: GrabCutState, prompts: Prompts) -> list[Proposal]:
        img = state.image
        h, w = img.shape[:2]
        iterations = int(prompts.options.get("iterations", self.iterations))
        labels = self._seed(prompts, h, w, img)
        if labels is None:
            raise ValueError("grabcut needs a box, a previous mask, or foreground scribbles or points")
        region = labels != cv2.GC_BGD
        x0, y0, x1, y1 = self._crop_window(region, h, w)
        crop, crop_labels = img[y0:y1, x0:x1], labels[y0:y1, x0:x1].copy()
        models = self._learn_models(crop, crop_labels)
        if models is None:  # nothing to learn from (a box covering the whole image)
            result, score = np.isin(crop_labels, _FG), FALLBACK_SCORE
        else:
            score = self._separation(crop, models)
            scale = self._scale(region[y0:y1, x0:x1])
            if scale > 1:
                size = (int(round((x1 - x0) * scale)), int(round((y1 - y0) * scale)))
                big = self._cut(cv2.resize(crop, size, interpolation=cv2.INTER_CUBIC),
                                cv2.resize(crop_labels, size, interpolation=cv2.INTER_NEAREST), models, iterations)
                result = cv2.resize(big.astype(np.uint8), (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA) > 0
            else:
                result = self._cut(crop, crop_labels.copy(), models, iterations)
        mask = np.zeros((h, w), bool)
        mask[y0:y1, x0:x1] = self._clean(result, crop_labels)
        if prompts.box is not None:
            box_area = int(self._box_mask(prompts.box, h, w).sum())
            if not self.collapse * box_area <= mask.sum() <= self.spill * box_area:
                fallback = self._box_mask(prompts.box, h, w) & (labels != cv2.GC_BGD) | (labels == cv2.GC_FGD)
                return [Proposal(mask=fallback, score=FALLBACK_SCORE, engine=self.name)]
        return [Proposal(mask=mask, score=score, engine=self.name)]

    # ---------------------------------------------------------------------------- seeding
    @staticmethod
    def _box_mask(box, h: int, w: int) -> np.ndarray:
        x0, y0, x1, y1 = box
        m = np.zeros((h, w), bool)
        m[max(0, int(np.floor(y0))):max(0, int(np.ceil(y1))), max(0, int(np.floor(x0))):max(0, int(np.ceil(x1)))] = True
        return m

    @staticmethod
    def _ellipse(box, factor: float, h: int, w: int) -> np.ndarray:
        x0, y0, x1, y1 = box
        m = np.zeros((h, w), np.uint8)
        axes = (max(1, int(round(factor * (x1 - x0) / 2))), max(1, int(round(factor * (y1 - y0) / 2))))
        cv2.ellipse(m, (int(round((x0 + x1) / 2)), int(round((y0 + y1) / 2))), axes, 0, 0, 360, 1, -1)
        return m > 0

    def _seed(self, prompts: Prompts, h: int, w: int, image: np.ndarray | None = None) -> np.ndarray | None:
        """GrabCut's label map (GC_BGD / GC_FGD / GC_PR_BGD / GC_PR_FGD), or None without an area."""
        labels = np.full((h, w), cv2.GC_BGD, np.uint8)
        have_area = False
        if prompts.mask is not None and prompts.mask.any():
            if prompts.mask.shape != (h, w):
                raise ValueError(f"the previous mask is {prompts.mask.shape[::-1]} (w, h), the image {w} x {h}")
            size = 2 * self.band + 1
            near = cv2.dilate(prompts.mask.astype(np.uint8), np.ones((size, size), np.uint8)) > 0
            labels[near] = cv2.GC_PR_BGD
            labels[prompts.mask] = cv2.GC_PR_FGD
            have_area = True
        if prompts.box is not None:
            box = self._box_mask(prompts.box, h, w)
            if not box.any():
                raise ValueError(f"box {prompts.box} lies outside the {w} x {h} image")
            if have_area:  # refining a previous mask: the box only bounds it
                labels[~box] = cv2.GC_BGD
            else:
                labels[box] = cv2.GC_PR_BGD
                labels[box & self._ellipse(prompts.box, self.probable, h, w)] = cv2.GC_PR_FGD
                labels[box & self._ellipse(prompts.box, self.sure, h, w)] = cv2.GC_FGD
            have_area = True
        fg = prompts.scribble_mask(h, w, True) | self._points_mask(prompts.positive, h, w)
        bg = prompts.scribble_mask(h, w, False) | self._points_mask(prompts.negative, h, w)
        if not have_area:
            if not fg.any():
                return None
            if image is None or not len(prompts.positive):
                # scribbles only: a region around the foreground seeds, grown by their extent
                ys, xs = np.nonzero(fg)
                pad = max(self.seed_context, int(max(np.ptp(xs), np.ptp(ys))))
                labels[max(0, ys.min() - pad):ys.max() + pad + 1,
                       max(0, xs.min() - pad):xs.max() + pad + 1] = cv2.GC_PR_BGD
            else:
                self._seed_from_clicks(labels, image, prompts, fg)
        labels[fg] = cv2.GC_FGD
        labels[bg] = cv2.GC_BGD
        return labels

    def _seed_from_clicks(self, labels: np.ndarray, image: np.ndarray, prompts: Prompts, fg: np.ndarray) -> None:
        """Clicks without a box: grow each positive click by colour similarity (probable
        foreground), frame the grown region with a probable-background window sized from its
        extent, and take the colour region of each negative click as background."""
        h, w = labels.shape
        ys, xs = np.nonzero(fg | self._points_mask(prompts.negative, h, w))
        reach = max(self.seed_context, int(self.click_reach * max(h, w)))
        wy0, wy1 = max(0, ys.min() - reach), min(h, ys.max() + reach + 1)
        wx0, wx1 = max(0, xs.min() - reach), min(w, xs.max() + reach + 1)
        lab = smoothed_lab(image[wy0:wy1, wx0:wx1])
        seeds = [[(int(np.floor(y)) - wy0, int(np.floor(x)) - wx0) for x, y in points]
                 for points in (prompts.positive, prompts.negative)]
        seeds = [[(r, c) for r, c in side if 0 <= r < lab.shape[0] and 0 <= c < lab.shape[1]] for side in seeds]
        grown, against = click_regions(lab, *seeds)
        # what the negative clicks claim is background (learnt and cut as such), less the
        # scattered pixels of the object that only by noise look nearer to a negative click
        against = cv2.morphologyEx(against.astype(np.uint8), cv2.MORPH_OPEN, np.ones((5, 5), np.uint8)) > 0
        grown |= fg[wy0:wy1, wx0:wx1]
        # an object is at least a disc this wide around its click (sized from the image)
        radius = max(self.point_radius + 1, int(round(self.click_radius * max(h, w))))
        disc = np.zeros(grown.shape, np.uint8)
        sure = np.zeros(grown.shape, np.uint8)
        for i, (x, y) in enumerate(prompts.positive):
            c, r = int(round(x)) - wx0, int(round(y)) - wy0
            # later clicks correct a missed part, which may be thin: a smaller disc, no sure core
            cv2.circle(disc, (c, r), radius if i == 0 else radius // 2, 1, -1)
            if i == 0:
                cv2.circle(sure, (c, r), max(self.point_radius, int(radius * self.click_sure)), 1, -1)
        grown |= disc > 0
        fg[wy0:wy1, wx0:wx1] |= sure > 0
        gy, gx = np.nonzero(grown)
        py = max(3, int(self.click_margin * (np.ptp(gy) + 1)))
        px = max(3, int(self.click_margin * (np.ptp(gx) + 1)))
        y0, y1 = max(0, wy0 + gy.min() - py), min(h, wy0 + gy.max() + py + 1)
        x0, x1 = max(0, wx0 + gx.min() - px), min(w, wx0 + gx.max() + px + 1)
        labels[y0:y1, x0:x1] = cv2.GC_PR_BGD
        labels[wy0:wy1, wx0:wx1][against] = cv2.GC_BGD
        labels[wy0:wy1, wx0:wx1][grown & ~against] = cv2.GC_PR_FGD

    def _points_mask(self, points: np.ndarray, h: int, w: int) -> np.ndarray:
        m = np.zeros((h, w), np.uint8)
        for x, y in points:
            cv2.circle(m, (int(round(x)), int(round(y))), self.point_radius, 1, -1)
        return m > 0

    def _crop_window(self, region: np.ndarray, h: int, w: int) -> tuple[int, int, int, int]:
        ys, xs = np.nonzero(region)
        bx0, bx1, by0, by1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
        mx = max(self.min_margin, int(self.margin * (bx1 - bx0)))
        my = max(self.min_margin, int(self.margin * (by1 - by0)))
        return max(0, bx0 - mx), max(0, by0 - my), min(w, bx1 + mx), min(h, by1 + my)

    def _scale(self, region: np.ndarray) -> float:
        ys, xs = np.nonzero(region)
        short = min(np.ptp(xs) + 1, np.ptp(ys) + 1)
        by_pixels = np.sqrt(self.max_pixels / region.size)
        return float(np.clip(min(self.min_object_size / max(short, 1), by_pixels), 1.0, self.max_upscale))

    # ---------------------------------------------------------------------------- cutting
    @staticmethod
    def _learn_models(crop: np.ndarray, labels: np.ndarray):
        """GrabCut's GMMs: foreground from the seeded foreground, background from sure background.

        cv2.grabCut learns from every pixel of its mask, so the two pixel sets are laid out as a
        one-row image on their own and learnt with zero iterations.
        """
        fg = crop[np.isin(labels, _FG)]
        bg = crop[labels == cv2.GC_BGD]
        if len(bg) < 10:  # the prompts reach the image's edges all round: use the uncertain rest
            bg = crop[labels == cv2.GC_PR_BGD]
        if len(fg) < 10 or len(bg) < 10:
            return None
        pixels = np.ascontiguousarray(cv2.cvtColor(np.concatenate([fg, bg])[None], cv2.COLOR_RGB2BGR))
        seeds = np.concatenate([np.full(len(fg), cv2.GC_FGD, np.uint8), np.full(len(bg), cv2.GC_BGD, np.uint8)])[None]
        bg_model, fg_model = np.zeros((1, 65)), np.zeros((1, 65))
        cv2.grabCut(pixels, np.ascontiguousarray(seeds), None, bg_model, fg_model, 0, cv2.GC_INIT_WITH_MASK)
        return bg_model, fg_model

    @staticmethod
    def _cut(crop: np.ndarray, labels: np.ndarray, models, iterations: int) -> np.ndarray:
        bgr = cv2.cvtColor(crop, cv2.COLOR_RGB2BGR)
        bg_model, fg_model = models[0].copy(), models[1].copy()
        cv2.grabCut(bgr, labels, None, bg_model, fg_model, 1, cv2.GC_EVAL_FREEZE_MODEL)
        if iterations > 0 and np.isin(labels, _FG).any():
            cv2.grabCut(bgr, labels, None, bg_model, fg_model, iterations, cv2.GC_EVAL)
        return np.isin(labels, _FG)

    @staticmethod
    def _separation(crop: np.ndarray, models) -> float:
        """Mean |2 sigmoid(log-likelihood ratio) - 1| of the crop's pixels under the two GMMs."""
        x = cv2.cvtColor(crop, cv2.COLOR_RGB2BGR).reshape(-1, 3).astype(np.float64)
        bg, fg = (_gmm_log_likelihood(x, m.ravel()) for m in models)
        confidence = np.abs(np.tanh((fg - bg) / 2))  # = |2 sigmoid(llr) - 1|
        return float(np.mean(confidence))

    @staticmethod
    def _clean(mask: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Keep the components holding sure foreground (else the most probable), fill holes."""
        n, cc = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
        if n <= 1:
            return mask
        keep = np.unique(cc[(labels == cv2.GC_FGD) & mask])
        keep = keep[keep > 0]
        if keep.size == 0:
            seeded = mask & (labels == cv2.GC_PR_FGD)
            counts = np.bincount(cc[seeded if seeded.any() else mask].ravel(), minlength=n)
            counts[0] = 0
            keep = np.array([int(counts.argmax())])
        return ndimage.binary_fill_holes(np.isin(cc, keep)) & (labels != cv2.GC_BGD)


def _gmm_log_likelihood(x: np.ndarray, model: np.ndarray, k: int = 5) -> np.ndarray:
    """log p(x) under an OpenCV GrabCut GMM (k weights, k means of 3, k 3 x 3 covariances)."""
    weights, means, covs = model[:k], model[k:4 * k].reshape(k, 3), model[4 * k:13 * k].reshape(k, 3, 3)
    out = np.full(len(x), -np.inf)
    for wgt, mu, cov in zip(weights, means, covs):
        if wgt <= 0:
            continue
        cov = cov + np.eye(3) * 1e-2
        d = x - mu
        maha = np.einsum("ni,ij,nj->n", d, np.linalg.inv(cov), d)
        logp = np.log(wgt) - 0.5 * (maha + np.log(np.linalg.det(cov)) + 3 * np.log(2 * np.pi))
        out = np.logaddexp(out, logp)
    return out


def plugin() -> GrabCutEngine:
    return GrabCutEngine()
