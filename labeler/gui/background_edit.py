"""Shape operations on large inputs computed off the GUI thread (merge, subtract, mask <-> polygon).

An operation is a ``compute()`` (shapely or raster work on frozen shapes, no document access)
and an ``apply(result)`` that edits the document as one undo step. Small inputs run both at
once on the GUI thread. An input is **large**, and computed in a worker, when

* its polygons have more than :data:`BACKGROUND_VERTICES` vertices in all (shapely's union of
  20,000 vertices takes ~7 ms, and grows faster than linearly), or
* it involves a raster - a mask among the inputs, or a mask to be made - on an image of more
  than :data:`BACKGROUND_PIXELS` pixels (a mask of 2,000 x 2,000 pixels takes ~16 ms to
  vectorise and ~5 ms to paint; 8,000 x 8,000 pixels ~330 ms and ~190 ms).

The result is applied when it returns only if the document is still the shown one and has not
changed since (its ``revision``); otherwise it is discarded with a message. One operation runs
at a time; asking for another meanwhile says so and does nothing.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from PySide6.QtCore import QCoreApplication

from ..core.errors import LabelerError
from ..core.shapes import MASK, Shape
from .workers import Worker

def tr(text: str) -> str:
    return QCoreApplication.translate("edit_ops", text)


BACKGROUND_VERTICES = 20_000
BACKGROUND_PIXELS = 2_000_000


def is_large(shapes: Sequence[Shape], image_size: tuple[int, int], makes_mask: bool = False) -> bool:
    """Whether an operation on ``shapes`` goes to the worker (see the module docstring)."""
    vertices = sum(len(s.points) + sum(len(h) for h in s.holes) for s in shapes)
    if vertices > BACKGROUND_VERTICES:
        return True
    w, h = image_size
    raster = makes_mask or any(s.kind == MASK for s in shapes)
    return raster and w * h > BACKGROUND_PIXELS


class BackgroundEdits:
    def __init__(self, canvas, say: Callable[[str], None]) -> None:
        self.canvas = canvas
        self.say = say
        self.worker = Worker(1)
        self.running: str | None = None  # the operation being computed, if any

    def run(self, what: str, shapes: Sequence[Shape], compute: Callable[[], Any],
            apply: Callable[[Any], None], makes_mask: bool = False) -> None:
        """``what``: the operation's name in messages ("merge"). Errors say "{what} failed: ..."."""
        what = tr(what)
        doc = self.canvas.document
        if doc is None:
            return
        if not is_large(shapes, self.canvas.image_size, makes_mask):
            try:
                result = compute()
            except (LabelerError, ValueError) as e:
                return self.say(tr("{0} failed: {1}").format(what, e))
            return apply(result)
        if self.running is not None:
            return self.say(tr("{0}: wait, {1} is still being computed").format(what, self.running))
        self.running = what
        revision = doc.revision
        self.say(tr("{0}: computing in the background...").format(what))
        self.worker.submit(compute, lambda result: self._done(what, doc, revision, apply, result),
                           lambda error: self._failed(what, error))

    def _done(self, what: str, doc, revision: int, apply, result) -> None:
        self.running = None
        if self.canvas.document is not doc or doc.revision != revision or not self.canvas.may_edit():
            self.say(tr("{0} discarded: the image changed while it was being computed").format(what))
            return
        apply(result)
        self.say(tr("{0} done").format(what))

    def _failed(self, what: str, error: BaseException) -> None:
        self.running = None
        self.say(tr("{0} failed: {1}").format(what, error))

    def wait(self, msecs: int = 30000) -> bool:
        return self.worker.wait(msecs)

    def shutdown(self) -> None:
        """The window is closing: a result still being computed is dropped."""
        self.running = None
        self.worker.shutdown()
