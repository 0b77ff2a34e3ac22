"""The overlay opacity slider: a "View" toolbar and the same slider inside the View menu.

Both follow the canvas's opacity, also when it changes through Ctrl+[ and Ctrl+]. Switching
between colour by class and by instance recolours the shape list's icons too.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QToolBar, QWidget, QWidgetAction


def tr(text: str) -> str:
    return QCoreApplication.translate("view", text)


def _slider(parent) -> QSlider:
    s = QSlider(Qt.Orientation.Horizontal, parent)
    s.setRange(0, 100)
    s.setSingleStep(5)
    s.setPageStep(10)
    s.setMaximumWidth(140)
    s.setToolTip(tr("Overlay opacity (Ctrl+[ and Ctrl+])"))
    return s


class OpacityControl:
    def __init__(self, window) -> None:
        self.window = window
        self.canvas = window.canvas
        bar = QToolBar(tr("View"), window)
        bar.setObjectName("view_toolbar")
        self.slider = _slider(bar)
        self.slider.setObjectName("opacity_slider")
        bar.addWidget(QLabel(tr("Opacity "), bar))
        bar.addWidget(self.slider)
        window.addToolBar(bar)
        self.toolbar = bar
        self.menu_slider: QSlider | None = None
        self.slider.valueChanged.connect(self.set_percent)
        self.sync()

    def add_to_menu(self, actions: dict) -> None:
        """Put a second slider into the View menu, after its opacity actions (once they exist)."""
        menu = actions["opacity_down"].associatedObjects()
        menu = next((m for m in menu if hasattr(m, "insertAction")), None)
        for a in ("opacity_up", "opacity_down"):
            actions[a].triggered.connect(lambda _checked=False: self.sync())
        for a in ("color_by_class", "color_by_instance"):
            actions[a].triggered.connect(lambda _checked=False: self._recolor_list())
        if menu is None:
            return
        box = QWidget(menu)
        lay = QHBoxLayout(box)
        lay.setContentsMargins(24, 2, 8, 2)
        lay.addWidget(QLabel(tr("Opacity"), box))
        self.menu_slider = _slider(box)
        self.menu_slider.setObjectName("opacity_menu_slider")
        lay.addWidget(self.menu_slider)
        act = QWidgetAction(menu)
        act.setObjectName("opacity_slider_action")
        act.setDefaultWidget(box)
        items = menu.actions()
        after = items.index(actions["opacity_down"]) + 1
        if after < len(items):
            menu.insertAction(items[after], act)  # just below the opacity actions
        else:
            menu.addAction(act)
        self.menu_slider.valueChanged.connect(self.set_percent)
        self.sync()

    def _recolor_list(self) -> None:
        if self.window._doc is not None:
            self.window._on_document_changed()

    def set_percent(self, value: int) -> None:
        if round(self.canvas.opacity * 100) != value:
            self.canvas.set_opacity(value / 100)
        self.sync()

    def sync(self) -> None:
        value = round(self.canvas.opacity * 100)
        for s in (self.slider, self.menu_slider):
            if s is not None and s.value() != value:
                s.blockSignals(True)
                s.setValue(value)
                s.blockSignals(False)
