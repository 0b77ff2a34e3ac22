"""The labeling session: which image is open, its document, saving and autosave.

Work is never dropped: leaving an image saves it, a timer autosaves, and an image whose file
could not be read whole is opened read-only (its file is never overwritten with less).
With ``background_loading`` (the application's choice) every image, the first one included, is
read in a worker (image_loader.py) and the one after it prefetched; file statuses come from a
status index (core/status_index.py) instead of parsing every annotation on open. Saves are
written in a writer thread (save_queue.py): the document counts as saved once its write is done.
The documents of the images left lately are kept with their undo history and given back when the
image is opened again and its file is unchanged (document_cache.py).
With ``background_open`` (the application's choice) the folder scan and the status look-up run in
a worker too (project_open.py): ``keys_ready`` says when the keys are known, ``statuses_refreshed``
brings the statuses. The done count is kept as statuses change and counted again only when the
index is read.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, QTimer
from PySide6.QtGui import QImage

from ..core.events import Signal
from ..core.annotation import ImageAnnotation
from ..core.document import Document
from ..core.project import Project
from ..core.status_index import StatusIndex
from ..core.tiles import TileSource
from .document_cache import DocumentCache
from .image_loader import ImageLoader, LoadedImage, load_image
from .project_open import ProjectOpener
from .save_queue import SessionSaver
from .status_refresh import StatusRefresher

DEFAULT_AUTOSAVE_S = 30.0
DONE_STATUSES = ("done", "reviewed")


def to_qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class LabelingSession(QObject):
    def __init__(self, project: Project, autosave_s: float | None = None, parent=None,
                 background_loading: bool = False, background_open: bool = False) -> None:
        super().__init__(parent)
        # plain-callback signals (labeler.core.events), the same kind the document emits
        self.image_opened = Signal()  # (str) key
        self.status_changed = Signal()  # (str, str) key, status
        self.saved = Signal()  # (str) key
        self.message = Signal()  # (str) one-line note for the user
        self.dirty_changed = Signal()  # (bool)
        self.keys_ready = Signal()  # () the keys are known (background_open: after the scan)
        self.first_key_ready = Signal()  # () background_open: keys holds the first key alone, scan going on
        self.project = project
        self.index = -1
        self.document: Document | None = None
        self.image: QImage | None = None
        self.read_only_reason = ""
        self.loader = ImageLoader(project, self._show_loaded) if background_loading else None
        self.saving = SessionSaver(self)  # annotation files are written in a worker (save_queue.py)
        self.documents = DocumentCache()  # images left lately keep their undo history (document_cache.py)
        self.statuses_refreshed = Signal()  # (dict) key -> status, once stale index entries are read
        self.status_progress = Signal()  # (int, int) stale statuses read so far, of how many
        self.status_index = StatusIndex(project)  # .labeler/status.json: no JSON parsed for known files
        self.status_refresher: StatusRefresher | None = None  # reads stale statuses; can be cancelled
        self._done = 0  # images done or reviewed, kept as statuses change (done_count)
        self.opener: ProjectOpener | None = None  # scans and looks up in a worker (background_open)
        if background_open:
            self.keys, self.statuses = [], {}
            self.opener = ProjectOpener(project, self.status_index, self._on_keys_found, self._on_looked_up,
                                        self._on_first_key)
        else:
            self.keys = project.image_keys()
            self._take_statuses(*self.status_index.lookup(self.keys))
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

    def _take_statuses(self, statuses: dict, stale: list) -> None:
        """The index was read: these are every key's statuses (the done count is counted again)."""
        self.statuses = statuses
        self._done = sum(1 for s in statuses.values() if s in DONE_STATUSES)
        if stale and (self.loader is not None or self.opener is not None):
            self.status_refresher = StatusRefresher(self.status_index, stale, self.status_progress.emit,
                                                    self._on_statuses_read)
        elif stale:
            self._update_statuses(self.status_index.refresh(stale))
            self.status_index.save()

    def _update_statuses(self, statuses: dict) -> None:
        done = DONE_STATUSES
        for key, status in statuses.items():
            self._done += (status in done) - (self.statuses.get(key) in done)
            self.statuses[key] = status

    def _on_first_key(self, key: str) -> None:
        """The first key, before the scan ends (background_open): it can be opened already."""
        if not self.keys:
            self.keys, self.statuses = [key], {key: "unknown"}
            self.first_key_ready.emit()

    def _on_keys_found(self, keys: list[str]) -> None:
        """The scan's keys (background_open): statuses show as not read until they are looked up;
        the image opened from the first key alone keeps its place (found again by its key)."""
        shown, edited = self.key, {k: s for k, s in self.statuses.items() if s != "unknown"}
        if shown is not None and shown not in set(keys):
            keys = sorted([*keys, shown])  # the image shown (and maybe edited) stays reachable
        self.keys = keys
        self.statuses = dict.fromkeys(keys, "unknown")
        self._done = 0
        self._update_statuses({k: s for k, s in edited.items() if k in self.statuses})
        if shown is not None:
            self.index = keys.index(shown)
        self.keys_ready.emit()

    def _on_looked_up(self, statuses: dict, stale: list, error: BaseException | None = None) -> None:
        for key, status in self.statuses.items():
            if status != "unknown":  # edited while the files were stat-ed: shown as edited
                statuses[key] = status
        self._take_statuses(statuses, stale)
        self.statuses_refreshed.emit(dict(statuses))
        if error is not None:
            self.message.emit(f"could not read {self.project.root}: {error}")

    def _on_statuses_read(self, statuses: dict, cancelled: bool = False) -> None:
        if self.key in statuses and self.document is not None:
            statuses[self.key] = self.document.annotation.status  # the open one is shown as edited
        self._update_statuses(statuses)
        self.status_index.save()
        self.statuses_refreshed.emit(dict(statuses))
        if cancelled:
            left = sum(1 for s in self.statuses.values() if s == "unknown")
            self.message.emit(f"stopped reading statuses: {left} image(s) show as not read")

    def done_count(self) -> int:
        return self._done

    # -- navigation -------------------------------------------------------------------------
    def open_index(self, index: int) -> bool:
        """Save the current image if needed, then open image ``index``. False if it cannot leave.
        With a background loader the reading happens in a worker and ``image_opened`` follows."""
        if not 0 <= index < len(self.keys):
            return False
        if index == self.index:
            if self.loader is not None:
                self.loader.cancel()  # went back to the shown image while another one loaded
            return True
        if not self.save_if_dirty(wait=False):
            return False
        if not self.saving.wait_for(self.keys[index]):  # its file is read next: its write finishes first
            self.message.emit(QCoreApplication.translate("saving", "still writing {0}; try again in a moment")
                              .format(self.keys[index]))
            return False
        if self.loader is None:  # with a loader, the first image too is read in its worker
            self._show_loaded(load_image(self.project, index, self.keys[index]))
        else:
            self.loader.request(index, self.keys[index])
        return True

    @property
    def loading_index(self) -> int | None:
        """The image being read in the background (None when none is)."""
        return self.loader.wanted[0] if self.loader is not None and self.loader.busy else None

    def _show_loaded(self, loaded: LoadedImage) -> None:
        if not self.save_if_dirty(wait=False):  # edits made while it was loading
            return
        if self.document is not None and self.key is not None:  # kept unless it was read-only
            self.documents.left(self.key, self.document, self.project.schema.names(), not self.read_only_reason)
        key = loaded.key
        self.read_only_reason = self.project.lock_warning if self.project.read_only else ""
        ann, problems = loaded.annotation, loaded.problems
        if problems:
            self.read_only_reason = f"opened read-only so nothing is lost: {problems[0]}"
            self.message.emit(self.read_only_reason)
        self.image = loaded.image
        if loaded.error:
            self.message.emit(loaded.error)
        if ann is None:
            size = self.image.size if isinstance(self.image, TileSource) else (
                (self.image.width(), self.image.height()) if self.image is not None else (1, 1))
            ann = ImageAnnotation(key, *size)
        if key in self.saving.failed:  # its failed edits are put back into a fresh document below
            self.documents.drop(key)
        kept = self.documents.reuse(key, loaded.digest, self.project.schema.names()) if not problems else None
        self._set_document(kept if kept is not None else Document(ann))
        self.documents.opened(key, self.document, loaded.digest)
        self.index = loaded.index
        if not (0 <= self.index < len(self.keys) and self.keys[self.index] == key) and key in self.keys:
            self.index = self.keys.index(key)  # read while the scan's keys came in (background_open)
        if loaded.stamps:
            self.saving.opened(key, loaded.stamps[0])  # a later change by someone else is noticed
        self.saving.reapply_failed(key, self.document)
        self.image_opened.emit(key)
        if self.loader is not None and self.index + 1 < len(self.keys):
            self.loader.prefetch(self.index + 1, self.keys[self.index + 1])

    def go_relative(self, step: int) -> bool:
        if not self.keys:
            return False
        start = self.loading_index if self.loading_index is not None else max(0, self.index)
        return self.open_index(min(len(self.keys) - 1, max(0, start + step)))

    def reload(self) -> bool:
        """Read the shown image's annotation again (a job wrote it). Saves unsaved edits first."""
        if self.key is None or not self.save_if_dirty():
            return False
        self._show_loaded(load_image(self.project, self.index, self.key))
        return True

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
            self._update_statuses({key: status})
            self.status_changed.emit(key, status)

    # -- saving -------------------------------------------------------------------------------
    @property
    def dirty(self) -> bool:
        return self.document is not None and self.document.dirty

    def save(self, wait: bool = False) -> bool:
        """Write the current image's annotation: a snapshot goes to the writer thread (``saved``
        follows when it is on disk). False (with a message) when it cannot be saved; with
        ``wait``, also when the write failed."""
        if not self.saving.save():
            return False
        if wait:
            self.saving.flush()
            return self.saving.succeeded(self.key)
        return True

    def flush_saves(self) -> bool:
        """Wait for the writes asked so far (before reading the files); False if any failed."""
        return self.saving.flush()

    def save_if_dirty(self, wait: bool = True) -> bool:
        """Save when there are unsaved edits; True when nothing is left unsaved (or unsaveable).
        ``wait``: the file is on disk when it returns (jobs that read it next ask for that);
        without, the write is only queued (leaving an image). With ``wait`` the writes of other
        images still queued finish too (a job reading the files comes next)."""
        # not dirty, yet a write of it on its way: it may hold edits undone since, so this follows it
        unsaved = self.dirty or (self.key is not None and self.saving.pending(self.key))
        if not unsaved or self.read_only_reason:  # read-only: the canvas refuses edits
            if not self.dirty and self.key is not None:
                self.saving.forget_failed(self.key)  # as on disk again (undone): never put back
            if wait and not self.saving.queue.flush(self.saving.FLUSH_MS):
                return False  # still writing after a long wait: the files must not be read yet
            return True
        return self.save(wait)

    def autosave(self) -> None:
        if self.dirty and not self.read_only_reason:
            self.saving.save(auto=True)  # "autosaved" is said when the write has finished

    def close(self) -> bool:
        """Write everything pending (waiting for the writer); False when something is not saved."""
        self.autosave_timer.stop()
        ok = self.save_if_dirty(wait=False)
        ok = self.saving.close() and ok
        if not ok:  # refused: the session goes on, autosave included
            self.autosave_timer.start()
            return False
        if self.loader is not None:
            self.loader.shutdown()
        if self.opener is not None:
            self.opener.shutdown()  # a scan still running stops at its next chunk
        if self.status_refresher is not None:
            self.status_refresher.shutdown()  # closing need not wait for a whole big folder
        self.status_index.save()
        return ok
