"""Model pre-labels in the window: predict proposals for the unlabelled images (in a worker
thread, with progress and cancel), accept the current image's proposals with one key (one undo
step), and jump to the next most useful image (the top of the uncertainty ranking).

Proposals are ``source="model"`` mask shapes (``Shape.is_proposal``); accepting one keeps its
source and sets its ``proposal`` flag to False, so it counts as a label and the next prediction
leaves it alone. Correcting them is ordinary editing; corrected images feed the next run.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QObject, Signal
from PySide6.QtWidgets import QProgressDialog

from ...core.errors import LabelerError
from .. import user_settings
from ..proposal_style import accept_in
from ..workers import Worker
from .job_thread import JobThread
from .train_dialog import current_run


def tr(text: str) -> str:
    return QCoreApplication.translate("train", text)


def unlabelled_keys(project) -> list[str]:
    """Images with no accepted labels that are not marked done/reviewed (what gets proposals)."""
    from ...train.dataset import DENSE_STATUSES, has_labels

    out = []
    for key in project.image_keys():
        if not project.has_annotation(key):
            out.append(key)
            continue
        try:
            ann = project.load(key)
        except LabelerError:
            continue  # a damaged file is never overwritten with proposals
        if ann.status not in DENSE_STATUSES and not has_labels(ann):
            out.append(key)
    return out


def predict_unlabelled(project, run, ctx, huge_level: int = 0):
    """Write proposals into the unlabelled images with the run's model (huge, tiled images at
    pyramid level ``huge_level``: downscaled by 2**K); rank them for "next"."""
    from ...train.predict import predict_project, write_ranking
    from ...train.trainer import load_model

    model = load_model(run)
    result = predict_project(project, model, unlabelled_keys(project), ctx=ctx, huge_level=huge_level)
    write_ranking(run, result.ranking())
    return result


class PreLabels(QObject):
    #: a prediction finished: the PredictResult
    predicted = Signal(object)

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.job: JobThread | None = None
        self.progress_dialog: QProgressDialog | None = None
        self.next_worker = Worker(1, self)
        self.last_result = None

    def _model_run(self):
        project = self.window.project
        run = current_run(project) if project is not None else None
        if run is None:
            self.window.show_message(tr("No current model: train one first (Model > Train Model...)."))
        return run

    # -- predicting ---------------------------------------------------------------------------
    def predict(self) -> bool:
        """Predict proposals for the unlabelled images in a worker thread."""
        session = self.window.session
        run = self._model_run()
        if run is None or self.job is not None or session is None:
            return False
        if not session.save_if_dirty():
            self.window.show_message(tr("Not started: the current image could not be saved."))
            return False
        project, level = session.project, max(0, user_settings.get("predict_huge_level"))
        self.job = JobThread(lambda ctx, _on_epoch: predict_unlabelled(project, run, ctx, level), self)
        dlg = self.progress_dialog = QProgressDialog(tr("Predicting proposals..."), tr("Cancel"), 0, 0, self.window)
        dlg.setObjectName("predict_progress")
        dlg.setMinimumDuration(300)
        dlg.canceled.connect(self.job.cancel)
        self.job.progressed.connect(self._on_progress)
        self.job.succeeded.connect(self._on_predicted)
        self.job.failed.connect(lambda text: self._finish(tr("Prediction failed: {0}").format(text)))
        self.job.cancelled.connect(lambda: self._finish(tr("Prediction cancelled.")))
        self.job.start()
        return True

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _on_progress(self, done: int, total: int, _what: str) -> None:
        if self.progress_dialog is not None and total:
            self.progress_dialog.setMaximum(total)
            self.progress_dialog.setValue(done)

    def _on_predicted(self, result) -> None:
        self.last_result = result
        self._finish(tr("Proposals written for {0} images.").format(len(result.written)))
        session = self.window.session
        if session is not None and session.key in result.written:
            if session.dirty:
                self.window.show_message(tr("{0} was edited meanwhile: its proposals are not shown").format(session.key))
            else:
                session.reload()
        self.predicted.emit(result)

    def _finish(self, text: str) -> None:
        job, self.job = self.job, None
        if job is not None:
            job.wait()
        if self.progress_dialog is not None:
            self.progress_dialog.reset()
            self.progress_dialog.deleteLater()
            self.progress_dialog = None
        self.window.show_message(text)

    # -- accepting ----------------------------------------------------------------------------
    def accept_current(self) -> int:
        """Accept the selected proposals (none selected: every proposal of the current image) as
        one undo step; returns how many."""
        doc = self.window.session.document if self.window.session is not None else None
        if doc is None or not self.window.canvas.may_edit():
            return 0
        ids = [s.id for s in doc.shapes if s.is_proposal]
        chosen = [sid for sid in self.window.canvas.selected_ids if sid in ids]
        if not ids:
            self.window.show_message(tr("No proposals on this image to accept."))
            return 0
        n = accept_in(doc, chosen or ids)  # the selected proposals, else all of them
        self.window.show_message(tr("Accepted {0} proposals.").format(n))
        return n

    # -- next most useful image -----------------------------------------------------------------
    def next_useful(self) -> bool:
        """Find the unlabelled image the model is least sure about (in a worker) and open it."""
        session = self.window.session
        run = self._model_run()
        if run is None or session is None or self.next_worker.busy:
            return False
        if not session.save_if_dirty():
            return False
        from ...train.predict import next_image_to_label

        project, skip = session.project, [session.key] if session.key else []
        self.window.show_message(tr("Looking for the most useful image to label..."))
        self.next_worker.submit(lambda: next_image_to_label(project, run, skip=skip), self._open_key,
                                lambda e: self.window.show_message(str(e).splitlines()[0]))
        return True

    def _open_key(self, key: str | None) -> None:
        session = self.window.session
        if key is None:
            self.window.show_message(tr("Every image is labelled."))
            return
        if session is not None and key in session.keys:
            self.window.open_index(session.keys.index(key))
            self.window.show_message(tr("Most useful to label next: {0}").format(key))

    def shutdown(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.job.wait(30_000)
        self.next_worker.shutdown()
