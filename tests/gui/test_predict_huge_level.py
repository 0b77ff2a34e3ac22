"""Settings > "Huge images: predict at level": Model > Predict Proposals predicts huge (tiled)
images at the pyramid level the user chose (default 0, full size), as ``labeler predict --huge-level``."""

from __future__ import annotations

from labeler.core.project import Project
from labeler.gui import user_settings
from labeler.gui.training.train_dialog import remember_run
from labeler.train import predict
from labeler.train.trainer import train_pixel

from ..train.conftest import make_project
from .conftest import activate
from .test_training import FAST_PIXEL, UNLABELLED


def test_predict_proposals_uses_the_huge_level_setting(qtbot, tmp_path, monkeypatch):
    from labeler.gui.main_window import MainWindow

    make_project(tmp_path / "proj").close()
    w = MainWindow(Project.open(tmp_path / "proj"), autosave_s=3600)
    qtbot.addWidget(w)
    activate(qtbot, w)
    remember_run(w.project, train_pixel(w.project, **FAST_PIXEL).run_dir)
    levels = []
    real = predict.predict_project

    def spy(*args, **kw):
        levels.append(kw.get("huge_level"))
        return real(*args, **kw)

    monkeypatch.setattr(predict, "predict_project", spy)
    try:
        for wanted in (0, 2):
            if wanted:  # chosen the way a user does: the settings dialog, then OK
                dialog = w.dialogs.show_settings()
                assert dialog.predict_huge_level.value() == 0  # the default
                dialog.predict_huge_level.setValue(wanted)
                dialog.accept()
                assert user_settings.get("predict_huge_level") == wanted
            with qtbot.waitSignal(w.training.prelabels.predicted, timeout=30000) as done:
                w.actions_by_id["predict_proposals"].trigger()
            assert sorted(done.args[0].written) == UNLABELLED  # predicting still writes proposals
            assert levels[-1] == wanted
        assert w.dialogs.show_settings().predict_huge_level.value() == 2  # the dialog shows the stored value
    finally:
        w.close()
