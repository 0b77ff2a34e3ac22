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


def _coco_annotation_count(out, file_name):
    (ann_file,) = (out / "annotations").glob("*.json")
    data = json.loads(ann_file.read_text("utf-8"))
    (image_id,) = [im["id"] for im in data["images"] if im["file_name"].endswith(file_name)]
    return sum(a["image_id"] == image_id for a in data["annotations"])


def test_export_dialog_leaves_out_proposals_unless_ticked(qtbot, tmp_path, window):
    from labeler.core.shapes import Shape

    project = window.project
    key = next(k for k in project.image_keys() if k != window.session.key)
    ann = project.load(key)
    ann.status = "in_progress"
    label = project.schema.names()[0]  # a thing class: COCO instances export it
    ann.shapes = [*ann.shapes, Shape(kind="rectangle", label=label, points=[[1, 1], [20, 20]], source="sam",
                                     score=0.8, flags={"proposal": True})]
    project.save_annotation(key, ann)
    accepted = sum(not s.is_proposal and s.is_area for s in ann.shapes)
    name = project.image_path(key).name
    counts = {}
    for tick in (False, True):
        out = tmp_path / f"out-{tick}"
        dialog = window.dialogs.show_export()
        dialog.format_box.setCurrentText("coco")
        dialog.out_dir.setText(str(out))
        if tick:
            qtbot.mouseClick(dialog.include_proposals, LEFT)
        assert dialog.include_proposals.isChecked() == tick
        with qtbot.waitSignal(dialog.finished_job, timeout=20000):
            qtbot.mouseClick(dialog.run_button, LEFT)
        assert dialog.worker.error == "", dialog.status.text()
        counts[tick] = _coco_annotation_count(out, name)
        dialog.close()
    assert counts[True] == counts[False] + 1
    assert counts[False] <= accepted
