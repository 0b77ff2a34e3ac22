"""The labeling session: which image is open, its document, saving and autosave.

Work is never dropped: leaving an image saves it, a timer autosaves, and an image whose file
could not be read whole is opened read-only (its file is never overwritten with less).
Disk reads for the next image happen on the GUI thread in this first slice (a few ms for
ordinary photos).
"""

from __future__ import annotations

import json

import numpy as np
from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QImage

from ..core.events import Signal
from ..core.annotation import ImageAnnotation
from ..core.document import Document
from ..core.errors import LabelerError
from ..core.images import read_image
from ..core.project import Project

DEFAULT_AUTOSAVE_S = 30.0
DONE_STATUSES = ("done", "reviewed")


def to_qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class LabelingSession(QObject):
    def __init__(self, project: Project, autosave_s: float | None = None, parent=None) -> None:
        super().__init__(parent)
        # plain-callback signals (labeler.core.events), the same kind the document emits
        self.image_opened = Signal()  # (str) key
        self.status_changed = Signal()  # (str, str) key, status
        self.saved = Signal()  # (str) key
        self.message = Signal()  # (str) one-line note for the user
        self.dirty_changed = Signal()  # (bool)
        self.project = project
        self.keys = project.image_keys()
        self.index = -1
        self.document: Document | None = None
        self.image: QImage | None = None
        self.read_only_reason = ""
        self.statuses = {k: self._status_on_disk(k) for k in self.keys}
        interval = autosave_s if autosave_s is not None else float(
            project.settings.get("autosave_interval_s", DEFAULT_AUTOSAVE_S))
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(max(1, int(interval * 1000)))
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()

    # -- reading ----------------------------------------------------------------------------
    @property
    def key(self) -> str | None:
        return self.keys[self.index] if 0 <= self.index < len(self.keys) else None

    def _status_on_disk(self, key: str) -> str:
        path = self.project.annotation_path(key)
        if not path.is_file():
            return "new"
        try:
            d = json.loads(path.read_text("utf-8"))
            return str((d.get("labeler") or {}).get("status", "new"))
        except (OSError, ValueError, AttributeError):
            return "unreadable"

    def done_count(self) -> int:
        return sum(1 for s in self.statuses.values() if s in DONE_STATUSES)

    # -- navigation -------------------------------------------------------------------------
    def open_index(self, index: int) -> bool:
        """Save the current image if needed, then open image ``index``. False if it cannot leave."""
        if not 0 <= index < len(self.keys):
            return False
        if index == self.index:
            return True
        if not self.save_if_dirty():
            return False
        key = self.keys[index]
        self.read_only_reason = self.project.lock_warning if self.project.read_only else ""
        try:
            ann, problems = self.project.load_with_problems(key, strict=False)
        except LabelerError as e:
            ann, problems = None, [str(e)]
        if problems:
            self.read_only_reason = f"opened read-only so nothing is lost: {problems[0]}"
            self.message.emit(self.read_only_reason)
        try:
            self.image = to_qimage(read_image(self.project.image_path(key)))
        except LabelerError as e:
            self.image = None
            self.message.emit(str(e))
        if ann is None:
            w, h = (self.image.width(), self.image.height()) if self.image is not None else (1, 1)
            ann = ImageAnnotation(key, w, h)
        self._set_document(Document(ann))
        self.index = index
        self.image_opened.emit(key)
        return True

    def go_relative(self, step: int) -> bool:
        if not self.keys:
            return False
        start = 0 if self.index < 0 else self.index
        return self.open_index(min(len(self.keys) - 1, max(0, start + step)))

    def _set_document(self, doc: Document) -> None:
        if self.document is not None:
            self.document.dirty_changed.disconnect(self.dirty_changed.emit)
            self.document.changed.disconnect(self._on_changed)
        self.document = doc
        doc.dirty_changed.connect(self.dirty_changed.emit)
        doc.changed.connect(self._on_changed)
        self.dirty_changed.emit(doc.dirty)

    def _on_changed(self, _text: str = "") -> None:
        key, status = self.key, self.document.annotation.status
        if key is not None and self.statuses.get(key) != status:
            self.statuses[key] = status
            self.status_changed.emit(key, status)

    # -- saving -------------------------------------------------------------------------------
    @property
    def dirty(self) -> bool:
        return self.document is not None and self.document.dirty

    def save(self) -> bool:
        """Write the current image's annotation now. False (with a message) when it cannot."""
        doc, key = self.document, self.key
        if doc is None or key is None:
            return True
        if self.read_only_reason:
            self.message.emit(f"not saved: {self.read_only_reason}")
            return False
        ann = doc.annotation
        if ann.status == "new" and ann.shapes:
            ann.status = "in_progress"  # derived from the shapes, so not an undo step of its own
        try:
            self.project.save_annotation(key, ann)
        except (LabelerError, OSError) as e:
            self.message.emit(f"not saved: {e}")
            return False
        doc.mark_saved()
        self._on_changed()
        self.saved.emit(key)
        return True

    def save_if_dirty(self) -> bool:
        """Save when there are unsaved edits; True when nothing is left unsaved (or unsaveable)."""
        if not self.dirty:
            return True
        if self.read_only_reason:
            return True  # the canvas refuses edits to a read-only image, so nothing is pending
        return self.save()

    def autosave(self) -> None:
        if self.dirty and not self.read_only_reason:
            if self.save():
                self.message.emit(f"autosaved {self.key}")

    def close(self) -> bool:
        self.autosave_timer.stop()
        return self.save_if_dirty()
