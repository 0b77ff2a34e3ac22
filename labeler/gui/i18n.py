"""Translations: ``install_translator(app, "zh_CN")`` loads ``resources/translations/labeler_zh_CN.qm``.

The ``.ts`` source sits beside the ``.qm``; after editing it, compile with
``.venv/bin/pyside6-lrelease resources/translations/labeler_zh_CN.ts``. Strings are looked up
by context: ``actions`` and ``menus`` (the action table), ``docks``, ``dialogs``, ``status``,
``recovery``.
"""

from __future__ import annotations

from importlib.resources import as_file, files

from PySide6.QtCore import QCoreApplication, QTranslator

_installed: list[QTranslator] = []


def translation_file(language: str):
    return files("labeler.resources") / "translations" / f"labeler_{language}.qm"


def install_translator(app: QCoreApplication, language: str) -> bool:
    """Install the translation for ``language`` (``"en"`` needs none). False when none exists."""
    remove_translators(app)
    if not language or language == "en":
        return True
    res = translation_file(language)
    if not res.is_file():
        return False
    translator = QTranslator(app)
    with as_file(res) as path:
        if not translator.load(str(path)):
            return False
    app.installTranslator(translator)
    _installed.append(translator)
    return True


def remove_translators(app: QCoreApplication) -> None:
    while _installed:
        app.removeTranslator(_installed.pop())
