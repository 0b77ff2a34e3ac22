"""Start the desktop application: ``run(path)`` opens a project or image folder (or nothing)."""

from __future__ import annotations

import sys

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from ..core.errors import LabelerError
from ..core.project import Project
from .main_window import MainWindow


def create_window(path: str | None = None, autosave_s: float | None = None) -> MainWindow:
    """A main window on the project at ``path`` (raises LabelerError when it cannot be opened)."""
    project = Project.open(path) if path else None
    return MainWindow(project, autosave_s=autosave_s)


def run(path: str | None = None) -> int:
    """Show the main window and run the event loop; returns the exit status."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("labeler")
    try:
        window = create_window(path)
    except LabelerError as e:
        print(f"labeler: {e}", file=sys.stderr)
        return 2
    window.show()
    return app.exec()
