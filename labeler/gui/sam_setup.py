"""SAM set-up in the window: which model (vit_b / vit_l / vit_h or a local checkpoint file), on
which device, and downloading an official checkpoint with a progress dialog and Cancel.

The choice is kept in the user's settings (``assist/sam_model``, ``assist/sam_device``) and
:func:`configure_sam` builds the window's SAM engine from it, pointing the engine's embedding
cache at the project's folder (:func:`labeler.assist.embed.use_project_cache`), so what
``labeler embed`` computed is reused and what the window computes is kept. The download runs
:func:`labeler.assist.download.download_checkpoint` in a :class:`~labeler.gui.job_thread.JobThread`;
Cancel stops it at the next block and leaves the ``.part`` file, which the next download resumes.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QProgressDialog, QPushButton, QVBoxLayout)

from ..assist import download as dl
from ..assist.embed import use_project_cache
from . import user_settings
from .job_thread import JobThread

MODEL_SETTING = "assist/sam_model"
DEVICE_SETTING = "assist/sam_device"
DEVICES = ("auto", "cpu", "cuda", "mps")
LOCAL_FILE = "file"
_LET_GO: list = []  # downloads cancelled while stuck in a read: kept alive until they end


def _tr(text: str) -> str:
    return QCoreApplication.translate("sam", text)


class DownloadCancelled(Exception):
    """Raised from the progress callback to stop a download the user cancelled."""


def sam_settings() -> tuple[str, str]:
    s = user_settings.qsettings()
    return str(s.value(MODEL_SETTING, "") or ""), str(s.value(DEVICE_SETTING, "auto") or "auto")


def save_sam_settings(model: str, device: str) -> None:
    s = user_settings.qsettings()
    s.setValue(MODEL_SETTING, model)
    s.setValue(DEVICE_SETTING, device)
    s.sync()


def configure_sam(plugins, project_root=None):
    """The window's SAM engine from the settings (left as loaded when they are the defaults), its cache
    in the project's embeddings folder when it can run. Returns the engine (None without SAM)."""
    model, device = sam_settings()
    engine = plugins.engines.get("sam")
    if model or device != "auto":
        try:
            from ..plugins.sam import SamEngine
        except ImportError:  # torch or segment-anything missing: SAM stays unavailable
            return engine
        engine = SamEngine(checkpoint=model or None, device=device)  # no model: $LABELER_SAM_CHECKPOINT
        plugins.engines["sam"] = engine
        plugins.origins.setdefault("sam", "settings")
    if engine is not None and project_root is not None:
        from .assist_controller import unavailable_reason

        if not unavailable_reason(engine):
            use_project_cache(engine, project_root)
    return engine


class SamSetupDialog(QDialog):
    """Model, local file, device; Download fetches the chosen official model."""

    def __init__(self, window, controller) -> None:
        super().__init__(window)
        self.window, self.controller = window, controller
        self.setWindowTitle(_tr("SAM Model"))
        model, device = sam_settings()
        self.model = QComboBox(self)
        for name in dl.CHECKPOINTS:
            self.model.addItem(name, name)
        self.model.addItem(_tr("Local checkpoint file"), LOCAL_FILE)
        self.path = QLineEdit(self)
        self.path.setPlaceholderText(_tr("a segment-anything .pth file"))
        browse = QPushButton(_tr("Browse..."), self)
        browse.clicked.connect(self._browse)
        if model in dl.CHECKPOINTS:
            self.model.setCurrentIndex(self.model.findData(model))
        elif model:
            self.model.setCurrentIndex(self.model.findData(LOCAL_FILE))
            self.path.setText(model)
        self.device = QComboBox(self)
        for d in DEVICES:
            self.device.addItem(d, d)
        self.device.setCurrentIndex(max(0, self.device.findData(device)))
        self.download_button = QPushButton(_tr("Download SAM model"), self)
        self.download_button.clicked.connect(self.download)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.model.currentIndexChanged.connect(self._update)
        self.path.textChanged.connect(self._update)
        row = QHBoxLayout()
        row.addWidget(self.path)
        row.addWidget(browse)
        form = QFormLayout()
        form.addRow(_tr("Model"), self.model)
        form.addRow(_tr("Checkpoint file"), row)
        form.addRow(_tr("Device"), self.device)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.download_button)
        layout.addWidget(self.status)
        layout.addWidget(buttons)
        self.job: JobThread | None = None
        self.progress: QProgressDialog | None = None
        self.downloaded: Path | None = None
        self.download_error = ""
        self.progress_updates = 0
        self._update()

    def chosen(self) -> str:
        """The model name, or the local file's path ("" when none is given)."""
        data = self.model.currentData()
        return self.path.text().strip() if data == LOCAL_FILE else data

    def _update(self) -> None:
        data = self.model.currentData()
        self.path.setEnabled(data == LOCAL_FILE)
        if data == LOCAL_FILE:
            self.download_button.setEnabled(False)
            text = self.path.text().strip()
            self.status.setText("" if not text or Path(text).expanduser().is_file()
                                else _tr("{0}: file not found").format(text))
            return
        present = dl.checkpoint_path(data).is_file()
        self.download_button.setEnabled(not present and not self.downloading)
        ckpt = dl.CHECKPOINTS[data]
        self.status.setText(_tr("{0} is downloaded ({1})").format(data, dl.checkpoint_path(data)) if present else
                            _tr("{0} is not downloaded yet ({1:.0f} MB)").format(data, ckpt.size / 1e6))

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, _tr("SAM checkpoint"), "", "PyTorch (*.pth *.pt);;* (*)")
        if path:
            self.path.setText(path)

    @property
    def downloading(self) -> bool:
        return self.job is not None and self.job.isRunning()

    def download(self) -> bool:
        name = self.model.currentData()
        if name == LOCAL_FILE or self.downloading:
            return False
        self.downloaded, self.download_error = None, ""

        def fetch(job: JobThread) -> Path:
            def progress(done, total):
                if job.cancelled():
                    raise DownloadCancelled()
                job.report(done, total, name)
            return dl.download_checkpoint(name, progress=progress)

        self.job = job = JobThread(fetch, self)
        self.progress = p = QProgressDialog(_tr("Downloading {0}...").format(name), _tr("Cancel"), 0, 1000, self)
        p.setWindowTitle(_tr("Download SAM model"))
        p.setWindowModality(Qt.WindowModality.WindowModal)
        p.setAutoClose(False)
        p.setAutoReset(False)
        p.setMinimumDuration(0)
        p.canceled.connect(job.cancel)
        job.progressed.connect(self._progressed)
        job.succeeded.connect(self._downloaded)
        job.failed.connect(self._failed)
        job.was_cancelled.connect(self._cancelled)
        job.finished.connect(self._ended)
        self.download_button.setEnabled(False)
        p.show()
        job.start()
        return True

    def _progressed(self, done, total, _name: str) -> None:
        self.progress_updates += 1
        if self.progress is not None and total:
            self.progress.setValue(int(1000 * done / total))
            self.progress.setLabelText(_tr("Downloading {0}: {1:.1f} of {2:.1f} MB").format(
                _name, done / 1e6, total / 1e6))

    def _downloaded(self, path) -> None:
        self.downloaded = Path(path)

    def _failed(self, message: str) -> None:
        self.download_error = message

    def _cancelled(self) -> None:
        self.download_error = _tr("download cancelled; the next download resumes it")

    def _ended(self) -> None:
        if self.progress is not None:
            self.progress.close()
            self.progress.deleteLater()
            self.progress = None
        self._update()
        if self.download_error:
            self.status.setText(self.download_error)
        elif self.downloaded is not None:
            self.apply()  # downloaded: the AI tool can offer SAM now

    def apply(self) -> None:
        """Keep the choice and rebuild the window's SAM engine from it."""
        save_sam_settings(self.chosen(), self.device.currentData())
        self.controller.sam_configured()

    def accept(self) -> None:
        self.stop()
        self.apply()
        super().accept()

    def reject(self) -> None:
        self.stop()
        super().reject()

    def stop(self, wait_ms: int = 5000) -> None:
        """Cancel a download; one stuck in a stalled read is let go after ``wait_ms`` (it ends at
        its socket timeout, keeping its ``.part`` file) instead of holding up the window."""
        if self.downloading:
            self.job.cancel()
            if not self.job.wait(wait_ms):
                self.job.setParent(None)
                _LET_GO.append(self.job)
