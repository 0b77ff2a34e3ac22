"""The local model in the window: Train dialog (worker thread, live plot, cancel, resume),
predicted proposals accepted with one key, next most useful image, live pixel-classifier preview.

The project is tiny and synthetic (tests/train/conftest.py): 64 x 64 images of a striped
'grass' texture with a grainy 'sand' disc; two train images labelled by scribbles, two val
images dense, two unlabelled.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PySide6.QtCore import QThread, QTimer, Qt

from labeler.core.project import Project
from labeler.core.shapes import Shape
from labeler.gui.training.train_dialog import current_run, remember_run
from labeler.train.pixel_classifier import FeatureSettings
from labeler.train.predict import rank_unlabelled
from labeler.train.trainer import load_model, train_pixel

from ..train.conftest import SIZE, make_project, textured_image
from .conftest import activate

FAST_PIXEL = {"n_estimators": 10, "max_samples_per_class": 2000, "features": FeatureSettings(scale=1, sigma_max=4)}
TINY_DEEP = {"encoder_depth": 3, "decoder_width": 16, "crop": 32, "batch_size": 2, "device": "cpu", "amp": False}
UNLABELLED = ["images/img04.png", "images/img05.png"]


@pytest.fixture
def win(qtbot, tmp_path):
    from labeler.gui.main_window import MainWindow

    make_project(tmp_path / "proj").close()
    w = MainWindow(Project.open(tmp_path / "proj"), autosave_s=3600)
    qtbot.addWidget(w)
    activate(qtbot, w)
    yield w
    w.close()


def press(qtbot, window, key, modifiers=Qt.KeyboardModifier.ControlModifier) -> None:
    qtbot.keyClick(window.canvas.viewport(), key, modifiers)


def truth(key: str) -> np.ndarray:
    return textured_image(100 + int(key[-6:-4]))[1]


def with_current_model(window) -> None:
    remember_run(window.project, train_pixel(window.project, **FAST_PIXEL).run_dir)


def open_dialog(qtbot, window):
    press(qtbot, window, Qt.Key.Key_T)
    dialog = window.training.dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def test_the_dialog_trains_the_pixel_classifier_in_a_worker_while_the_gui_keeps_running(qtbot, win):
    dialog = open_dialog(qtbot, win)
    dialog.set_model("pixel")
    dialog.pixel_overrides = {**FAST_PIXEL, "n_estimators": 40}
    ticks = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(dialog.job is not None and dialog.job.isRunning()))
    timer.start()
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    job = dialog.job
    assert job is not None and job is not QThread.currentThread()
    assert not dialog.start_button.isEnabled() and dialog.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.running, timeout=30000)
    timer.stop()
    assert sum(ticks) >= 2  # the GUI thread's timer kept firing while the worker trained
    run = current_run(win.project)
    assert run == dialog.last_result.run_dir.resolve() and (run / "model.joblib").is_file()
    assert json.loads((win.project.root / "labeler-project.json").read_text())["settings"]["current_model"] \
        == run.relative_to(win.project.root.resolve()).as_posix()
    model = load_model(run)
    for key in UNLABELLED:  # the model learnt the textures from the scribbles
        from labeler.core.images import read_image

        labels = model.predict(read_image(win.project.image_path(key)))[0]
        assert (labels == truth(key)).mean() > 0.85
    assert dialog.start_button.isEnabled() and not dialog.cancel_button.isEnabled()


@pytest.mark.slow  # three epochs of a (tiny) network on the CPU
def test_a_deep_run_plots_loss_and_val_miou_per_epoch_and_resumes(qtbot, win):
    dialog = open_dialog(qtbot, win)
    dialog.set_model("unet")
    dialog.deep_overrides = dict(TINY_DEEP)
    dialog.epochs.setValue(2)
    with qtbot.waitSignal(dialog.run_finished, timeout=60000) as finished:
        assert dialog.start()
    run = finished.args[0]
    assert dialog.plot.epochs == [1, 2]
    written = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert dialog.plot.losses == pytest.approx([r["train_loss"] for r in written])
    assert dialog.plot.mious == pytest.approx([r["val_mIoU"] for r in written])
    assert all(math.isfinite(v) for v in dialog.plot.losses) and None not in dialog.plot.mious
    loss_points, miou_points = dialog.plot.point_positions()
    assert len(loss_points) == len(miou_points) == 2
    assert dialog.plot.grab().width() > 0  # paints without error
    assert current_run(win.project) == run.resolve()
    # resume the last run up to epoch 3: only the new epoch arrives, into the same run folder
    assert dialog.resume.isEnabled()
    dialog.resume.setChecked(True)
    dialog.epochs.setValue(3)
    with qtbot.waitSignal(dialog.run_finished, timeout=60000) as finished:
        assert dialog.start()
    assert finished.args[0] == run and dialog.plot.epochs == [3]
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 3


def test_cancel_stops_a_run(qtbot, win):
    dialog = open_dialog(qtbot, win)
    dialog.set_model("unet")
    dialog.deep_overrides = dict(TINY_DEEP)
    dialog.epochs.setValue(200)
    assert dialog.start()
    qtbot.waitUntil(lambda: len(dialog.plot.epochs) >= 1, timeout=60000)
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.running, timeout=60000)
    assert 1 <= len(dialog.plot.epochs) < 10
    info = json.loads((dialog.last_result.run_dir / "run.json").read_text())["training"]
    assert info["stopped"] == "cancelled" and info["epochs_run"] == len(dialog.plot.epochs)


def test_predict_then_the_accept_key_turns_proposals_into_accepted_shapes_in_one_undo_step(qtbot, win):
    with_current_model(win)
    with qtbot.waitSignal(win.training.prelabels.predicted, timeout=30000) as done:
        win.actions_by_id["predict_proposals"].trigger()
    assert sorted(done.args[0].written) == UNLABELLED
    win.open_index(win.session.keys.index(UNLABELLED[0]))
    doc = win.session.document
    proposals = [s for s in doc.shapes if s.is_proposal]
    assert {s.label for s in proposals} == {"sand"} and all(s.source == "model" for s in proposals)
    assert doc.annotation.status == "new"
    press(qtbot, win, Qt.Key.Key_Return)
    assert [s.id for s in doc.shapes] == [s.id for s in proposals]
    assert all(s.source == "model" and not s.is_proposal for s in doc.shapes)
    assert doc.annotation.status == "in_progress"
    win.undo()  # one step takes it all back
    assert all(s.is_proposal for s in doc.shapes) and doc.annotation.status == "new"
    win.redo()
    assert win.save() and win.session.flush_saves()
    from labeler.train.dataset import has_labels

    assert has_labels(win.project.load(UNLABELLED[0]))  # it now feeds the next run
    # predicting again replaces only the proposals: the accepted shapes stay
    with qtbot.waitSignal(win.training.prelabels.predicted, timeout=30000) as done:
        win.actions_by_id["predict_proposals"].trigger()
    assert done.args[0].written == [UNLABELLED[1]]
    assert [s.id for s in win.project.load(UNLABELLED[0]).shapes] == [s.id for s in proposals]


def test_next_useful_image_jumps_to_the_most_uncertain_unlabelled_image(qtbot, win):
    with_current_model(win)
    ranking = rank_unlabelled(win.project, load_model(current_run(win.project)))
    assert sorted(k for k, _ in ranking) == UNLABELLED
    press(qtbot, win, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: win.session.key == ranking[0][0], timeout=30000)
    # once it is labelled, the next one is the other
    win.session.document.add_shape(Shape(kind="point", label="grass", points=[[2, 2]]))
    press(qtbot, win, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: win.session.key == ranking[1][0], timeout=30000)


def overlay_array(item) -> np.ndarray:
    img = item.pixmap().toImage().convertToFormat(item.pixmap().toImage().Format.Format_RGBA8888)
    return np.array(img.constBits(), np.uint8).reshape(img.height(), img.width(), 4).copy()


def test_live_preview_overlay_matches_the_classifiers_prediction_and_follows_new_scribbles(qtbot, win):
    preview = win.training.preview
    preview.features = FeatureSettings(scale=1, sigma_max=4)
    with qtbot.waitSignal(preview.updated, timeout=30000) as shown:
        press(qtbot, win, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    p = shown.args[0]
    assert p.key == win.session.key and preview.item.isVisible()
    labels = p.model.predict(p.image)[0]
    np.testing.assert_array_equal(p.labels, labels)
    colors = np.array([win.canvas.color_of(n) for n in p.model.class_names], np.uint8)
    shown_rgba = overlay_array(preview.item)
    assert shown_rgba.shape[:2] == (SIZE, SIZE)
    np.testing.assert_array_equal(shown_rgba[..., :3], colors[labels])
    assert (labels == truth(p.key)).mean() > 0.85
    # uncertainty map instead: brighter where the classifier is less sure
    win.actions_by_id["live_uncertainty"].trigger()
    alpha = overlay_array(preview.item)[..., 3].astype(float)
    assert np.corrcoef(alpha.ravel(), p.uncertainty.ravel())[0, 1] > 0.9
    # a new scribble retrains it (debounced) on the unsaved edit
    win.session.document.add_shape(Shape(kind="scribble", label="sand", points=[[30, 30], [34, 34]], width=3))
    with qtbot.waitSignal(preview.updated, timeout=30000) as again:
        pass
    assert again.args[0].serial > p.serial
    press(qtbot, win, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert not preview.enabled and not preview.item.isVisible()


def test_without_a_model_predict_and_next_say_so_and_cancelling_a_prediction_writes_nothing(qtbot, win, monkeypatch):
    import threading

    from labeler.gui.training import prelabel

    prelabels = win.training.prelabels
    assert not prelabels.predict() and not prelabels.next_useful()
    assert "train one first" in win.statusBar().currentMessage()
    assert win.training.accept_prelabels() == 0 and not win.session.document.can_undo
    with_current_model(win)
    gate, find = threading.Event(), prelabel.unlabelled_keys
    monkeypatch.setattr(prelabel, "unlabelled_keys", lambda project: gate.wait(10) and find(project))
    shown = []  # other controllers (autosave, prefetch) may post later messages: record them all
    win.statusBar().messageChanged.connect(shown.append)
    assert prelabels.predict()
    with qtbot.waitSignal(prelabels.job.cancelled, timeout=30000):
        prelabels.cancel()  # before the first image: nothing is predicted
        gate.set()
    qtbot.waitUntil(lambda: prelabels.job is None, timeout=30000)
    assert "Prediction cancelled." in shown
    assert not any(win.project.has_annotation(k) for k in UNLABELLED)
