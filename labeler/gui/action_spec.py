"""One row of the actions table (``actions.py``). Kept apart so that modules contributing rows
(``edit_ops.TOOL_ACTIONS``, ``dialogs.controller.DIALOG_ACTIONS``) import it without importing
``actions.py``, which imports them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ActionSpec:
    id: str
    text: str
    shortcut: str | None
    handler: str  # a window method, or a dotted path to a controller's ("dialogs.show_settings")
    menu: str
    toolbar: bool = False
    checkable_group: str | None = None  # actions in one group are mutually exclusive
    arg: Any = None
    tip: str = ""
    checkable: bool = False  # an on/off toggle on its own (the handler reads the action's tick)
