"""The status bar's pixel readout: the value of the image pixel under the cursor."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QLabel


class PixelStatus:
    def __init__(self, window) -> None:
        self.window = window
        self.label = QLabel(window)
        self.label.setObjectName("pixel_label")
        window.statusBar().addPermanentWidget(self.label)
        window.canvas.cursor_moved.connect(self.show_at)

    def value_at(self, x: float, y: float) -> tuple[int, int, int] | None:
        session = self.window.session
        image = session.image if session is not None else None
        if image is None or image.isNull():
            return None
        ix, iy = int(x), int(y)
        if not (0 <= ix < image.width() and 0 <= iy < image.height()):
            return None
        c = image.pixelColor(ix, iy)
        return c.red(), c.green(), c.blue()

    def show_at(self, x: float, y: float) -> None:
        v = self.value_at(x, y)
        self.label.setText("" if v is None else QCoreApplication.translate("status", "RGB {0}, {1}, {2}").format(*v))
