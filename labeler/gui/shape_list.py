"""The shape list dock: the current image's shapes; select, delete, change class, instance id
and stacking order (shape_order.py carries out those edits)."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QAbstractItemView, QComboBox, QDockWidget, QHBoxLayout, QListWidget, \
    QListWidgetItem, QPushButton, QSpinBox, QVBoxLayout, QWidget

from ..core.events import Signal
from ..core.shapes import Shape
from .class_palette import color_icon
from .proposal_style import proposal_tag


class ShapeListDock(QDockWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(QCoreApplication.translate("docks", "Shapes"), parent)
        # plain-callback signals (labeler.core.events), the same kind the document emits
        self.selection_changed = Signal()  # (list) shape ids
        self.delete_requested = Signal()
        self.relabel_requested = Signal()  # (str)
        self.instance_requested = Signal()  # (int | None) instance id for the selected shapes
        self.order_requested = Signal()  # (int) +1 bring forward, -1 send backward
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
        tr = lambda text: QCoreApplication.translate("shape_list", text)  # noqa: E731
        order = QHBoxLayout()
        self.instance_box = QSpinBox(body)
        self.instance_box.setObjectName("instance_box")
        self.instance_box.setRange(-1, 999999)
        self.instance_box.setSpecialValueText(tr("no instance"))
        self.instance_box.setPrefix(tr("instance "))
        self.instance_box.setToolTip(tr("Instance id of the selected shapes (shapes sharing one are one object)"))
        self.forward_button = QPushButton(tr("Up"), body)
        self.forward_button.setToolTip(tr("Bring the selected shapes forward (Ctrl+Shift+Up)"))
        self.backward_button = QPushButton(tr("Down"), body)
        self.backward_button.setToolTip(tr("Send the selected shapes backward (Ctrl+Shift+Down)"))
        order.addWidget(self.instance_box, 1)
        order.addWidget(self.forward_button)
        order.addWidget(self.backward_button)
        lay.addWidget(self.list)
        lay.addLayout(row)
        lay.addLayout(order)
        self.setWidget(body)
        self._ids: list[str] = []
        self._rows: list[tuple] = []  # (label, kind, colour) shown in each row
        self.list.itemSelectionChanged.connect(self._on_selection)
        self.delete_button.clicked.connect(lambda _checked=False: self.delete_requested.emit())
        self.class_box.activated.connect(lambda i: self.relabel_requested.emit(self.class_box.itemText(i)))
        self.instance_box.editingFinished.connect(self._on_instance_edited)
        self.forward_button.clicked.connect(lambda _checked=False: self.order_requested.emit(1))
        self.backward_button.clicked.connect(lambda _checked=False: self.order_requested.emit(-1))

    def set_classes(self, names: list[str]) -> None:
        self.class_box.blockSignals(True)
        self.class_box.clear()
        self.class_box.addItems(names)
        self.class_box.blockSignals(False)

    def set_shapes(self, shapes: list[Shape], colors, selected: list[str]) -> None:
        """``colors``: label -> RGB, or a function of the shape (colour by instance follows)."""
        self.list.blockSignals(True)
        color_of = colors if callable(colors) else (lambda s: colors.get(s.label, (128, 128, 128)))
        rows = [(s.label, s.kind, color_of(s), s.instance_id, s.z, proposal_tag(s)) for s in shapes]
        ids = [s.id for s in shapes]
        if ids == self._ids:  # the same shapes in the same order: restyle only the rows that changed
            for i, (row, old) in enumerate(zip(rows, self._rows)):
                if row != old:
                    self.list.item(i).setIcon(color_icon(row[2]))
                    self.list.item(i).setText(_row_text(row))
                    _mark_proposal(self.list.item(i), row)
        else:
            self.list.clear()
            for sid, row in zip(ids, rows):
                item = QListWidgetItem(color_icon(row[2]), _row_text(row))
                item.setData(Qt.ItemDataRole.UserRole, sid)
                _mark_proposal(item, row)
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
        self._show_instance()

    def _show_instance(self) -> None:
        """The instance box shows the selected shapes' shared instance id (blank when mixed)."""
        rows = [self.list.row(it) for it in self.list.selectedItems()]
        found = {self._rows[r][3] for r in rows if r < len(self._rows)}
        self.instance_box.blockSignals(True)
        self.instance_box.setValue(-1 if len(found) != 1 or None in found else found.pop())
        self.instance_box.setEnabled(bool(rows))
        self.instance_box.blockSignals(False)

    def _on_instance_edited(self) -> None:
        if self.list.selectedItems():
            v = self.instance_box.value()
            self.instance_requested.emit(None if v < 0 else v)

    def selected_ids(self) -> list[str]:
        return [self._ids[self.list.row(it)] for it in self.list.selectedItems()]

    def _on_selection(self) -> None:
        self._show_instance()
        self.selection_changed.emit(self.selected_ids())


def _row_text(row: tuple) -> str:
    label, kind, _color, instance, z, proposal = row
    text = f"{label}  ({kind})"
    if instance is not None:
        text += f"  #{instance}"
    if z:
        text += f"  z{z:+d}"
    if proposal:
        text += f"  [{proposal}]"
    return text


def _mark_proposal(item: QListWidgetItem, row: tuple) -> None:
    """A proposal's row is in italics (its text carries the "proposal" tag)."""
    font = item.font()
    font.setItalic(bool(row[5]))
    item.setFont(font)
    item.setToolTip(QCoreApplication.translate("shape_list", "Awaiting review: Ctrl+Return accepts, Delete rejects")
                    if row[5] else "")
