"""Bulk jobs off the GUI thread: a QThread worker with progress and cancel, and a dialog around it.

The job is a function of a :class:`~labeler.core.jobs.JobContext`, exactly what the importers and
exporters take. The worker gives it a progress factory that reports to the dialog and checks the
cancel flag on every item, and runs it inside ``deferred_sync()`` as the CLI does (atomic
replaces, one sync at the end).
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Iterable

from PySide6.QtCore import QCoreApplication, QThread, Signal
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QProgressBar, QPushButton,
                               QVBoxLayout, QWidget)

from ...core.errors import LabelerError
from ...core.fileio import deferred_sync
from ...core.jobs import Cancelled, JobContext

Job = Callable[[JobContext], object]
MAX_SHOWN_PROBLEMS = 200


def tr(text: str) -> str:
    return QCoreApplication.translate("dialogs", text)


class JobWorker(QThread):
    """Runs ``job(ctx)`` in its own thread. ``progressed(done, total, desc)`` while it runs;
    afterwards ``error`` is "" on success, "cancelled", or a one-line reason."""

    progressed = Signal(int, int, str)

    def __init__(self, job: Job, on_error: str = "skip", parent=None) -> None:
        super().__init__(parent)
        self.job = job
        self._cancel = threading.Event()
        self.ctx = JobContext(progress=self._progress, on_error=on_error, cancelled=self._cancel.is_set)
        self.result = None
        self.error = ""

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def _progress(self, iterable: Iterable, total: int | None = None, desc: str = "") -> Iterable:
        if total is None and hasattr(iterable, "__len__"):
            total = len(iterable)
        return self._reporting(iterable, total or 0, desc)

    def _reporting(self, iterable: Iterable, total: int, desc: str):
        self.progressed.emit(0, total, desc)
        last = 0.0
        for n, item in enumerate(iterable, 1):
            if self._cancel.is_set():
                raise Cancelled("cancelled by the user")
            yield item
            now = time.monotonic()
            if now - last > 0.05 or n == total:  # at most ~20 updates a second reach the GUI
                last = now
                self.progressed.emit(n, total, desc)

    def run(self) -> None:
        try:
            with deferred_sync():
                self.result = self.job(self.ctx)
            if self._cancel.is_set():
                self.error = tr("cancelled")
        except Cancelled:
            self.error = tr("cancelled")
        except (LabelerError, OSError) as e:
            self.error = " ".join(str(e).split()) or type(e).__name__
        except Exception as e:  # a bug in a format must not kill the window silently
            self.error = f"{type(e).__name__}: {e}"


class JobDialog(QDialog):
    """A form (from the subclass), then Run: a progress bar, Cancel while running, a summary.

    Subclasses fill ``self.form`` and implement ``make_job()`` (returns the job, or raises
    LabelerError for a bad form) and may override ``job_finished(worker)``."""

    finished_job = Signal()

    def __init__(self, title: str, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(560, 420)
        lay = QVBoxLayout(self)
        self.form = QWidget(self)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        self.problems = QPlainTextEdit(self)
        self.problems.setReadOnly(True)
        self.problems.setMaximumBlockCount(MAX_SHOWN_PROBLEMS + 1)
        self.problems.hide()
        self.buttons = QDialogButtonBox(self)
        self.run_button = QPushButton(tr("Run"), self)
        self.run_button.setDefault(True)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.buttons.addButton(self.run_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.cancel_button.setText(tr("Cancel"))
        self.close_button.setText(tr("Close"))
        self.cancel_button.setEnabled(False)
        for w in (self.form, self.progress, self.status, self.problems, self.buttons):
            lay.addWidget(w)
        self.run_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.reject)
        self.worker: JobWorker | None = None

    def make_job(self) -> Job:  # pragma: no cover - subclasses define it
        raise NotImplementedError

    def job_finished(self, worker: JobWorker) -> None:
        pass

    @property
    def running(self) -> bool:
        return self.worker is not None and self.worker.isRunning()

    def start(self) -> bool:
        if self.running:
            return False
        try:
            job = self.make_job()
        except LabelerError as e:
            self.status.setText(" ".join(str(e).split()))
            return False
        self.problems.clear()
        self.problems.hide()
        self.status.setText(tr("working..."))
        self.progress.setRange(0, 0)  # busy until the job reports a total
        self.form.setEnabled(False)
        self.run_button.setEnabled(False)
        self.close_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.worker = JobWorker(job, parent=self)
        self.worker.progressed.connect(self._on_progress)
        self.worker.finished.connect(self._on_finished)
        self.worker.start()
        return True

    def cancel(self) -> None:
        if self.running:
            self.worker.cancel()
            self.cancel_button.setEnabled(False)
            self.status.setText(tr("cancelling..."))

    def _on_progress(self, done: int, total: int, desc: str) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
        if desc and not (self.worker and self.worker.cancel_requested):
            self.status.setText(f"{desc}: {done}/{total}" if total else desc)

    def _on_finished(self) -> None:
        worker = self.worker
        report = worker.ctx.report
        self.progress.setRange(0, 1)
        self.progress.setValue(0 if worker.error else 1)
        summary = report.summary()
        self.status.setText(f"{worker.error} ({summary})" if worker.error else summary)
        lines = [f"warning: {w}" for w in report.warnings] + [f"error: {e}" for e in report.errors]
        if lines:
            self.problems.setPlainText("\n".join(lines[:MAX_SHOWN_PROBLEMS]))
            self.problems.show()
        self.form.setEnabled(True)
        self.run_button.setEnabled(True)
        self.close_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.job_finished(worker)
        self.finished_job.emit()

    def reject(self) -> None:
        if self.running:  # closing while a job runs cancels it; the dialog stays until it stops
            self.cancel()
            return
        super().reject()
