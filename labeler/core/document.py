"""The editable document for one image: shapes, tags and status, with undo/redo in the model.

Edits are small reversible operations (insert, remove, replace a shape; set tags; set status),
not copies of the whole annotation. ``with doc.group("brush stroke"):`` gathers every edit made
inside it into one undo step, as a mouse drag or a brush stroke should be.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator, Sequence

from .annotation import STATUSES, ImageAnnotation
from .events import Signal
from .shapes import Shape


@dataclass(frozen=True)
class _Op:
    kind: str  # "insert" | "remove" | "replace" | "tags" | "status"
    index: int = -1
    old: object = None
    new: object = None


@dataclass
class _Step:
    text: str
    ops: list[_Op]


class Document:
    """Wraps an :class:`ImageAnnotation`; every change goes through here and can be undone.

    Signals: ``changed(text)`` after any edit, undo or redo (``last_change`` then says which
    shapes it touched); ``dirty_changed(bool)``.
    """

    def __init__(self, annotation: ImageAnnotation, max_undo: int = 1000) -> None:
        self.annotation = annotation
        self.max_undo = max_undo
        self._undo: list[_Step] = []
        self._redo: list[_Step] = []
        self._group: _Step | None = None
        self._group_depth = 0
        self._saved_marker: int = 0  # len(_undo) at the last save, -1 if unreachable
        self._dropped = 0  # undo steps dropped from the bottom (past max_undo)
        self._revision = 0
        self.changed = Signal()
        #: ids of the shapes the last ``changed`` replaced in place (moved, relabelled, ...); None
        #: when shapes were added, removed or reordered. Lets views redraw only those shapes.
        self.last_change: frozenset[str] | None = None
        self.last_change_revision = -1  # the revision ``last_change`` describes
        self._touched: set[str] | None = set()  # since the last emit; None once structure changed
        self.dirty_changed = Signal()

    # -- read ----------------------------------------------------------------------------
    @property
    def shapes(self) -> list[Shape]:
        return self.annotation.shapes

    def index_of(self, shape_id: str) -> int:
        for i, s in enumerate(self.annotation.shapes):
            if s.id == shape_id:
                return i
        raise KeyError(shape_id)

    def get(self, shape_id: str) -> Shape:
        return self.annotation.shapes[self.index_of(shape_id)]

    @property
    def dirty(self) -> bool:
        return self._saved_marker != len(self._undo) or self._group is not None

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_text(self) -> str:
        return self._undo[-1].text if self._undo else ""

    @property
    def redo_text(self) -> str:
        return self._redo[-1].text if self._redo else ""

    # -- edits ---------------------------------------------------------------------------
    def add_shape(self, shape: Shape, index: int | None = None) -> Shape:
        i = len(self.shapes) if index is None else index
        self._do(f"add {shape.kind}", _Op("insert", i, None, shape))
        return shape

    def add_shapes(self, shapes: Sequence[Shape], text: str = "add shapes") -> None:
        with self.group(text):
            for s in shapes:
                self.add_shape(s)

    def remove_shape(self, shape_id: str) -> Shape:
        i = self.index_of(shape_id)
        s = self.shapes[i]
        self._do(f"delete {s.kind}", _Op("remove", i, s, None))
        return s

    def remove_shapes(self, shape_ids: Sequence[str]) -> None:
        with self.group("delete shapes"):
            for sid in shape_ids:
                self.remove_shape(sid)

    def replace_shape(self, shape_id: str, new: Shape, text: str = "edit shape") -> Shape:
        i = self.index_of(shape_id)
        old = self.shapes[i]
        self._do(text, _Op("replace", i, old, new))
        return new

    def update_shape(self, shape_id: str, text: str = "edit shape", **changes) -> Shape:
        return self.replace_shape(shape_id, self.get(shape_id).replace(**changes), text)

    def set_tags(self, tags: dict[str, bool]) -> None:
        self._do("set tags", _Op("tags", -1, dict(self.annotation.tags), dict(tags)))

    def set_tag(self, name: str, value: bool = True) -> None:
        tags = dict(self.annotation.tags)
        tags[name] = value
        self.set_tags(tags)

    def set_status(self, status: str) -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; expected one of {STATUSES}")
        self._do(f"mark {status}", _Op("status", -1, self.annotation.status, status))

    def raise_shape(self, shape_id: str, delta: int = 1) -> None:
        s = self.get(shape_id)
        self.replace_shape(shape_id, s.replace(z=s.z + delta), "change z-order")

    # -- grouping ------------------------------------------------------------------------
    @contextlib.contextmanager
    def group(self, text: str) -> Iterator[None]:
        """Every edit inside becomes part of one undo step (nested groups join the outer one)."""
        outer = self._group is None
        was_dirty = self.dirty
        if outer:
            self._group = _Step(text, [])
        self._group_depth += 1
        try:
            yield
        finally:
            self._group_depth -= 1
            if outer:
                step, self._group = self._group, None
                if step.ops:
                    self._push(step)
                    self._emit_changed(text)
                self._emit_dirty(was_dirty)

    # -- undo / redo ---------------------------------------------------------------------
    def undo(self) -> bool:
        if not self._undo or self._group is not None:
            return False
        was_dirty = self.dirty
        step = self._undo.pop()
        for op in reversed(step.ops):
            self._apply(op, reverse=True)
        self._redo.append(step)
        self._revision += 1
        self._emit_changed(f"undo {step.text}")
        self._emit_dirty(was_dirty)
        return True

    def redo(self) -> bool:
        if not self._redo or self._group is not None:
            return False
        was_dirty = self.dirty
        step = self._redo.pop()
        for op in step.ops:
            self._apply(op, reverse=False)
        self._undo.append(step)
        self._revision += 1
        self._emit_changed(f"redo {step.text}")
        self._emit_dirty(was_dirty)
        return True

    def mark_saved(self, point: object = None) -> None:
        """The current state was saved; or, given a ``save_point()`` taken earlier, the state at
        that point was (a save finished in a worker while editing went on: those edits stay
        unsaved, and a state no longer reachable by undo/redo leaves the document dirty)."""
        was_dirty = self.dirty
        self._saved_marker = len(self._undo) if point is None else self._marker_of(point)
        self._emit_dirty(was_dirty)

    def save_point(self) -> tuple:
        """A token for the current state, for ``mark_saved`` once a snapshot of it is written."""
        return (self._undo[-1] if self._undo else None, self._dropped)

    def _marker_of(self, point: tuple) -> int:
        step, dropped = point
        if step is None:
            return 0 if dropped == self._dropped else -1
        for i in range(len(self._undo) - 1, -1, -1):
            if self._undo[i] is step:
                return i + 1
        for j, s in enumerate(self._redo):  # undone since: redo reaches it again
            if s is step:
                return len(self._undo) + len(self._redo) - j
        return -1

    @property
    def revision(self) -> int:
        """Increases with every change; lets autosave tell whether anything happened."""
        return self._revision

    # -- internals -----------------------------------------------------------------------
    def _do(self, text: str, op: _Op) -> None:
        was_dirty = self.dirty
        self._apply(op, reverse=False)
        self._revision += 1
        if self._group is not None:
            self._group.ops.append(op)
            return
        self._push(_Step(text, [op]))
        self._emit_changed(text)
        self._emit_dirty(was_dirty)

    def _push(self, step: _Step) -> None:
        self._undo.append(step)
        self._redo.clear()
        if self._saved_marker > len(self._undo) - 1:
            self._saved_marker = -1  # the saved state can no longer be reached by undo
        if len(self._undo) > self.max_undo:
            drop = len(self._undo) - self.max_undo
            del self._undo[:drop]
            self._dropped += drop
            self._saved_marker = self._saved_marker - drop if self._saved_marker >= drop else -1

    def _emit_changed(self, text: str) -> None:
        self.last_change = frozenset(self._touched) if self._touched is not None else None
        self.last_change_revision = self._revision
        self._touched = set()
        self.changed.emit(text)

    def _apply(self, op: _Op, reverse: bool) -> None:
        shapes = self.annotation.shapes
        if op.kind == "replace" and self._touched is not None:
            self._touched.update((op.old.id, op.new.id))
        elif op.kind in ("insert", "remove"):
            self._touched = None
        if op.kind == "insert":
            if reverse:
                del shapes[op.index]
            else:
                shapes.insert(op.index, op.new)
        elif op.kind == "remove":
            if reverse:
                shapes.insert(op.index, op.old)
            else:
                del shapes[op.index]
        elif op.kind == "replace":
            shapes[op.index] = op.old if reverse else op.new
        elif op.kind == "tags":
            self.annotation.tags = dict(op.old if reverse else op.new)
        elif op.kind == "status":
            self.annotation.status = op.old if reverse else op.new

    def _emit_dirty(self, was_dirty: bool) -> None:
        if was_dirty != self.dirty:
            self.dirty_changed.emit(self.dirty)
