"""Intelligent scissors (live wire, as in CVAT): a polygon whose sides follow the image's edges.

Click a first anchor; moving the mouse shows the path from the last anchor to the cursor along
the strongest edges; a click fixes that path and sets a new anchor; Backspace removes the last
segment; a double-click, Enter or a click on the first anchor closes the polygon (back to the
first anchor along the edges too) and adds it in the current class as one undo step, simplified
(``cv2.approxPolyDP``, :data:`~labeler.assist.live_wire.SIMPLIFY_PX`); Escape cancels.

Nothing slow runs on the GUI thread (costs measured in :mod:`labeler.assist.live_wire`): the
image's edge features (``applyImage``) and each anchor's map (``buildMap``, ~300 ms for a
1000 x 1000 image) are computed in one worker thread, one job at a time; only ``getContour``
(under 0.1 ms) runs on mouse moves. Until an anchor's map is ready, its segments are straight
dashes; a segment fixed meanwhile is traced when the map arrives, and a polygon closed meanwhile
is added then. The prepared edges (and anchors' maps) are kept with the canvas's worker for the
shown image, so choosing another tool and coming back is instant; another image drops them. An image over :data:`~labeler.assist.live_wire.MAX_SIDE` pixels a side is worked
on in a crop of that size around the first anchor (around the view's centre before it), read
through the tile source for huge images; segments to anchors outside the crop stay straight.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRect, Qt
from PySide6.QtGui import QImage, QPainterPath

from ...assist.live_wire import LiveWire, closed_polygon, crop_window
from ...core.errors import LabelerError
from ...core.shapes import POLYGON
from ...core.tiles import TileSource
from ..action_spec import ActionSpec
from ..workers import Worker
from .base import Tool

CLOSE_PX = 8  # a click this close to the first anchor (screen pixels) closes the polygon
ANCHOR_PX = 3  # anchors are drawn as circles of this radius (screen pixels)
WORKER_NAME = "live_wire_worker"

SCISSORS_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("tool_scissors", "Intelligent Sc&issors (edge-snapping polygon)", "Ctrl+Shift+P", "set_tool",
               "&Tools", True, "tool", "scissors"),
)

Point = tuple[float, float]


def live_wire_worker(canvas) -> Worker:
    """The canvas's one live-wire worker thread (shared by every scissors tool it makes). It also
    keeps ``kept_edges``: ``(image, LiveWire)`` last prepared, dropped when another image is shown."""
    worker = canvas.findChild(Worker, WORKER_NAME)
    if worker is None:
        worker = Worker(1, canvas)
        worker.setObjectName(WORKER_NAME)
        worker.kept_edges = None
        canvas.image_shown.connect(lambda image, worker=worker: _drop_kept_edges(worker, image))
    return worker


def _drop_kept_edges(worker: Worker, image) -> None:
    if worker.kept_edges is not None and worker.kept_edges[0] is not image:
        worker.kept_edges = None


def read_pixels(image, crop: tuple[int, int, int, int]) -> np.ndarray:
    """RGB uint8 pixels of ``crop`` (x0, y0, x1, y1) of a QImage or a TileSource (worker thread)."""
    x0, y0, x1, y1 = crop
    if isinstance(image, TileSource):
        return image.read_region(0, x0, y0, x1, y1)
    q = image.copy(QRect(x0, y0, x1 - x0, y1 - y0)).convertToFormat(QImage.Format.Format_RGB888)
    h, w, stride = q.height(), q.width(), q.bytesPerLine()
    rows = np.frombuffer(q.constBits(), dtype=np.uint8, count=stride * h).reshape(h, stride)
    return rows[:, :3 * w].reshape(h, w, 3).copy()


def _prepare_and_trace(wire: LiveWire | None, image, crop, anchor: Point | None, target: Point | None):
    """The worker's job: the crop's edge features if not made yet, the anchor's map, and the
    path to ``target``. Returns ``(wire, path or None)``."""
    if wire is None:
        wire = LiveWire(read_pixels(image, crop), origin=crop[:2])
    path = None
    if anchor is not None and wire.build_map(anchor) and target is not None:
        path = wire.path(anchor, target)
    return wire, path


class ScissorsTool(Tool):
    name = "scissors"

    def __init__(self, canvas) -> None:
        super().__init__(canvas)
        self.anchors: list[Point] = []
        #: segments[i] runs from anchors[i] to anchors[i + 1] (to anchors[0] for the closing one);
        #: None while it waits for its start's map (drawn straight meanwhile)
        self.segments: list[np.ndarray | None] = []
        self.closing = False
        self.wire: LiveWire | None = None
        self._wire_image = None  # the image ``wire`` was made from
        self._cursor: Point | None = None
        self._running = False  # a worker job is under way (one at a time)
        self._failed_on = None  # the image whose edges could not be prepared
        self._alive = True
        self.worker = live_wire_worker(canvas)
        kept = self.worker.kept_edges
        if kept is not None and kept[0] is canvas.shown_image:  # this image's edges: no applyImage again
            self._wire_image, self.wire = kept

    # -- state ---------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return bool(self.anchors)

    @property
    def map_ready(self) -> bool:
        """The last anchor's map is built: the path to the cursor follows the edges."""
        return bool(self.anchors) and self.wire is not None and self.wire.map_ready(self.anchors[-1])

    @property
    def settled(self) -> bool:
        """No job under way and none needed (for tests and the status line)."""
        return not self._running and not self.closing and None not in self.segments and (
            not self.anchors or self.map_ready or self.wire is None or not self.wire.contains(self.anchors[-1]))

    def activate(self) -> None:
        super().activate()
        self._alive = True
        self.canvas.image_shown.connect(self._on_image_shown)
        self._pump()  # prepare the shown image (around the view's centre when it is large)

    def deactivate(self) -> None:
        super().deactivate()
        self._alive = False  # a job still running delivers into nothing
        self.canvas.image_shown.disconnect(self._on_image_shown)

    def _on_image_shown(self, _image) -> None:
        self.cancel()
        self._pump()

    # -- events --------------------------------------------------------------------------------
    def press(self, x, y, modifiers) -> bool:
        if self.closing or not self.canvas.may_edit():
            return True
        p = self.canvas.clamp(x, y)
        if len(self.anchors) >= 3 and math.dist(self.anchors[0], p) <= self.canvas.scene_tolerance(CLOSE_PX):
            return self.finish()
        if self.anchors and math.dist(self.anchors[-1], p) <= 1e-6:
            return True
        self._add_anchor(p)
        return True

    def move(self, x, y) -> bool:
        self._cursor = self.canvas.clamp(x, y)
        if self.anchors:
            self._redraw()
        return bool(self.anchors)

    def double_click(self, x, y) -> bool:
        if not self.anchors or self.closing:
            return bool(self.anchors)
        p = self.canvas.clamp(x, y)
        if math.dist(self.anchors[-1], p) > self.canvas.scene_tolerance(CLOSE_PX):
            self._add_anchor(p)
        return self.finish()

    def key_press(self, key) -> bool:
        if not self.anchors:
            return False
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            return self.finish()
        if key == Qt.Key.Key_Backspace:
            self.remove_last()
            return True
        if key == Qt.Key.Key_Escape:
            self.cancel()
            return True
        return False

    # -- anchors and segments ------------------------------------------------------------------
    def _add_anchor(self, p: Point) -> None:
        if self.anchors:
            self.segments.append(None)
        self.anchors.append(p)
        self._pump()
        self._redraw()

    def remove_last(self) -> None:
        """Backspace: drop the last segment and its anchor (or the closing, while it waits)."""
        if self.closing:
            self.closing = False
            self.segments = self.segments[:len(self.anchors) - 1]
        elif self.anchors:
            self.anchors.pop()
            self.segments = self.segments[:max(0, len(self.anchors) - 1)]
        self._pump()
        self._redraw()

    def finish(self) -> bool:
        if len(self.anchors) < 3:
            self.canvas.message.emit("a scissors polygon needs at least 3 anchors")
            return True
        if not self.closing:
            self.closing = True
            self.segments.append(None)
        self._pump()
        if self.closing:  # still waiting for a map: added when it arrives
            self.canvas.message.emit("closing the polygon when the edge map is ready...")
            self._redraw()
        return True

    def cancel(self) -> None:
        self.anchors, self.segments, self.closing = [], [], False
        self.canvas.set_preview(None)

    def _end_of(self, i: int) -> Point:
        return self.anchors[i + 1] if i + 1 < len(self.anchors) else self.anchors[0]

    def _commit(self) -> None:
        segments = [s for s in self.segments if s is not None]
        self.cancel()
        pts = closed_polygon(segments)
        if len(pts) < 3:
            self.canvas.message.emit("not added: the traced outline has no area")
            return
        self.canvas.commit_new_shape(POLYGON, [tuple(p) for p in pts.tolist()])

    # -- the worker ----------------------------------------------------------------------------
    def _crop_for(self, center: Point) -> tuple[int, int, int, int]:
        w, h = self.canvas.image_size
        return crop_window(int(w), int(h), center)

    def _image_readable(self, image) -> bool:
        if isinstance(image, TileSource):
            return image.pixel_readable or image.ready  # never a whole decode of a huge image
        return isinstance(image, QImage) and not image.isNull()

    def _usable(self, image) -> bool:
        return self._image_readable(image) and self._failed_on is not image

    def _pump(self) -> None:
        """Trace what can be traced now; start the next worker job when one is needed."""
        image = self.canvas.shown_image
        if self._wire_image is not image or (
                self.wire is not None and self.anchors and not self.wire.contains(self.anchors[0])):
            self.wire, self._wire_image = None, None  # another image, or a crop away from the first anchor
        usable = self._usable(image)
        if usable and self.wire is None:
            self._submit(None, None)  # the image's (or crop's) edge features first
            return
        wire = self.wire
        while (i := next((k for k, s in enumerate(self.segments) if s is None), None)) is not None:
            a, b = self.anchors[i], self._end_of(i)
            if wire is None or not (wire.contains(a) and wire.contains(b)):
                self.segments[i] = np.array([a, b], dtype=np.float64)  # no edges there: straight
                continue
            path = wire.path(a, b, wait=False) if wire.map_ready(a) else None
            if path is None:
                self._submit(a, b)
                return
            self.segments[i] = path
        if self.closing:
            self._commit()
        elif wire is not None and self.anchors and wire.contains(self.anchors[-1]) and not self.map_ready:
            self._submit(self.anchors[-1], None)

    def _view_center(self) -> Point:
        c = self.canvas.mapToScene(self.canvas.viewport().rect().center())
        return self.canvas.clamp(c.x(), c.y())

    def _submit(self, anchor: Point | None, target: Point | None) -> None:
        if self._running:
            return  # its result comes back through _done, which looks again
        image = self.canvas.shown_image
        wire = self.wire if self._wire_image is image else None
        crop = self._crop_for(self.anchors[0] if self.anchors else self._view_center())
        self._running = True
        self.worker.submit(lambda: _prepare_and_trace(wire, image, crop, anchor, target),
                           lambda result: self._done(image, anchor, target, result),
                           lambda error: self._failed(image, error))

    def _done(self, image, anchor: Point | None, target: Point | None, result) -> None:
        self._running = False
        if not self._alive or image is not self.canvas.shown_image:
            if self._alive:
                self._pump()
            return
        self.wire, path = result
        self._wire_image = image
        self.worker.kept_edges = (image, self.wire)
        if anchor is not None and target is not None:
            for i, s in enumerate(self.segments):
                if s is None and self.anchors[i] == anchor and self._end_of(i) == target:
                    self.segments[i] = path if path is not None else np.array([anchor, target], dtype=np.float64)
                    break
        self._pump()
        if self._alive and self.anchors:
            self._redraw()

    def _failed(self, image, error: BaseException) -> None:
        self._running = False
        if not self._alive:
            return
        self._failed_on = image  # not tried again for this image: its segments stay straight
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        if not isinstance(error, (LabelerError, OSError, ValueError, MemoryError)):
            reason = f"{type(error).__name__}: {reason}"
        self.canvas.message.emit(f"scissors: edges not available, straight segments ({reason})")
        self.wire, self._wire_image = None, None
        self._pump()
        self._redraw()

    # -- drawing -------------------------------------------------------------------------------
    def live_segment(self) -> tuple[np.ndarray, bool] | None:
        """The path from the last anchor to the cursor, and whether it follows the edges."""
        if not self.anchors or self._cursor is None or self.closing:
            return None
        a = self.anchors[-1]
        if self.wire is not None and self._wire_image is self.canvas.shown_image:
            return self.wire.segment(a, self._cursor, wait=False)
        return np.array([a, self._cursor], dtype=np.float64), False

    def _redraw(self) -> None:
        path = QPainterPath()
        if not self.anchors:
            self.canvas.set_preview(None)
            return
        path.moveTo(QPointF(*self.anchors[0]))
        for i, s in enumerate(self.segments):
            pts = s if s is not None else (self.anchors[i], self._end_of(i))
            for p in pts[1:]:
                path.lineTo(QPointF(float(p[0]), float(p[1])))
        live = self.live_segment()
        if live is not None:
            for p in live[0][1:]:
                path.lineTo(QPointF(float(p[0]), float(p[1])))
        r = self.canvas.scene_tolerance(ANCHOR_PX)
        for x, y in self.anchors:
            path.addEllipse(QPointF(x, y), r, r)
        self.canvas.set_preview(path)
