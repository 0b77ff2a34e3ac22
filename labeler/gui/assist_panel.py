"""The AI tool's dock (engine, accept as polygons, busy bar, plugin failures) and Help > Plugins."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDockWidget, QLabel,
                               QProgressBar, QTextBrowser, QVBoxLayout, QWidget)


def _tr(text: str) -> str:
    return QCoreApplication.translate("assist", text)


HELP = ("Left click: include. Right click: exclude. Drag: box. Shift+drag: scribble (right button: "
        "background). Tab: next candidate. Backspace or Ctrl+Z: undo the last prompt. "
        "Enter: accept. Escape: reject.")


class AssistPanel(QDockWidget):
    def __init__(self, window, controller) -> None:
        super().__init__(_tr("AI Assist"), window)
        self.setObjectName("assist_dock")
        self.controller = controller
        body = QWidget(self)
        layout = QVBoxLayout(body)
        self.engines = QComboBox(body)
        self.engines.setObjectName("assist_engines")
        self.engines.activated.connect(self._on_engine_chosen)
        self.polygons = QCheckBox(_tr("Accept as polygons (holes kept)"), body)
        self.polygons.setObjectName("assist_polygons")
        self.polygons.toggled.connect(self._on_polygons_toggled)
        self.keep_prompts = QCheckBox(_tr("Keep prompts as weak labels"), body)
        self.keep_prompts.setObjectName("assist_keep_prompts")
        self.keep_prompts.setToolTip(_tr("Accepting a proposal also saves its points, box and scribbles "
                                         "as weak labels, linked from the accepted shape"))
        self.keep_prompts.toggled.connect(self._on_keep_prompts_toggled)
        self.busy_bar = QProgressBar(body)
        self.busy_bar.setRange(0, 0)  # an endless "working" bar
        self.busy_bar.setMaximumHeight(10)
        self.busy_bar.setTextVisible(False)
        self.status = QLabel(body)
        self.status.setWordWrap(True)
        self.candidate = QLabel(body)
        self.failures = QLabel(body)
        self.failures.setWordWrap(True)
        self.failures.setStyleSheet("color: #c0392b")
        self.failures.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        hint = QLabel(_tr(HELP), body)
        hint.setWordWrap(True)
        for w in (QLabel(_tr("Engine"), body), self.engines, self.polygons, self.keep_prompts, self.busy_bar,
                  self.status,
                  self.candidate, hint, self.failures):
            layout.addWidget(w)
        layout.addStretch(1)
        self.setWidget(body)
        self.busy_bar.hide()
        self._refreshing = False

    def refresh(self) -> None:
        """Fill the engine list (unusable ones greyed out with why) and the failures."""
        c = self.controller
        self._refreshing = True
        try:
            self.engines.clear()
            chosen = c.engine_name
            for i, (name, reason) in enumerate(c.engine_rows()):
                self.engines.addItem(name if not reason else f"{name} ({reason})", name)
                if reason:
                    item = self.engines.model().item(i)
                    item.setEnabled(False)
                    item.setToolTip(reason)
                if name == chosen:
                    self.engines.setCurrentIndex(i)
            self.polygons.setChecked(c.accept_as_polygons)
            self.keep_prompts.setChecked(c.keep_prompts)
        finally:
            self._refreshing = False
        failures = c.plugins.failures
        self.failures.setText("" if not failures else _tr("Plugins that failed to load:") + "\n"
                              + "\n".join(str(f) for f in failures))
        self.failures.setVisible(bool(failures))

    def set_busy(self, busy: bool, text: str) -> None:
        self.busy_bar.setVisible(busy)
        self.status.setText(text)

    def set_candidate(self, index: int, count: int, score: float | None) -> None:
        text = f"candidate {index + 1} of {count}, score {score:.2f}" if count else ""
        self.candidate.setText(text + (" (Tab: next)" if count > 1 else ""))

    def _on_engine_chosen(self, index: int) -> None:
        if not self._refreshing and index >= 0:
            self.controller.set_engine(self.engines.itemData(index))

    def _on_polygons_toggled(self, on: bool) -> None:
        if not self._refreshing:
            self.controller.set_accept_as_polygons(on)

    def _on_keep_prompts_toggled(self, on: bool) -> None:
        if not self._refreshing:
            self.controller.set_keep_prompts(on)


class PluginsDialog(QDialog):
    """Every proposal engine with where it came from, and every plugin that failed, with its error."""

    def __init__(self, window, controller) -> None:
        super().__init__(window)
        self.setWindowTitle(_tr("Plugins"))
        self.resize(640, 360)
        plugins = controller.plugins
        lines = ["<h3>" + _tr("Proposal engines") + "</h3><ul>"]
        for name, reason in controller.engine_rows():
            origin = plugins.origins.get(name, "")
            state = f" &mdash; <i>{_esc(reason)}</i>" if reason else ""
            lines.append(f"<li><b>{_esc(name)}</b> ({_esc(origin)}){state}</li>")
        lines.append("</ul>")
        if plugins.failures:
            lines.append("<h3>" + _tr("Failed to load") + "</h3><ul>")
            lines += [f"<li><b>{_esc(f.origin)}</b>: <span style='color:#c0392b'>{_esc(f.error)}</span></li>"
                      for f in plugins.failures]
            lines.append("</ul>")
        self.text = QTextBrowser(self)
        self.text.setHtml("".join(lines))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
