"""Canvas tools, one class each. The canvas forwards mouse and key events to the active tool."""

from .base import Tool
from .create import LineTool, PointTool, PolygonTool, RectangleTool
from .edit import EditTool

TOOLS: dict[str, type[Tool]] = {
    "polygon": PolygonTool,
    "rectangle": RectangleTool,
    "point": PointTool,
    "line": LineTool,
    "edit": EditTool,
}

__all__ = ["TOOLS", "Tool", "PolygonTool", "RectangleTool", "PointTool", "LineTool", "EditTool"]
