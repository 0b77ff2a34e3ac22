"""The user's preferences (QSettings, per user, not per project): autosave interval, language,
default overlay opacity. Tests point QSettings at a temporary folder with ``QSettings.setPath``."""

from __future__ import annotations

from PySide6.QtCore import QSettings

#: name -> (default, type)
DEFAULTS: dict[str, tuple[object, type]] = {
    "autosave_s": (30.0, float),
    "language": ("en", str),
    "overlay_opacity": (0.35, float),
    "keep_image_adjustment": (True, bool),  # brightness/contrast kept when moving to the next image
    "simplify_tolerance": (1.0, float),  # Simplify Polygon: largest deviation, image pixels
    "predict_huge_level": (0, int),  # Predict Proposals: huge images at pyramid level K (1/2**K)
}
LANGUAGES = {"en": "English", "zh_CN": "简体中文"}


def qsettings() -> QSettings:
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "labeler", "labeler")


def is_set(name: str) -> bool:
    return qsettings().contains(name)


def get(name: str):
    default, kind = DEFAULTS[name]
    value = qsettings().value(name, default)
    if kind is bool and isinstance(value, str):  # an INI file holds "true" / "false"
        return value.strip().lower() in ("true", "1", "yes")
    try:
        return kind(value)
    except (TypeError, ValueError):
        return default


def put(name: str, value) -> None:
    if name not in DEFAULTS:
        raise KeyError(name)
    s = qsettings()
    s.setValue(name, value)
    s.sync()
