"""Synthetic scenes for the engine tests: a coloured object on a textured background."""

from __future__ import annotations

import cv2
import numpy as np


def textured_background(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Grey-green noise with diagonal stripes and blotches: texture GrabCut must not follow."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    stripes = 25 * np.sin((xx + yy) / 6.0)[..., None]
    base = np.array([90, 110, 80], np.float64) + stripes + rng.normal(0, 14, (h, w, 3))
    for _ in range(12):  # darker blotches
        cx, cy, r = rng.integers(0, w), rng.integers(0, h), rng.integers(5, 20)
        cv2.circle(base, (int(cx), int(cy)), int(r), (60, 70, 50), -1)
    return np.clip(base, 0, 255)


def scene(shape: str = "ellipse", h: int = 160, w: int = 200, seed: int = 0):
    """``(image uint8 RGB, truth mask, box (x0, y0, x1, y1))`` of one reddish object."""
    rng = np.random.default_rng(seed + 1)
    img = textured_background(h, w, seed)
    truth = np.zeros((h, w), np.uint8)
    if shape == "ellipse":
        cv2.ellipse(truth, (w // 2 + 7, h // 2 - 5), (55, 35), 15, 0, 360, 1, -1)
    else:
        cv2.rectangle(truth, (60, 40), (150, 115), 1, -1)
    truth = truth.astype(bool)
    obj = np.array([200, 60, 50], np.float64) + rng.normal(0, 12, (h, w, 3))
    img[truth] = obj[truth]
    ys, xs = np.nonzero(truth)
    box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    return np.clip(img, 0, 255).astype(np.uint8), truth, box
