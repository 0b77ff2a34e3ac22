"""The shape list dock: the current image's shapes; select, delete, change class."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QAbstractItemView, QComboBox, QDockWidget, QHBoxLayout, QListWidget, \
    QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from ..core.events import Signal
from ..core.shapes import Shape
from .class_palette import color_icon


class ShapeListDock(QDockWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(QCoreApplication.translate("docks", "Shapes"), parent)
        # plain-callback signals (labeler.core.events), the same kind the document emits
        self.selection_changed = Signal()  # (list) shape ids
        self.delete_requested = Signal()
        self.relabel_requested = Signal()  # (str)
        self.setObjectName("shape_list_dock")
        body = QWidget(self)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(2, 2, 2, 2)
        self.list = QListWidget(body)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        row = QHBoxLayout()
        self.class_box = QComboBox(body)
        self.class_box.setToolTip("Change the class of the selected shapes")
        self.delete_button = QPushButton("Delete", body)
        row.addWidget(self.class_box, 1)
        row.addWidget(self.delete_button)
        lay.addWidget(self.list)
        lay.addLayout(row)
        self.setWidget(body)
        self._ids: list[str] = []
        self._rows: list[tuple] = []  # (label, kind, colour) shown in each row
        self.list.itemSelectionChanged.connect(self._on_selection)
        self.delete_button.clicked.connect(lambda _checked=False: self.delete_requested.emit())
        self.class_box.activated.connect(lambda i: self.relabel_requested.emit(self.class_box.itemText(i)))

    def set_classes(self, names: list[str]) -> None:
        self.class_box.blockSignals(True)
        self.class_box.clear()
        self.class_box.addItems(names)
        self.class_box.blockSignals(False)

    def set_shapes(self, shapes: list[Shape], colors: dict[str, tuple[int, int, int]], selected: list[str]) -> None:
        self.list.blockSignals(True)
        rows = [(s.label, s.kind, colors.get(s.label, (128, 128, 128))) for s in shapes]
        ids = [s.id for s in shapes]
        if ids == self._ids:  # the same shapes in the same order: restyle only the rows that changed
            for i, (row, old) in enumerate(zip(rows, self._rows)):
                if row != old:
                    self.list.item(i).setIcon(color_icon(row[2]))
                    self.list.item(i).setText(f"{row[0]}  ({row[1]})")
        else:
            self.list.clear()
            for sid, (label, kind, color) in zip(ids, rows):
                item = QListWidgetItem(color_icon(color), f"{label}  ({kind})")
                item.setData(Qt.ItemDataRole.UserRole, sid)
                self.list.addItem(item)
        self._ids, self._rows = ids, rows
        self.list.blockSignals(False)
        self.set_selection(selected)

    def set_selection(self, ids: list[str]) -> None:
        self.list.blockSignals(True)
        ids = set(ids)
        for row, sid in enumerate(self._ids):
            item = self.list.item(row)
            if item.isSelected() != (sid in ids):
                item.setSelected(sid in ids)
        self.list.blockSignals(False)

    def selected_ids(self) -> list[str]:
        return [self._ids[self.list.row(it)] for it in self.list.selectedItems()]

    def _on_selection(self) -> None:
        self.selection_changed.emit(self.selected_ids())
