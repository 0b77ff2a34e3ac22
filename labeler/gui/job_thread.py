"""A long job (autolabel, a download) in a QThread: progress and a working cancel.

``JobThread(fn)`` runs ``fn(job)`` in its own thread. The job reports through
:meth:`JobThread.report` (or through :meth:`JobThread.context`, a
:class:`~labeler.core.jobs.JobContext` whose ``track`` reports and whose ``cancelled`` asks this
thread); :meth:`JobThread.cancel` only sets a flag the job checks between its steps. The
signals cross to the GUI thread; connect them to methods of objects living there (dialogs), not
to bare lambdas, which would run in the job's thread.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator

from PySide6.QtCore import QThread, Signal

from ..core.jobs import Cancelled, JobContext


class JobThread(QThread):
    progressed = Signal(object, object, str)  # done, total (None when unknown), what
    succeeded = Signal(object)  # fn's result
    failed = Signal(str)  # one line
    was_cancelled = Signal()

    def __init__(self, fn: Callable[["JobThread"], Any], parent=None) -> None:
        super().__init__(parent)
        self.fn = fn
        self._cancel = False

    def cancel(self) -> None:
        self._cancel = True

    def cancelled(self) -> bool:
        return self._cancel

    def report(self, done, total, text: str = "") -> None:
        self.progressed.emit(done, total, text)

    def _track(self, items: Iterable, total: int | None = None, desc: str = "") -> Iterator:
        self.report(0, total, desc)
        for i, item in enumerate(items):
            yield item
            self.report(i + 1, total, desc)

    def context(self) -> JobContext:
        return JobContext(progress=self._track, cancelled=self.cancelled)

    def run(self) -> None:
        try:
            value = self.fn(self)
        except Cancelled:
            self.was_cancelled.emit()
            return
        except Exception as e:  # reported on the GUI thread as one line, never lost here
            if self._cancel:
                self.was_cancelled.emit()
                return
            text = " ".join(str(e).split())
            self.failed.emit(text or type(e).__name__)
            return
        if self._cancel:
            self.was_cancelled.emit()
        else:
            self.succeeded.emit(value)
