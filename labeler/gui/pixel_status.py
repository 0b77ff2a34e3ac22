"""The status bar's pixel readout: the value of the image pixel under the cursor."""

from __future__ import annotations

import math

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel


class PixelStatus:
    def __init__(self, window) -> None:
        self.window = window
        self.label = QLabel(window)
        self.label.setObjectName("pixel_label")
        window.statusBar().addPermanentWidget(self.label)
        window.canvas.cursor_moved.connect(self.show_at)

    def value_at(self, x: float, y: float) -> tuple[int, int, int] | None:
        """The RGB value at image pixel (x, y); None off the image, or for a huge compressed image
        whose full-resolution pixels are not at hand (no decoding on the GUI thread)."""
        session = self.window.session
        image = session.image if session is not None else None
        ix, iy = int(math.floor(x)), int(math.floor(y))
        if isinstance(image, QImage):
            if image.isNull() or not (0 <= ix < image.width() and 0 <= iy < image.height()):
                return None
            c = image.pixelColor(ix, iy)
            return c.red(), c.green(), c.blue()
        if getattr(image, "lazy", False):  # a tiled image read straight from its file (core.tiles)
            w, h = image.size
            if not (0 <= ix < w and 0 <= iy < h):
                return None
            return tuple(int(v) for v in image.read_region(0, ix, iy, ix + 1, iy + 1)[0, 0, :3])
        return None

    def show_at(self, x: float, y: float) -> None:
        v = self.value_at(x, y)
        self.label.setText("" if v is None else QCoreApplication.translate("status", "RGB {0}, {1}, {2}").format(*v))
