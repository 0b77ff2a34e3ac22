"""The one declarative table of actions; menus, the toolbar and shortcuts are built from it.

Each row names a handler method on the main window (called with ``arg`` when one is given).
Shortcuts follow labelme's where labelme has one.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QToolBar

from .action_spec import ActionSpec  # noqa: F401 (re-exported: rows elsewhere import it from here)
from .assist_controller import ASSIST_ACTIONS
from .dialogs.controller import DIALOG_ACTIONS
from .edit_ops import TOOL_ACTIONS
from .image_adjust import IMAGE_ADJUST_ACTIONS
from .labeling_aids import AIDS_ACTIONS
from .review import REVIEW_ACTIONS
from .schema_edit import SCHEMA_ACTIONS
from .shape_order import SHAPE_ORDER_ACTIONS
from .tools.scissors import SCISSORS_ACTIONS
from .training.controller import TRAIN_ACTIONS


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("open_folder", "&Open Folder...", "Ctrl+U", "open_folder_dialog", "&File", True),
    ActionSpec("save", "&Save", "Ctrl+S", "save", "&File", True),
    ActionSpec("quit", "&Quit", "Ctrl+Q", "close", "&File"),
    ActionSpec("undo", "&Undo", "Ctrl+Z", "undo", "&Edit", True),
    ActionSpec("redo", "&Redo", "Ctrl+Y", "redo", "&Edit", True),
    ActionSpec("delete", "&Delete Shapes", "Delete", "delete_selected", "&Edit", True),
    ActionSpec("relabel", "Change Class to Current", "Ctrl+E", "relabel_selected", "&Edit"),
    ActionSpec("mark_done", "Mark Image &Done", "Ctrl+Shift+D", "mark_status", "&Edit", arg="done"),
    ActionSpec("mark_reviewed", "Mark Image &Reviewed", "Ctrl+Shift+R", "mark_status", "&Edit", arg="reviewed"),
    ActionSpec("mark_in_progress", "Mark Image In &Progress", None, "mark_status", "&Edit", arg="in_progress"),
    ActionSpec("tool_polygon", "Create &Polygon", "Ctrl+N", "set_tool", "&Tools", True, "tool", "polygon"),
    ActionSpec("tool_rectangle", "Create &Rectangle", "Ctrl+R", "set_tool", "&Tools", True, "tool", "rectangle"),
    ActionSpec("tool_point", "Create P&oint", None, "set_tool", "&Tools", True, "tool", "point"),
    ActionSpec("tool_line", "Create &Line", None, "set_tool", "&Tools", True, "tool", "line"),
    ActionSpec("tool_edit", "&Edit Shapes", "Ctrl+J", "set_tool", "&Tools", True, "tool", "edit"),
    ActionSpec("prev_image", "&Previous Image", "A", "go_relative", "&View", True, arg=-1),
    ActionSpec("next_image", "&Next Image", "D", "go_relative", "&View", True, arg=1),
    ActionSpec("zoom_in", "Zoom &In", "Ctrl+=", "zoom_by", "&View", arg=1.25),
    ActionSpec("zoom_out", "Zoom &Out", "Ctrl+-", "zoom_by", "&View", arg=0.8),
    ActionSpec("fit", "&Fit Window", "Ctrl+F", "fit_view", "&View", True),
    ActionSpec("actual_size", "&Original Size", "Ctrl+0", "actual_size", "&View"),
    ActionSpec("opacity_up", "More Opaque Overlay", "Ctrl+]", "change_opacity", "&View", arg=0.1),
    ActionSpec("opacity_down", "More Transparent Overlay", "Ctrl+[", "change_opacity", "&View", arg=-0.1),
) + tuple(
    ActionSpec(f"class_{i}", f"Class {i}", str(i), "select_class_index", "&Classes", arg=i - 1)
    for i in range(1, 10)
) + TOOL_ACTIONS + DIALOG_ACTIONS + ASSIST_ACTIONS + SHAPE_ORDER_ACTIONS + SCHEMA_ACTIONS + TRAIN_ACTIONS \
    + IMAGE_ADJUST_ACTIONS + AIDS_ACTIONS + SCISSORS_ACTIONS + REVIEW_ACTIONS


def resolve_handler(window, path: str):
    """``"save"`` -> ``window.save``; ``"dialogs.show_settings"`` -> ``window.dialogs.show_settings``."""
    obj = window
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def build_actions(window: QMainWindow, specs: tuple[ActionSpec, ...] = ACTIONS) -> dict[str, QAction]:
    """Create a QAction per row, wire it to ``window.<handler>``, and fill menus and a toolbar."""
    actions: dict[str, QAction] = {}
    menus: dict[str, QMenu] = {}
    groups: dict[str, QActionGroup] = {}
    toolbar = QToolBar("Tools", window)
    toolbar.setObjectName("main_toolbar")
    window.addToolBar(toolbar)
    last_menu_for_toolbar = None
    for spec in specs:
        handler = resolve_handler(window, spec.handler)  # a missing handler is a bug: fail loudly
        text = QCoreApplication.translate("actions", spec.text)
        act = QAction(text, window)
        act.setObjectName(spec.id)
        if spec.shortcut:
            act.setShortcut(QKeySequence(spec.shortcut))
        act.setToolTip(spec.tip or (f"{text.replace('&', '')} ({spec.shortcut})" if spec.shortcut
                                    else text.replace("&", "")))
        act.setCheckable(spec.checkable)
        if spec.checkable_group:
            act.setCheckable(True)
            if spec.checkable_group not in groups:
                groups[spec.checkable_group] = QActionGroup(window)
            groups[spec.checkable_group].addAction(act)
        if spec.arg is None:
            act.triggered.connect(lambda _checked=False, h=handler: h())
        else:
            act.triggered.connect(lambda _checked=False, h=handler, a=spec.arg: h(a))
        if spec.menu not in menus:
            menus[spec.menu] = window.menuBar().addMenu(QCoreApplication.translate("menus", spec.menu))
        menus[spec.menu].addAction(act)
        if spec.toolbar:
            if last_menu_for_toolbar is not None and last_menu_for_toolbar != spec.menu:
                toolbar.addSeparator()
            toolbar.addAction(act)
            last_menu_for_toolbar = spec.menu
        window.addAction(act)  # shortcuts work even when the menu bar is hidden
        actions[spec.id] = act
    return actions
