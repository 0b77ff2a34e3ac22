"""Scene items that draw one document shape each. Items are views: they never edit the shape."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QImage, QPainterPath, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsItem, QGraphicsPathItem, QGraphicsPixmapItem, \
    QGraphicsRectItem

from ..core import geometry
from ..core.shapes import CIRCLE, LINE, LINESTRIP, MASK, POINT, POLYGON, RECTANGLE, SCRIBBLE, Shape
from .proposal_style import proposal_brush, proposal_mask_alpha, proposal_pen
from .view_options import mask_border

HANDLE_PX = 7  # vertex handle size in screen pixels
POINT_PX = 8  # point marker diameter in screen pixels


def _polygon(points: np.ndarray) -> QPolygonF:
    xs, ys = np.asarray(points, dtype=float).T.tolist()  # plain floats: twice as fast as numpy scalars
    return QPolygonF(list(map(QPointF, xs, ys)))


def shape_path(shape: Shape) -> QPainterPath:
    """The outline of a shape in image coordinates (empty for points and masks)."""
    path = QPainterPath()
    path.setFillRule(Qt.FillRule.OddEvenFill)
    if shape.kind == POLYGON:
        path.addPolygon(_polygon(shape.points))
        path.closeSubpath()
        for hole in shape.holes:
            path.addPolygon(_polygon(hole))
            path.closeSubpath()
    elif shape.kind == RECTANGLE:
        (x0, y0), (x1, y1) = shape.points
        path.addRect(QRectF(QPointF(x0, y0), QPointF(x1, y1)).normalized())
    elif shape.kind == CIRCLE:
        c = shape.points[0]
        r = float(np.hypot(*(shape.points[1] - c)))
        path.addEllipse(QPointF(float(c[0]), float(c[1])), r, r)
    elif shape.kind in (LINE, LINESTRIP, SCRIBBLE):
        path.addPolygon(_polygon(shape.points))
    return path


def _mask_pixmap(rle: dict, color: QColor, opacity: float, outline: bool = False,
                 proposal: bool = False) -> tuple[QPixmap, int, int]:
    x0, y0, w, h = (int(v) for v in geometry.rle_bbox(rle))  # from the RLE, without scanning pixels
    if w == 0 or h == 0:
        return QPixmap(), 0, 0
    crop = geometry.rle_decode(rle)[y0:y0 + h, x0:x0 + w]
    rgba = np.zeros(crop.shape + (4,), np.uint8)
    if proposal:  # hatched, lighter, with a dashed border (proposal_style.py)
        color = color.lighter(140)
        border = mask_border(crop)
        rgba[..., 3] = proposal_mask_alpha(np.zeros_like(crop) if outline else crop, border, x0, y0, opacity)
        crop = crop | border
    elif outline:
        crop, opacity = mask_border(crop), 1.0
    if not proposal:
        rgba[crop, 3] = int(round(255 * opacity))
    rgba[crop, :3] = (color.red(), color.green(), color.blue())
    img = QImage(rgba.data, rgba.shape[1], rgba.shape[0], rgba.shape[1] * 4, QImage.Format.Format_RGBA8888)
    return QPixmap.fromImage(img.copy()), int(x0), int(y0)


class ShapeItem(QGraphicsPathItem):
    """Draws one shape: a cosmetic outline, a translucent fill for areas, handles when selected."""

    def __init__(self, shape: Shape, color: tuple[int, int, int], opacity: float, fill: bool = True) -> None:
        super().__init__()
        self.shape_data = shape
        self.fill = fill  # False: outline only
        self._color = QColor(*color)
        self._opacity = opacity
        self._selected = False
        self._low_detail = False  # zoomed out: 1-px outlines, which Qt strokes far faster than 2-px ones
        self._handles: list[QGraphicsItem] = []
        self._marker: QGraphicsEllipseItem | None = None
        self._mask: QGraphicsPixmapItem | None = None
        self.setPath(shape_path(shape))
        if shape.kind == POINT:
            r = POINT_PX / 2
            self._marker = QGraphicsEllipseItem(-r, -r, 2 * r, 2 * r, self)
            self._marker.setPos(float(shape.points[0][0]), float(shape.points[0][1]))
            self._marker.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self._restyle()

    @property
    def is_selected_shape(self) -> bool:
        return self._selected

    def set_opacity_level(self, opacity: float) -> None:
        self._opacity = opacity
        self._restyle()

    def set_low_detail(self, low: bool) -> None:
        if low != self._low_detail:
            self._low_detail = low
            self._restyle()

    def set_selected_shape(self, selected: bool) -> None:
        if selected == self._selected:
            return
        self._selected = selected
        self._restyle()

    def handle_positions(self) -> np.ndarray:
        return self.shape_data.points if self.shape_data.kind != MASK else np.zeros((0, 2))

    def _restyle(self) -> None:
        s = self.shape_data
        pen = QPen(self._color.lighter(130) if self._selected else self._color)
        if s.kind == SCRIBBLE:
            pen.setWidthF(max(s.width, 1.0))
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
            c = QColor(self._color)
            c.setAlphaF(max(0.2, self._opacity))
            pen.setColor(c)
        else:
            pen.setWidthF(3.0 if self._selected else (1.0 if self._low_detail else 2.0))
            pen.setCosmetic(True)
        if s.weak and s.kind != SCRIBBLE:
            pen.setStyle(Qt.PenStyle.DashLine)  # a weak label (e.g. a weak box), not an outline
        proposal = self.is_proposal = s.is_proposal
        if proposal:
            pen = proposal_pen(pen)
        if s.kind == MASK:
            pen = QPen(Qt.PenStyle.NoPen)
        self.setPen(pen)
        fill = QColor(self._color)
        fill.setAlphaF(min(1.0, self._opacity + (0.15 if self._selected else 0.0)))
        filled = self.fill and s.kind in (POLYGON, RECTANGLE, CIRCLE)
        if filled and proposal:
            self.setBrush(proposal_brush(self._color, self._opacity + (0.15 if self._selected else 0.0)))
        else:
            self.setBrush(QBrush(fill) if filled else QBrush(Qt.BrushStyle.NoBrush))
        if self._marker is not None:
            self._marker.setPen(QPen(Qt.GlobalColor.white if self._selected else Qt.GlobalColor.black, 1))
            self._marker.setBrush(QBrush(self._color))
        if s.kind == MASK:
            if self._mask is None:
                self._mask = QGraphicsPixmapItem(self)
            pm, x0, y0 = _mask_pixmap(s.rle, self._color, min(1.0, self._opacity + (0.2 if self._selected else 0)),
                                      outline=not self.fill, proposal=proposal)
            self._mask.setPixmap(pm)
            self._mask.setPos(x0, y0)
        self._update_handles()

    def _update_handles(self) -> None:
        for h in self._handles:
            h.setParentItem(None)
            if h.scene() is not None:
                h.scene().removeItem(h)
        self._handles = []
        if not self._selected:
            return
        r = HANDLE_PX / 2
        for x, y in self.handle_positions():
            h = QGraphicsRectItem(-r, -r, 2 * r, 2 * r, self)
            h.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            h.setPos(float(x), float(y))
            h.setPen(QPen(Qt.GlobalColor.black, 1))
            h.setBrush(QBrush(Qt.GlobalColor.white))
            self._handles.append(h)
