"""Three conveniences users of labelme / X-AnyLabeling expect:

* **Hide All Shapes** (Ctrl+H): every overlay hidden to look at the image; per-class visibility
  is left as it was.
* **Keep Previous Annotation** (Ctrl+P, for video frames): when on, moving to an image that has
  no shapes copies the previous image's shapes onto it (``core/carry_over.py``: new ids, clipped
  to the image) as one undo step, and marks it in progress. Never onto an image that has shapes,
  one marked done or reviewed (an image deliberately left empty), or one opened read-only.
* **Simplify Selected Polygons**: fewer vertices (``core/simplify.py``, tolerance from the
  settings), one undo step, "n -> m vertices" in the status bar.

``LabelingAids`` lives on the main window as ``window.aids``.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from ..core.annotation import LOOKED_AT_STATUSES
from ..core.carry_over import carried_shapes
from ..core.errors import InvalidShapeError
from ..core.shapes import POLYGON
from ..core.simplify import simplify_polygon, vertex_count
from . import user_settings
from .action_spec import ActionSpec

AIDS_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("hide_shapes", "&Hide All Shapes", "Ctrl+H", "aids.set_shapes_hidden", "&View", checkable=True),
    ActionSpec("keep_previous", "&Keep Previous Annotation", "Ctrl+P", "aids.set_keep_previous", "&Edit",
               checkable=True),
    ActionSpec("simplify_polygons", "Simplif&y Selected Polygons", None, "aids.simplify_selected", "&Edit"),
)


def tr(text: str) -> str:
    return QCoreApplication.translate("status", text)


class LabelingAids:
    def __init__(self, window) -> None:
        self.window = window
        self.canvas = window.canvas
        self.keep_previous = False
        self._shown: tuple[str, object] | None = None  # (key, Document) of the image shown last
        self.canvas.image_shown.connect(self._on_image_shown)

    def _action(self, action_id: str):
        return getattr(self.window, "actions_by_id", {}).get(action_id)

    def _say(self, text: str) -> None:
        self.canvas.message.emit(text)

    # -- hide all shapes ------------------------------------------------------------------------
    def set_shapes_hidden(self, hidden: bool | None = None) -> None:
        """Hide every shape (``None``: as the action's tick says)."""
        action = self._action("hide_shapes")
        if hidden is None:
            hidden = action.isChecked() if action is not None else not self.canvas.shapes_hidden
        self.canvas.set_shapes_hidden(hidden)
        if action is not None and action.isChecked() != hidden:
            action.setChecked(hidden)
        self._say(tr("all shapes hidden (Ctrl+H shows them)") if hidden else tr("shapes shown"))

    # -- keep previous annotation --------------------------------------------------------------------
    def set_keep_previous(self, on: bool | None = None) -> None:
        action = self._action("keep_previous")
        if on is None:
            on = action.isChecked() if action is not None else not self.keep_previous
        self.keep_previous = bool(on)
        if action is not None and action.isChecked() != self.keep_previous:
            action.setChecked(self.keep_previous)
        self._say(tr("keep previous annotation: on") if on else tr("keep previous annotation: off"))

    def _on_image_shown(self, _image) -> None:
        session, doc = getattr(self.window, "session", None), self.canvas.document
        if session is None or doc is None or session.key is None:
            self._shown = None
            return
        key = session.key
        previous = self._shown
        self._shown = (key, doc)
        if not self.keep_previous or previous is None or previous[0] == key:
            return
        prev_doc = previous[1]
        ann = doc.annotation
        if doc.shapes or not prev_doc.shapes or ann.status in LOOKED_AT_STATUSES or session.read_only_reason:
            return
        shapes = carried_shapes(prev_doc.shapes, ann.width, ann.height)
        if not shapes:
            self._say(tr("previous annotation not kept: all of it lies outside this image"))
            return
        with doc.group("keep previous annotation"):
            doc.add_shapes(shapes, "keep previous annotation")
            if ann.status != "in_progress":
                doc.set_status("in_progress")
        self._say(tr("kept {0} shape(s) from {1}").format(len(shapes), previous[0]))

    # -- simplify polygon ------------------------------------------------------------------------------
    def simplify_selected(self) -> None:
        doc = self.canvas.document
        polygons = [doc.get(sid) for sid in self.canvas.selected_ids if doc.get(sid).kind == POLYGON] \
            if doc is not None else []
        if not polygons:
            self._say(tr("select one or more polygons to simplify"))
            return
        if not self.canvas.may_edit():
            return
        tolerance = float(user_settings.get("simplify_tolerance"))
        changed, refused, before, after = [], [], 0, 0
        for s in polygons:
            try:
                new = simplify_polygon(s, tolerance)
            except InvalidShapeError as e:
                refused.append(str(e))
                continue
            before, after = before + vertex_count(s), after + vertex_count(new)
            if vertex_count(new) < vertex_count(s):
                changed.append(new)
        if changed:
            with doc.group("simplify polygon"):
                for new in changed:
                    doc.replace_shape(new.id, new, "simplify polygon")
        text = tr("simplified {0} polygon(s): {1} -> {2} vertices").format(len(changed), before, after)
        if refused:
            text += "; " + refused[0]
        self._say(text)
