"""Writing annotation files in one worker thread, in order, the newest request per image winning.

The GUI thread hands over a snapshot (``ImageAnnotation.copy()``: a list copy, the shapes are
frozen) and goes on; the worker serialises and writes it atomically. Requests for one image
never race or reorder: there is one writer thread, and a request still queued is replaced by a
newer one for the same image (it goes to the back of the queue). ``on_written(results)`` is
called on the GUI thread with a :class:`SaveResult` per write, failed ones included.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote

from PySide6.QtCore import QCoreApplication, QObject, QRunnable, QThreadPool, Signal

from ..core.annotation import ImageAnnotation
from ..core.fileio import write_bytes_atomic
from .document_cache import file_digest

CONFLICTS_DIR = ".labeler/conflicts"  # versions of annotation files found changed by someone else


def tr(text: str) -> str:
    return QCoreApplication.translate("saving", text)


def file_stamp(path) -> tuple | None:
    """(mtime_ns, size) of a file, None when there is none."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


@dataclass
class SaveRequest:
    key: str
    snapshot: ImageAnnotation
    token: Any = None  # what the caller needs to know which state was written (a save point)
    auto: bool = False  # an autosave (the message says so)
    ticket: int = 0  # increases with every request


@dataclass
class SaveResult:
    request: SaveRequest
    error: str = ""  # one line; empty when written
    thread: int = 0  # ident of the thread that wrote it
    note: str = ""  # what ``write`` returned when it returned text (said to the user)

    @property
    def ok(self) -> bool:
        return not self.error


class _Bridge(QObject):
    """Carries a drain's results to the GUI thread (the slot is the bridge's own method, so
    ``sendPostedEvents(bridge)`` delivers them on demand)."""

    done = Signal(object)

    def __init__(self, deliver) -> None:
        super().__init__()
        self.deliver = deliver
        self.done.connect(self.forward)

    def forward(self, results) -> None:
        if self.deliver is not None:
            self.deliver(results)


class _Drain(QRunnable):
    def __init__(self, queue: "SaveQueue") -> None:
        super().__init__()
        self.queue = queue

    def run(self) -> None:
        self.queue._bridge.done.emit(self.queue._drain())


class SaveQueue:
    """``write(key, snapshot)`` runs in the worker; errors (any exception) become results."""

    def __init__(self, write: Callable[[str, ImageAnnotation], Any],
                 on_written: Callable[[list[SaveResult]], None]) -> None:
        self.write = write
        self.on_written = on_written
        self.pool = QThreadPool()
        self.pool.setMaxThreadCount(1)
        self._bridge = _Bridge(self._deliver)
        self._lock = threading.Lock()
        self._queued: dict[str, SaveRequest] = {}
        self._in_flight: str | None = None
        self._unreported: dict[str, int] = {}  # key -> its writes done but not yet reported
        self._running = False
        self._undelivered = 0  # drains whose results have not reached the GUI thread yet
        self._tickets = 0
        self.writes = 0  # files written (tests and benchmarks read it)

    def put(self, key: str, snapshot: ImageAnnotation, token: Any = None, auto: bool = False) -> SaveRequest:
        self._tickets += 1
        req = SaveRequest(key, snapshot, token, auto, self._tickets)
        with self._lock:
            self._queued.pop(key, None)  # a newer state of the image replaces it and goes to the back
            self._queued[key] = req
            if self._running:
                return req
            self._running = True
        self._undelivered += 1
        self.pool.start(_Drain(self))
        return req

    def pending(self, key: str | None = None) -> bool:
        """Whether a write (of ``key``, or of any image) is queued, running or not yet reported."""
        with self._lock:
            if key is None:
                return bool(self._queued) or self._running or self._undelivered > 0
            return key in self._queued or self._in_flight == key or key in self._unreported

    def pending_keys(self) -> set[str]:
        """The images with a write queued, running or not yet reported."""
        with self._lock:
            return set(self._queued) | set(self._unreported) | ({self._in_flight} - {None})

    def _drain(self) -> list[SaveResult]:
        out = []
        while True:
            with self._lock:
                if not self._queued:
                    self._in_flight = None
                    self._running = False
                    return out
                key = next(iter(self._queued))
                req = self._queued.pop(key)
                self._in_flight = key
                # until its result is delivered, the image counts as pending: a failure not yet
                # reported must not be missed by someone about to read the file
                self._unreported[key] = self._unreported.get(key, 0) + 1
            try:
                note = self.write(req.key, req.snapshot)
            except Exception as e:  # reported on the GUI thread; the caller keeps the edits
                text = " ".join(str(e).split()) or type(e).__name__
                out.append(SaveResult(req, text, threading.get_ident()))
                continue
            self.writes += 1
            out.append(SaveResult(req, "", threading.get_ident(), note if isinstance(note, str) else ""))

    def _deliver(self, results: list[SaveResult]) -> None:
        self._undelivered -= 1
        with self._lock:
            for r in results:
                left = self._unreported.pop(r.request.key, 1) - 1
                if left > 0:
                    self._unreported[r.request.key] = left
        if results:
            self.on_written(results)

    def flush(self, msecs: int = 30000) -> bool:
        """Wait for every write asked so far and report them now; False if it timed out."""
        done = self.pool.waitForDone(msecs)
        QCoreApplication.sendPostedEvents(self._bridge)  # deliver the results before returning
        return done

    def shutdown(self) -> None:
        self.flush()
        self._bridge.deliver = None


class SessionSaver:
    """A labeling session's saving: snapshots on the GUI thread, writes in a :class:`SaveQueue`.

    The document is marked saved (at the state the snapshot was taken, edits made since stay
    unsaved) only when its write has finished; a failed write is reported and leaves it dirty.
    A failed write of an image already left is kept: it is tried again when the session closes
    and put back into the document (as one undo step) when the image is opened again (unless its
    edits were undone before leaving). An image counts as pending until its write's result has
    reached the GUI thread, so its file is never read before a failure is known. A file changed
    on disk by someone else since it was read or written here is kept in ``CONFLICTS_DIR``
    before it is written over.
    """

    FLUSH_MS = 30000  # how long reopening an image, a job or closing waits for the writer

    def __init__(self, session) -> None:
        self.session = session
        self.queue = SaveQueue(self._write, self._on_written)
        #: key -> (mtime_ns, size) of its annotation file (None: no file) as last read or written
        #: here; a file found otherwise when writing was changed by someone else: it is kept
        self.disk_stamps: dict[str, tuple | None] = {}
        self.failed: dict[str, SaveRequest] = {}  # key -> the newest request whose write failed
        self._last: tuple[Any, int] | None = None  # (document, revision) of the newest request
        self.last_results: list[SaveResult] = []  # tests and benchmarks read it
        #: id(snapshot) -> hash of the file its write left, set in the writer, taken when reported
        self._digests: dict[int, str | None] = {}

    def _write(self, key: str, ann: ImageAnnotation) -> str:
        """In the writer thread: write ``ann``; first keep a version someone else wrote since."""
        project = self.session.project
        path = project.annotation_path(key)
        note = ""
        with project.write_lock:  # a class rename rewriting this file finishes first
            if key in self.disk_stamps and file_stamp(path) not in (self.disk_stamps[key], None):
                kept = Path(project.root) / CONFLICTS_DIR / f"{quote(key, safe='')}.{time.time_ns()}.json"
                write_bytes_atomic(kept, path.read_bytes())
                note = tr("{0} was changed on disk since it was opened here; that version is kept in {1}"
                          ).format(key, kept)
            project.save_annotation(key, ann)
            self.disk_stamps[key] = file_stamp(path)
            self._digests[id(ann)] = file_digest(path)  # what a document kept for return must match
        return note

    def opened(self, key: str, stamp: tuple | None) -> None:
        """``key``'s annotation file was read when it had ``stamp`` (see :func:`file_stamp`)."""
        self.disk_stamps[key] = stamp

    def save(self, auto: bool = False) -> bool:
        """Queue a write of the current image; False (with a message) when it cannot be saved."""
        s = self.session
        doc, key = s.document, s.key
        if doc is None or key is None:
            return True
        if s.read_only_reason:
            s.message.emit(f"not saved: {s.read_only_reason}")
            return False
        if self._last == (doc, doc.revision) and self.queue.pending(key):
            return True  # this very state is already on its way
        ann = doc.annotation
        if ann.status == "new" and ann.shapes:
            ann.status = "in_progress"  # derived from the shapes, so not an undo step of its own
            s._on_changed()  # the file list shows it now
        self.queue.put(key, ann.copy(), (doc, doc.save_point()), auto)
        self._last = (doc, doc.revision)
        s.dirty_changed.emit(doc.dirty)  # the indicator says "saving"
        return True

    def pending(self, key: str | None = None) -> bool:
        return self.queue.pending(key)

    def wait_for(self, key: str) -> bool:
        """Before reading ``key``'s file: let a write of it still on its way finish first. False
        when it is still being written after ``FLUSH_MS`` (its file must not be read yet)."""
        if self.queue.pending(key):
            self.queue.flush(self.FLUSH_MS)
        return not self.queue.pending(key)

    def flush(self) -> bool:
        """Wait for every write asked so far; False when any image's newest write failed, or a
        write is still running after ``FLUSH_MS`` (a hung network drive)."""
        return self.queue.flush(self.FLUSH_MS) and not self.failed

    def succeeded(self, key: str) -> bool:
        return key not in self.failed and not self.queue.pending(key)

    def unsaved_keys(self) -> list[str]:
        """Images whose newest write failed or has not finished."""
        return sorted(set(self.failed) | self.queue.pending_keys())

    def _on_written(self, results: list[SaveResult]) -> None:
        s = self.session
        self.last_results = results
        newest = {r.request.key: r.request.ticket for r in results}
        for r in results:
            req = r.request
            doc, point = req.token if req.token is not None else (None, None)
            digest = self._digests.pop(id(req.snapshot), None)
            if not r.ok:
                self.failed[req.key] = req
                s.message.emit(tr("not saved: {0}: {1}").format(req.key, r.error))
                continue
            if req.key in self.failed and self.failed[req.key].ticket < req.ticket:
                del self.failed[req.key]
            s.status_index.record(req.key, req.snapshot.status,
                                  sum(1 for shape in req.snapshot.shapes if shape.is_proposal))
            if doc is not None and (doc is s.document or s.documents.holds(req.key, doc)):
                doc.mark_saved(point)  # a document kept for return (document_cache.py) too
                s.documents.written(req.key, doc, digest)
            if req.key == s.key:
                s._on_changed()
            if req.ticket == newest[req.key] and not self.queue.pending(req.key):
                s.saved.emit(req.key)  # the image's newest state is on disk (its journal can go)
            if req.auto:
                s.message.emit(f"autosaved {req.key}")
            if r.note:
                s.message.emit(r.note)
        s.dirty_changed.emit(s.dirty)

    def forget_failed(self, key: str) -> None:
        """The image's document is as on disk (its failed edits were undone): a failed write of it
        is neither tried again nor put back."""
        self.failed.pop(key, None)

    def reapply_failed(self, key: str, doc) -> None:
        """Put the edits whose write failed back into a freshly opened document (one undo step)."""
        req = self.failed.pop(key, None)
        if req is None:
            return
        from .recovery import apply_recovered

        apply_recovered(doc, req.snapshot)
        self.session.message.emit(tr("{0}: the edits that could not be saved are back (unsaved)").format(key))

    def close(self) -> bool:
        """Write what is pending, trying failed writes of other images again; False if any fail."""
        for req in list(self.failed.values()):
            if req.key != self.session.key:
                self.queue.put(req.key, req.snapshot, req.token, req.auto)
        self.queue.flush(self.FLUSH_MS)
        unsaved = self.unsaved_keys()
        if unsaved:
            self.session.message.emit(tr("not saved: {0}").format(", ".join(unsaved)))
        return not unsaved
