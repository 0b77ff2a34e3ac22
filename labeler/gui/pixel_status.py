"""The status bar's pixel readout: the value of the image pixel under the cursor.

An ordinary image is a QImage: its pixel is read at once. A huge image shown through a
:class:`~labeler.core.tiles.TileSource` is read through the source, never decoded whole: a pixel
at hand (memory-mapped, or in a TIFF segment decoded already for the tiles on screen) is read on
the GUI thread; any other is read in one worker thread ("RGB …" until it arrives; only the
latest cursor position is read, one read at a time). A pixel that only a whole decode could give
(a huge PNG before its pyramid cache exists) shows nothing.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QCoreApplication, QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel

from ..core.errors import LabelerError
from ..core.tiles import TileSource


def _tr(text: str) -> str:
    return QCoreApplication.translate("status", text)


class _Bridge(QObject):
    read = Signal(object, object)  # (source, x, y), RGB tuple or None


class _PixelRead(QRunnable):
    def __init__(self, bridge: _Bridge, source: TileSource, x: int, y: int) -> None:
        super().__init__()
        self.bridge, self.source, self.x, self.y = bridge, source, x, y

    def run(self) -> None:
        try:
            rgb = self.source.read_region(0, self.x, self.y, self.x + 1, self.y + 1)[0, 0, :3]
            value = tuple(int(v) for v in rgb)
        except (LabelerError, OSError, ValueError, IndexError):
            value = None
        self.bridge.read.emit((self.source, self.x, self.y), value)


class PixelStatus:
    def __init__(self, window) -> None:
        self.window = window
        self.label = QLabel(window)
        self.label.setObjectName("pixel_label")
        window.statusBar().addPermanentWidget(self.label)
        self.pool = QThreadPool()
        self.pool.setMaxThreadCount(1)
        self.bridge = _Bridge()
        self.bridge.read.connect(self._on_read)
        self.wanted: tuple[TileSource, int, int] | None = None  # the pixel the label waits for
        self.reading: tuple[TileSource, int, int] | None = None  # the pixel the worker reads
        self.worker_reads = 0  # for tests
        window.canvas.cursor_moved.connect(self.show_at)

    def _image(self):
        session = self.window.session
        return session.image if session is not None else None

    def value_at(self, x: float, y: float) -> tuple[int, int, int] | None:
        """The RGB value at image pixel (x, y) if it is at hand now; None off the image, or for a
        tiled image whose pixel would have to be read first (see the module)."""
        image = self._image()
        ix, iy = int(math.floor(x)), int(math.floor(y))
        if isinstance(image, QImage):
            if image.isNull() or not (0 <= ix < image.width() and 0 <= iy < image.height()):
                return None
            c = image.pixelColor(ix, iy)
            return c.red(), c.green(), c.blue()
        if isinstance(image, TileSource):
            w, h = image.size
            return image.cached_pixel(ix, iy) if 0 <= ix < w and 0 <= iy < h else None
        return None

    def show_at(self, x: float, y: float) -> None:
        self.wanted = None
        v = self.value_at(x, y)
        if v is not None:
            self.label.setText(_tr("RGB {0}, {1}, {2}").format(*v))
            return
        image = self._image()
        ix, iy = int(math.floor(x)), int(math.floor(y))
        if (isinstance(image, TileSource) and image.pixel_readable
                and 0 <= ix < image.width and 0 <= iy < image.height):
            self.wanted = (image, ix, iy)
            self.label.setText(_tr("RGB …"))
            self._read_next()
            return
        self.label.setText("")

    def _read_next(self) -> None:
        if self.reading is None and self.wanted is not None:
            self.reading = self.wanted
            self.worker_reads += 1
            self.pool.start(_PixelRead(self.bridge, *self.wanted))

    def _on_read(self, pixel, value) -> None:
        self.reading = None
        if pixel == self.wanted:
            self.wanted = None
            self.label.setText("" if value is None else _tr("RGB {0}, {1}, {2}").format(*value))
        self._read_next()  # the cursor moved on meanwhile: read where it is now

    def wait_idle(self, msecs: int = 5000) -> bool:
        """Block until the worker's read ends (tests); its result arrives through the event loop."""
        return self.pool.waitForDone(msecs)
