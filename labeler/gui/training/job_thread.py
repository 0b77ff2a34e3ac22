"""A long job (training, prediction) in its own ``QThread``, reporting back on the GUI thread.

The job is a plain callable ``fn(ctx, on_epoch)`` from ``labeler.train``: ``ctx`` is a
:class:`labeler.core.jobs.JobContext` whose ``progress`` reports items done and whose
``cancelled`` reads the thread's cancel flag; ``on_epoch(record)`` forwards a deep run's epoch
records. Signals cross to the GUI thread queued, so slots never run in the worker.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from PySide6.QtCore import QThread, Signal

from ...core.jobs import Cancelled, JobContext


class JobThread(QThread):
    progressed = Signal(int, int, str)  # done, total (0: unknown), what
    epoch_done = Signal(dict)  # a deep run's per-epoch record
    succeeded = Signal(object)  # the job's result
    failed = Signal(str)  # a one-line reason
    cancelled = Signal()

    def __init__(self, fn: Callable[[JobContext, Callable[[dict], None]], Any], parent=None) -> None:
        super().__init__(parent)
        self.fn = fn
        self._cancel = threading.Event()
        self.ctx = JobContext(progress=self._track, cancelled=self._cancel.is_set)

    def cancel(self) -> None:
        """Ask the job to stop (after its current step)."""
        self._cancel.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def _track(self, items, total=None, desc: str = ""):
        total = int(total or 0)
        self.progressed.emit(0, total, desc)
        for i, item in enumerate(items, 1):
            yield item
            self.progressed.emit(i, total, desc)

    def run(self) -> None:
        try:
            result = self.fn(self.ctx, self.epoch_done.emit)
        except Cancelled:
            self.cancelled.emit()
            return
        except Exception as e:  # reported on the GUI thread as one line
            text = str(e).splitlines()[0] if str(e) else type(e).__name__
            self.failed.emit(text)
            return
        if self._cancel.is_set() and result is None:
            self.cancelled.emit()
        else:
            self.succeeded.emit(result)
