"""Opening a project without holding the window: the folder scan and the status look-up in a worker.

With ``background_open`` (the application's choice, gui/app.py) the session asks a
:class:`ProjectOpener` for its keys and statuses instead of reading them on the GUI thread:

0. the first key is found by a short depth-first walk (core/first_key.py) and comes back before
   the scan has read every folder, so that image is read (image_loader.py) at once;
1. the folder scan (``Project.image_keys``) runs in the worker; its keys come back at once;
2. every annotation file is then stat-ed against the status index (``StatusIndex.lookup``, in
   chunks, so that closing stops it between two); the statuses come back together, and the keys
   the index could not vouch for are read by the session's ``StatusRefresher`` as before.

A project that lists its images explicitly and scans no folder (``image_roots`` empty) knows its
keys without a scan: they are given back before the worker starts. Answers are delivered on the
GUI thread (queued signals), in that order; after :meth:`ProjectOpener.shutdown` none comes.
"""

from __future__ import annotations

import threading
from typing import Callable

from PySide6.QtCore import QObject, Signal

from ..core.first_key import first_image_key
from ..core.project import Project
from ..core.status_index import StatusIndex
from .workers import Worker

LOOKUP_CHUNK = 2000  # keys stat-ed between two looks at the cancel flag


class _KeysBridge(QObject):
    keys = Signal(object)  # list[str], emitted in the worker, delivered on the GUI thread
    first = Signal(str)  # the first key, found before the scan ends


def keys_without_scan(project: Project) -> list[str] | None:
    """The project's keys when no folder has to be scanned for them (an explicit image list and
    no image roots); None when a scan is needed."""
    if project.image_roots:
        return None
    return project.image_keys()  # sorted explicit list: no file system walk


class ProjectOpener:
    """Scans ``project`` and looks its keys up in ``index`` in a worker thread.

    ``on_first(key)`` may come first (the first key, when a short walk finds it), then
    ``on_keys(keys)`` (the scan's answer), then ``on_statuses(statuses, stale)``
    (``StatusIndex.lookup``'s answer), all on the GUI thread. ``running`` is True until the
    last has been delivered (or the opener was shut down)."""

    def __init__(self, project: Project, index: StatusIndex, on_keys: Callable[[list[str]], None],
                 on_statuses: Callable[[dict, list], None],
                 on_first: Callable[[str], None] | None = None) -> None:
        self.project, self.index = project, index
        self.keys: list[str] | None = keys_without_scan(project)
        self.running = True
        self._cancel = threading.Event()
        self._on_statuses = on_statuses
        self._bridge = _KeysBridge()
        self._bridge.keys.connect(self._deliver_keys)
        self._bridge.first.connect(self._deliver_first)
        self._on_keys, self._on_first = on_keys, on_first
        self.worker = Worker(1)
        known = self.keys
        self.worker.submit(lambda: self._read(known), self._finished, self._failed)

    # -- in the worker --------------------------------------------------------------------------
    def _read(self, keys: list[str] | None) -> tuple[dict, list] | None:
        if keys is None:
            first = first_image_key(self.project) if self._on_first is not None else None
            if first is not None and not self._cancel.is_set():
                self._bridge.first.emit(first)
            keys = list(self.project.image_keys())
        self._bridge.keys.emit(keys)  # posted before the statuses: the list fills in first
        statuses: dict[str, str] = {}
        stale: list[str] = []
        for start in range(0, len(keys), LOOKUP_CHUNK):
            if self._cancel.is_set():
                return None
            found, old = self.index.lookup(keys[start:start + LOOKUP_CHUNK])
            statuses.update(found)
            stale += old
        return statuses, stale

    # -- on the GUI thread ----------------------------------------------------------------------
    def _deliver_first(self, key: str) -> None:
        if not self._cancel.is_set() and self.keys is None:
            self._on_first(key)

    def _deliver_keys(self, keys: list[str]) -> None:
        if self._cancel.is_set():
            return
        self.keys = keys
        self._on_keys(keys)

    def _finished(self, result) -> None:
        self.running = False
        if result is not None and not self._cancel.is_set():
            self._on_statuses(*result)

    def _failed(self, error: BaseException) -> None:
        """A scan that failed (a folder vanished under it): nothing to show, said in one line."""
        self.running = False
        if self._cancel.is_set():
            return
        if self.keys is None:
            self._deliver_keys([])
        self._on_statuses({k: "unknown" for k in self.keys or ()}, [], error)

    def shutdown(self) -> None:
        """Stop between two chunks, wait for the worker, and drop whatever it still had to say."""
        self._cancel.set()
        self.worker.shutdown()
        self.running = False
