"""A colour-threshold flood fill: the example engine of docs/PLUGINS.md.

A positive click takes the connected pixels whose colour (CIE Lab, lightly blurred) lies within
``tolerance`` of the clicked pixel's; a negative click removes its own region. Copy this file into
the user plugin folder and `labeler plugins` lists the engine as ``colour_fill``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from labeler.assist.engine import NEGATIVE_POINTS, POSITIVE_POINTS, Prompts, Proposal, as_rgb


@dataclass(frozen=True)
class FillState:
    lab: np.ndarray  # (H, W, 3) float32 CIE Lab of the prepared image


class ColourFillEngine:
    name = "colour_fill"
    accepts = frozenset({POSITIVE_POINTS, NEGATIVE_POINTS})

    def __init__(self, tolerance: float = 20.0, blur: int = 5) -> None:
        self.tolerance = tolerance  # Delta E from the clicked colour; Prompts.options may override
        self.blur = blur  # odd kernel size; prepare's result depends on it, so the cache key names it
        self.cache_key = f"colour_fill:blur={blur}"

    def prepare(self, image: np.ndarray) -> FillState:
        rgb = cv2.GaussianBlur(as_rgb(image), (self.blur, self.blur), 0)
        return FillState(cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab))

    def _region(self, lab: np.ndarray, point, tolerance: float) -> np.ndarray:
        h, w = lab.shape[:2]
        x, y = int(np.floor(point[0])), int(np.floor(point[1]))
        if not (0 <= x < w and 0 <= y < h):
            return np.zeros((h, w), bool)  # a click off the image adds nothing
        near = np.linalg.norm(lab - lab[y, x], axis=2) <= tolerance
        _, components = cv2.connectedComponents(near.astype(np.uint8), connectivity=4)
        return components == components[y, x]

    def propose(self, state: FillState, prompts: Prompts) -> list[Proposal]:
        if len(prompts.positive) == 0:
            raise ValueError("colour_fill needs at least one positive click")
        tolerance = float(prompts.options.get("tolerance", self.tolerance))
        mask = np.zeros(state.lab.shape[:2], bool)
        for point in prompts.positive:
            mask |= self._region(state.lab, point, tolerance)
        for point in prompts.negative:
            mask &= ~self._region(state.lab, point, tolerance)
        # score: how uniform the region is, 1 = every pixel has exactly the first click's colour
        x, y = np.clip(np.floor(prompts.positive[0]).astype(int), 0, np.array(mask.shape[::-1]) - 1)
        spread = np.linalg.norm(state.lab[mask] - state.lab[y, x], axis=1).mean() if mask.any() else tolerance
        return [Proposal(mask=mask, score=float(np.clip(1 - spread / max(tolerance, 1e-6), 0, 1)),
                         engine=self.name)]


plugin = ColourFillEngine
