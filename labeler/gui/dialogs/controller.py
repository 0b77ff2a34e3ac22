"""The window's dialogs (shortcuts, settings, import, export) and the actions that open them;
also applies the user's settings to the window and to each new session."""

from __future__ import annotations

from .. import user_settings
from ..action_spec import ActionSpec
from .import_export import ExportDialog, ImportDialog
from .settings import SettingsDialog
from .shortcuts import ShortcutsDialog

DIALOG_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("import_dataset", "&Import Dataset...", "Ctrl+I", "dialogs.show_import", "&File"),
    ActionSpec("export_dataset", "E&xport Dataset...", "Ctrl+Shift+E", "dialogs.show_export", "&File"),
    ActionSpec("settings", "Se&ttings...", "Ctrl+,", "dialogs.show_settings", "&File"),
    ActionSpec("shortcuts", "&Keyboard Shortcuts", "F1", "dialogs.show_shortcuts", "&Help"),
)


class DialogController:
    def __init__(self, window) -> None:
        self.window = window
        #: the dialog opened last (tests drive it; the user sees it)
        self.current = None
        window.canvas.set_opacity(user_settings.get("overlay_opacity"))

    def attach(self, session) -> None:
        """A new session: the user's autosave interval applies unless the window was given one."""
        if self.window.autosave_s is None and user_settings.is_set("autosave_s"):
            session.autosave_timer.setInterval(max(1, int(user_settings.get("autosave_s") * 1000)))

    def _show(self, dialog):
        self.current = dialog
        dialog.setModal(True)
        dialog.show()
        return dialog

    def show_shortcuts(self) -> ShortcutsDialog:
        return self._show(ShortcutsDialog(self.window))

    def show_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.window)
        dialog.accepted.connect(lambda: self.apply_settings(dialog.store()))
        return self._show(dialog)

    def apply_settings(self, values: dict) -> None:
        w = self.window
        w.canvas.set_opacity(values["overlay_opacity"])
        if w.session is not None and w.autosave_s is None:
            w.session.autosave_timer.setInterval(max(1, int(values["autosave_s"] * 1000)))

    def show_import(self) -> ImportDialog:
        return self._show(ImportDialog(self.window))

    def show_export(self) -> ExportDialog:
        return self._show(ExportDialog(self.window))
