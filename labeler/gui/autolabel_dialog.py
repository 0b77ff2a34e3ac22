"""Autolabel in the window: proposals from weak labels, for all images or the shown one.

Tools > Autolabel... opens :class:`AutolabelDialog`: an engine, which weak labels (boxes, points,
scribbles), all images or the current one. Run saves the shown image, then runs
:func:`labeler.assist.autolabel.autolabel` in a :class:`~labeler.gui.job_thread.JobThread` with a
progress bar and a Cancel that stops between images (and between instances). Results are
proposals: accepted shapes are never touched. When the job ends the shown image takes the new
proposals from disk as one undo step.

Tools > Regenerate Selected Proposal makes the selected proposal (or mask) again from the weak
labels it links to, with another engine (:func:`labeler.assist.autolabel.regenerate`).
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QObject
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QFormLayout, QHBoxLayout, QInputDialog, QLabel,
                               QProgressBar, QPushButton, QRadioButton, QVBoxLayout)

from ..assist.autolabel import SOURCES, autolabel, regenerate
from .job_thread import JobThread


def _tr(text: str) -> str:
    return QCoreApplication.translate("autolabel", text)


def refresh_from_disk(window, key: str, select_ids=()) -> None:
    """The shown image takes what a job wrote for ``key`` (one undo step), if it is shown."""
    session = window.session
    if session is None or session.key != key or session.document is None:
        return
    doc = session.document
    new = session.project.load(key).shapes
    new_ids, old_ids = {s.id for s in new}, {s.id for s in doc.shapes}
    gone = [s.id for s in doc.shapes if s.id not in new_ids]
    added = [s for s in new if s.id not in old_ids]
    if gone or added:
        with doc.group("autolabel proposals"):
            if gone:
                doc.remove_shapes(gone)
            if added:
                doc.add_shapes(added, "autolabel proposals")
        doc.mark_saved()  # the document now equals the file
    if select_ids:
        window.canvas.select(list(select_ids))


def usable_engines(controller) -> list[str]:
    return [name for name, reason in controller.engine_rows() if not reason]


class AutolabelDialog(QDialog):
    def __init__(self, window, controller) -> None:
        super().__init__(window)
        self.window, self.controller = window, controller
        self.setWindowTitle(_tr("Autolabel"))
        self.setModal(True)
        self.engine = QComboBox(self)
        for name in usable_engines(controller):
            self.engine.addItem(name, name)
        if controller.engine_name:
            self.engine.setCurrentIndex(max(0, self.engine.findData(controller.engine_name)))
        self.source = QComboBox(self)
        for s in SOURCES:
            self.source.addItem(_tr(s), s)
        self.all_images = QRadioButton(_tr("All images"), self)
        self.current_image = QRadioButton(_tr("Current image"), self)
        self.all_images.setChecked(True)
        self.polygons = QCheckBox(_tr("Proposals as polygons (holes kept)"), self)
        self.polygons.setChecked(controller.accept_as_polygons)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.run_button = QPushButton(_tr("Run"), self)
        self.cancel_button = QPushButton(_tr("Cancel"), self)
        self.close_button = QPushButton(_tr("Close"), self)
        self.run_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.reject)
        self.cancel_button.setEnabled(False)
        form = QFormLayout()
        form.addRow(_tr("Engine"), self.engine)
        form.addRow(_tr("From"), self.source)
        scope = QHBoxLayout()
        scope.addWidget(self.all_images)
        scope.addWidget(self.current_image)
        form.addRow(_tr("Images"), scope)
        buttons = QHBoxLayout()
        for b in (self.run_button, self.cancel_button, self.close_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        for w in (self.polygons, self.progress, self.status):
            layout.addWidget(w)
        layout.addLayout(buttons)
        self.job: JobThread | None = None
        self.last_report = None  # the finished job's Report
        self.keys: list[str] = []
        if not self.engine.count():
            self.status.setText(_tr("No proposal engine can run."))
            self.run_button.setEnabled(False)

    @property
    def running(self) -> bool:
        return self.job is not None and self.job.isRunning()

    def start(self) -> bool:
        session = self.window.session
        if self.running or session is None or not self.engine.count():
            return False
        if not session.save_if_dirty():
            self.status.setText(_tr("The current image could not be saved; nothing was run."))
            return False
        engine = self.controller.plugins.engines[self.engine.currentData()]
        source, polygons = self.source.currentData(), self.polygons.isChecked()
        self.keys = [session.key] if self.current_image.isChecked() and session.key else list(session.keys)
        project, keys = session.project, list(self.keys)
        self.last_report = None
        self.job = job = JobThread(lambda j: autolabel(project, engine, source, j.context(), keys=keys,
                                                       polygons=polygons).report, self)
        job.progressed.connect(self._progressed)
        job.succeeded.connect(self._succeeded)
        job.failed.connect(self._failed)
        job.was_cancelled.connect(self._cancelled)
        job.finished.connect(self._ended)
        self.progress.setRange(0, max(1, len(keys)))
        self.progress.setValue(0)
        self.status.setText(_tr("Running {0} from {1}...").format(engine.name, source))
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        job.start()
        return True

    def cancel(self) -> None:
        if self.running:
            self.job.cancel()
            self.status.setText(_tr("Cancelling after the current image..."))

    def _progressed(self, done, total, _text: str) -> None:
        if total:
            self.progress.setRange(0, int(total))
        self.progress.setValue(int(done))

    def _succeeded(self, report) -> None:
        self.last_report = report
        proposals = report.outputs.get("proposals", 0)
        lines = [_tr("{0} proposals on {1} images ({2}).").format(proposals, report.done, report.summary())]
        lines += (report.errors + report.warnings)[:5]
        self.status.setText("\n".join(lines))

    def _failed(self, message: str) -> None:
        self.status.setText(_tr("Autolabel failed: {0}").format(message))

    def _cancelled(self) -> None:
        self.status.setText(_tr("Cancelled; the images already done keep their proposals."))

    def _ended(self) -> None:
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        key = self.window.session.key if self.window.session is not None else None
        if key in self.keys:
            refresh_from_disk(self.window, key)
        review = getattr(self.window, "review", None)
        if review is not None:  # the files the job wrote are read again, in a worker: counts follow
            review.rescan()

    def reject(self) -> None:
        if self.running:  # closing stops the job first: nothing writes after the dialog is gone
            self.job.cancel()
            self.job.wait()
        super().reject()


class AssistJobs:
    """Tools > Autolabel... and Regenerate Selected Proposal; owned by the assist controller."""

    def __init__(self, window, controller) -> None:
        self.window, self.controller = window, controller
        self.dialog: AutolabelDialog | None = None
        self.regenerate_job: JobThread | None = None
        self._receiver = None

    def show_autolabel(self) -> AutolabelDialog:
        self.dialog = AutolabelDialog(self.window, self.controller)
        self.dialog.show()
        return self.dialog

    def regenerate_selected(self, engine_name: str | None = None) -> bool:
        """Make the one selected shape again from its weak labels with ``engine_name`` (asked for
        when not given), in a worker; the new proposal is selected when it arrives."""
        w, session = self.window, self.window.session
        ids = w.canvas.selected_ids
        if session is None or session.document is None or len(ids) != 1:
            w.show_message(_tr("Select one proposal or mask made from weak labels to regenerate it"))
            return False
        shape = session.document.get(ids[0])
        if not shape.links:
            w.show_message(_tr("The selected shape was not made from weak labels (it has no links)"))
            return False
        if self.regenerate_job is not None and self.regenerate_job.isRunning():
            w.show_message(_tr("A regeneration is already running"))
            return False
        names = usable_engines(self.controller)
        if engine_name is None:
            others = [n for n in names if n != shape.source] + [n for n in names if n == shape.source]
            engine_name, ok = QInputDialog.getItem(w, _tr("Regenerate"), _tr("Engine"), others, 0, False)
            if not ok:
                return False
        if engine_name not in names:
            w.show_message(_tr("{0} cannot run").format(engine_name))
            return False
        if not session.save_if_dirty():
            return False
        engine = self.controller.plugins.engines[engine_name]
        project, key, sid = session.project, session.key, shape.id
        polygons = self.controller.accept_as_polygons
        job = self.regenerate_job = JobThread(lambda j: regenerate(project, key, sid, engine, polygons=polygons), w)
        self._receiver = _RegenerateReceiver(w, key, engine_name)
        job.succeeded.connect(self._receiver.done)
        job.failed.connect(self._receiver.failed)
        w.show_message(_tr("Regenerating with {0}...").format(engine_name))
        job.start()
        return True

    def shutdown(self) -> None:
        for job in (self.regenerate_job, self.dialog.job if self.dialog is not None else None):
            if job is not None and job.isRunning():
                job.cancel()
                job.wait()


class _RegenerateReceiver(QObject):
    """Takes the regeneration's result on the GUI thread."""

    def __init__(self, window, key: str, engine: str) -> None:
        super().__init__(window)
        self.window, self.key, self.engine = window, key, engine

    def done(self, shapes) -> None:
        refresh_from_disk(self.window, self.key, [s.id for s in shapes])
        self.window.show_message(_tr("{0} made {1} new proposal(s)").format(self.engine, len(shapes)))

    def failed(self, message: str) -> None:
        self.window.show_message(_tr("Regenerate failed: {0}").format(message))
