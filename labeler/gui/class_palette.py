"""The class palette dock: colour, name and shortcut (1-9) per class; a tick shows or hides it."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QDockWidget, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from ..core.events import Signal
from ..core.schema import Schema


def color_icon(rgb: tuple[int, int, int], size: int = 14) -> QIcon:
    pm = QPixmap(size, size)
    pm.fill(QColor(*rgb))
    return QIcon(pm)


class ClassPaletteDock(QDockWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(QCoreApplication.translate("docks", "Classes"), parent)
        # plain-callback signals (labeler.core.events), the same kind the document emits
        self.class_selected = Signal()  # (str)
        self.visibility_changed = Signal()  # (str, bool)
        self.class_added = Signal()  # (str)
        self.setObjectName("class_palette_dock")
        body = QWidget(self)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(2, 2, 2, 2)
        self.list = QListWidget(body)
        self.new_class = QLineEdit(body)
        self.new_class.setPlaceholderText("New class name, then Enter")
        lay.addWidget(self.list)
        lay.addWidget(self.new_class)
        self.setWidget(body)
        self._names: list[str] = []
        self.list.currentRowChanged.connect(self._on_row)
        self.list.itemChanged.connect(self._on_item_changed)
        self.new_class.returnPressed.connect(self._on_new_class)

    def set_schema(self, schema: Schema) -> None:
        current = self.current()
        hidden = {n for n in self._names if not self.is_visible_class(n)}  # ticks survive a schema edit
        self.list.blockSignals(True)
        self.list.clear()
        self._names = schema.names()
        for i, c in enumerate(schema.classes):
            shortcut = f"{i + 1}  " if i < 9 else "   "
            item = QListWidgetItem(color_icon(c.color), f"{shortcut}{c.name}")
            item.setData(Qt.ItemDataRole.UserRole, c.name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked if c.name in hidden else Qt.CheckState.Checked)
            item.setToolTip(f"{c.name} (id {c.id}, {'thing' if c.is_thing else 'stuff'})")
            self.list.addItem(item)
        self.list.blockSignals(False)
        if current in self._names:
            self.select(current)
        elif self._names:
            self.select(self._names[0])

    def names(self) -> list[str]:
        return list(self._names)

    def current(self) -> str | None:
        row = self.list.currentRow()
        return self._names[row] if 0 <= row < len(self._names) else None

    def select(self, name: str) -> None:
        if name in self._names:
            self.list.setCurrentRow(self._names.index(name))

    def is_visible_class(self, name: str) -> bool:
        return self.list.item(self._names.index(name)).checkState() == Qt.CheckState.Checked

    def _on_row(self, row: int) -> None:
        if 0 <= row < len(self._names):
            self.class_selected.emit(self._names[row])

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        self.visibility_changed.emit(item.data(Qt.ItemDataRole.UserRole),
                                     item.checkState() == Qt.CheckState.Checked)

    def _on_new_class(self) -> None:
        name = self.new_class.text().strip()
        if name:
            self.new_class.clear()
            self.class_added.emit(name)
