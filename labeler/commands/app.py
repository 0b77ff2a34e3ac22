"""`labeler [PATH]` / `labeler open [PATH]` and `labeler demo`: the window.

The GUI and the demo builder are imported inside the handlers, so no other command loads Qt.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..core.errors import LabelerError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "open", help="open the window (also: `labeler PATH`)",
        description="Open the window on a project folder, a folder of images or labelme JSONs, or "
                    "one image. `labeler PATH` is short for `labeler open PATH`.")
    p.add_argument("path", nargs="?", help="what to open (default: an empty window)")
    p.set_defaults(func=open_window)

    d = subparsers.add_parser("demo", help="open the bundled demo project",
                              description="Build the demo project (once) and open the window on it.")
    d.set_defaults(func=open_demo)


def _check_display() -> None:
    """On Linux without X11 or Wayland, Qt aborts with a cryptic plugin message: say why instead."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise LabelerError("no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set); "
                           "run it on a desktop, under `xvfb-run`, or with QT_QPA_PLATFORM=offscreen")


def _gui_run():
    _check_display()
    try:
        from ..gui.app import run
    except ImportError as e:
        raise LabelerError(f"the window cannot start: {e}") from None
    return run


def open_window(args: argparse.Namespace) -> int:
    path = args.path
    if path is not None and not Path(path).exists():
        raise LabelerError(f"{path}: no such file or folder")
    return int(_gui_run()(path) or 0)


def open_demo(args: argparse.Namespace) -> int:
    from ..demo import ensure_demo_project

    folder = ensure_demo_project()
    return int(_gui_run()(str(folder)) or 0)
