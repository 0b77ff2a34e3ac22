"""View options for shapes: fill or outline only, colour by class or by instance (no Qt here)."""

from __future__ import annotations

import zlib

import cv2
import numpy as np

from ..core.schema import default_color
from ..core.shapes import Shape


def instance_color(shape: Shape) -> tuple[int, int, int]:
    """A colour per instance: shapes sharing an ``instance_id`` share it; others get their own."""
    key = f"instance:{shape.instance_id}" if shape.instance_id is not None else f"shape:{shape.id}"
    return default_color(zlib.crc32(key.encode()) % 254 + 1)


def mask_border(mask: np.ndarray) -> np.ndarray:
    """The mask's pixels that touch a pixel outside it (4-neighbourhood): its drawn outline."""
    m = np.asarray(mask, dtype=np.uint8)
    inner = cv2.erode(np.pad(m, 1), np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], np.uint8))[1:-1, 1:-1]
    return (m > 0) & (inner == 0)
