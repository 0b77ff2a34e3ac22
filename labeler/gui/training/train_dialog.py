"""The Train dialog: choose a model, train it in a worker thread with a progress bar and a live
plot of loss and val mIoU, cancel, or resume the last run. A finished run becomes the project's
current model (``settings["current_model"]`` in the project file).

The pixel classifier (random forest on pixel features) trains in seconds from scribbles; the
networks are :data:`labeler.train.architectures.ARCHITECTURES`. Training reads the images and
labels of the project's ``train`` split (every image when the project has no splits) and scores
deep runs on ``val`` after each epoch.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QProgressBar, QPushButton, QSpinBox, QVBoxLayout)

from ...core.errors import LabelerError
from ...train.architectures import ARCHITECTURES
from .job_thread import JobThread
from .loss_plot import LossPlot

CURRENT_MODEL_SETTING = "current_model"
PIXEL = "pixel"


def tr(text: str) -> str:
    return QCoreApplication.translate("train", text)


def current_run(project) -> Path | None:
    """The run folder the project names as its current model, when it still exists."""
    rel = project.settings.get(CURRENT_MODEL_SETTING)
    if not rel:
        return None
    path = (project.root / str(rel)).resolve()
    return path if path.exists() else None


def remember_run(project, run_dir: Path) -> None:
    """Name ``run_dir`` as the project's current model (kept relative to the project)."""
    try:
        rel = Path(run_dir).resolve().relative_to(project.root.resolve()).as_posix()
    except ValueError:
        rel = str(run_dir)
    project.settings[CURRENT_MODEL_SETTING] = rel
    project.save()


def resumable(run: Path | None) -> bool:
    from ...train.network_training import STATE_FILE

    return run is not None and run.is_dir() and (run / STATE_FILE).is_file()


class TrainDialog(QDialog):
    #: a run finished (the run folder); the window makes it the current model
    run_finished = Signal(object)

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.setObjectName("train_dialog")
        self.setWindowTitle(tr("Train a Model"))
        self.job: JobThread | None = None
        self.last_result = None  # the TrainResult of the last run that finished
        #: further DeepSettings fields (e.g. encoder_depth, decoder_width, crop, batch_size)
        self.deep_overrides: dict = {}
        #: further train_pixel arguments (e.g. n_estimators, features)
        self.pixel_overrides: dict = {}
        self.model_box = QComboBox(self)
        self.model_box.addItem(tr("Pixel classifier (random forest, seconds)"), PIXEL)
        for arch in ARCHITECTURES.values():
            self.model_box.addItem(f"{arch.name}: {arch.description}", arch.name)
        self.encoder = QLineEdit(self)
        self.epochs = QSpinBox(self)
        self.epochs.setRange(1, 10_000)
        self.epochs.setValue(30)
        self.minutes = QDoubleSpinBox(self)
        self.minutes.setRange(0, 10_000)
        self.minutes.setSpecialValueText(tr("no limit"))
        self.resume = QCheckBox(tr("Resume the last run"), self)
        form = QFormLayout()
        form.addRow(tr("Model"), self.model_box)
        form.addRow(tr("Encoder"), self.encoder)
        form.addRow(tr("Epochs"), self.epochs)
        form.addRow(tr("Max minutes"), self.minutes)
        form.addRow("", self.resume)
        self.progress = QProgressBar(self)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.plot = LossPlot(self)
        self.start_button = QPushButton(tr("Start"), self)
        self.cancel_button = QPushButton(tr("Cancel Training"), self)
        self.close_button = QPushButton(tr("Close"), self)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        for b in (self.start_button, self.cancel_button, self.close_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self.model_box.currentIndexChanged.connect(self.refresh_state)
        self.resume.toggled.connect(self.refresh_state)
        self.refresh_state()

    # -- state ------------------------------------------------------------------------------
    @property
    def project(self):
        return self.window.project

    @property
    def running(self) -> bool:
        return self.job is not None

    def set_model(self, name: str) -> None:
        self.model_box.setCurrentIndex(max(0, self.model_box.findData(name)))

    def refresh_state(self) -> None:
        name = self.model_box.currentData()
        deep = name != PIXEL
        run = current_run(self.project) if self.project is not None else None
        self.resume.setEnabled(resumable(run) and not self.running)
        if not self.resume.isEnabled():
            self.resume.setChecked(False)
        resuming = self.resume.isChecked()
        self.model_box.setEnabled(not resuming and not self.running)
        self.encoder.setEnabled(deep and not resuming and not self.running)
        if deep and name in ARCHITECTURES:
            self.encoder.setPlaceholderText(ARCHITECTURES[name].default_encoder)
        for w in (self.epochs, self.minutes):
            w.setEnabled((deep or resuming) and not self.running)
        self.start_button.setEnabled(not self.running and self.project is not None)
        self.cancel_button.setEnabled(self.running)

    # -- running ----------------------------------------------------------------------------
    def _job(self):
        """The training call for the chosen settings, run in the worker thread."""
        from ...train.trainer import train_deep, train_pixel

        project, name = self.project, self.model_box.currentData()
        if self.resume.isChecked():
            run = current_run(project)
            settings = self._deep_settings(None)
            return lambda ctx, on_epoch: train_deep(project, settings, resume=run, ctx=ctx, on_epoch=on_epoch)
        if name == PIXEL:
            from ...train.pixel_classifier import FeatureSettings

            kw = {"features": FeatureSettings(scale=0.5), **self.pixel_overrides}
            return lambda ctx, on_epoch: train_pixel(project, ctx=ctx, **kw)
        settings = self._deep_settings(name)
        return lambda ctx, on_epoch: train_deep(project, settings, ctx=ctx, on_epoch=on_epoch)

    def _deep_settings(self, arch: str | None):
        from ...train.deep import DeepSettings

        kw = {"epochs": self.epochs.value(), "max_minutes": self.minutes.value() or None}
        if arch is not None:
            kw.update(arch=arch, encoder=self.encoder.text().strip() or None)
        return DeepSettings.from_dict({**kw, **self.deep_overrides})

    def start(self) -> bool:
        """Start training in a worker thread; False (with the reason shown) when it cannot."""
        if self.running or self.project is None:
            return False
        session = self.window.session
        if session is not None and not session.save_if_dirty():
            self.status.setText(tr("Not started: the current image could not be saved."))
            return False
        try:
            job = self._job()
        except LabelerError as e:
            self.status.setText(str(e))
            return False
        self.plot.clear()
        self.progress.setRange(0, 0)
        self.status.setText(tr("Training..."))
        self._epochs_wanted = self.epochs.value()
        self.job = JobThread(job, self)
        self.job.progressed.connect(self._on_progress)
        self.job.epoch_done.connect(self._on_epoch)
        self.job.succeeded.connect(self._on_done)
        self.job.failed.connect(lambda text: self._finish(tr("Training failed: {0}").format(text)))
        self.job.cancelled.connect(lambda: self._finish(tr("Training cancelled.")))
        self.refresh_state()
        self.job.start()
        return True

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.status.setText(tr("Cancelling after the current step..."))

    def _on_progress(self, done: int, total: int, what: str) -> None:
        if total and not self.plot.epochs:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            self.status.setText(tr("Reading {0}: {1} of {2}").format(what, done, total))

    def _on_epoch(self, record: dict) -> None:
        self.plot.add_record(record)
        self.progress.setRange(0, max(1, self._epochs_wanted))
        self.progress.setValue(int(record.get("epoch", 0)))
        miou = record.get("val_mIoU")
        self.status.setText(tr("Epoch {0}: loss {1:.3f}, val mIoU {2}").format(
            record.get("epoch"), record.get("train_loss", 0.0), "-" if miou is None else f"{miou:.3f}"))

    def _on_done(self, result) -> None:
        self.last_result = result
        try:
            remember_run(self.project, result.run_dir)
            note = tr("Done: {0} is now the current model.").format(result.run_dir.name)
        except (LabelerError, OSError) as e:
            note = tr("Done: {0} (not remembered: {1})").format(result.run_dir.name, e)
        stopped = (getattr(result.model, "info", {}) or {}).get("stopped")
        if stopped:
            note += " " + tr("Stopped early: {0}.").format(stopped)
        self._finish(note)
        self.run_finished.emit(result.run_dir)

    def _finish(self, text: str) -> None:
        job, self.job = self.job, None
        if job is not None:
            job.wait()
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.status.setText(text)
        self.window.show_message(text)
        self.refresh_state()

    def closeEvent(self, event) -> None:
        if self.running:  # closing the dialog does not stop training: it goes on, hidden
            self.hide()
            event.ignore()
            return
        super().closeEvent(event)

    def shutdown(self, msecs: int = 30_000) -> None:
        """Cancel a running job and wait for its thread (the window is closing)."""
        if self.job is not None:
            self.job.cancel()
            self.job.wait(msecs)
