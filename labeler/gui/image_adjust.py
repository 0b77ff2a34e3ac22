"""Brightness / contrast / gamma of the displayed image (labelme's Ctrl+Shift+B), with Auto
(a 1%-99% stretch per channel) and Reset.

Only the pixels on screen change: the canvas shows the image through a 256-entry LUT
(``core/display_adjust.py``), a huge tiled image draws each tile through it. The session's image,
the file on disk, exports, the assist engines and training never see it. On an image of more than
``WORKER_PIXELS`` the LUT runs in a worker (about 40-70 ms for 4000 x 3000 on 2 cores); the latest
setting wins and results for an older one or another image are dropped.

``ImageAdjustController`` lives on the main window as ``window.image_adjust``.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QCheckBox, QDialog, QFormLayout, QHBoxLayout, QLabel, QPushButton, QSlider

from ..core.display_adjust import DisplayAdjust, auto_levels, apply_lut, bgra_lut, make_lut
from ..core.tiles import TileSource
from . import user_settings
from .action_spec import ActionSpec

WORKER_PIXELS = 4_000_000  # above this the LUT runs off the GUI thread (measured ~3.6 ms per megapixel)
_V = "&View"
IMAGE_ADJUST_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("image_adjust", "&Brightness / Contrast...", "Ctrl+Shift+B", "image_adjust.show_panel", _V),
    ActionSpec("image_adjust_auto", "Auto Brightness / Contrast", None, "image_adjust.auto", _V),
    ActionSpec("image_adjust_reset", "Reset Brightness / Contrast", None, "image_adjust.reset", _V),
)


def tr(text: str) -> str:
    return QCoreApplication.translate("dialogs", text)


def qimage_pixels(image: QImage) -> np.ndarray:
    """An (H, W, 4) B, G, R, A array of ``image``'s pixels: a view of a 32-bit image (valid while
    ``image`` lives), a copy for other formats (converted first)."""
    if image.format() not in (QImage.Format.Format_RGB32, QImage.Format.Format_ARGB32):
        converted = image.convertToFormat(QImage.Format.Format_RGB32)
        return qimage_pixels(converted).copy()  # copied while ``converted`` still lives
    h, w = image.height(), image.width()
    rows = np.frombuffer(image.constBits(), np.uint8, count=h * image.bytesPerLine())
    return rows.reshape(h, image.bytesPerLine())[:, :w * 4].reshape(h, w, 4)


def adjusted_qimage(image: QImage, table: np.ndarray) -> QImage:
    """A new RGB32 image: ``image``'s pixels through ``table`` ((1, 256, 4), B G R A)."""
    out = apply_lut(qimage_pixels(image), table)
    h, w = out.shape[:2]
    return QImage(out.data, w, h, 4 * w, QImage.Format.Format_RGB32).copy()


class _Bridge(QObject):
    done = Signal(int, object)  # generation, adjusted QImage


class _LutJob(QRunnable):
    def __init__(self, bridge: _Bridge, generation: int, image: QImage, table: np.ndarray) -> None:
        super().__init__()
        self.bridge, self.generation, self.image, self.table = bridge, generation, image, table

    def run(self) -> None:
        self.bridge.done.emit(self.generation, adjusted_qimage(self.image, self.table))


class ImageAdjustController:
    def __init__(self, window) -> None:
        self.window = window
        self.canvas = window.canvas
        self.adjust = DisplayAdjust()
        self.panel: ImageAdjustPanel | None = None
        self._image: QImage | TileSource | None = None  # what the canvas shows, pixels as read
        self._adjusted_shown = False  # the canvas shows adjusted pixels of a plain image
        self._generation = 0
        self._busy = False
        self.pool = QThreadPool()
        self.pool.setMaxThreadCount(1)
        self.bridge = _Bridge()
        self.bridge.done.connect(self._on_done)
        self.canvas.image_shown.connect(self._on_image_shown)

    # -- what the user does ---------------------------------------------------------------------
    def show_panel(self) -> "ImageAdjustPanel":
        if self.panel is None:
            self.panel = ImageAdjustPanel(self, self.window)
        self.panel.sync()
        self.panel.show()
        self.panel.raise_()
        return self.panel

    def set_adjust(self, adjust: DisplayAdjust) -> None:
        if adjust == self.adjust:
            return
        self.adjust = adjust
        if self.panel is not None:
            self.panel.sync()
        self._apply()

    def auto(self) -> None:
        pixels = self._sample_pixels()
        if pixels is None:
            self.canvas.message.emit(QCoreApplication.translate("status", "no image pixels to adjust yet"))
            return
        self.set_adjust(auto_levels(pixels[..., 2::-1]))  # B, G, R, A -> R, G, B

    def reset(self) -> None:
        self.set_adjust(DisplayAdjust())

    # -- showing --------------------------------------------------------------------------------
    def _sample_pixels(self) -> np.ndarray | None:
        """The shown image's pixels (B, G, R, A) for Auto: a tiled image's coarsest tile."""
        image = self._image
        if isinstance(image, QImage) and not image.isNull():
            return qimage_pixels(image)
        if isinstance(image, TileSource):
            key = (image.levels - 1, 0, 0)
            tile = self.canvas.tiled_image.cache.get(key)
            if tile is not None:
                return qimage_pixels(tile)
            if image.readable_now(key[0]):
                rgb = image.read_tile(*key)
                return np.dstack([rgb[..., 2::-1], np.full(rgb.shape[:2], 255, np.uint8)])
        return None

    def _on_image_shown(self, image) -> None:
        self._image = image
        self._adjusted_shown = False  # the canvas has just shown the pixels as read
        if not user_settings.get("keep_image_adjustment") and not self.adjust.is_identity:
            self.adjust = DisplayAdjust()
            if self.panel is not None:
                self.panel.sync()
        self._apply()

    def _apply(self) -> None:
        self._generation += 1
        table = None if self.adjust.is_identity else bgra_lut(make_lut(self.adjust))
        self.canvas.tiled_image.set_display_lut(table)
        self._show_plain(table)

    def _show_plain(self, table: np.ndarray | None) -> None:
        """A plain (not tiled) image: its pixels through ``table`` (in a worker when large)."""
        image = self._image
        if not isinstance(image, QImage) or image.isNull():
            return
        if table is None:
            if self._adjusted_shown:
                self.canvas.show_display_image(image)
                self._adjusted_shown = False
        elif image.width() * image.height() <= WORKER_PIXELS:
            self._show(adjusted_qimage(image, table))
        elif not self._busy:  # else the running job's result is dropped and this one follows
            self._busy = True
            self.pool.start(_LutJob(self.bridge, self._generation, image, table))

    def _show(self, adjusted: QImage) -> None:
        self.canvas.show_display_image(adjusted)
        self._adjusted_shown = True

    def _on_done(self, generation: int, adjusted: QImage) -> None:
        self._busy = False
        if generation == self._generation:
            self._show(adjusted)
        else:  # the setting or the image changed meanwhile: the latest one
            self._show_plain(None if self.adjust.is_identity else bgra_lut(make_lut(self.adjust)))

    @property
    def busy(self) -> bool:
        return self._busy

    def shutdown(self) -> None:
        self.pool.clear()
        self.pool.waitForDone(5000)


class ImageAdjustPanel(QDialog):
    """Non-modal: sliders for brightness, contrast and gamma; Auto; Reset; keep for next image."""

    SLIDERS = (("brightness", "Brightness", -100, 100), ("contrast", "Contrast", 10, 400),
               ("gamma", "Gamma", 10, 500))  # slider units: hundredths

    def __init__(self, controller: ImageAdjustController, parent=None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.setObjectName("image_adjust_panel")
        self.setWindowTitle(tr("Brightness / Contrast"))
        self.setModal(False)
        form = QFormLayout(self)
        self.sliders: dict[str, QSlider] = {}
        self.value_labels: dict[str, QLabel] = {}
        for name, text, lo, hi in self.SLIDERS:
            slider = QSlider(Qt.Orientation.Horizontal, self)
            slider.setObjectName(f"adjust_{name}")
            slider.setRange(lo, hi)
            slider.valueChanged.connect(self._on_slider)
            label = QLabel(self)
            label.setMinimumWidth(40)
            row = QHBoxLayout()
            row.addWidget(slider)
            row.addWidget(label)
            form.addRow(tr(text), row)
            self.sliders[name], self.value_labels[name] = slider, label
        self.auto_button = QPushButton(tr("Auto"), self)
        self.auto_button.setToolTip(tr("Stretch each channel so that 1% of pixels are black and 1% white"))
        self.auto_button.clicked.connect(controller.auto)
        self.reset_button = QPushButton(tr("Reset"), self)
        self.reset_button.clicked.connect(controller.reset)
        buttons = QHBoxLayout()
        buttons.addWidget(self.auto_button)
        buttons.addWidget(self.reset_button)
        form.addRow(buttons)
        self.keep = QCheckBox(tr("Keep for the next image"), self)
        self.keep.setChecked(bool(user_settings.get("keep_image_adjustment")))
        self.keep.toggled.connect(lambda on: user_settings.put("keep_image_adjustment", bool(on)))
        form.addRow(self.keep)
        form.addRow(QLabel(tr("Only the display changes: saved labels, exports and models see the image as it is."),
                           self))
        self.sync()

    def sync(self) -> None:
        """Show the controller's current values (after Auto, Reset or another image)."""
        adj = self.controller.adjust
        for name, slider in self.sliders.items():
            value = getattr(adj, name)
            slider.blockSignals(True)
            slider.setValue(round(value * 100))
            slider.blockSignals(False)
            self.value_labels[name].setText(f"{value:.2f}")
        self.keep.blockSignals(True)
        self.keep.setChecked(bool(user_settings.get("keep_image_adjustment")))
        self.keep.blockSignals(False)

    def _on_slider(self, _value: int) -> None:
        values = {name: slider.value() / 100 for name, slider in self.sliders.items()}
        for name, value in values.items():
            self.value_labels[name].setText(f"{value:.2f}")
        self.controller.set_adjust(self.controller.adjust.with_(**values))
