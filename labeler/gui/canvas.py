"""The canvas: a QGraphicsView of one image and its shapes, drawn from the document.

The canvas owns no shapes. It subscribes to the document's ``changed`` signal and rebuilds only
the items whose shape object changed. Mouse and key events go to the active tool; the wheel
zooms about the cursor; the middle button, or the left button with Space held, pans.
"""

from __future__ import annotations

import zlib
from typing import Sequence

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView

from ..core.events import Signal
from ..core.document import Document
from ..core.errors import InvalidShapeError
from ..core.schema import Schema, default_color
from ..core.shapes import Shape
from ..core.tiles import TileSource
from .canvas_detail import CanvasDetail, sync_changed_shapes
from .shape_items import ShapeItem
from .tiled_image import TiledImageItem
from .tools import TOOLS, Tool
from .view_options import instance_color

MIN_SCALE, MAX_SCALE = 0.02, 64.0
WHEEL_STEP = 1.15  # zoom factor per wheel notch (120 units)


class Canvas(QGraphicsView):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        # plain-callback signals (labeler.core.events), the same kind the document emits
        self.cursor_moved = Signal()  # (float, float) image coordinates
        self.zoom_changed = Signal()  # (float) 1.0 = one image pixel per screen pixel
        self.selection_changed = Signal()  # (list) shape ids
        self.message = Signal()  # (str) a one-line note for the status bar
        self.image_shown = Signal()  # (QImage | TileSource | None) set_document has shown it
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.NoDrag)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setBackgroundBrush(QColor(60, 60, 60))
        self.document: Document | None = None
        self.schema = Schema([])
        self.current_label: str | None = None
        #: why the shown image may not be edited ("" when it may): tools then refuse to change it
        self.read_only_reason = ""
        self.hidden_classes: set[str] = set()
        self.shapes_hidden = False  # "Hide All Shapes": every overlay hidden, per-class choices kept
        self.opacity = 0.35
        self.outline_only = False  # view option: outlines without fill (masks as their borders)
        self.color_by_instance = False  # view option: one colour per instance instead of per class
        self.brush_size = 12  # brush, eraser and scribble width in image pixels
        self.image_size = (0, 0)
        self.shown_image: QImage | TileSource | None = None  # the shown image's pixels (for tools)
        self._image_item = QGraphicsPixmapItem()
        self._image_item.setZValue(-1e9)
        self._image_item.setTransformationMode(Qt.TransformationMode.FastTransformation)
        self.scene().addItem(self._image_item)
        self.detail = CanvasDetail(self)  # level of detail by zoom, for thousands of shapes
        self.tiled_image = TiledImageItem()  # huge images: tiles read in workers (tiled_image.py)
        self.tiled_image.setZValue(-1e9)
        self.scene().addItem(self.tiled_image)
        self.tiled_image.error.connect(self.message.emit)
        self._preview = QGraphicsPathItem()
        pen = QPen(QColor(255, 255, 255), 1.5, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        self._preview.setPen(pen)
        self._preview.setZValue(1e9)
        self.scene().addItem(self._preview)
        self._items: dict[str, ShapeItem] = {}
        self._previewed: set[str] = set()
        self._selected: list[str] = []
        self._pan_from: QPoint | None = None
        self._space_held = False
        self._fitted = True  # keep the image fitted on resize until the user zooms
        self.tool: Tool = TOOLS["polygon"](self)
        self.tool.activate()

    # -- document and image ---------------------------------------------------------------
    def set_document(self, document: Document | None, image: QImage | None) -> None:
        """Show another image and its document (None, None shows nothing)."""
        self.tool.cancel()
        if self.document is not None:
            self.document.changed.disconnect(self._on_document_changed)
        self.document = document
        self._selected = []
        for item in self._items.values():
            self.scene().removeItem(item)
        self._items.clear()
        self._previewed.clear()
        self.shown_image = image
        self.tiled_image.set_source(image if isinstance(image, TileSource) else None)
        if isinstance(image, TileSource):
            self._image_item.setPixmap(QPixmap())
            self.image_size = image.size
        elif image is not None and not image.isNull():
            self._image_item.setPixmap(QPixmap.fromImage(image))
            self.image_size = (image.width(), image.height())
        else:
            self._image_item.setPixmap(QPixmap())
            self.image_size = (document.annotation.width, document.annotation.height) if document else (0, 0)
        self.scene().setSceneRect(QRectF(0, 0, *self.image_size))
        if document is not None:
            document.changed.connect(self._on_document_changed)
            self._sync_items()
        self.selection_changed.emit([])
        self.fit()
        self.image_shown.emit(image)

    def set_schema(self, schema: Schema) -> None:
        self.schema = schema
        self._rebuild_all()

    def color_of(self, label: str) -> tuple[int, int, int]:
        c = self.schema.get(label)
        if c is not None:
            return c.color
        return default_color(zlib.crc32(label.encode()) % 254 + 1)

    def shape_color(self, s: Shape) -> tuple[int, int, int]:
        return instance_color(s) if self.color_by_instance else self.color_of(s.label)

    def _on_document_changed(self, _text: str = "") -> None:
        self._sync_items()

    def _sync_items(self) -> None:
        """Add, drop or rebuild the items whose shapes changed; keep the rest."""
        if sync_changed_shapes(self):  # only what the last edit replaced (canvas_detail.py)
            return
        doc = self.document
        shapes = doc.shapes if doc is not None else []
        live = {s.id for s in shapes}
        for sid in [sid for sid in self._items if sid not in live]:
            self.scene().removeItem(self._items.pop(sid))
        self._previewed.clear()
        for i, s in enumerate(shapes):
            item = self._items.get(s.id)
            if item is None or item.shape_data is not s:
                if item is not None:
                    self.scene().removeItem(item)
                item = self._make_item(s)
            item.setZValue(s.z * 1e6 + i)
        kept = [sid for sid in self._selected if sid in live]
        if kept != self._selected:
            self._selected = kept
            self.selection_changed.emit(list(kept))
        for sid, item in self._items.items():
            item.set_selected_shape(sid in self._selected)

    def _make_item(self, s: Shape) -> ShapeItem:
        item = ShapeItem(s, self.shape_color(s), self.opacity, fill=not self.outline_only)
        item.setVisible(not self.shapes_hidden and s.label not in self.hidden_classes)
        item.set_low_detail(self.detail.low)
        item.setCacheMode(self.detail.cache_mode())
        item.set_selected_shape(s.id in self._selected)
        self.scene().addItem(item)
        self._items[s.id] = item
        return item

    def refresh_items(self) -> None:
        """Redraw every shape item (after a view option such as fill or colouring changed)."""
        self._rebuild_all()

    def _rebuild_all(self) -> None:
        for item in self._items.values():
            self.scene().removeItem(item)
        self._items.clear()
        self._sync_items()

    def shape_item(self, shape_id: str) -> ShapeItem:
        return self._items[shape_id]

    # -- what tools call --------------------------------------------------------------------
    def clamp(self, x: float, y: float) -> tuple[float, float]:
        w, h = self.image_size
        return (min(max(float(x), 0.0), float(w)), min(max(float(y), 0.0), float(h)))

    def scene_tolerance(self, pixels: float) -> float:
        return pixels / self.scale_factor

    def set_preview(self, path: QPainterPath | None) -> None:
        self._preview.setPath(path if path is not None else QPainterPath())

    def preview_shapes(self, shapes: dict[str, Shape]) -> None:
        """Draw these stand-ins for shapes being dragged; an empty dict puts the real ones back."""
        doc = self.document
        for sid in self._previewed - set(shapes):
            if doc is not None and sid in self._items:
                self.scene().removeItem(self._items.pop(sid))
                self._make_item(doc.get(sid)).setZValue(self._z_of(sid))
        for sid, s in shapes.items():
            z = self._z_of(sid)
            if sid in self._items:
                self.scene().removeItem(self._items.pop(sid))
            self._make_item(s).setZValue(z)
        self._previewed = set(shapes)

    def _z_of(self, sid: str) -> float:
        doc = self.document
        i = doc.index_of(sid)
        return doc.shapes[i].z * 1e6 + i

    def may_edit(self) -> bool:
        if self.read_only_reason:
            self.message.emit(f"read-only: {self.read_only_reason}")
            return False
        return self.document is not None

    def commit_new_shape(self, kind: str, points: Sequence[tuple[float, float]]) -> Shape | None:
        if not self.may_edit():
            return None
        if not self.current_label:
            self.message.emit("choose or add a class first")
            return None
        try:
            shape = Shape(kind, self.current_label, points)
        except InvalidShapeError as e:
            self.message.emit(f"not added: {e}")
            return None
        self.document.add_shape(shape)
        return shape

    # -- selection ---------------------------------------------------------------------------
    @property
    def selected_ids(self) -> list[str]:
        return list(self._selected)

    def select(self, ids: Sequence[str]) -> None:
        ids = [i for i in ids if i in self._items]
        if ids == self._selected:
            return
        self._selected = list(ids)
        for sid, item in self._items.items():
            item.set_selected_shape(sid in self._selected)
        self.selection_changed.emit(list(self._selected))

    # -- tools -----------------------------------------------------------------------------
    def set_tool(self, name: str) -> None:
        if name not in TOOLS:
            raise ValueError(f"unknown tool {name!r}; tools: {', '.join(TOOLS)}")
        self.tool.deactivate()
        self.tool = TOOLS[name](self)
        self.tool.activate()

    # -- display -----------------------------------------------------------------------------
    def set_opacity(self, opacity: float) -> None:
        self.opacity = min(1.0, max(0.0, opacity))
        for item in self._items.values():
            item.set_opacity_level(self.opacity)

    def set_class_visible(self, label: str, visible: bool) -> None:
        (self.hidden_classes.discard if visible else self.hidden_classes.add)(label)
        for item in self._items.values():
            if item.shape_data.label == label:
                item.setVisible(visible and not self.shapes_hidden)

    def set_shapes_hidden(self, hidden: bool) -> None:
        """Hide every shape overlay (or show them again); per-class visibility is kept."""
        self.shapes_hidden = bool(hidden)
        for item in self._items.values():
            item.setVisible(not hidden and item.shape_data.label not in self.hidden_classes)

    def show_display_image(self, image: QImage) -> None:
        """Show ``image`` in place of the image's pixels (a display adjustment: image_adjust.py)."""
        self._image_item.setPixmap(QPixmap.fromImage(image))

    @property
    def scale_factor(self) -> float:
        return self.transform().m11()

    def fit(self) -> None:
        self._fitted = True
        w, h = self.image_size
        if w and h:
            self.fitInView(QRectF(0, 0, w, h), Qt.AspectRatioMode.KeepAspectRatio)
        self.zoom_changed.emit(self.scale_factor)

    def actual_size(self) -> None:
        self._fitted = False
        self.resetTransform()
        self.zoom_changed.emit(self.scale_factor)

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zoom by ``factor`` keeping the image point under ``anchor`` (view pixels) in place."""
        target = min(MAX_SCALE, max(MIN_SCALE, self.scale_factor * factor))
        factor = target / self.scale_factor
        if abs(factor - 1.0) < 1e-9:
            return
        self._fitted = False
        if anchor is None:
            anchor = QPointF(self.viewport().rect().center())
        before = self.mapToScene(anchor.toPoint())
        self.scale(factor, factor)
        after = self.mapFromScene(before)
        delta = after - anchor.toPoint()
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + delta.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + delta.y())
        self.zoom_changed.emit(self.scale_factor)

    def image_to_view(self, x: float, y: float) -> QPoint:
        return self.mapFromScene(QPointF(x, y))

    # -- events ------------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fitted:
            self.fit()

    def _scene_xy(self, event) -> tuple[float, float]:
        p = self.mapToScene(event.position().toPoint())
        return p.x(), p.y()

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.MiddleButton or (
                event.button() == Qt.MouseButton.LeftButton and self._space_held):
            self._pan_from = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        if event.button() == Qt.MouseButton.LeftButton and self.document is not None:
            self.setFocus()
            self.tool.press(*self._scene_xy(event), event.modifiers())
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._pan_from is not None:
            pos = event.position().toPoint()
            d = pos - self._pan_from
            self._pan_from = pos
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - d.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - d.y())
            return
        x, y = self._scene_xy(event)
        self.cursor_moved.emit(x, y)
        if self.document is not None:
            self.tool.move(x, y)

    def mouseReleaseEvent(self, event) -> None:
        if self._pan_from is not None and event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self._pan_from = None
            self.tool.activate()
            return
        if event.button() == Qt.MouseButton.LeftButton and self.document is not None:
            self.tool.release(*self._scene_xy(event))
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.document is not None:
            self.tool.double_click(*self._scene_xy(event))
            return
        super().mouseDoubleClickEvent(event)

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(WHEEL_STEP ** steps, event.position())
        event.accept()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self._space_held = True
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            return
        if self.document is not None and self.tool.key_press(event.key()):
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = False
            self._pan_from = None
            self.tool.activate()
            return
        super().keyReleaseEvent(event)
