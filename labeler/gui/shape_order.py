"""Shape edits asked from the shape list: stacking order and instance id.

``ShapeOrderController`` lives on the main window as ``window.shape_order``; the rows of
``SHAPE_ORDER_ACTIONS`` (appended to the table in actions.py) name its methods. Each request
on a selection is one undo step; the canvas restacks and recolours through the document.
"""

from __future__ import annotations

from .action_spec import ActionSpec

SHAPE_ORDER_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("bring_forward", "Bring Shapes &Forward", "Ctrl+Shift+Up", "shape_order.move", "&Edit", arg=1),
    ActionSpec("send_backward", "Send Shapes &Backward", "Ctrl+Shift+Down", "shape_order.move", "&Edit", arg=-1),
    ActionSpec("new_instance", "New &Instance for Selected Shapes", "Ctrl+Shift+I", "shape_order.new_instance",
               "&Edit"),
)


class ShapeOrderController:
    def __init__(self, window) -> None:
        self.window = window
        dock = window.shape_dock
        dock.order_requested.connect(self.move)
        dock.instance_requested.connect(self.set_instance)

    def _targets(self) -> list[str]:
        w = self.window
        ids = w.canvas.selected_ids
        return ids if ids and w._editable() else []

    def move(self, delta: int) -> None:
        """Raise (+1) or lower (-1) the selected shapes one level, as one undo step."""
        ids = self._targets()
        if not ids:
            return
        doc = self.window._doc
        with doc.group("bring forward" if delta > 0 else "send backward"):
            for sid in ids:
                doc.raise_shape(sid, delta)

    def set_instance(self, instance_id: int | None) -> None:
        """Give the selected shapes this instance id (None: none), as one undo step."""
        ids = self._targets()
        if not ids:
            return
        doc = self.window._doc
        with doc.group("set instance id"):
            for sid in ids:
                if doc.get(sid).instance_id != instance_id:
                    doc.update_shape(sid, "set instance id", instance_id=instance_id)

    def new_instance(self) -> None:
        """One new instance id (one more than the highest in the image) for the selected shapes."""
        doc = self.window._doc
        if doc is None:
            return
        used = [s.instance_id for s in doc.shapes if s.instance_id is not None]
        self.set_instance(max(used, default=0) + 1)
