"""Import and export dialogs: real formats run in a worker thread, with progress and cancel."""

from __future__ import annotations

import json
import threading
import time

from PySide6.QtCore import Qt
from pycocotools.coco import COCO

from labeler.core.project import Project
from labeler.formats.registry import get_format
from labeler.gui.dialogs.import_export import ExportDialog, ImportDialog
from labeler.gui.dialogs.job_runner import JobDialog, JobWorker

LEFT = Qt.MouseButton.LeftButton


def _run(qtbot, dialog, timeout=20000):
    with qtbot.waitSignal(dialog.finished_job, timeout=timeout):
        qtbot.mouseClick(dialog.run_button, LEFT)
    return dialog.worker


def test_export_dialog_writes_coco_in_a_worker_thread(qtbot, tmp_path, window):
    window.actions_by_id["export_dataset"].trigger()
    dialog = window.dialogs.current
    assert isinstance(dialog, ExportDialog) and dialog.isVisible()
    dialog.format_box.setCurrentText("coco")
    dialog.out_dir.setText(str(tmp_path / "out"))
    seen_threads = []
    real = JobWorker.run

    def recording_run(self):
        seen_threads.append(threading.current_thread() is threading.main_thread())
        real(self)

    JobWorker.run = recording_run
    try:
        worker = _run(qtbot, dialog)
    finally:
        JobWorker.run = real
    assert seen_threads == [False]  # the job ran off the GUI thread
    assert worker.error == "" and dialog.status.text().startswith("4 done")
    assert dialog.progress.value() == dialog.progress.maximum()
    coco = COCO(str(tmp_path / "out" / "annotations" / "instances_all.json"))
    assert len(coco.getImgIds()) == 4
    names = sorted(coco.cats[a["category_id"]]["name"] for a in coco.anns.values())
    assert names == ["cat", "cup", "spoon"]


def test_export_options_field_reaches_the_format(qtbot, tmp_path, window):
    window.project.splits = {"train": ["images/coffee.png"], "val": ["images/chelsea.png"]}
    dialog = window.dialogs.show_export()
    dialog.format_box.setCurrentText("coco")
    dialog.out_dir.setText(str(tmp_path / "out"))
    dialog.split.setCurrentIndex(dialog.split.findData("train"))
    dialog.options.setText("copy_images=true")
    assert _run(qtbot, dialog).error == ""
    coco = COCO(str(tmp_path / "out" / "annotations" / "instances_train.json"))
    assert [img["file_name"].rsplit("/", 1)[-1] for img in coco.imgs.values()] == ["coffee.png"]
    assert list((tmp_path / "out").rglob("coffee.png")) and not list((tmp_path / "out").rglob("chelsea.png"))
    dialog.options.setText("no_such_option")
    assert not dialog.start() and "KEY=VALUE" in dialog.status.text()


def test_export_dialog_reports_bad_form_without_running(qtbot, window):
    dialog = window.dialogs.show_export()
    dialog.out_dir.setText("")
    assert not dialog.start() and dialog.worker is None
    assert "output folder" in dialog.status.text()


def test_import_dialog_makes_a_project_with_preset_and_split_and_opens_it(qtbot, tmp_path, window):
    src = tmp_path / "labelme"
    get_format("labelme").export_dataset(window.project, src)  # the 2 annotated images and their JSONs
    window.actions_by_id["import_dataset"].trigger()
    dialog = window.dialogs.current
    assert isinstance(dialog, ImportDialog) and dialog.isVisible()
    assert dialog.project_dir.text() == str(window.project.root)
    dialog.format_box.setCurrentText("labelme")
    dialog.source.setText(str(src))
    dialog.project_dir.setText(str(tmp_path / "imported"))
    dialog.classes.setCurrentText("voc")
    dialog.split_ratios.setText("train=0.5,val=0.5")
    worker = _run(qtbot, dialog)
    assert worker.error == "", dialog.status.text()
    assert worker.result == 2
    d = json.loads((tmp_path / "imported" / "labeler-project.json").read_text("utf-8"))
    assert sorted(map(len, d["splits"].values())) == [1, 1]
    names = [c["name"] for c in d["schema"]["classes"]]
    assert "aeroplane" in names and "cat" in names
    # the window now shows the imported project, with the demo's shapes
    assert window.project.root == (tmp_path / "imported").resolve()
    assert [k.rsplit("/", 1)[-1] for k in window.session.keys] == ["chelsea.png", "coffee.png"]
    window.go_relative(1)
    assert sorted(s.label for s in window.session.document.shapes) == ["cup", "spoon"]


def test_import_into_the_open_project_reloads_it(qtbot, tmp_path, window, demo_root):
    src = tmp_path / "labelme"
    get_format("labelme").export_dataset(window.project, src)
    dialog = window.dialogs.show_import()
    dialog.format_box.setCurrentText("labelme")
    dialog.source.setText(str(src))
    worker = _run(qtbot, dialog)
    assert worker.error == "", dialog.status.text()
    assert len(window.session.keys) == 6 and not window.project.read_only
    assert window.file_dock.list.count() == 6
    assert "../labelme/coffee.png" in Project.open(demo_root, read_only=True).image_keys()


def test_import_dialog_rejects_missing_source(qtbot, tmp_path, window):
    dialog = window.dialogs.show_import()
    dialog.source.setText(str(tmp_path / "nowhere"))
    assert not dialog.start()
    assert "nowhere" in dialog.status.text() and not (tmp_path / "nowhere").exists()


def test_cancel_stops_a_real_export_and_writes_no_half_file(qtbot, tmp_path, window, monkeypatch):
    reached = threading.Event()
    real = JobWorker._reporting

    def held_after_first(self, iterable, total, desc):  # the job waits after one item until cancelled
        for i, item in enumerate(real(self, iterable, total, desc)):
            yield item
            if i == 0:
                reached.set()
                self._cancel.wait(10)

    monkeypatch.setattr(JobWorker, "_reporting", held_after_first)
    dialog = window.dialogs.show_export()
    dialog.format_box.setCurrentText("coco")
    dialog.out_dir.setText(str(tmp_path / "out"))
    with qtbot.waitSignal(dialog.finished_job, timeout=20000):
        qtbot.mouseClick(dialog.run_button, LEFT)
        qtbot.waitUntil(reached.is_set, timeout=10000)
        assert dialog.cancel_button.isEnabled() and not dialog.close_button.isEnabled()
        qtbot.mouseClick(dialog.cancel_button, LEFT)
    assert dialog.worker.error == "cancelled" and "cancelled" in dialog.status.text()
    assert not (tmp_path / "out" / "annotations" / "instances_all.json").exists()
    assert dialog.run_button.isEnabled() and dialog.close_button.isEnabled()


class _CountingDialog(JobDialog):
    def __init__(self):
        super().__init__("count")
        self.count = 0

    def make_job(self):
        def job(ctx):
            for _ in ctx.track(range(10_000), desc="counting"):
                self.count += 1
                time.sleep(0.001)
        return job


def test_closing_while_running_cancels_and_progress_is_reported(qtbot):
    dialog = _CountingDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    with qtbot.waitSignal(dialog.finished_job, timeout=20000):
        assert dialog.start()
        qtbot.waitUntil(lambda: dialog.progress.value() > 0, timeout=10000)
        assert dialog.progress.maximum() == 10_000 and "counting" in dialog.status.text()
        dialog.reject()  # closing asks the job to stop; the dialog waits for it
        assert dialog.isVisible()
    assert dialog.worker.error == "cancelled" and 0 < dialog.count < 10_000
    dialog.reject()
    assert not dialog.isVisible()
