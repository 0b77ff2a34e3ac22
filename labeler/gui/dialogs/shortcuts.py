"""The keyboard shortcuts dialog: every action of the actions table, its menu and its keys."""

from __future__ import annotations

import re

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QHeaderView, QLineEdit, QTableWidget,
                               QTableWidgetItem, QVBoxLayout)

from ..action_spec import ActionSpec


def tr(text: str) -> str:
    return QCoreApplication.translate("dialogs", text)


def plain_text(text: str) -> str:
    """A menu text without its mnemonic: "&Save" -> "Save", "保存(&S)" -> "保存"."""
    return re.sub(r"\(&\w\)", "", text).replace("&&", "\0").replace("&", "").replace("\0", "&")


def shortcut_rows(specs: tuple[ActionSpec, ...] | None = None) -> list[tuple[str, str, str, str]]:
    """(id, action text, menu, shortcut as the platform writes it) per action, translated."""
    if specs is None:
        from ..actions import ACTIONS as specs  # imported late: actions.py imports this package
    rows = []
    for spec in specs:
        text = plain_text(QCoreApplication.translate("actions", spec.text))
        menu = plain_text(QCoreApplication.translate("menus", spec.menu))
        keys = QKeySequence(spec.shortcut).toString(QKeySequence.SequenceFormat.NativeText) if spec.shortcut else ""
        rows.append((spec.id, text, menu, keys))
    return rows


class ShortcutsDialog(QDialog):
    def __init__(self, parent=None, specs: tuple[ActionSpec, ...] | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shortcuts_dialog")
        self.setWindowTitle(tr("Keyboard Shortcuts"))
        self.resize(560, 600)
        lay = QVBoxLayout(self)
        self.filter_box = QLineEdit(self)
        self.filter_box.setPlaceholderText(tr("Filter by action, menu or key"))
        self.filter_box.setClearButtonEnabled(True)
        self.table = QTableWidget(0, 3, self)
        self.table.setHorizontalHeaderLabels([tr("Action"), tr("Menu"), tr("Shortcut")])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        lay.addWidget(self.filter_box)
        lay.addWidget(self.table)
        lay.addWidget(buttons)
        self.rows = shortcut_rows(specs)
        self.table.setRowCount(len(self.rows))
        for r, (aid, text, menu, keys) in enumerate(self.rows):
            for c, value in enumerate((text, menu, keys)):
                item = QTableWidgetItem(value)
                item.setData(Qt.ItemDataRole.UserRole, aid)
                self.table.setItem(r, c, item)
        self.filter_box.textChanged.connect(self.apply_filter)

    def apply_filter(self, text: str) -> None:
        needle = text.strip().lower()
        for r, row in enumerate(self.rows):
            self.table.setRowHidden(r, bool(needle) and not any(needle in v.lower() for v in row[1:]))

    def visible_ids(self) -> list[str]:
        return [self.rows[r][0] for r in range(len(self.rows)) if not self.table.isRowHidden(r)]
