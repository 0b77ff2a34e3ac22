"""The file list dock: every image with its status, a filter box, a status filter and "n of N done".

An image with proposals awaiting review says how many ("3 proposals"); the "with proposals" box,
shown while any image has some, keeps only those (counts come from the status index, review.py).
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QCheckBox, QComboBox, QDockWidget, QHBoxLayout, QLabel, QLineEdit, QListWidget, \
    QListWidgetItem, QVBoxLayout, QWidget

from ..core.events import Signal

STATUS_TEXT = {"new": "new", "in_progress": "in progress", "done": "done", "reviewed": "reviewed",
               "unreadable": "unreadable", "unknown": "not read yet"}
STATUS_COLOR = {"new": QColor(128, 128, 128), "in_progress": QColor(220, 160, 0), "done": QColor(0, 160, 0),
                "reviewed": QColor(0, 110, 220), "unreadable": QColor(200, 0, 0)}
DONE = ("done", "reviewed")
#: the status filter's choices: (shown text, statuses kept; None keeps all)
STATUS_FILTERS = (("all images", None), ("not done", ("new", "in_progress", "unknown", "unreadable")),
                  ("new", ("new",)), ("in progress", ("in_progress",)), ("done", ("done",)),
                  ("reviewed", ("reviewed",)), ("done or reviewed", DONE), ("unreadable", ("unreadable",)))


class FileListDock(QDockWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(QCoreApplication.translate("docks", "Files"), parent)
        # plain-callback signals (labeler.core.events), the same kind the document emits
        self.image_activated = Signal()  # (int) index into the project's key list
        self.setObjectName("file_list_dock")
        body = QWidget(self)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(2, 2, 2, 2)
        self.filter_box = QLineEdit(body)
        self.filter_box.setPlaceholderText("Filter by name or status")
        self.filter_box.setClearButtonEnabled(True)
        self.status_filter = QComboBox(body)
        self.status_filter.setObjectName("status_filter")
        self.status_filter.setToolTip(QCoreApplication.translate("docks", "Show only images with this status"))
        for text, statuses in STATUS_FILTERS:
            self.status_filter.addItem(QCoreApplication.translate("docks", text), statuses)
        self.proposal_filter = QCheckBox(QCoreApplication.translate("docks", "with proposals"), body)
        self.proposal_filter.setObjectName("proposal_filter")
        self.proposal_filter.setToolTip(
            QCoreApplication.translate("docks", "Show only images with proposals to review"))
        self.summary = QLabel(body)
        self.list = QListWidget(body)
        top = QHBoxLayout()
        top.addWidget(self.filter_box, 1)
        top.addWidget(self.status_filter)
        lay.addLayout(top)
        lay.addWidget(self.proposal_filter, 0, Qt.AlignmentFlag.AlignLeft)  # own row: the dock gets no wider
        self.proposal_filter.setHidden(True)  # shown while some image has proposals (or it is on)
        lay.addWidget(self.list)
        lay.addWidget(self.summary)
        self.setWidget(body)
        self._statuses: dict[str, str] = {}
        self._rows: dict[str, int] = {}
        self._proposals: dict[str, int] = {}  # key -> proposals awaiting review (absent: none)
        self.filter_box.textChanged.connect(self.apply_filter)
        self.status_filter.currentIndexChanged.connect(lambda _i: self.apply_filter())
        self.proposal_filter.toggled.connect(lambda _on: self.apply_filter())
        self.list.itemActivated.connect(self._on_activated)
        self.list.itemClicked.connect(self._on_activated)

    def set_entries(self, keys: list[str], statuses: dict[str, str]) -> None:
        self.list.clear()
        self._rows = {}
        self._proposals = {}  # another project: set_proposals follows
        self._statuses = {k: statuses.get(k, "new") for k in keys}
        for i, k in enumerate(keys):
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, i)
            self.list.addItem(item)
            self._rows[k] = i
            self._paint(k)
        self.apply_filter()

    def set_status(self, key: str, status: str) -> None:
        if key in self._rows:
            self._statuses[key] = status
            self._paint(key)
            self.apply_filter()

    def set_statuses(self, statuses: dict[str, str]) -> None:
        """Many statuses at once (a status-index refresh): one filter pass, not one per row."""
        for key, status in statuses.items():
            if key in self._rows:
                self._statuses[key] = status
                self._paint(key)
        self.apply_filter()

    def set_proposals(self, counts: dict[str, int]) -> None:
        """Proposal counts of these images (the others keep theirs); one filter pass."""
        changed = [k for k, n in counts.items() if k in self._rows and self._proposals.get(k, 0) != n]
        for key in changed:
            self._proposals[key] = counts[key]
            self._paint(key)
        if changed:
            self.apply_filter()

    def proposal_count(self, key: str) -> int:
        return self._proposals.get(key, 0)

    def set_current(self, key: str) -> None:
        if key in self._rows:
            self.list.blockSignals(True)
            self.list.setCurrentRow(self._rows[key])
            self.list.blockSignals(False)

    def done_count(self) -> int:
        return sum(1 for s in self._statuses.values() if s in DONE)

    def visible_keys(self) -> list[str]:
        return [k for k, r in self._rows.items() if not self.list.isRowHidden(r)]

    def apply_filter(self) -> None:
        words = self.filter_box.text().lower().split()
        keep = self.status_filter.currentData()
        only_proposals = self.proposal_filter.isChecked()
        self.proposal_filter.setHidden(not only_proposals and not any(n > 0 for n in self._proposals.values()))
        for k, r in self._rows.items():
            status_text = STATUS_TEXT.get(self._statuses[k], self._statuses[k])
            hay = f"{k.lower()} {status_text}"
            shown = (keep is None or self._statuses[k] in keep) and all(w in hay for w in words) \
                and (not only_proposals or self._proposals.get(k, 0) > 0)
            self.list.setRowHidden(r, not shown)
        shown = len(self.visible_keys())
        text = f"{self.done_count()} of {len(self._rows)} done"
        if shown != len(self._rows):
            text += f"  ({shown} shown)"
        self.summary.setText(text)

    def _paint(self, key: str) -> None:
        item = self.list.item(self._rows[key])
        status = self._statuses[key]
        text = f"{key}  [{STATUS_TEXT.get(status, status)}]"
        n = self._proposals.get(key, 0)
        if n > 0:
            text += "  " + (QCoreApplication.translate("docks", "1 proposal") if n == 1
                            else QCoreApplication.translate("docks", "{0} proposals").format(n))
        item.setText(text)
        item.setForeground(STATUS_COLOR.get(status, QColor(0, 0, 0)))

    def _on_activated(self, item: QListWidgetItem) -> None:
        self.image_activated.emit(int(item.data(Qt.ItemDataRole.UserRole)))
