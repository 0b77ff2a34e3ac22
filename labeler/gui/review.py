"""Reviewing proposals image after image: counts in the file list, jumps, accept/reject all, Tab.

For someone who pre-labelled hundreds of images (model pre-labels, autolabel, SAM, GrabCut:
``Shape.is_proposal``), this finds the work left and gets through it by keyboard:

* the file list says how many proposals each image has and can show only those images; the
  counts come from the status index (``core/status_index.py``: kept with each file's status,
  recorded when a save is written, read in a worker for files changed by a job), and the shown
  image's count follows its edits;
* **Next / Previous Image with Proposals** (Shift+D / Shift+A, beside D / A);
* **Accept All and Next** (Ctrl+Shift+Return): the image's proposals accepted and the image
  marked done as one undo step, then the next image with proposals; **Reject All Proposals**
  (Ctrl+Shift+Delete): its proposals removed as one undo step, accepted shapes left alone;
* **Tab / Shift+Tab** with the edit tool, while a proposal (or nothing) is selected: select the
  next / previous proposal of the image, centring the view on it when it is not wholly in view.
  The AI tool takes Tab for its candidates only while it is the tool, so the two never meet.

``ReviewController`` lives on the main window as ``window.review``.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QRectF, Qt, QTimer

from ..core.annotation import LOOKED_AT_STATUSES
from .action_spec import ActionSpec
from .proposal_style import accept_in
from .status_refresh import StatusRefresher

REVIEW_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("next_with_proposals", "Next Image with Pr&oposals", "Shift+D", "review.go_to_proposals", "&View",
               arg=1),
    ActionSpec("prev_with_proposals", "Previous Image with Proposa&ls", "Shift+A", "review.go_to_proposals",
               "&View", arg=-1),
    ActionSpec("accept_all_and_next", "Accept All Proposals and &Next", "Ctrl+Shift+Return",
               "review.accept_all_and_next", "&Edit"),
    ActionSpec("reject_all_proposals", "Re&ject All Proposals", "Ctrl+Shift+Delete", "review.reject_all", "&Edit"),
)

_KEYS = (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress)
#: images whose proposal counts are set per event-loop turn after a status refresh
COUNT_STEP = 10_000


def tr(text: str) -> str:
    return QCoreApplication.translate("review", text)


def proposal_ids(doc) -> list[str]:
    return [s.id for s in doc.shapes if s.is_proposal] if doc is not None else []


class ReviewController(QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.window, self.canvas = window, window.canvas
        self.session = None
        self.counts: dict[str, int] = {}  # key -> proposals awaiting review (shown image: live)
        self.counts_pending = 0  # refreshed statuses whose counts are set on a later event-loop turn
        self.rescanner: StatusRefresher | None = None
        self._doc = None
        window.file_dock.proposal_filter.toggled.connect(lambda on: on and self.rescan())
        prelabels = getattr(getattr(window, "training", None), "prelabels", None)
        if prelabels is not None:  # the files a prediction wrote are read again, in a worker
            prelabels.predicted.connect(lambda _result: self.rescan())
        for obj in (self.canvas, self.canvas.viewport()):
            obj.installEventFilter(self)

    def _say(self, text: str) -> None:
        self.window.show_message(text)

    # -- counts ---------------------------------------------------------------------------------
    def attach(self, session) -> None:
        """Follow ``session`` (after the file list has its entries)."""
        self.shutdown()
        if self._doc is not None:
            self._doc.changed.disconnect(self._on_document_changed)
            self._doc = None
        self.session = session
        self.counts = session.status_index.proposal_counts(session.keys)
        session.statuses_refreshed.connect(self._on_refreshed)
        session.saved.connect(self._on_saved)
        session.image_opened.connect(self._on_image_opened)
        self.window.file_dock.set_proposals(self.counts)

    def _set_counts(self, counts: dict[str, int]) -> None:
        self.counts.update(counts)
        self.window.file_dock.set_proposals(counts)

    def _on_refreshed(self, statuses: dict) -> None:
        """Counted from the next event-loop turn on, ``COUNT_STEP`` images a turn: at 50,000 images
        the file list fills on this turn, and the two together held the window ~150 ms
        (tests/bench/bench_scale.py). Each step reads the index then, so a save in between counts."""
        self.counts_pending += 1
        keys = list(statuses)
        QTimer.singleShot(0, self, lambda s=self.session: self._count_step(s, keys, 0))

    def _count_step(self, session, keys: list[str], start: int) -> None:
        if session is not self.session:  # another project since: its own counts are set
            self.counts_pending -= 1
            return
        end = start + COUNT_STEP
        counts = session.status_index.proposal_counts(keys[start:end])
        if session.key in counts and self._doc is not None:
            counts[session.key] = len(proposal_ids(self._doc))  # the shown one as edited
        self._set_counts(counts)
        if end < len(keys):
            QTimer.singleShot(0, self, lambda: self._count_step(session, keys, end))
        else:
            self.counts_pending -= 1

    def _on_saved(self, key: str) -> None:
        if key != self.session.key:  # the shown image's count follows its document already
            self._set_counts(self.session.status_index.proposal_counts([key]))

    def _on_image_opened(self, _key: str) -> None:
        if self._doc is not None:
            self._doc.changed.disconnect(self._on_document_changed)
        self._doc = self.session.document
        self._doc.changed.connect(self._on_document_changed)
        self._on_document_changed()

    def _on_document_changed(self, _text: str = "") -> None:
        key = self.session.key if self.session is not None else None
        n = len(proposal_ids(self._doc))
        if key is not None and self.counts.get(key) != n:
            self._set_counts({key: n})

    def rescan(self) -> bool:
        """Read again, in a worker, the files changed on disk since they were indexed (a job wrote
        proposals into them); statuses and counts follow. False when nothing needs reading."""
        s = self.session
        busy = [r for r in (self.rescanner, s.status_refresher if s is not None else None) if r is not None]
        if s is None or any(r.running for r in busy):  # the reading under way answers first
            return False
        _statuses, stale = s.status_index.lookup(s.keys)  # stats files, parses none
        if not stale:
            return False
        self.rescanner = StatusRefresher(s.status_index, stale, lambda _done, _total: None,
                                         lambda statuses, cancelled, s=s: s is self.session
                                         and s._on_statuses_read(statuses, cancelled))
        return True

    def shutdown(self) -> None:
        if self.rescanner is not None:
            self.rescanner.shutdown()
            self.rescanner = None

    # -- images with proposals ------------------------------------------------------------------
    def go_to_proposals(self, step: int) -> bool:
        """Open the next (``step`` 1) or previous (-1) image that has proposals."""
        s = self.session
        if s is None or not s.keys:
            return False
        i = (s.loading_index if s.loading_index is not None else max(0, s.index)) + step
        while 0 <= i < len(s.keys):
            if self.counts.get(s.keys[i], 0) > 0:
                return self.window.open_index(i)
            i += step
        self._say(tr("No more images with proposals after this one.") if step > 0
                  else tr("No images with proposals before this one."))
        return False

    def _editable_doc(self):
        doc = self.canvas.document
        if doc is None or not self.canvas.may_edit():
            return None
        self.canvas.tool.cancel()
        return doc

    def accept_all_and_next(self) -> bool:
        """Accept this image's proposals and mark it done (one undo step), then go on to the next
        image with proposals. An image without proposals is left as it is."""
        doc = self._editable_doc()
        if doc is None:
            return False
        ids = proposal_ids(doc)
        if ids:
            with doc.group("accept all proposals"):
                accept_in(doc, ids)
                if doc.annotation.status not in LOOKED_AT_STATUSES:
                    doc.set_status("done")
            self._say(tr("Accepted {0} proposals; marked done.").format(len(ids)))
        return self.go_to_proposals(1)

    def reject_all(self) -> int:
        """Remove this image's proposals (one undo step); returns how many."""
        doc = self._editable_doc()
        ids = proposal_ids(doc)
        if not ids:
            if doc is not None:
                self._say(tr("No proposals on this image."))
            return 0
        with doc.group("reject all proposals"):
            for sid in ids:
                doc.remove_shape(sid)
        self._say(tr("Rejected {0} proposals.").format(len(ids)))
        return len(ids)

    # -- Tab / Shift+Tab between the proposals of the image ----------------------------------------
    def select_proposal(self, step: int) -> str | None:
        """Select the next (1) or previous (-1) proposal after the selected one; its id."""
        ids = proposal_ids(self.canvas.document)
        if not ids:
            return None
        chosen = [sid for sid in self.canvas.selected_ids if sid in ids]
        if chosen:
            at = ids.index(chosen[-1] if step > 0 else chosen[0])
            sid = ids[(at + step) % len(ids)]
        else:
            sid = ids[0 if step > 0 else -1]
        self.canvas.select([sid])
        self._reveal(self.canvas.document.get(sid).bbox())
        return sid

    def _reveal(self, box: tuple[float, float, float, float]) -> None:
        rect = QRectF(box[0], box[1], box[2] - box[0], box[3] - box[1])
        shown = self.canvas.mapToScene(self.canvas.viewport().rect()).boundingRect()
        if not shown.contains(rect):
            self.canvas.centerOn(rect.center())

    def _cycles(self) -> bool:
        """Tab is ours: the edit tool, and a proposal or nothing selected on an image with proposals."""
        doc = self.canvas.document
        if doc is None or self.canvas.tool.name != "edit":
            return False
        ids = set(proposal_ids(doc))
        selected = self.canvas.selected_ids
        return bool(ids) and (not selected or any(sid in ids for sid in selected))

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() not in _KEYS:  # checked first: other events come while widgets are torn down
            return False
        key, mods = event.key(), event.modifiers()
        if key not in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab) or mods & ~Qt.KeyboardModifier.ShiftModifier \
                or not self._cycles():
            return False
        event.accept()  # ShortcutOverride: the key comes here instead of moving the focus
        if event.type() == QEvent.Type.KeyPress:
            back = key == Qt.Key.Key_Backtab or bool(mods & Qt.KeyboardModifier.ShiftModifier)
            self.select_proposal(-1 if back else 1)
        return True
