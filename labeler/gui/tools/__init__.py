"""Canvas tools, one class each. The canvas forwards mouse and key events to the active tool."""

from .assist import AssistTool
from .base import Tool
from .create import LineTool, PointTool, PolygonTool, RectangleTool
from .draw import CircleTool, LinestripTool, ScribbleTool
from .edit import EditTool
from .hole import HoleTool
from .paint import BrushTool, EraserTool, FillTool
from .scissors import ScissorsTool
from .weak_box import WeakBoxTool

TOOLS: dict[str, type[Tool]] = {
    "polygon": PolygonTool,
    "rectangle": RectangleTool,
    "point": PointTool,
    "line": LineTool,
    "edit": EditTool,
    "circle": CircleTool,
    "linestrip": LinestripTool,
    "scribble": ScribbleTool,
    "hole": HoleTool,
    "brush": BrushTool,
    "eraser": EraserTool,
    "fill": FillTool,
    "ai": AssistTool,
    "weak_box": WeakBoxTool,
    "scissors": ScissorsTool,
}

__all__ = ["TOOLS", "Tool", "PolygonTool", "RectangleTool", "PointTool", "LineTool", "EditTool", "CircleTool",
           "LinestripTool", "ScribbleTool", "HoleTool", "BrushTool", "EraserTool", "FillTool", "AssistTool",
           "WeakBoxTool", "ScissorsTool"]
