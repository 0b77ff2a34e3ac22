"""Shape operations on the selection (copy, paste, duplicate, merge, subtract, mask <-> polygon),
brush size and view options. Each document change is one undo step. Merge, subtract and the
conversions run in a worker when their input is large (background_edit.py says when).

``EditOpsController`` lives on the main window as ``window.edit_ops``; the rows of
``TOOL_ACTIONS`` (appended to the table in actions.py) name its methods (``"edit_ops.copy"``)
and the new canvas tools.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QLabel, QSpinBox, QToolBar

from ..core import geometry
from ..core.shapes import CIRCLE, MASK, POLYGON, RECTANGLE, Shape, new_id
from .action_spec import ActionSpec
from .background_edit import BackgroundEdits

PASTE_OFFSET = 10.0  # image pixels between a copy and its paste on the same image
AREA = (POLYGON, RECTANGLE, CIRCLE, MASK)
BRUSH_MIN, BRUSH_MAX = 1, 500

_T = "&Tools"
TOOL_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("tool_circle", "Create &Circle", None, "set_tool", _T, True, "tool", "circle"),
    ActionSpec("tool_linestrip", "Create Line &Strip", None, "set_tool", _T, True, "tool", "linestrip"),
    ActionSpec("tool_scribble", "Scri&bble (weak label)", None, "set_tool", _T, True, "tool", "scribble"),
    ActionSpec("tool_hole", "Draw &Hole in Selected Polygon", "Ctrl+Shift+H", "set_tool", _T, True, "tool",
               "hole"),
    ActionSpec("tool_brush", "Mask &Brush", "B", "set_tool", _T, True, "tool", "brush"),
    ActionSpec("tool_eraser", "Mask &Eraser", "E", "set_tool", _T, True, "tool", "eraser"),
    ActionSpec("tool_fill", "Mask &Fill (Bucket)", "G", "set_tool", _T, True, "tool", "fill"),
    ActionSpec("brush_smaller", "Smaller Brush", "[", "edit_ops.change_brush_size", _T, arg=-1),
    ActionSpec("brush_larger", "Larger Brush", "]", "edit_ops.change_brush_size", _T, arg=1),
    ActionSpec("copy", "&Copy Shapes", "Ctrl+C", "edit_ops.copy", "&Edit"),
    ActionSpec("paste", "&Paste Shapes", "Ctrl+V", "edit_ops.paste", "&Edit"),
    ActionSpec("paste_at_cursor", "Paste Shapes at C&ursor", "Ctrl+Shift+V", "edit_ops.paste_at_cursor", "&Edit"),
    ActionSpec("duplicate", "D&uplicate Shapes", "Ctrl+D", "edit_ops.duplicate", "&Edit"),
    ActionSpec("merge", "&Merge Selected (Union)", "Ctrl+M", "edit_ops.merge", "&Edit"),
    ActionSpec("subtract", "&Subtract Others from First Selected", "Ctrl+Shift+M", "edit_ops.subtract", "&Edit"),
    ActionSpec("mask_to_polygons", "Mask to &Polygons", None, "edit_ops.mask_to_polygons", "&Edit"),
    ActionSpec("polygon_to_mask", "Polygon to Mas&k", None, "edit_ops.polygon_to_mask", "&Edit"),
    ActionSpec("view_fill", "&Fill Shapes", None, "edit_ops.set_outline_only", "&View", False, "fill_mode", False),
    ActionSpec("view_outline", "Outlines &Only", None, "edit_ops.set_outline_only", "&View", False, "fill_mode",
               True),
    ActionSpec("color_by_class", "Colour by &Class", None, "edit_ops.set_color_by_instance", "&View", False,
               "color_mode", False),
    ActionSpec("color_by_instance", "Colour by &Instance", None, "edit_ops.set_color_by_instance", "&View", False,
               "color_mode", True),
)


class EditOpsController:
    def __init__(self, window) -> None:
        self.window = window
        self.canvas = window.canvas
        self.clipboard: list[Shape] = []
        self._copied_from: tuple[str | None, int] = (None, 0)  # (image key, pastes made since)
        self._cursor: tuple[float, float] | None = None
        self.canvas.cursor_moved.connect(self._on_cursor)
        self.background = BackgroundEdits(self.canvas, self._say)  # large inputs: computed in a worker
        bar = QToolBar("Brush", window)
        bar.setObjectName("brush_toolbar")
        self.size_box = QSpinBox(bar)
        self.size_box.setObjectName("brush_size")
        self.size_box.setRange(BRUSH_MIN, BRUSH_MAX)
        self.size_box.setValue(int(self.canvas.brush_size))
        self.size_box.setToolTip("Brush, eraser and scribble size in image pixels ([ and ])")
        self.size_box.valueChanged.connect(self.set_brush_size)
        bar.addWidget(QLabel("Brush ", bar))
        bar.addWidget(self.size_box)
        window.addToolBar(bar)

    def sync_actions(self, actions: dict) -> None:
        """Tick the view options' current choices (after the actions exist)."""
        actions["view_outline" if self.canvas.outline_only else "view_fill"].setChecked(True)
        actions["color_by_instance" if self.canvas.color_by_instance else "color_by_class"].setChecked(True)

    # -- helpers ----------------------------------------------------------------------------
    def _on_cursor(self, x: float, y: float) -> None:
        self._cursor = (x, y)

    def _doc(self):
        c = self.canvas
        return c.document if c.document is not None and c.may_edit() else None

    def _selected(self, kinds=None) -> list[Shape]:
        doc = self.canvas.document
        if doc is None:
            return []
        shapes = [doc.get(sid) for sid in self.canvas.selected_ids]
        return [s for s in shapes if kinds is None or s.kind in kinds]

    def _say(self, text: str) -> None:
        self.canvas.message.emit(text)

    def _key(self) -> str | None:
        session = getattr(self.window, "session", None)
        return session.key if session is not None else None

    def _add(self, shapes: list[Shape], text: str) -> None:
        doc = self._doc()
        if doc is None or not shapes:
            return
        doc.add_shapes(shapes, text)
        self.canvas.select([s.id for s in shapes])

    def _placed(self, shapes: list[Shape], dx: float, dy: float) -> list[Shape]:
        """Copies with new ids moved by (dx, dy); masks of another image size are left out."""
        w, h = self.canvas.image_size
        out = []
        for s in shapes:
            if s.kind == MASK and list(s.rle["size"]) != [h, w]:
                self._say(f"a {s.label} mask of size {s.rle['size']} does not fit this image; not pasted")
                continue
            out.append(s.translated(dx, dy).replace(id=new_id()))
        return out

    # -- copy and paste -----------------------------------------------------------------------
    def copy(self) -> None:
        shapes = self._selected()
        if not shapes:
            self._say("nothing selected to copy")
            return
        self.clipboard = shapes
        self._copied_from = (self._key(), 0)
        self._say(f"copied {len(shapes)} shape(s)")

    def paste(self) -> None:
        """Paste: offset a little on the image it was copied from (more each time), as is elsewhere."""
        if not self.clipboard or self._doc() is None:
            return
        key, n = self._copied_from
        n = n + 1 if key == self._key() else 0
        self._copied_from = (key, n)
        self._add(self._placed(self.clipboard, n * PASTE_OFFSET, n * PASTE_OFFSET), "paste")

    def paste_at_cursor(self) -> None:
        if not self.clipboard or self._doc() is None:
            return
        if self._cursor is None:
            return self.paste()
        boxes = np.array([s.bbox() for s in self.clipboard])
        cx = (boxes[:, 0].min() + boxes[:, 2].max()) / 2
        cy = (boxes[:, 1].min() + boxes[:, 3].max()) / 2
        self._add(self._placed(self.clipboard, self._cursor[0] - cx, self._cursor[1] - cy), "paste")

    def duplicate(self) -> None:
        shapes = self._selected()
        if shapes:
            self._add(self._placed(shapes, PASTE_OFFSET, PASTE_OFFSET), "duplicate")

    # -- merge, subtract, convert ---------------------------------------------------------------
    def _swap(self, old: Shape, new: list[Shape], text: str) -> list[str]:
        """Inside a group: put ``new`` where ``old`` is (nothing left: remove it)."""
        doc = self.canvas.document
        if not new:
            doc.remove_shape(old.id)
            return []
        i = doc.index_of(old.id)
        doc.replace_shape(old.id, new[0].replace(id=old.id), text)
        for k, s in enumerate(new[1:], start=1):
            doc.add_shape(s, i + k)
        return [old.id] + [s.id for s in new[1:]]

    def merge(self) -> None:
        shapes = self._selected(AREA)
        if self._doc() is None or len(shapes) < 2:
            self._say("select two or more area shapes to merge")
            return
        self.background.run("merge", shapes, lambda: geometry.merge_shapes(shapes),
                            lambda merged: self._apply_merge(shapes, merged))

    def _apply_merge(self, shapes: list[Shape], merged: list[Shape]) -> None:
        doc = self.canvas.document
        with doc.group("merge shapes"):
            for s in shapes[1:]:
                doc.remove_shape(s.id)
            ids = self._swap(shapes[0], merged, "merge shapes")
        self.canvas.select(ids)

    def subtract(self) -> None:
        shapes = self._selected(AREA)
        if self._doc() is None or len(shapes) < 2:
            self._say("select the shape to cut first, then the shapes to cut away")
            return
        self.background.run("subtract", shapes, lambda: geometry.subtract_shapes(shapes[0], shapes[1:]),
                            lambda rest: self._apply_swaps([(shapes[0], rest)], "subtract shapes"))

    def _apply_swaps(self, swaps: list[tuple[Shape, list[Shape]]], text: str) -> None:
        """Each (old, new shapes) pair swapped in, all as one undo step; the new shapes selected."""
        doc = self.canvas.document
        ids = []
        with doc.group(text):
            for old, new in swaps:
                ids += self._swap(old, new, text)
        self.canvas.select(ids)

    def mask_to_polygons(self) -> None:
        masks = self._selected((MASK,))
        if self._doc() is None or not masks:
            self._say("select a mask to convert")
            return
        self.background.run(
            "mask to polygons", masks,
            lambda: [(s, geometry.mask_shape_to_polygons(s, min_iou=0.99)) for s in masks],
            lambda swaps: self._apply_swaps(swaps, "mask to polygons"))

    def polygon_to_mask(self) -> None:
        shapes = self._selected((POLYGON, RECTANGLE, CIRCLE))
        if self._doc() is None or not shapes:
            self._say("select a polygon, rectangle or circle to convert")
            return
        w, h = self.canvas.image_size
        self.background.run(
            "polygon to mask", shapes,
            lambda: [(s, [geometry.polygon_shape_to_mask(s, h, w)]) for s in shapes],
            lambda swaps: self._apply_swaps(swaps, "polygon to mask"), makes_mask=True)

    # -- brush size and view options -------------------------------------------------------------
    def set_brush_size(self, size: int) -> None:
        size = int(min(BRUSH_MAX, max(BRUSH_MIN, size)))
        self.canvas.brush_size = size
        if self.size_box.value() != size:
            self.size_box.setValue(size)

    def change_brush_size(self, direction: int) -> None:
        size = self.canvas.brush_size
        step = max(1, round(size * 0.2))
        self.set_brush_size(size + step if direction > 0 else size - step)
        self._say(f"brush size {self.canvas.brush_size} px")

    def set_outline_only(self, outline_only: bool) -> None:
        self.canvas.outline_only = bool(outline_only)
        self.canvas.refresh_items()

    def set_color_by_instance(self, by_instance: bool) -> None:
        self.canvas.color_by_instance = bool(by_instance)
        self.canvas.refresh_items()
