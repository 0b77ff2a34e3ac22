"""A small live plot of a training run: train loss and val mIoU per epoch, painted with QPainter.

Loss is drawn against the left axis (scaled to its largest value), mIoU against the right one
(0..1). Points arrive one epoch at a time through :meth:`LossPlot.add_record`.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

LOSS_COLOR = QColor(220, 80, 60)
MIOU_COLOR = QColor(40, 120, 220)


class LossPlot(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("loss_plot")
        self.setMinimumSize(320, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.epochs: list[int] = []
        self.losses: list[float] = []
        self.mious: list[float | None] = []

    def clear(self) -> None:
        self.epochs, self.losses, self.mious = [], [], []
        self.update()

    def add_record(self, record: dict) -> None:
        """One epoch's record from training (``epoch``, ``train_loss``, ``val_mIoU``)."""
        self.epochs.append(int(record.get("epoch", len(self.epochs) + 1)))
        self.losses.append(float(record.get("train_loss", 0.0)))
        miou = record.get("val_mIoU")
        self.mious.append(None if miou is None else float(miou))
        self.update()

    def _plot_area(self) -> QRectF:
        return QRectF(self.rect()).adjusted(40, 10, -40, -24)

    def point_positions(self) -> tuple[list[QPointF], list[QPointF]]:
        """Widget coordinates of the loss and the mIoU points (what :meth:`paintEvent` joins)."""
        area = self._plot_area()
        if not self.epochs:
            return [], []
        first, last = self.epochs[0], max(self.epochs[-1], self.epochs[0] + 1)
        top_loss = max(max(self.losses), 1e-9)

        def x_of(epoch: int) -> float:
            return area.left() + area.width() * (epoch - first) / (last - first)

        loss = [QPointF(x_of(e), area.bottom() - area.height() * v / top_loss) for e, v in zip(self.epochs, self.losses)]
        miou = [QPointF(x_of(e), area.bottom() - area.height() * min(1.0, max(0.0, v)))
                for e, v in zip(self.epochs, self.mious) if v is not None]
        return loss, miou

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), self.palette().base())
        area = self._plot_area()
        p.setPen(QPen(self.palette().text().color(), 1))
        p.drawRect(area)
        tr = QCoreApplication.translate
        if not self.epochs:
            p.drawText(area, Qt.AlignmentFlag.AlignCenter, tr("train", "loss and val mIoU appear here per epoch"))
            p.end()
            return
        p.drawText(QRectF(area.left(), area.bottom() + 4, area.width(), 18), Qt.AlignmentFlag.AlignCenter,
                   tr("train", "epoch {0} to {1}").format(self.epochs[0], self.epochs[-1]))
        p.drawText(QRectF(0, area.top(), 38, 16), Qt.AlignmentFlag.AlignRight, f"{max(self.losses):.2f}")
        p.drawText(QRectF(area.right() + 2, area.top(), 38, 16), Qt.AlignmentFlag.AlignLeft, "1.0")
        loss, miou = self.point_positions()
        for points, color, name, row in ((loss, LOSS_COLOR, tr("train", "loss"), 0),
                                         (miou, MIOU_COLOR, tr("train", "val mIoU"), 1)):
            p.setPen(QPen(color, 2))
            if points:
                path = QPainterPath(points[0])
                for pt in points[1:]:
                    path.lineTo(pt)
                p.drawPath(path)
                for pt in points:
                    p.drawEllipse(pt, 2.5, 2.5)
            p.drawText(QRectF(area.left() + 6, area.top() + 4 + 16 * row, 120, 16), Qt.AlignmentFlag.AlignLeft, name)
        p.end()
