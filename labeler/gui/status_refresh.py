"""Reading stale image statuses in a worker with progress and Cancel, and "n of N done".

:class:`StatusRefresher` reads the annotation files the status index could not vouch for
(core/status_index.py) in a worker thread, reporting progress every so often; :meth:`cancel`
stops it between two files (what was read is kept; the rest stays "unknown" until the next
open). :class:`StatusProgress` is the window's part: a progress bar with a Cancel button in
the status bar while it runs, and a permanent "n of N done" label.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

from PySide6.QtCore import QCoreApplication, QObject, Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton

from ..core.status_index import StatusIndex
from .workers import Worker

PROGRESS_EVERY_S = 0.1  # how often the worker reports progress at most


def tr(text: str) -> str:
    return QCoreApplication.translate("status", text)


class _Progress(QObject):
    progress = Signal(int, int)  # done, total (emitted in the worker, delivered on the GUI thread)


class StatusRefresher:
    """Reads ``stale`` keys' statuses in a worker; ``on_done(statuses, cancelled)`` on the GUI thread."""

    def __init__(self, index: StatusIndex, stale: list[str], on_progress: Callable[[int, int], None],
                 on_done: Callable[[dict, bool], None]) -> None:
        self.index, self.total = index, len(stale)
        self._cancel = threading.Event()
        self._bridge = _Progress()
        self._bridge.progress.connect(on_progress)
        self.running = True
        self.worker = Worker(1)

        def finished(result) -> None:
            self.running = False
            if isinstance(result, BaseException):
                result = ({}, True)
            on_done(*result)

        self.worker.submit(lambda: self._read(list(stale)), finished, finished)

    def _read(self, keys: list[str]) -> tuple[dict, bool]:
        out: dict[str, str] = {}
        last = time.monotonic()
        for i, key in enumerate(keys):
            if self._cancel.is_set():
                return out, True
            out.update(self.index.refresh([key]))
            now = time.monotonic()
            if now - last >= PROGRESS_EVERY_S:
                last = now
                self._bridge.progress.emit(i + 1, len(keys))
        self._bridge.progress.emit(len(keys), len(keys))
        return out, False

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, msecs: int = 10000) -> bool:
        return self.worker.wait(msecs)

    def shutdown(self) -> None:
        """Stop reading, wait for the worker, and drop its answer (the session is closing)."""
        self.cancel()
        self.worker.shutdown()
        self.running = False


class StatusProgress:
    """The status bar's "n of N done" and the status-reading progress with its Cancel button."""

    def __init__(self, window) -> None:
        self.window = window
        bar = window.statusBar()
        self.done_label = QLabel(bar)
        self.done_label.setObjectName("done_count")
        self.progress = QProgressBar(bar)
        self.progress.setObjectName("status_progress")
        self.progress.setMaximumWidth(180)
        self.progress.setFormat(tr("checking statuses %v / %m"))
        self.cancel_button = QPushButton(tr("Cancel"), bar)
        self.cancel_button.setObjectName("status_cancel")
        self.cancel_button.setToolTip(tr("Stop reading image statuses (the rest show as unknown)"))
        for w in (self.progress, self.cancel_button):
            bar.addWidget(w)
            w.hide()
        bar.addPermanentWidget(self.done_label)
        self.session = None
        self.cancel_button.clicked.connect(lambda _checked=False: self.cancel())

    def attach(self, session) -> None:
        self.session = session
        session.statuses_refreshed.connect(lambda _s: self.update_done())
        session.status_changed.connect(lambda _k, _s: self.update_done())
        session.status_progress.connect(self.show_progress)
        self.update_done()
        refresher = session.status_refresher
        if refresher is not None and refresher.running:
            self.show_progress(0, refresher.total)

    def show_progress(self, done: int, total: int) -> None:
        running = self.session is not None and self.session.status_refresher is not None \
            and self.session.status_refresher.running and done < total
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.progress.setVisible(running)
        self.cancel_button.setVisible(running)

    def cancel(self) -> None:
        s = self.session
        if s is not None and s.status_refresher is not None:
            s.status_refresher.cancel()
        self.progress.hide()
        self.cancel_button.hide()

    def update_done(self) -> None:
        s = self.session
        if s is None:
            return
        self.done_label.setText(tr("{0} of {1} done").format(s.done_count(), len(s.keys)))
