"""The standard click simulation for interactive segmentation (as in RITM / SimpleClick / SAM).

The first click goes to the centre of the object: the pixel farthest from its boundary (the
image border counts as boundary). Each next click goes to the centre of the largest error
region of the current prediction: positive when that region is missed object (a false
negative), negative when it is background taken in (a false positive). After every click the
predictor is asked again with all clicks so far; the IoU after each click is recorded.

``NoC@t`` (number of clicks) is the first click count at which IoU reaches ``t``, or the click
budget (20) when it never does. Lower is better.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import cv2
import numpy as np

from .engine import LOW_RES_LOGITS, PREVIOUS_MASK, Prompts

MAX_CLICKS = 20

#: ``predict(positive, negative, previous) -> (mask, previous)``: points as (N, 2) ``[x, y]``;
#: ``previous`` is whatever the predictor wants carried to the next call (None at first).
Predictor = Callable[[np.ndarray, np.ndarray, object], tuple[np.ndarray, object]]


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def region_centre(region: np.ndarray) -> tuple[float, float]:
    """``(x, y)`` of the pixel of ``region`` farthest from its boundary (the image edge included).

    Among equally far pixels (a long strip has a whole line of them) the one nearest their mean
    is taken, so the click lands in the middle; remaining ties go to the first in row-major order.
    """
    if not region.any():
        raise ValueError("an empty region has no centre")
    padded = np.pad(region.astype(np.uint8), 1)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
    rows, cols = np.nonzero(dist >= dist.max() - 1e-6)
    nearest = int(np.argmin((rows - rows.mean()) ** 2 + (cols - cols.mean()) ** 2))
    return float(cols[nearest]), float(rows[nearest])


def _largest_component(mask: np.ndarray) -> tuple[np.ndarray, int]:
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 1:
        return np.zeros_like(mask, dtype=bool), 0
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return labels == best, int(stats[best, cv2.CC_STAT_AREA])


def next_click(prediction: np.ndarray, truth: np.ndarray) -> tuple[tuple[float, float], bool] | None:
    """The next click, ``((x, y), positive)``, at the centre of the largest error region;
    None when the prediction is exact."""
    missed, missed_area = _largest_component(truth & ~prediction)
    extra, extra_area = _largest_component(prediction & ~truth)
    if missed_area == 0 and extra_area == 0:
        return None
    if missed_area >= extra_area:
        return region_centre(missed), True
    return region_centre(extra), False


@dataclass
class ClickRun:
    """One object's simulation: the clicks (x, y, positive) and the IoU after each."""

    clicks: list[tuple[float, float, bool]] = field(default_factory=list)
    ious: list[float] = field(default_factory=list)

    def noc(self, threshold: float, max_clicks: int = MAX_CLICKS) -> int:
        """Clicks needed to reach ``threshold`` IoU (``max_clicks`` when never reached)."""
        for i, v in enumerate(self.ious[:max_clicks], start=1):
            if v >= threshold:
                return i
        return max_clicks

    def iou_at(self, clicks: int) -> float:
        """IoU after ``clicks`` clicks (the last one if the run stopped early, exact)."""
        return self.ious[min(clicks, len(self.ious)) - 1]


def simulate(predict: Predictor, truth: np.ndarray, max_clicks: int = MAX_CLICKS,
             stop_at: float | None = None, min_clicks: int = 0) -> ClickRun:
    """Click on ``truth`` as a user would, asking ``predict`` after each click.

    Stops after ``max_clicks``, when the prediction is exact, or once IoU reaches ``stop_at``
    after at least ``min_clicks`` clicks (NoC below ``stop_at`` and IoU up to ``min_clicks``
    clicks are then the same as with the full budget, for less work).
    """
    truth = np.asarray(truth, bool)
    run = ClickRun()
    pos: list[tuple[float, float]] = []
    neg: list[tuple[float, float]] = []
    previous = None
    click: tuple[tuple[float, float], bool] | None = (region_centre(truth), True)
    while click is not None and len(run.clicks) < max_clicks:
        (x, y), positive = click
        (pos if positive else neg).append((x, y))
        run.clicks.append((x, y, positive))
        mask, previous = predict(np.array(pos).reshape(-1, 2), np.array(neg).reshape(-1, 2), previous)
        mask = np.asarray(mask, bool)
        run.ious.append(mask_iou(mask, truth))
        if stop_at is not None and run.ious[-1] >= stop_at and len(run.clicks) >= min_clicks:
            break
        click = next_click(mask, truth)
    return run


def engine_predictor(engine, state, options: dict | None = None, feed_mask: bool = False) -> Predictor:
    """A :data:`Predictor` over a proposal engine: all clicks every time, the best-scored
    candidate, and the previous low-resolution logits fed back where the engine takes them.
    With ``feed_mask`` the previous mask is given too (GrabCut then refines it)."""

    def predict(positive: np.ndarray, negative: np.ndarray, previous):
        logits, mask = previous if previous is not None else (None, None)
        if not (feed_mask and PREVIOUS_MASK in engine.accepts and mask is not None and mask.any()):
            mask = None
        prompts = Prompts(positive=positive, negative=negative, mask=mask,
                          logits=logits if LOW_RES_LOGITS in engine.accepts else None, options=dict(options or {}))
        best = max(engine.propose(state, prompts), key=lambda p: p.score)
        return best.mask, (best.logits, best.mask)

    return predict


def summarize(runs: Sequence[ClickRun], thresholds: Sequence[float] = (0.85, 0.90),
              at: Sequence[int] = (1, 3, 5), max_clicks: int = MAX_CLICKS) -> dict[str, float]:
    """Mean NoC@t and mean IoU after ``at`` clicks over many objects."""
    out: dict[str, float] = {}
    for t in thresholds:
        out[f"NoC@{round(t * 100)}"] = float(np.mean([r.noc(t, max_clicks) for r in runs]))
    for k in at:
        out[f"IoU@{k}"] = float(np.mean([r.iou_at(k) for r in runs]))
    return out
