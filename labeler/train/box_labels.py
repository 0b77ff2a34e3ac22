"""Weak boxes as training targets: each box becomes a GrabCut pseudo-mask.

A rectangle flagged ``weak`` says "there is a <class> here", not which pixels. For training it is
turned into a mask by the GrabCut proposal engine (``plugins/grabcut.py``, loaded through
:mod:`labeler.assist.plugins` like any plugin); its pixels take the box's class where no real
label already covers them, the rest of the box stays unlabelled. Without a GrabCut engine the
boxes are skipped, and the run says so.
"""

from __future__ import annotations

import numpy as np

from ..core.annotation import ImageAnnotation
from ..core.shapes import RECTANGLE, Shape

ENGINE_NAME = "grabcut"


def weak_boxes(ann: ImageAnnotation) -> list[Shape]:
    """The image's weak rectangles (model proposals excepted)."""
    return [s for s in ann.shapes if s.kind == RECTANGLE and s.weak and s.source != "model"]


class BoxPseudoLabels:
    """Paints GrabCut pseudo-masks of weak boxes into target maps."""

    def __init__(self, engine=None, missing: str = "") -> None:
        self.engine = engine
        #: why there is no engine (one line), when there is none
        self.missing = missing

    @classmethod
    def from_plugins(cls) -> "BoxPseudoLabels":
        """The GrabCut engine from the installed plugins, or none with the reason."""
        from ..assist.plugins import load_plugins

        loaded = load_plugins(user=False)
        if ENGINE_NAME in loaded.engines:
            return cls(loaded.engines[ENGINE_NAME])
        why = "; ".join(str(f) for f in loaded.failures if ENGINE_NAME in str(f)) or "it is not installed"
        return cls(None, f"no {ENGINE_NAME} proposal engine ({why})")

    def paint(self, image: np.ndarray, ann: ImageAnnotation, target: np.ndarray, values: dict[str, int],
              ignore_index: int) -> tuple[int, list[str]]:
        """Paint the weak boxes of ``ann`` whose class is in ``values``; returns (boxes painted,
        problems, each a line without the file name)."""
        from ..assist.engine import prompts_from_shapes

        boxes = [b for b in weak_boxes(ann) if b.label in values]
        if not boxes:
            return 0, []
        if self.engine is None:
            return 0, [f"{len(boxes)} weak box(es) skipped: {self.missing}"]
        state = self.engine.prepare(image)
        painted, problems = 0, []
        for box in boxes:
            try:
                proposals = self.engine.propose(state, prompts_from_shapes([box]))
            except ValueError as e:
                problems.append(f"weak box {box.id} skipped: {e}")
                continue
            if proposals:
                m = proposals[0].mask & (target == ignore_index)
                target[m] = values[box.label]
                painted += 1
        return painted, problems
