"""Start the desktop application: ``run(path)`` opens a project or image folder (or nothing)."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from ..core.errors import LabelerError
from ..core.images import is_image_file
from ..core.project import Project
from . import user_settings
from .i18n import install_translator
from .main_window import MainWindow


def create_window(path: str | None = None, autosave_s: float | None = None) -> MainWindow:
    """A main window on the project or image folder at ``path``; for one image, on its folder with
    that image shown. Raises LabelerError when it cannot be opened."""
    if not path:
        return MainWindow(None, autosave_s=autosave_s, background_loading=True, background_open=True)
    p = Path(path)
    if p.is_file() and is_image_file(p):
        project = Project.open(p.parent)
        return MainWindow(project, autosave_s=autosave_s, start_key=p.name, background_loading=True,
                          background_open=True)
    return MainWindow(Project.open(p), autosave_s=autosave_s, background_loading=True, background_open=True)


def start_application() -> QApplication:
    """The QApplication (made if needed), named, with the user's language installed: call it
    before any window exists, so that every text is made translated."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("labeler")
    install_translator(app, user_settings.get("language"))
    return app


def run(path: str | None = None) -> int:
    """Show the main window and run the event loop; returns the exit status."""
    app = start_application()
    try:
        window = create_window(path)
    except LabelerError as e:
        print(f"labeler: {e}", file=sys.stderr)
        return 2
    window.show()
    return app.exec()
