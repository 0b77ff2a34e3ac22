"""The tool protocol: the canvas calls these with positions in image (scene) coordinates."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt

if TYPE_CHECKING:  # pragma: no cover
    from ..canvas import Canvas


class Tool:
    name = ""
    cursor = Qt.CursorShape.CrossCursor

    def __init__(self, canvas: "Canvas") -> None:
        self.canvas = canvas

    def activate(self) -> None:
        self.canvas.viewport().setCursor(self.cursor)

    def deactivate(self) -> None:
        self.cancel()

    # Each returns True when it used the event.
    def press(self, x: float, y: float, modifiers: Qt.KeyboardModifier) -> bool:
        return False

    def move(self, x: float, y: float) -> bool:
        return False

    def release(self, x: float, y: float) -> bool:
        return False

    def double_click(self, x: float, y: float) -> bool:
        return False

    def key_press(self, key: int) -> bool:
        return False

    def cancel(self) -> None:
        """Drop any half-made shape or unfinished drag (Escape, switching tools or images)."""

    @property
    def busy(self) -> bool:
        """True while a shape is half made or a drag is under way."""
        return False
