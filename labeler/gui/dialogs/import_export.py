"""Import and export dialogs over ``labeler.formats.registry``, with the CLI's options.

Import: format, source, target project folder (the open project by default), classes preset,
split ratios and seed, extra ``KEY=VALUE`` options. Export: format, output folder, split, extra
options. Each runs in a worker thread (see ``job_runner``) with progress and a working cancel,
through the same helpers as ``labeler import`` / ``labeler export``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLineEdit, QPushButton,
                               QSpinBox, QWidget)

from ...commands import load_format, parse_options
from ...commands.data import (_accepts, _apply_classes, _call_format, _open_or_create, _remove_unused_project,
                              run_export)
from ...core.errors import LabelerError
from ...core.project import PROJECT_FILE
from ...core.schema import load_schema, preset_names
from ...core.splits import parse_ratios, split_by_ratio
from ...formats.export_target import check_target
from ...formats.registry import FORMATS, can_export, can_import
from .job_runner import JobDialog, JobWorker


def tr(text: str) -> str:
    return QCoreApplication.translate("dialogs", text)


def _formats(pred) -> list[str]:
    out = []
    for name in FORMATS:
        try:
            if pred(name):
                out.append(name)
        except (ImportError, LabelerError):
            continue  # a format whose module cannot load is simply not offered
    return out


def _path_row(parent: QWidget, edit: QLineEdit, title: str, files: bool = False) -> QWidget:
    """A line edit with a folder picker (and a file picker when ``files``)."""
    row = QWidget(parent)
    lay = QHBoxLayout(row)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(edit)
    folder_button = QPushButton(tr("Folder..."), row)
    folder_button.clicked.connect(lambda: _pick(parent, edit, title, folder=True))
    lay.addWidget(folder_button)
    if files:
        file_button = QPushButton(tr("File..."), row)
        file_button.clicked.connect(lambda: _pick(parent, edit, title, folder=False))
        lay.addWidget(file_button)
    return row


def _pick(parent: QWidget, edit: QLineEdit, title: str, folder: bool) -> None:
    if folder:
        chosen = QFileDialog.getExistingDirectory(parent, title, edit.text())
    else:
        chosen, _ = QFileDialog.getOpenFileName(parent, title, edit.text())
    if chosen:
        edit.setText(chosen)


class ImportDialog(JobDialog):
    def __init__(self, window) -> None:
        super().__init__(tr("Import Dataset"), window)
        self.setObjectName("import_dialog")
        self.window_ = window
        form = QFormLayout(self.form)
        self.format_box = QComboBox(self.form)
        self.format_box.addItems(_formats(can_import))
        self.source = QLineEdit(self.form)
        self.project_dir = QLineEdit(str(window.project.root) if window.project is not None else "", self.form)
        self.classes = QComboBox(self.form)
        self.classes.setEditable(True)
        self.classes.addItems([""] + preset_names())
        self.classes.setToolTip(tr("a preset name, a schema JSON, or a text file of class names"))
        self.split_ratios = QLineEdit(self.form)
        self.split_ratios.setPlaceholderText("train=0.8,val=0.2")
        self.seed = QSpinBox(self.form)
        self.seed.setRange(0, 2**31 - 1)
        self.options = QLineEdit(self.form)
        self.options.setPlaceholderText("images=DIR, masks=DIR")
        self.open_after = QCheckBox(tr("open the project afterwards"), self.form)
        self.open_after.setChecked(True)
        form.addRow(tr("Format"), self.format_box)
        form.addRow(tr("Source"), _path_row(self.form, self.source, tr("Dataset to import"), files=True))
        form.addRow(tr("Project folder"), _path_row(self.form, self.project_dir, tr("Project folder")))
        form.addRow(tr("Classes"), self.classes)
        form.addRow(tr("Split ratios"), self.split_ratios)
        form.addRow(tr("Seed"), self.seed)
        form.addRow(tr("Options"), self.options)
        form.addRow("", self.open_after)
        self.target_root: Path | None = None

    def make_job(self):
        name = self.format_box.currentText()
        fmt = load_format(name, "import_dataset")
        src = self.source.text().strip()
        if not src or not Path(src).exists():
            raise LabelerError(tr("{0}: no such file or folder").format(src or tr("(no source given)")))
        root_text = self.project_dir.text().strip()
        if not root_text:
            raise LabelerError(tr("choose the project folder to import into"))
        options = parse_options(p for p in self.options.text().replace(",", " ").split() if p)
        classes = self.classes.currentText().strip()
        if classes:
            load_schema(classes)  # a bad preset or file fails before anything is created
        ratios = parse_ratios(self.split_ratios.text()) if self.split_ratios.text().strip() else None
        seed = self.seed.value()
        root = Path(root_text).resolve()
        self.target_root = root
        window = self.window_
        into_open = window.project is not None and window.project.root == root
        if into_open:
            if window.project.read_only:
                raise LabelerError(window.project.lock_warning or f"{root} is open read-only")
            if window.session is not None and not window.session.save_if_dirty():
                raise LabelerError(tr("the current image could not be saved; nothing imported"))

        def job(ctx):
            fresh_dir, fresh = not root.exists(), not (root / PROJECT_FILE).exists()
            project = window.project if into_open else _open_or_create(str(root))
            try:
                if classes:
                    if _accepts(fmt.import_dataset, "schema"):
                        options["schema"] = classes
                    else:
                        _apply_classes(project, classes)
                _call_format(fmt.import_dataset, f"import {name}", options, src, project, ctx)
                project.refresh()
                if ratios is not None:
                    project.splits = split_by_ratio(project.image_keys(), ratios, seed=seed)
                project.save()
            except BaseException:
                if not into_open:
                    project.close()
                    if fresh:
                        _remove_unused_project(root, fresh_dir)
                raise
            if not into_open:
                project.close()
            return len(project.image_keys())

        return job

    def job_finished(self, worker: JobWorker) -> None:
        if worker.error:
            return
        window, root = self.window_, self.target_root
        if window.project is not None and window.project.root == root:
            project = window.project
            window.project = None  # the session is reopened on the same (still locked) project
            window.set_project(project, window.session.key if window.session else None)
        elif self.open_after.isChecked():
            window.open_path(str(root))


class ExportDialog(JobDialog):
    def __init__(self, window) -> None:
        super().__init__(tr("Export Dataset"), window)
        self.setObjectName("export_dialog")
        self.window_ = window
        form = QFormLayout(self.form)
        self.format_box = QComboBox(self.form)
        self.format_box.addItems(_formats(can_export))
        self.out_dir = QLineEdit(self.form)
        self.split = QComboBox(self.form)
        self.split.addItem(tr("every image"), None)
        project = window.project
        for s in (project.splits if project is not None else {}):
            self.split.addItem(s, s)
        self.options = QLineEdit(self.form)
        self.options.setPlaceholderText("copy_images=true")
        self.overwrite = QCheckBox(tr("write into a folder of other files (replaces files of the same name)"),
                                   self.form)
        self.overwrite.setToolTip(tr("Needed for a folder that is not empty and holds no earlier export of this "
                                     "format. Nothing is deleted there; re-exporting into a folder of the same "
                                     "format removes only the files the earlier export wrote and this one did not."))
        form.addRow(tr("Format"), self.format_box)
        form.addRow(tr("Output folder"), _path_row(self.form, self.out_dir, tr("Output folder")))
        form.addRow(tr("Split"), self.split)
        self.include_proposals = QCheckBox(tr("include proposals awaiting review"), self.form)
        self.include_proposals.setToolTip(tr("Unaccepted pre-labels and autolabel results on images not marked "
                                             "done are predictions, not labels: left out unless this is checked."))
        form.addRow(tr("Options"), self.options)
        form.addRow("", self.overwrite)
        form.addRow("", self.include_proposals)

    def make_job(self):
        window = self.window_
        if window.project is None:
            raise LabelerError(tr("open a project first"))
        name = self.format_box.currentText()
        fmt = load_format(name, "export_dataset")
        out_text = self.out_dir.text().strip()
        if not out_text:
            raise LabelerError(tr("choose the output folder"))
        out = Path(out_text)
        if out.exists() and not out.is_dir():
            raise LabelerError(f"{out}: exists and is not a folder")
        options = parse_options(p for p in self.options.text().replace(",", " ").split() if p)
        if self.include_proposals.isChecked():
            options["include_proposals"] = True
        split = self.split.currentData()
        overwrite = self.overwrite.isChecked()
        check_target(out, name, overwrite)  # a folder of other files is refused before the job starts
        project = window.project
        if split is not None:
            project.keys_in_split(split)
        if window.session is not None and not window.session.save_if_dirty():
            raise LabelerError(tr("the current image could not be saved; export it after saving"))

        def job(ctx):
            return run_export(name, fmt, options, project, out, ctx, split=split, overwrite=overwrite)

        return job
