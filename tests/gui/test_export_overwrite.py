"""The Export dialog's overwrite checkbox reaches the export's folder rules."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt

from labeler.formats.export_target import MANIFEST

LEFT = Qt.MouseButton.LeftButton


def test_export_dialog_refuses_a_folder_of_other_files_until_overwrite_is_ticked(qtbot, tmp_path, window):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine", "utf-8")
    dialog = window.dialogs.show_export()
    dialog.format_box.setCurrentText("mask-png")
    dialog.out_dir.setText(str(out))
    assert not dialog.overwrite.isChecked()
    assert not dialog.start() and dialog.worker is None
    assert "folder is not empty and holds no earlier labeler export" in dialog.status.text()
    assert [p.name for p in out.iterdir()] == ["keep.txt"]

    qtbot.mouseClick(dialog.overwrite, LEFT)
    assert dialog.overwrite.isChecked()
    with qtbot.waitSignal(dialog.finished_job, timeout=20000):
        qtbot.mouseClick(dialog.run_button, LEFT)
    assert dialog.worker.error == "", dialog.status.text()
    assert (out / "keep.txt").read_text("utf-8") == "mine"
    written = json.loads((out / MANIFEST).read_text("utf-8"))
    assert written["format"] == "mask-png" and "schema.json" in written["files"]
    assert "keep.txt" not in written["files"]


def test_export_dialog_refuses_another_format_in_the_folder(qtbot, tmp_path, window):
    out = tmp_path / "out"
    dialog = window.dialogs.show_export()
    dialog.format_box.setCurrentText("mask-png")
    dialog.out_dir.setText(str(out))
    with qtbot.waitSignal(dialog.finished_job, timeout=20000):
        qtbot.mouseClick(dialog.run_button, LEFT)
    assert dialog.worker.error == ""
    dialog.format_box.setCurrentText("labelme")
    assert not dialog.start()
    assert "holds a mask-png export; exporting labelme there would mix two formats" in dialog.status.text()
