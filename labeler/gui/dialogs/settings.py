"""The settings dialog: autosave interval, language and default overlay opacity (QSettings)."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel,
                               QSpinBox)

from .. import user_settings


def tr(text: str) -> str:
    return QCoreApplication.translate("dialogs", text)


class SettingsDialog(QDialog):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("settings_dialog")
        self.setWindowTitle(tr("Settings"))
        form = QFormLayout(self)
        self.autosave = QDoubleSpinBox(self)
        self.autosave.setRange(1.0, 3600.0)
        self.autosave.setDecimals(0)
        self.autosave.setSuffix(" s")
        self.autosave.setValue(user_settings.get("autosave_s"))
        self.language = QComboBox(self)
        for code, name in user_settings.LANGUAGES.items():
            self.language.addItem(name, code)
        self.language.setCurrentIndex(max(0, self.language.findData(user_settings.get("language"))))
        self.opacity = QDoubleSpinBox(self)
        self.opacity.setRange(0.0, 1.0)
        self.opacity.setSingleStep(0.05)
        self.opacity.setValue(user_settings.get("overlay_opacity"))
        form.addRow(tr("Autosave every"), self.autosave)
        form.addRow(tr("Language"), self.language)
        form.addRow("", QLabel(tr("A new language takes effect when the program is started again."), self))
        form.addRow(tr("Default overlay opacity"), self.opacity)
        self.keep_adjustment = QCheckBox(tr("Keep brightness / contrast for the next image"), self)
        self.keep_adjustment.setChecked(bool(user_settings.get("keep_image_adjustment")))
        form.addRow("", self.keep_adjustment)
        self.simplify_tolerance = QDoubleSpinBox(self)
        self.simplify_tolerance.setRange(0.1, 50.0)
        self.simplify_tolerance.setSingleStep(0.5)
        self.simplify_tolerance.setSuffix(" px")
        self.simplify_tolerance.setValue(user_settings.get("simplify_tolerance"))
        form.addRow(tr("Simplify polygon tolerance"), self.simplify_tolerance)
        self.predict_huge_level = QSpinBox(self)  # Model > Predict Proposals on huge (tiled) images
        self.predict_huge_level.setRange(0, 10)
        self.predict_huge_level.setValue(max(0, user_settings.get("predict_huge_level")))
        form.addRow(tr("Huge images: predict at level"), self.predict_huge_level)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> dict:
        return {"autosave_s": float(self.autosave.value()), "language": self.language.currentData(),
                "overlay_opacity": float(self.opacity.value()),
                "keep_image_adjustment": self.keep_adjustment.isChecked(),
                "simplify_tolerance": float(self.simplify_tolerance.value()),
                "predict_huge_level": int(self.predict_huge_level.value())}

    def store(self) -> dict:
        """Write the dialog's values to QSettings; returns them."""
        values = self.values()
        for name, value in values.items():
            user_settings.put(name, value)
        return values
