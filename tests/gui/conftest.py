"""Fixtures for GUI tests: a demo project in tmp_path and a shown, active main window."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")


from PySide6.QtCore import QPoint, Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from labeler.core.project import Project  # noqa: E402
from labeler.demo import ensure_demo_project  # noqa: E402


def activate(qtbot, widget) -> None:
    """Show a window and make it the active one, so that window shortcuts reach it."""
    with qtbot.waitExposed(widget, timeout=3000):
        widget.show()

    def active() -> bool:
        if QApplication.activeWindow() is widget:
            return True
        widget.windowHandle().requestActivate()  # asked again: a window closed just now may hold focus
        return False

    qtbot.waitUntil(active, timeout=3000)


@pytest.fixture(autouse=True)
def user_settings_in_tmp(tmp_path_factory):
    """QSettings (the user's preferences) go to a fresh folder per test, never the real ones."""
    from PySide6.QtCore import QSettings

    folder = tmp_path_factory.mktemp("qsettings")
    for fmt in (QSettings.Format.IniFormat, QSettings.Format.NativeFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(folder))
    yield folder


@pytest.fixture
def demo_root(tmp_path):
    return ensure_demo_project(tmp_path / "demo")


@pytest.fixture
def window(qtbot, demo_root):
    from labeler.gui.main_window import MainWindow

    w = MainWindow(Project.open(demo_root), autosave_s=3600)
    qtbot.addWidget(w)
    activate(qtbot, w)
    yield w
    w.close()


class Mouse:
    """Real mouse events on the canvas viewport at image coordinates."""

    def __init__(self, qtbot, canvas) -> None:
        self.qtbot, self.canvas = qtbot, canvas

    def at(self, x: float, y: float) -> QPoint:
        return self.canvas.image_to_view(x, y)

    def click(self, x, y, button=Qt.MouseButton.LeftButton, modifier=Qt.KeyboardModifier.NoModifier):
        self.qtbot.mouseClick(self.canvas.viewport(), button, modifier, self.at(x, y))

    def double_click(self, x, y):
        self.qtbot.mouseDClick(self.canvas.viewport(), Qt.MouseButton.LeftButton, pos=self.at(x, y))

    def drag(self, start, end, button=Qt.MouseButton.LeftButton, steps: int = 4):
        vp = self.canvas.viewport()
        p0, p1 = self.at(*start), self.at(*end)
        self.qtbot.mousePress(vp, button, pos=p0)
        for i in range(1, steps + 1):
            self.qtbot.mouseMove(vp, p0 + (p1 - p0) * (i / steps))
        self.qtbot.mouseRelease(vp, button, pos=p1)

    def key(self, key, modifier=Qt.KeyboardModifier.NoModifier):
        self.qtbot.keyClick(self.canvas.viewport(), key, modifier)


@pytest.fixture
def mouse(qtbot, window):
    return Mouse(qtbot, window.canvas)
