"""The weak box tool: a rectangle drawn like the rectangle tool, saved as a weak label.

A weak box (``Shape.weak = True``) says "an object of this class is in here" without outlining
it; ``labeler autolabel --from boxes`` and the window's Autolabel dialog turn such boxes into
mask proposals. The canvas draws weak shapes dashed.
"""

from __future__ import annotations

import math

from ...core.shapes import RECTANGLE
from .create import RectangleTool
from .draw import commit_shape


class WeakBoxTool(RectangleTool):
    name = "weak_box"

    def _finish(self, p) -> bool:
        start, self.start = self.start, None
        self._pressed = False
        self.canvas.set_preview(None)
        if math.dist(start, p) <= 1e-6:
            return True
        commit_shape(self.canvas, kind=RECTANGLE, points=[start, p], weak=True)
        return True
