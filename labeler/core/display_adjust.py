"""Brightness, contrast, gamma and auto levels of the *displayed* image, as a 256-entry LUT.

Only what is shown on screen goes through these tables: saved annotations, exports and what the
assist engines and training read always use the pixels on disk. No Qt here.

The mapping of an 8-bit value ``x`` of channel ``c``:

1. levels: ``v = clip((x - low[c]) / (high[c] - low[c]), 0, 1)`` (Auto sets ``low``/``high``)
2. gamma: ``v = v ** (1 / gamma)`` (gamma above 1 brightens the shadows)
3. contrast about mid-grey, then brightness: ``v = (v - 0.5) * contrast + 0.5 + brightness``
4. ``round(clip(v, 0, 1) * 255)``
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

BRIGHTNESS_RANGE = (-1.0, 1.0)
CONTRAST_RANGE = (0.1, 4.0)
GAMMA_RANGE = (0.1, 5.0)
#: Auto: the channel values at these percentiles become black and white
AUTO_PERCENTILES = (1.0, 99.0)
AUTO_MAX_SAMPLES = 250_000  # pixels looked at by Auto (a regular subsample of bigger images)


@dataclass(frozen=True)
class DisplayAdjust:
    brightness: float = 0.0
    contrast: float = 1.0
    gamma: float = 1.0
    low: tuple[float, float, float] = (0.0, 0.0, 0.0)  # per channel R, G, B
    high: tuple[float, float, float] = (255.0, 255.0, 255.0)

    def __post_init__(self) -> None:
        for name, (lo, hi) in (("brightness", BRIGHTNESS_RANGE), ("contrast", CONTRAST_RANGE),
                               ("gamma", GAMMA_RANGE)):
            value = float(getattr(self, name))
            if not np.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value}")
            object.__setattr__(self, name, min(hi, max(lo, value)))
        low = tuple(float(v) for v in self.low)
        high = tuple(float(v) for v in self.high)
        if len(low) != 3 or len(high) != 3:
            raise ValueError("levels need one low and one high value per channel (R, G, B)")
        high = tuple(max(h, lo + 1.0) for lo, h in zip(low, high))  # never divide by zero
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    @property
    def is_identity(self) -> bool:
        return self == DisplayAdjust()

    def with_(self, **changes) -> "DisplayAdjust":
        return replace(self, **changes)


def make_lut(adjust: DisplayAdjust) -> np.ndarray:
    """The (256, 3) uint8 table of ``adjust``: row ``x``, column channel (R, G, B)."""
    x = np.arange(256, dtype=np.float64)[:, None]
    low, high = np.array(adjust.low)[None, :], np.array(adjust.high)[None, :]
    v = np.clip((x - low) / (high - low), 0.0, 1.0)
    v = v ** (1.0 / adjust.gamma)
    v = (v - 0.5) * adjust.contrast + 0.5 + adjust.brightness
    return np.round(np.clip(v, 0.0, 1.0) * 255.0).astype(np.uint8)


def bgra_lut(lut: np.ndarray) -> np.ndarray:
    """The (1, 256, 4) table for 32-bit pixels stored B, G, R, A (Qt's RGB32 on little-endian
    machines, as the canvas shows them); alpha passes unchanged."""
    lut = np.asarray(lut, dtype=np.uint8)
    alpha = np.arange(256, dtype=np.uint8)
    return np.stack([lut[:, 2], lut[:, 1], lut[:, 0], alpha], axis=1)[None, :, :].copy()


def apply_lut(pixels: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """``pixels`` (H, W, C) uint8 through ``lut`` ((256, C) or (1, 256, C)); a new array (cv2.LUT)."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    table = np.asarray(lut, dtype=np.uint8).reshape(1, 256, -1)
    if table.shape[2] != pixels.shape[2]:
        raise ValueError(f"a LUT of {table.shape[2]} channel(s) for pixels of {pixels.shape[2]}")
    return cv2.LUT(pixels, table).reshape(pixels.shape)


def auto_levels(rgb: np.ndarray, percentiles: tuple[float, float] = AUTO_PERCENTILES,
                max_samples: int = AUTO_MAX_SAMPLES) -> DisplayAdjust:
    """Auto: per channel, the ``percentiles`` of ``rgb`` (H, W, 3+) become black and white
    (brightness, contrast and gamma back to neutral). Big images are subsampled regularly."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] < 3 or rgb.size == 0:
        raise ValueError(f"auto levels need an (H, W, 3) image, got shape {rgb.shape}")
    h, w = rgb.shape[:2]
    step = max(1, int(np.ceil(np.sqrt(h * w / max_samples))))
    sample = rgb[::step, ::step, :3].reshape(-1, 3).astype(np.float32)
    lo, hi = np.percentile(sample, percentiles, axis=0)
    return DisplayAdjust(low=tuple(float(v) for v in lo), high=tuple(float(v) for v in hi))
