"""Brush, eraser and fill (bucket) on mask shapes.

A stroke is painted into a numpy buffer the size of the image; while dragging only the dirty
bounding box of each new segment is repainted (the overlay draws just its exposed rectangle), and
the mask's RLE is encoded once, on release, as one undo step (as napari's labels layer does).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QImage, QPainterPath
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem
from skimage.segmentation import flood

from ...core import geometry
from ...core.errors import InvalidShapeError
from ...core.shapes import MASK, Shape
from .base import Tool
from .draw import brush_size

ERASER_RGBA = (255, 255, 255, 150)


class StrokeOverlay(QGraphicsItem):
    """Shows a boolean stroke buffer; repaints only the rectangles it is told are dirty."""

    def __init__(self, height: int, width: int, rgba: tuple[int, int, int, int]) -> None:
        super().__init__()
        self.buffer = np.zeros((height, width), np.uint8)
        self.rgba = rgba
        self.dirty_rects: list[tuple[int, int, int, int]] = []  # (x0, y0, x1, y1) per update
        self.bounds: tuple[int, int, int, int] | None = None  # union of the dirty rectangles
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)
        self.setZValue(5e8)

    def boundingRect(self) -> QRectF:
        h, w = self.buffer.shape
        return QRectF(0, 0, w, h)

    def mark_dirty(self, x0: int, y0: int, x1: int, y1: int) -> None:
        h, w = self.buffer.shape
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if x1 > x0 and y1 > y0:
            self.dirty_rects.append((x0, y0, x1, y1))
            b = self.bounds or (x0, y0, x1, y1)
            self.bounds = (min(b[0], x0), min(b[1], y0), max(b[2], x1), max(b[3], y1))
            self.update(QRectF(x0, y0, x1 - x0, y1 - y0))

    def stroke(self) -> "Window":
        """The painted pixels inside their bounding box."""
        if self.bounds is None:
            return Window(np.zeros((0, 0), bool), 0, 0)
        x0, y0, x1, y1 = self.bounds
        return Window(self.buffer[y0:y1, x0:x1].astype(bool), x0, y0)

    def paint(self, painter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        r = option.exposedRect.intersected(self.boundingRect())
        x0, y0 = int(math.floor(r.left())), int(math.floor(r.top()))
        x1, y1 = int(math.ceil(r.right())), int(math.ceil(r.bottom()))
        sub = self.buffer[y0:y1, x0:x1]
        if sub.size == 0 or not sub.any():
            return
        rgba = np.zeros(sub.shape + (4,), np.uint8)
        rgba[sub.astype(bool)] = self.rgba
        img = QImage(rgba.data, rgba.shape[1], rgba.shape[0], rgba.shape[1] * 4, QImage.Format.Format_RGBA8888)
        painter.drawImage(QPointF(x0, y0), img)


class Window:
    """Pixels of an edit inside a window of the image: ``pixels`` placed at column x0, row y0."""

    def __init__(self, pixels: np.ndarray, x0: int, y0: int) -> None:
        self.pixels, self.x0, self.y0 = pixels, x0, y0

    @property
    def box(self) -> tuple[int, int, int, int]:
        h, w = self.pixels.shape
        return self.x0, self.y0, self.x0 + w, self.y0 + h

    def any(self) -> bool:
        return bool(self.pixels.any())

    def region(self, full: np.ndarray) -> np.ndarray:
        """The part of a full-image array under this window (a view: writes go through)."""
        x0, y0, x1, y1 = self.box
        return full[y0:y1, x0:x1]

    def touches(self, rle: dict) -> bool:
        """Whether a mask's bounding box overlaps the window (cheap, without decoding)."""
        bx, by, bw, bh = geometry.rle_bbox(rle)
        x0, y0, x1, y1 = self.box
        return bw > 0 and bx < x1 and bx + bw > x0 and by < y1 and by + bh > y0


def _pixel(x: float, y: float) -> tuple[int, int]:
    return int(math.floor(x)), int(math.floor(y))


def target_mask(canvas) -> Shape | None:
    """The selected mask of the current class that painting adds to (None: make a new one)."""
    doc = canvas.document
    for sid in canvas.selected_ids:
        s = doc.get(sid)
        if s.kind == MASK and s.label == canvas.current_label:
            return s
    return None


def add_to_mask(canvas, edit: Window, text: str) -> Shape | None:
    """Add the edit's pixels to the target mask (or a new mask of the current class): one undo step."""
    if not canvas.may_edit() or not edit.any():
        return None
    if not canvas.current_label:
        canvas.message.emit("choose or add a class first")
        return None
    doc = canvas.document
    target = target_mask(canvas)
    w, h = canvas.image_size
    with doc.group(text):
        if target is None:
            full = np.zeros((h, w), bool)
            edit.region(full)[...] = edit.pixels
            shape = doc.add_shape(Shape(MASK, canvas.current_label, rle=geometry.rle_encode(full)))
        else:
            base = geometry.rle_decode(target.rle)
            region = edit.region(base)
            if not (edit.pixels & ~region).any():
                return target
            region |= edit.pixels
            shape = doc.replace_shape(target.id, target.replace(rle=geometry.rle_encode(base)), text)
    canvas.select([shape.id])
    return shape


def erase_from_masks(canvas, edit: Window) -> int:
    """Remove the edit's pixels from the selected masks, or from every visible mask they touch when
    no mask is selected; masks left empty are deleted. One undo step; returns how many changed."""
    if not canvas.may_edit() or not edit.any():
        return 0
    doc = canvas.document
    masks = [s for s in doc.shapes if s.kind == MASK and s.label not in canvas.hidden_classes]
    chosen = [s for s in masks if s.id in canvas.selected_ids]
    changed = 0
    with doc.group("erase"):
        for s in chosen or masks:
            if list(s.rle["size"]) != [canvas.image_size[1], canvas.image_size[0]] or not edit.touches(s.rle):
                continue
            base = geometry.rle_decode(s.rle)
            region = edit.region(base)
            if not (region & edit.pixels).any():
                continue
            region &= ~edit.pixels
            if base.any():
                doc.replace_shape(s.id, s.replace(rle=geometry.rle_encode(base)), "erase")
            else:
                doc.remove_shape(s.id)
            changed += 1
    return changed


class BrushTool(Tool):
    """Drag to paint the current class into a mask; ``[`` / ``]`` (or the spin box) set the size."""

    name = "brush"

    def __init__(self, canvas) -> None:
        super().__init__(canvas)
        self.overlay: StrokeOverlay | None = None
        self._last: tuple[int, int] | None = None

    @property
    def busy(self) -> bool:
        return self.overlay is not None

    def _color(self) -> tuple[int, int, int, int]:
        r, g, b = self.canvas.color_of(self.canvas.current_label or "")
        return (r, g, b, 170)

    def press(self, x, y, modifiers) -> bool:
        self.cancel()
        w, h = self.canvas.image_size
        if not (w and h) or not self.canvas.may_edit():
            return True
        self.overlay = StrokeOverlay(h, w, self._color())
        self.canvas.scene().addItem(self.overlay)
        self._last = _pixel(x, y)
        self._stamp(self._last, self._last)
        return True

    def move(self, x, y) -> bool:
        if self.overlay is None:
            self._show_cursor(x, y)
            return False
        p = _pixel(x, y)
        if p != self._last:
            self._stamp(self._last, p)
            self._last = p
        self._show_cursor(x, y)
        return True

    def _stamp(self, p0: tuple[int, int], p1: tuple[int, int]) -> None:
        size = max(1, brush_size(self.canvas))
        r = size // 2
        buf = self.overlay.buffer
        if size == 1:
            cv2.line(buf, p0, p1, 1, 1, lineType=cv2.LINE_8)
        else:
            cv2.line(buf, p0, p1, 1, size, lineType=cv2.LINE_8)
            cv2.circle(buf, p1, r, 1, -1, lineType=cv2.LINE_8)
            cv2.circle(buf, p0, r, 1, -1, lineType=cv2.LINE_8)
        self.overlay.mark_dirty(min(p0[0], p1[0]) - r - 1, min(p0[1], p1[1]) - r - 1,
                                max(p0[0], p1[0]) + r + 2, max(p0[1], p1[1]) + r + 2)

    def release(self, x, y) -> bool:
        if self.overlay is None:
            return False
        self.move(x, y)
        stroke = self.overlay.stroke()
        self.cancel()
        self.commit(stroke)
        return True

    def commit(self, stroke: Window) -> None:
        add_to_mask(self.canvas, stroke, "brush stroke")

    def cancel(self) -> None:
        if self.overlay is not None:
            self.canvas.scene().removeItem(self.overlay)
            self.overlay = None
        self._last = None

    def deactivate(self) -> None:
        super().deactivate()
        self.canvas.set_preview(None)

    def _show_cursor(self, x, y) -> None:
        r = max(1, brush_size(self.canvas)) / 2
        path = QPainterPath()
        path.addEllipse(QPointF(x, y), r, r)
        self.canvas.set_preview(path)

    def key_press(self, key) -> bool:
        if key == Qt.Key.Key_Escape and self.overlay is not None:
            self.cancel()
            return True
        return False


class EraserTool(BrushTool):
    """Drag to remove pixels from the selected mask (from every mask under it if none is selected)."""

    name = "eraser"

    def _color(self) -> tuple[int, int, int, int]:
        return ERASER_RGBA

    def commit(self, stroke: Window) -> None:
        erase_from_masks(self.canvas, stroke)


class FillTool(Tool):
    """Click to fill the connected region of equal labels under the cursor (e.g. a hole in a
    mask, or an area enclosed by shapes) into the current class's mask."""

    name = "fill"
    cursor = Qt.CursorShape.PointingHandCursor

    def press(self, x, y, modifiers) -> bool:
        w, h = self.canvas.image_size
        col, row = _pixel(x, y)
        if not (0 <= col < w and 0 <= row < h) or not self.canvas.may_edit():
            return True
        shapes = [s for s in self.canvas.document.shapes if s.label not in self.canvas.hidden_classes]
        try:
            labels = geometry.rasterize(((s, i + 1) for i, s in enumerate(shapes)), h, w, dtype=np.int32)
        except InvalidShapeError as e:
            self.canvas.message.emit(f"not filled: {e}")
            return True
        region = flood(labels, (row, col), connectivity=1)
        if add_to_mask(self.canvas, Window(region, 0, 0), "fill") is None:
            self.canvas.message.emit("nothing to fill here")
        return True
