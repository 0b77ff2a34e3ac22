"""The window's local-model controller: the Train dialog, pre-labels, the next most useful image
and the live preview, with the rows they add to the actions table."""

from __future__ import annotations

from PySide6.QtCore import QObject

from ..action_spec import ActionSpec
from .live_preview import LivePreview
from .prelabel import PreLabels
from .train_dialog import TrainDialog

MENU = "&Model"

TRAIN_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("train_model", "&Train Model...", "Ctrl+T", "training.show_train_dialog", MENU),
    ActionSpec("predict_proposals", "&Predict Proposals", None, "training.prelabels.predict", MENU),
    ActionSpec("accept_prelabels", "&Accept Pre-labels", "Ctrl+Return", "training.accept_prelabels", MENU),
    ActionSpec("next_useful_image", "Next Most &Useful Image", "Ctrl+Shift+N", "training.prelabels.next_useful",
               MENU),
    ActionSpec("live_preview", "&Live Pixel Classifier Preview", "Ctrl+Shift+L", "training.toggle_live_preview",
               MENU),
    ActionSpec("live_uncertainty", "Show Preview &Uncertainty", "Ctrl+Shift+U", "training.toggle_uncertainty",
               MENU),
)


class TrainingController(QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.dialog: TrainDialog | None = None
        self.prelabels = PreLabels(window)
        self.preview = LivePreview(window)
        self.actions: dict = {}

    def attach(self, session) -> None:
        self.preview.attach(session)

    def sync_actions(self, actions: dict) -> None:
        """Make the preview's two switches checkable (called once the actions exist)."""
        self.actions = actions
        for name in ("live_preview", "live_uncertainty"):
            actions[name].setCheckable(True)

    def show_train_dialog(self) -> TrainDialog:
        if self.dialog is None:
            self.dialog = TrainDialog(self.window)
        self.dialog.refresh_state()
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog

    def accept_prelabels(self) -> int:
        return self.prelabels.accept_current()

    def toggle_live_preview(self) -> None:
        act = self.actions.get("live_preview")
        self.preview.set_enabled(act.isChecked() if act is not None else not self.preview.enabled)

    def toggle_uncertainty(self) -> None:
        act = self.actions.get("live_uncertainty")
        self.preview.set_show_uncertainty(act.isChecked() if act is not None else not self.preview.show_uncertainty)

    def shutdown(self) -> None:
        """Stop every job and wait for its thread (the window is closing)."""
        if self.dialog is not None:
            self.dialog.shutdown()
        self.prelabels.shutdown()
        self.preview.shutdown()
