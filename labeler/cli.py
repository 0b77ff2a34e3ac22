"""The `labeler` command: every bulk job the window does, from a shell.

    labeler [PATH]                      open the window (PATH: project, image folder, image)
    labeler demo                        open the bundled demo project
    labeler import FORMAT SRC --project DIR [--classes PRESET_OR_FILE] [--split-ratios ...]
    labeler export FORMAT --project DIR --out DIR [--split NAME]
    labeler split --project DIR --ratios train=0.8,val=0.2 [--seed N]
    labeler stats --project DIR
    labeler validate --project DIR
    labeler pyramids --project DIR      build the pyramid caches of huge images ahead of time

Subcommands come from the modules in :data:`COMMAND_MODULES`; each has ``register(subparsers)``
(see :mod:`labeler.commands`). Exit codes: 0 success, 1 failure or problems found, 2 bad usage,
130 interrupted. Errors are one line on stderr, ``labeler: error: <reason>``, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from .core.errors import LabelerError

#: Modules that add subcommands, in the order their commands are listed in --help.
COMMAND_MODULES: tuple[str, ...] = (
    "labeler.commands.app",
    "labeler.commands.data",
    "labeler.commands.add",
    "labeler.commands.train",
    "labeler.commands.assist",
    "labeler.commands.autolabel",
    "labeler.commands.sam",
    "labeler.commands.pyramids",
)

#: The command `labeler PATH` (or plain `labeler`) stands for.
DEFAULT_COMMAND = "open"


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("labeler")
    except Exception:  # not installed (running from a source tree)
        return "unknown"


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    """The parser, and the subcommand name -> parser table."""
    parser = argparse.ArgumentParser(
        prog="labeler", description="Make image-segmentation training sets: label, import, export, check.",
        epilog="`labeler PATH` opens the window on PATH; `labeler COMMAND --help` describes a command.")
    parser.add_argument("--version", action="version", version=f"labeler {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except Exception as e:  # a broken command module says so, and the others still work
            print(f"labeler: warning: commands from {name} are unavailable: {type(e).__name__}: {e}",
                  file=sys.stderr)
            continue
        module.register(subparsers)
    return parser, dict(subparsers.choices)


def _with_default_command(argv: list[str], commands: dict) -> list[str]:
    """`labeler` -> `labeler open`; `labeler PATH` -> `labeler open PATH`."""
    if not argv:
        return [DEFAULT_COMMAND] if DEFAULT_COMMAND in commands else argv
    first = argv[0]
    if first in commands or first.startswith("-") or DEFAULT_COMMAND not in commands:
        return argv
    if Path(first).exists() or "/" in first or "\\" in first or "." in first:
        return [DEFAULT_COMMAND, *argv]
    return argv  # an unknown word: argparse says "invalid choice" and lists the commands


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, commands = build_parser()
    try:
        args = parser.parse_args(_with_default_command(argv, commands))
    except SystemExit as e:  # --help, --version, or a usage error argparse has printed
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(func(args) or 0)
    except LabelerError as e:
        print(f"labeler: error: {_one_line(e)}", file=sys.stderr)
        return 1
    except OSError as e:  # a disk full, a permission denied: the message names the file
        print(f"labeler: error: {_one_line(e)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("labeler: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
