"""Select and edit: click to select (Ctrl adds), drag a shape to move it, drag a vertex to reshape.

Vertices: a press on an edge of a selected polygon (or Alt+press on a selected polygon's or line
strip's edge) inserts one there and drags it; Shift+click on a vertex, or Delete while hovering
one, deletes it.

A drag is previewed on the canvas and written to the document once, on release: one undo step.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from ...core.errors import InvalidShapeError
from ...core.shapes import Shape
from .. import hit_test
from .base import Tool
from .vertex import delete_vertex, edge_at, insert_vertex

PICK_PX = 6  # how near (screen pixels) the cursor must be to a shape or vertex


class EditTool(Tool):
    name = "edit"
    cursor = Qt.CursorShape.ArrowCursor

    def __init__(self, canvas) -> None:
        super().__init__(canvas)
        self._start: tuple[float, float] | None = None
        self._originals: dict[str, Shape] = {}
        self._vertex: tuple[str, int] | None = None
        self._moved: dict[str, Shape] = {}
        self._inserted = False
        self._hover: tuple[str, int] | None = None

    @property
    def busy(self) -> bool:
        return self._start is not None

    def press(self, x, y, modifiers) -> bool:
        doc = self.canvas.document
        if doc is None:
            return False
        tol = self.canvas.scene_tolerance(PICK_PX)
        additive = bool(modifiers & Qt.KeyboardModifier.ControlModifier)
        alt = bool(modifiers & Qt.KeyboardModifier.AltModifier)
        for sid in self.canvas.selected_ids:
            i = hit_test.vertex_at(doc.get(sid), x, y, tol)
            if i is not None and not additive:
                if modifiers & Qt.KeyboardModifier.ShiftModifier:
                    self._delete_vertex(sid, i)
                    return True
                self._begin(x, y, {sid: doc.get(sid)}, vertex=(sid, i))
                return True
        for sid in self.canvas.selected_ids:
            s = doc.get(sid)
            edge = edge_at(s, x, y, tol) if (alt or (s.kind == "polygon" and not additive)) else None
            if edge is not None and self.canvas.may_edit():
                i, p = edge
                self._begin(x, y, {sid: insert_vertex(s, i, p)}, vertex=(sid, i))
                self._inserted = True
                return True
        hit = hit_test.shape_at(doc.shapes, x, y, tol, self.canvas.hidden_classes)
        if hit is None:
            if not additive:
                self.canvas.select([])
            return True
        selected = list(self.canvas.selected_ids)
        if additive:
            if hit.id in selected:
                selected.remove(hit.id)
                self.canvas.select(selected)
                return True
            selected.append(hit.id)
        elif hit.id not in selected:
            selected = [hit.id]
        self.canvas.select(selected)
        self._begin(x, y, {sid: doc.get(sid) for sid in selected})
        return True

    def _begin(self, x, y, originals: dict[str, Shape], vertex: tuple[str, int] | None = None) -> None:
        self._start = (x, y)
        self._originals = originals
        self._vertex = vertex
        self._moved = {}

    def move(self, x, y) -> bool:
        if self._start is None:
            self._hover = self._vertex_under(x, y)
            return False
        x, y = self.canvas.clamp(x, y)
        dx, dy = x - self._start[0], y - self._start[1]
        moved: dict[str, Shape] = {}
        try:
            if self._vertex is not None:
                sid, i = self._vertex
                pts = np.array(self._originals[sid].points)
                pts[i] = (x, y)
                moved[sid] = self._originals[sid].replace(points=pts)
            else:
                dx, dy = self._limit_translation(dx, dy)
                for sid, s in self._originals.items():
                    moved[sid] = s.translated(dx, dy)
        except InvalidShapeError:
            return True  # e.g. a circle dragged to zero radius: keep the last valid preview
        self._moved = moved
        self.canvas.preview_shapes(moved)
        return True

    def release(self, x, y) -> bool:
        if self._start is None:
            return False
        self.move(x, y)
        moved, self._moved = self._moved, {}
        self._start = None
        doc = self.canvas.document
        changed = {sid: s for sid, s in moved.items() if not s.same_as(doc.get(sid))}
        if changed and self.canvas.may_edit():
            text = "move vertex" if self._vertex is not None else "move shape"
            text = "insert vertex" if self._inserted else text
            with self.canvas.document.group(text):
                for sid, s in changed.items():
                    self.canvas.document.replace_shape(sid, s, text)
        else:
            self.canvas.preview_shapes({})
        self._originals = {}
        self._vertex = None
        self._inserted = False
        return True

    def _vertex_under(self, x, y) -> tuple[str, int] | None:
        doc = self.canvas.document
        tol = self.canvas.scene_tolerance(PICK_PX)
        for sid in self.canvas.selected_ids:
            i = hit_test.vertex_at(doc.get(sid), x, y, tol)
            if i is not None:
                return sid, i
        return None

    def _delete_vertex(self, sid: str, i: int) -> bool:
        if not self.canvas.may_edit():
            return False
        new, why = delete_vertex(self.canvas.document.get(sid), i)
        if new is None:
            self.canvas.message.emit(f"vertex not deleted: {why}")
            return True  # used up: the key must not delete the whole shape instead
        self.canvas.document.replace_shape(sid, new, "delete vertex")
        self._hover = None
        return True

    def delete_hovered_vertex(self) -> bool:
        """Delete the vertex under the cursor; False when the cursor is over none."""
        hover, self._hover = self._hover, None
        if hover is None or self._start is not None or hover[0] not in self.canvas.selected_ids:
            return False
        if hover[1] >= len(self.canvas.document.get(hover[0]).points):
            return False
        return self._delete_vertex(*hover)

    def key_press(self, key) -> bool:
        if key == Qt.Key.Key_Escape:
            if self._start is not None:
                self.cancel()
            else:
                self.canvas.select([])
            return True
        return False

    def cancel(self) -> None:
        self._start = None
        self._moved = {}
        self._originals = {}
        self._vertex = None
        self._inserted = False
        self.canvas.preview_shapes({})

    def _limit_translation(self, dx: float, dy: float) -> tuple[float, float]:
        """Keep moved shapes inside the image (point shapes' bboxes, not masks)."""
        w, h = self.canvas.image_size
        boxes = [s.bbox() for s in self._originals.values()]
        x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
        x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
        # a shape already sticking out may move anywhere that does not take it further out
        dx = min(max(dx, min(-x0, 0.0)), max(w - x1, 0.0))
        dy = min(max(dy, min(-y0, 0.0)), max(h - y1, 0.0))
        return dx, dy
