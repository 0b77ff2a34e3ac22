"""Pixel classifier live preview: while on, the pixel classifier is trained in a worker on the
project's labels (the shown image's unsaved scribbles included) and its prediction for the shown
image is drawn over it as a translucent overlay, or its uncertainty (1 - max p) as a heat map.
Edits to the shown image retrain it after a short pause (debounced); answers for an image or
an edit no longer shown are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QGraphicsPixmapItem

from ...core.annotation import ImageAnnotation
from ..workers import Worker

#: at most this many other labelled images train the preview (besides the shown one)
OTHER_IMAGES = 8
DEBOUNCE_MS = 700
OVERLAY_OPACITY = 0.45


def tr(text: str) -> str:
    return QCoreApplication.translate("train", text)


@dataclass
class Preview:
    key: str
    serial: int
    model: object  # the PixelClassifier it trained
    image: np.ndarray  # the shown image, as predicted
    labels: np.ndarray  # (H, W) class index per pixel
    uncertainty: np.ndarray  # (H, W) 1 - max p


def train_preview(project, key: str, ann: ImageAnnotation, serial: int, features=None,
                  n_estimators: int = 25, max_samples_per_class: int = 5000) -> Preview:
    """Train a pixel classifier on ``ann`` (the shown image, as edited) and up to OTHER_IMAGES
    other labelled images, then predict the shown image. Runs in a worker."""
    from ...core.images import read_image
    from ...train.dataset import LabelSpace, has_labels, iter_samples, target_for
    from ...train.pixel_classifier import FeatureSettings, PixelClassifier

    space = LabelSpace.from_schema(project.schema)
    image = read_image(project.image_path(key))
    samples = []
    if has_labels(ann) and image.shape[:2] == (ann.height, ann.width):
        samples.append((image, target_for(ann, space)[0]))
    others = [k for k in project.image_keys() if k != key]
    samples += [(s.image, s.target) for s in iter_samples(project, others, space, max_images=OTHER_IMAGES)]
    model = PixelClassifier(space.names, features or FeatureSettings(scale=0.5), n_estimators=n_estimators,
                            max_samples_per_class=max_samples_per_class)
    model.fit(samples)
    labels, _, uncertainty = model.predict(image)
    return Preview(key, serial, model, image, labels, uncertainty)


class LivePreview(QObject):
    #: a new preview is shown (the Preview)
    updated = Signal(object)

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.canvas = window.canvas
        self.enabled = False
        self.show_uncertainty = False
        self.features = None  # FeatureSettings for the preview's classifier (None: scale 0.5)
        self.preview: Preview | None = None
        self.error = ""
        self.item = QGraphicsPixmapItem()
        self.item.setZValue(-1e8)  # over the image, under every shape
        self.item.setOpacity(OVERLAY_OPACITY)
        self.item.setVisible(False)
        self.canvas.scene().addItem(self.item)
        self.worker = Worker(1, self)
        self._serial = 0
        self._doc = None
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(DEBOUNCE_MS)
        self.timer.timeout.connect(self.refresh)

    def attach(self, session) -> None:
        session.image_opened.connect(self._on_image_opened)

    # -- switching ------------------------------------------------------------------------------
    def set_enabled(self, on: bool) -> None:
        self.enabled = bool(on)
        if self.enabled:
            self._follow_document()
            self.refresh()
        else:
            self.timer.stop()
            self._serial += 1  # answers on their way are dropped
            self.item.setVisible(False)
        self.window.show_message(tr("Live preview on: training the pixel classifier...") if self.enabled
                                 else tr("Live preview off"))

    def set_show_uncertainty(self, on: bool) -> None:
        self.show_uncertainty = bool(on)
        self._draw()

    def _on_image_opened(self, _key: str) -> None:
        self.item.setVisible(False)
        self.preview = None
        if self.enabled:
            self._follow_document()
            self.refresh()

    def _follow_document(self) -> None:
        doc = self.window.session.document if self.window.session is not None else None
        if doc is self._doc:
            return
        if self._doc is not None:
            self._doc.changed.disconnect(self._on_edit)
        self._doc = doc
        if doc is not None:
            doc.changed.connect(self._on_edit)

    def _on_edit(self, _text: str = "") -> None:
        if self.enabled:
            self.timer.start()  # restarts: retrain once the edits pause

    # -- training -------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.worker.busy or self.timer.isActive()

    def refresh(self) -> None:
        """Retrain and predict the shown image in the worker (a newer request wins)."""
        session = self.window.session
        if not self.enabled or session is None or session.document is None or session.key is None:
            return
        if self.worker.busy:  # one at a time: ask again when the running one answers
            self.timer.start()
            return
        self._serial += 1
        serial, key, project = self._serial, session.key, session.project
        ann = session.document.annotation.copy()
        features = self.features
        self.worker.submit(lambda: train_preview(project, key, ann, serial, features), self._arrived, self._failed)

    def _arrived(self, preview: Preview) -> None:
        session = self.window.session
        if not self.enabled or preview.serial != self._serial or session is None or session.key != preview.key:
            return
        self.preview, self.error = preview, ""
        self._draw()
        self.updated.emit(preview)

    def _failed(self, error: BaseException) -> None:
        self.error = str(error).splitlines()[0] if str(error) else type(error).__name__
        self.item.setVisible(False)
        self.window.show_message(tr("Live preview: {0}").format(self.error))

    def _draw(self) -> None:
        p = self.preview
        if p is None or not self.enabled:
            self.item.setVisible(False)
            return
        h, w = p.labels.shape
        rgba = np.zeros((h, w, 4), np.uint8)
        if self.show_uncertainty:
            u = np.clip(p.uncertainty / max(1e-6, float(1 - 1 / max(2, p.model.num_classes))), 0, 1)
            rgba[..., 0] = 255
            rgba[..., 2] = 255
            rgba[..., 3] = (u * 255).astype(np.uint8)
        else:
            lut = np.array([(*self.canvas.color_of(n), 255) for n in p.model.class_names], np.uint8)
            rgba = lut[p.labels]
        image = QImage(np.ascontiguousarray(rgba).data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
        self.item.setPixmap(QPixmap.fromImage(image))
        self.item.setVisible(True)

    def shutdown(self) -> None:
        self.timer.stop()
        self.enabled = False
        self.worker.shutdown()
