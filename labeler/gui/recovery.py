"""Crash recovery: unsaved edits are journaled to ``<project>/.labeler/recovery/`` and offered back.

While an image has unsaved edits, its annotation is written (atomically) to
``<project>/.labeler/recovery/<key>.json`` after every undo step and every few seconds (which also
catches a long stroke still in progress). The GUI thread only takes a snapshot (shapes are
immutable, so a list copy); :class:`JournalWriter` serialises and writes it in a worker thread,
newest snapshot wins when edits come faster than writes. A successful write of the image's newest
state, or undoing back to the saved state, removes the file (edits made while a save was written
replace it instead). When a project is opened and recovery files that differ from the saved
annotations exist, the window offers them back; accepted edits are put into the image's document
as one undo step (still unsaved), so the user sees them, can undo them, and saves them as usual.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from urllib.parse import quote, unquote

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtWidgets import QMessageBox

from ..core.annotation import (ImageAnnotation, from_labelme_dict, read_annotation, shape_to_labelme,
                               to_labelme_dict)
from ..core.document import Document
from ..core.errors import LabelerError
from ..core.fileio import write_bytes_atomic
from ..core.shapes import Shape
from .workers import Worker

RECOVERY_DIR = ".labeler/recovery"
DEFAULT_JOURNAL_S = 3.0


def tr(text: str) -> str:
    return QCoreApplication.translate("recovery", text)


class RecoveryJournal:
    """The recovery files of one project folder (no Qt; usable from scripts and tests)."""

    def __init__(self, project_root: str | Path, annotation_path) -> None:
        self.folder = Path(project_root) / RECOVERY_DIR
        self._annotation_path = annotation_path  # key -> Path of the saved annotation
        #: shape id -> (shape, its JSON text): shapes are immutable, so only changed ones are
        #: encoded again (a mask's PNG takes tens of ms; an edit changes one or two shapes)
        self._encoded: dict[str, tuple[Shape, str]] = {}
        self._lock = threading.Lock()  # the cache is used by the writer thread and by callers

    def to_text(self, key: str, annotation: ImageAnnotation) -> str:
        """The recovery file's JSON text; unchanged shapes reuse their cached text."""
        with self._lock:
            encoded, shapes = {}, []
            for s in annotation.shapes:
                hit = self._encoded.get(s.id)
                text = hit[1] if hit is not None and hit[0] is s else json.dumps(shape_to_labelme(s),
                                                                                 ensure_ascii=False)
                encoded[s.id] = (s, text)
                shapes.append(text)
            self._encoded = encoded
        bare = annotation.copy()
        bare.shapes = []
        d = to_labelme_dict(bare)
        d["shapes"] = []
        head = json.dumps({"key": key, "annotation": d}, ensure_ascii=False)
        marker = '"shapes": []'
        i = head.index(marker) + len(marker) - 1  # between the brackets of the empty list
        return head[:i] + ", ".join(shapes) + head[i:]

    def to_dict(self, key: str, annotation: ImageAnnotation) -> dict:
        return json.loads(self.to_text(key, annotation))

    def path_for(self, key: str) -> Path:
        return self.folder / (quote(key, safe="") + ".json")

    def write(self, key: str, annotation: ImageAnnotation) -> Path:
        path = self.path_for(key)
        write_bytes_atomic(path, self.to_text(key, annotation).encode("utf-8"))
        return path

    def remove(self, key: str) -> None:
        self.path_for(key).unlink(missing_ok=True)

    def pending(self) -> list[str]:
        """Keys whose recovery file holds other shapes, tags or status than their saved annotation
        (or that have none, or cannot be read: restoring reports it). Compared by content, not by
        time: edits journaled while an older save was being written are older than that file."""
        if not self.folder.is_dir():
            return []
        return [key for key in (unquote(p.name[:-len(".json")]) for p in sorted(self.folder.glob("*.json")))
                if self._differs_from_saved(key)]

    def _differs_from_saved(self, key: str) -> bool:
        try:
            journaled = self.read(key)
            saved, _problems = read_annotation(self._annotation_path(key), strict=False)
        except (LabelerError, ValueError, KeyError, TypeError):
            return True  # no saved file yet, or one of the two unreadable
        return _content(journaled) != _content(saved)

    def read(self, key: str) -> ImageAnnotation:
        path = self.path_for(key)
        try:
            d = json.loads(path.read_text("utf-8"))
            ann, _problems = from_labelme_dict(d["annotation"], source=str(path), strict=False)
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise LabelerError(f"{path}: unreadable recovery file: {e}") from None
        return ann


def _content(ann: ImageAnnotation) -> tuple:
    return [shape_to_labelme(s) for s in ann.shapes], ann.tags, ann.status


class JournalWriter:
    """Writes and removes recovery files in one worker thread, in the order asked, keeping only
    the newest request per image (a burst of edits becomes one or two writes)."""

    def __init__(self, journal: RecoveryJournal, on_error) -> None:
        self.journal = journal
        self.on_error = on_error  # (str) called on the GUI thread
        self.worker = Worker(1)
        self._lock = threading.Lock()
        self._pending: dict[str, ImageAnnotation | None] = {}  # key -> snapshot, None: remove
        self._running = False
        self.writes = 0  # files written (tests and benchmarks read it)

    def put(self, key: str, snapshot: ImageAnnotation | None) -> None:
        with self._lock:
            self._pending.pop(key, None)  # a newer request replaces it and goes to the back
            self._pending[key] = snapshot
            if self._running:
                return
            self._running = True
        self.worker.submit(self._drain, self._report)

    def _drain(self) -> list[str]:
        errors = []
        while True:
            with self._lock:
                if not self._pending:
                    self._running = False
                    return errors
                key = next(iter(self._pending))
                snapshot = self._pending.pop(key)
            try:
                if snapshot is None:
                    self.journal.remove(key)
                else:
                    self.journal.write(key, snapshot)
                    self.writes += 1
            except (OSError, LabelerError, ValueError) as e:
                errors.append(str(e))

    def _report(self, errors) -> None:
        for e in errors if isinstance(errors, list) else [errors]:
            self.on_error(tr("could not write the recovery file: {0}").format(e))

    def flush(self, msecs: int = 10000) -> None:
        """Wait until everything asked has been written (and errors reported)."""
        self.worker.wait(msecs)
        QCoreApplication.sendPostedEvents(self.worker)  # deliver the reports now

    def shutdown(self) -> None:
        self.worker.wait(10000)
        self.worker.shutdown()


def apply_recovered(doc: Document, recovered: ImageAnnotation) -> None:
    """Make ``doc`` hold the recovered shapes, tags and status, as one undo step."""
    ann = doc.annotation
    with doc.group("restore unsaved edits"):
        for s in list(doc.shapes):
            doc.remove_shape(s.id)
        for s in recovered.shapes:
            doc.add_shape(s)
        if recovered.tags != ann.tags:
            doc.set_tags(recovered.tags)
        if recovered.status != ann.status:
            doc.set_status(recovered.status)


class RecoveryController:
    """Journals the window's current document and offers recovery files back on open."""

    def __init__(self, window, interval_s: float = DEFAULT_JOURNAL_S) -> None:
        self.window = window
        self.journal: RecoveryJournal | None = None
        self.writer: JournalWriter | None = None
        self.session = None
        self.dialog: QMessageBox | None = None
        self._doc: Document | None = None
        self._written_revision: int | None = None
        self._restorable: dict[str, ImageAnnotation] = {}
        self.timer = QTimer(window)
        self.timer.setInterval(max(1, int(interval_s * 1000)))
        self.timer.timeout.connect(self.write_now)
        self.timer.start()

    # -- journaling ------------------------------------------------------------------------
    def attach(self, session) -> None:
        """Follow a new session (called when the window opens a project)."""
        self.session = session
        if self.writer is not None:
            self.writer.shutdown()
        self.journal = RecoveryJournal(session.project.root, session.project.annotation_path)
        self.writer = JournalWriter(self.journal, self.window.show_message)
        self._restorable.clear()
        session.image_opened.connect(self._on_image_opened)
        session.saved.connect(self._on_saved)

    def _writable(self) -> bool:
        s = self.session
        return s is not None and s.key is not None and not s.project.read_only and not s.read_only_reason

    def _on_image_opened(self, key: str) -> None:
        if self._doc is not None:
            self._doc.changed.disconnect(self._on_changed)
        self._doc = self.session.document
        self._written_revision = None
        self._doc.changed.connect(self._on_changed)
        recovered = self._restorable.pop(key, None)
        if recovered is not None and self._writable():
            apply_recovered(self._doc, recovered)

    def _on_changed(self, _text: str = "") -> None:
        self.write_now()

    def _on_saved(self, key: str) -> None:
        self._written_revision = None
        if key == self.session.key and self._doc is not None and self._doc.dirty:
            self.write_now()  # edits made while it was written: replaced, never removed first
            return
        if self.writer is not None:
            self.writer.put(key, None)  # replaces a queued write; waits at most for one in flight
            self.writer.flush()

    def flush(self) -> None:
        """Wait for the journal writes asked so far (tests, and before reading the files)."""
        if self.writer is not None:
            self.writer.flush()

    def shutdown(self) -> None:
        """Finish the writes asked so far (the window is closing)."""
        self.timer.stop()
        if self.writer is not None:
            self.writer.shutdown()

    def write_now(self) -> None:
        """Journal the current image if it has unsaved edits; drop its file when it has none."""
        if not self._writable() or self._doc is None:
            return
        key, doc = self.session.key, self._doc
        if not doc.dirty:
            if self._written_revision is not None:
                self.writer.put(key, None)
                self._written_revision = None
            return
        if doc.revision == self._written_revision:
            return
        self.writer.put(key, doc.annotation.copy())  # a list copy: the shapes are immutable
        self._written_revision = doc.revision

    # -- offering back ---------------------------------------------------------------------
    def pending(self) -> list[str]:
        self.flush()
        if self.journal is None or self.session is None or self.session.project.read_only:
            return []
        known = set(self.session.keys)
        return [k for k in self.journal.pending() if k in known]

    def offer(self) -> None:
        """If unsaved edits from an earlier run exist, ask (without blocking) to restore them."""
        keys = self.pending()
        if not keys:
            return
        box = QMessageBox(QMessageBox.Icon.Question, tr("Recover unsaved edits"),
                          tr("Unsaved edits from a session that ended unexpectedly were found for "
                             "{0} image(s):\n{1}\n\nRestore them?").format(len(keys), "\n".join(keys[:10])),
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Discard, self.window)
        box.setObjectName("recovery_dialog")
        box.setDefaultButton(QMessageBox.StandardButton.Yes)
        box.finished.connect(lambda result: self._answered(result, keys))
        self.dialog = box
        box.open()

    def _answered(self, result: int, keys: list[str]) -> None:
        self.dialog = None
        if result == QMessageBox.StandardButton.Yes:
            self.restore(keys)
        else:
            self.discard(keys)

    def restore(self, keys: list[str] | None = None) -> list[str]:
        """Put the recovered edits back: at once for the open image, on opening for the others.
        Returns the keys restored (unreadable recovery files are reported and kept)."""
        keys = self.pending() if keys is None else keys
        done = []
        for key in keys:
            try:
                self._restorable[key] = self.journal.read(key)
            except LabelerError as e:
                self.window.show_message(str(e))
                continue
            done.append(key)
        if self.session is not None and self.session.key in self._restorable and self._writable():
            apply_recovered(self._doc, self._restorable.pop(self.session.key))
        if done:
            self.window.show_message(tr("restored unsaved edits for {0} image(s)").format(len(done)))
        return done

    def discard(self, keys: list[str] | None = None) -> None:
        self.flush()
        for key in (self.pending() if keys is None else keys):
            self.journal.remove(key)
            self._restorable.pop(key, None)


def recovery_files(project_root: str | Path) -> list[Path]:
    folder = Path(project_root) / RECOVERY_DIR
    return sorted(folder.glob("*.json")) if folder.is_dir() else []

