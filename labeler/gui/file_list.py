"""The file list dock: every image with its status, a filter box, a status filter and "n of N done".

An image with proposals awaiting review says how many ("3 proposals"); the "with proposals" box,
shown while any image has some, keeps only those (counts come from the status index, review.py).

Built for folders of 50,000 images (tests/bench/bench_scale.py): a ``QListView`` over
:class:`FileListModel`, whose rows are only the images the filters keep, so a filter change is one
pass over plain Python lists and one model reset (no widget item per image; typing more of the
same word narrows the rows already kept), and one image's status change inserts, removes or
repaints that row alone. The done count and the number of images with proposals are kept as
they change, never counted again. Measured at 50,000 images (bench_scale, offscreen, 2 shared
cores), QListWidget -> this: a filter key press 394 -> 10 ms (median), a status filter change
387 -> 14 ms, mark done with "n of N done" 443 -> 9 ms.

``dock.list`` keeps the few ``QListWidget`` calls callers used (``count``, ``item(i).text()``,
``currentRow``, ``isRowHidden``, ``visualItemRect``), with ``i`` an index into the project's keys.
"""

from __future__ import annotations

from bisect import bisect_left

from PySide6.QtCore import QCoreApplication, QItemSelectionModel, QModelIndex, QRect, QStringListModel, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QCheckBox, QComboBox, QDockWidget, QHBoxLayout, QLabel, QLineEdit, QListView, \
    QVBoxLayout, QWidget

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
_BLACK = QColor(0, 0, 0)


def _narrows(old: list[str], new: list[str]) -> bool:
    """Whatever ``new`` words keep, ``old`` words kept too (each old word is inside a new one)."""
    return all(any(o in n for n in new) for o in old)


class FileListModel(QStringListModel):
    """The images the filters keep, in key order. Row texts live in Qt's own string list, so the
    view lays out 50,000 rows without one Python call per row; only painted rows ask ``data``."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.keys: list[str] = []
        self.statuses: list[str] = []
        self.proposals: list[int] = []
        self.texts: list[str] = []  # each image's row text
        self.hay: list[str] = []  # "name status" in lower case: what the filter box searches
        self.rows: list[int] = []  # key indices shown, ascending
        self.index_of: dict[str, int] = {}
        self.words: list[str] | None = []  # None: a fresh pass over every image is due
        self.keep: tuple[str, ...] | None = None
        self.only_proposals = False

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.ForegroundRole:
            return STATUS_COLOR.get(self.statuses[self.rows[index.row()]], _BLACK) if index.isValid() else None
        if role == Qt.ItemDataRole.UserRole:
            return self.rows[index.row()] if index.isValid() else None
        return super().data(index, role)

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable  # not editable, not draggable

    def text(self, i: int) -> str:
        status = self.statuses[i]
        text = f"{self.keys[i]}  [{STATUS_TEXT.get(status, status)}]"
        n = self.proposals[i]
        if n > 0:
            text += "  " + (QCoreApplication.translate("docks", "1 proposal") if n == 1
                            else QCoreApplication.translate("docks", "{0} proposals").format(n))
        return text

    # -- contents -------------------------------------------------------------------------------
    def set_entries(self, keys: list[str], statuses: dict[str, str]) -> None:
        self.keys = list(keys)
        self.index_of = {k: i for i, k in enumerate(self.keys)}
        self.statuses = [statuses.get(k, "new") for k in self.keys]
        self.proposals = [0] * len(self.keys)
        # what text() and _hay() give with no proposals, one suffix per status: no call per image
        # (at 50,000 images this is the bulk of the window's hold when the statuses arrive)
        shown = {s: STATUS_TEXT.get(s, s) for s in set(self.statuses)}
        row_tail = {s: f"  [{t}]" for s, t in shown.items()}
        hay_tail = {s: f" {t}" for s, t in shown.items()}
        self.texts = [k + row_tail[s] for k, s in zip(self.keys, self.statuses)]
        self.hay = [k.lower() + hay_tail[s] for k, s in zip(self.keys, self.statuses)]
        self.words = None  # the dock filters next
        self.rows = []
        self.setStringList([])

    def changed(self, i: int) -> None:
        """Key ``i``'s status or proposal count was set: its text and search text follow."""
        self.texts[i] = self.text(i)
        self.hay[i] = self._hay(i)

    def _hay(self, i: int) -> str:
        status = self.statuses[i]
        return f"{self.keys[i].lower()} {STATUS_TEXT.get(status, status)}"

    def shows(self, i: int) -> bool:
        return (self.keep is None or self.statuses[i] in self.keep) \
            and (not self.only_proposals or self.proposals[i] > 0) and all(w in self.hay[i] for w in self.words or ())

    def _filtered(self, candidates) -> list[int]:
        keep, words, only = self.keep, self.words, self.only_proposals
        if keep is None and not words and not only:
            return list(candidates)
        hay, statuses, proposals = self.hay, self.statuses, self.proposals
        if keep is not None:
            candidates = [i for i in candidates if statuses[i] in keep]
        if only:
            candidates = [i for i in candidates if proposals[i] > 0]
        for w in words:  # one pass per word: a comprehension, no call per image
            candidates = [i for i in candidates if w in hay[i]]
        return list(candidates)

    def set_filter(self, words: list[str], keep, only_proposals: bool) -> None:
        narrowing = self.words is not None and keep == self.keep and only_proposals == self.only_proposals \
            and _narrows(self.words, words)
        if words == self.words and narrowing:
            return
        self.words, self.keep, self.only_proposals = words, keep, only_proposals
        self.rows = self._filtered(self.rows if narrowing else range(len(self.keys)))
        texts = self.texts
        self.setStringList([texts[i] for i in self.rows])  # one reset

    def update(self, i: int, status: str | None = None, proposals: int | None = None) -> None:
        """Key ``i``'s status and/or proposal count changed: its row alone is inserted, removed or repainted."""
        if status is not None:
            self.statuses[i] = status
        if proposals is not None:
            self.proposals[i] = proposals
        self.changed(i)
        r = bisect_left(self.rows, i)
        present, wanted = r < len(self.rows) and self.rows[r] == i, self.shows(i)
        if present and wanted:
            self.setData(self.index(r), self.texts[i])
        elif present:
            del self.rows[r]
            self.removeRows(r, 1)
        elif wanted:
            self.rows.insert(r, i)
            self.insertRows(r, 1)
            self.setData(self.index(r), self.texts[i])

    def row_of(self, i: int) -> int:
        """The row showing key index ``i`` (-1 when the filters hide it)."""
        r = bisect_left(self.rows, i)
        return r if r < len(self.rows) and self.rows[r] == i else -1


class _Item:
    """One image of the list, as ``QListWidget.item(i)`` gave it (``i``: its key index)."""

    def __init__(self, model: FileListModel, i: int) -> None:
        self._model, self.key_index = model, i

    def text(self) -> str:
        return self._model.texts[self.key_index]

    def foreground(self) -> QColor:
        return STATUS_COLOR.get(self._model.statuses[self.key_index], _BLACK)

    def data(self, role: int):
        return self.key_index if role == Qt.ItemDataRole.UserRole else \
            self.text() if role == Qt.ItemDataRole.DisplayRole else None


class FileListView(QListView):
    """The list of the rows the filters keep. Also answers the ``QListWidget`` calls the rest of the code
    used, with rows numbered by key index (hidden ones included), as they were there."""

    def __init__(self, model: FileListModel, parent=None) -> None:
        super().__init__(parent)
        self.setUniformItemSizes(True)  # no per-row size query: 50,000 rows lay out at once
        self.setModel(model)
        self.file_model = model

    def count(self) -> int:
        return len(self.file_model.keys)

    def item(self, i: int) -> _Item | None:
        return _Item(self.file_model, i) if 0 <= i < self.count() else None

    def currentRow(self) -> int:
        at = self.currentIndex()
        return self.file_model.rows[at.row()] if at.isValid() else -1

    def setCurrentRow(self, i: int) -> None:
        r = self.file_model.row_of(i)
        if r < 0:
            self.selectionModel().clear()  # hidden by the filters: no row stands for it
            return
        self.selectionModel().setCurrentIndex(self.file_model.index(r),
                                              QItemSelectionModel.SelectionFlag.ClearAndSelect)

    def isRowHidden(self, i: int) -> bool:  # noqa: N802 (Qt's name): by key index, as before
        return self.file_model.row_of(i) < 0

    def visualItemRect(self, item: _Item) -> QRect:  # noqa: N802 (QListWidget's name)
        r = self.file_model.row_of(item.key_index)
        return self.visualRect(self.file_model.index(r)) if r >= 0 else QRect()


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
        self.model = FileListModel(self)
        self.list = FileListView(self.model, body)
        top = QHBoxLayout()
        top.addWidget(self.filter_box, 1)
        top.addWidget(self.status_filter)
        lay.addLayout(top)
        lay.addWidget(self.proposal_filter, 0, Qt.AlignmentFlag.AlignLeft)  # own row: the dock gets no wider
        self.proposal_filter.setHidden(True)  # shown while some image has proposals (or it is on)
        lay.addWidget(self.list)
        lay.addWidget(self.summary)
        self.setWidget(body)
        self._done = 0  # images done or reviewed, kept as statuses change
        self._with_proposals = 0  # images with proposals awaiting review
        self._current: int = -1  # key index of the shown image
        self.filter_box.textChanged.connect(self.apply_filter)
        self.status_filter.currentIndexChanged.connect(lambda _i: self.apply_filter())
        self.proposal_filter.toggled.connect(lambda _on: self.apply_filter())
        self.list.activated.connect(self._on_activated)
        self.list.clicked.connect(self._on_activated)

    def set_entries(self, keys: list[str], statuses: dict[str, str]) -> None:
        self.model.set_entries(keys, statuses)  # another project: proposal counts follow (set_proposals)
        self._done = sum(1 for s in self.model.statuses if s in DONE)
        self._with_proposals = 0
        self._current = -1
        self.apply_filter(force=True)

    def set_status(self, key: str, status: str) -> None:
        i = self.model.index_of.get(key)
        if i is not None and self.model.statuses[i] != status:
            self._done += (status in DONE) - (self.model.statuses[i] in DONE)
            self.model.update(i, status=status)
            self._after_change()

    def set_statuses(self, statuses: dict[str, str]) -> None:
        """Many statuses at once (a status-index refresh): one filter pass, not one per row."""
        m = self.model
        changed = [(m.index_of[k], s) for k, s in statuses.items() if k in m.index_of and m.statuses[m.index_of[k]] != s]
        for i, status in changed:
            self._done += (status in DONE) - (m.statuses[i] in DONE)
            m.statuses[i] = status
            m.changed(i)
        if changed:
            self.apply_filter(force=True)

    def set_proposals(self, counts: dict[str, int]) -> None:
        """Proposal counts of these images (the others keep theirs); one filter pass."""
        m = self.model
        index_of, proposals = m.index_of, m.proposals  # one look-up per key: 50,000 when the statuses arrive
        changed = [(i, n) for k, n in counts.items() if (i := index_of.get(k)) is not None and proposals[i] != n]
        for i, n in changed:
            self._with_proposals += (n > 0) - (m.proposals[i] > 0)
            if len(changed) == 1:
                m.update(i, proposals=n)
            else:
                m.proposals[i] = n
                m.changed(i)
        if len(changed) > 1:
            self.apply_filter(force=True)
        elif changed:
            self._after_change()

    def proposal_count(self, key: str) -> int:
        i = self.model.index_of.get(key)
        return self.model.proposals[i] if i is not None else 0

    def set_current(self, key: str) -> None:
        i = self.model.index_of.get(key)
        if i is not None:
            self._current = i
            self._sync_current()

    def _sync_current(self) -> None:
        """The shown image's row is the current one (none while the filters hide it)."""
        if self._current >= 0 and self.list.currentRow() != self._current:
            self.list.blockSignals(True)
            self.list.setCurrentRow(self._current)
            self.list.blockSignals(False)

    def done_count(self) -> int:
        return self._done

    def visible_keys(self) -> list[str]:
        keys = self.model.keys
        return [keys[i] for i in self.model.rows]

    def apply_filter(self, *_args, force: bool = False) -> None:
        words = self.filter_box.text().lower().split()
        only_proposals = self.proposal_filter.isChecked()
        if force:
            self.model.words = None  # nothing to narrow from: every image is looked at again
        self.model.set_filter(words, self.status_filter.currentData(), only_proposals)
        self._after_change()

    def _after_change(self) -> None:
        self._sync_current()  # a reset drops the current row; a removed row moves it to a neighbour
        self.proposal_filter.setHidden(not self.proposal_filter.isChecked() and self._with_proposals == 0)
        total, shown = len(self.model.keys), len(self.model.rows)
        text = f"{self._done} of {total} done"
        if shown != total:
            text += f"  ({shown} shown)"
        self.summary.setText(text)

    def _on_activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.image_activated.emit(int(self.model.rows[index.row()]))
