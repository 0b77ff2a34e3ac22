"""The `labeler` subcommands, one module per group, plus what every command shares.

Each module listed in :data:`labeler.cli.COMMAND_MODULES` has ``register(subparsers)``, which adds
its parsers with ``set_defaults(func=handler)``; a handler takes the parsed ``argparse.Namespace``
and returns the exit code. Handlers raise :class:`~labeler.core.errors.LabelerError` for anything
the user can act on; the CLI prints it as one line, ``labeler: error: <reason>``.

Helpers here are for the command modules: the shared job options (``--strict``, ``--quiet``,
``-o KEY=VALUE``), a tqdm progress factory for :class:`~labeler.core.jobs.JobContext`, opening a
project for reading or writing, and printing a job's :class:`~labeler.core.jobs.Report`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Iterable

from ..core.errors import FormatError, LabelerError, ProjectError
from ..core.jobs import JobContext, ProgressFactory, Report
from ..core.project import PROJECT_FILE, Project

#: most problem lines printed by print_report before "... and N more"
MAX_PROBLEM_LINES = 200


def add_job_options(parser: argparse.ArgumentParser, options: bool = False) -> None:
    """``--strict`` and ``--quiet`` (every job); ``-o KEY=VALUE`` for jobs that pass options on."""
    parser.add_argument("--strict", action="store_true",
                        help="stop at the first bad item instead of reporting it and going on")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    if options:
        parser.add_argument("-o", "--option", action="append", default=[], metavar="KEY=VALUE",
                            help="an option passed on to the format (repeatable), e.g. -o copy_images=true")


def tqdm_progress(quiet: bool = False) -> ProgressFactory:
    """A progress factory that draws a tqdm bar on stderr (looked up when the bar starts)."""

    def progress(iterable: Iterable, total: int | None = None, desc: str = "") -> Iterable:
        from tqdm import tqdm

        return tqdm(iterable, total=total, desc=desc or None, file=sys.stderr, disable=quiet,
                    unit="item", dynamic_ncols=True, leave=False)

    return progress


def job_context(args: argparse.Namespace) -> JobContext:
    return JobContext(progress=tqdm_progress(getattr(args, "quiet", False)),
                      on_error="raise" if getattr(args, "strict", False) else "skip")


def _option_value(text: str):
    low = text.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if low in ("none", "null"):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_options(pairs: Iterable[str]) -> dict:
    """``["copy_images=true", "min_area=4"]`` -> ``{"copy_images": True, "min_area": 4}``."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key.isidentifier():
            raise LabelerError(f"option {pair!r} must look like KEY=VALUE")
        out[key] = _option_value(value.strip())
    return out


def parse_assignments(text: str, what: str) -> dict[str, str]:
    """``"train=a.txt,val=b.txt"`` -> ``{"train": "a.txt", "val": "b.txt"}``."""
    out = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, sep, value = part.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise LabelerError(f"{what}: {part!r} must look like NAME=VALUE")
        out[name.strip()] = value.strip()
    if not out:
        raise LabelerError(f"{what}: nothing given")
    return out


def load_format(name: str, operation: str) -> ModuleType:
    """The format module for ``name``, checked to provide ``operation`` (``import_dataset``...)."""
    from ..formats.registry import get_format

    try:
        mod = get_format(name)
    except ModuleNotFoundError as e:
        raise FormatError(f"format {name!r} is not available in this installation ({e})") from None
    if not hasattr(mod, operation):
        verb = operation.split("_")[0]
        raise FormatError(f"format {name!r} cannot {verb} datasets")
    return mod


def open_project(path: str | Path, write: bool) -> Project:
    """Open a project folder, or a plain folder of images / labelme JSONs as one (as the window
    does); for writing, refuse a project another process holds."""
    path = Path(path)
    if not path.is_dir() and not (path.is_file() and path.name == PROJECT_FILE):
        raise ProjectError(f"{path}: no such folder (give a project folder or a folder of images)")
    proj = Project.open(path, read_only=not write)
    if write and proj.read_only:
        proj.close()
        raise ProjectError(proj.lock_warning or f"{path} cannot be written")
    return proj


def print_report(report: Report, what: str, file=None) -> None:
    """The summary line, then every warning and error (one line each, each naming its file)."""
    file = file or sys.stderr
    for line in report.warnings[:MAX_PROBLEM_LINES]:
        print(f"warning: {line}", file=file)
    for line in report.errors[:MAX_PROBLEM_LINES]:
        print(f"error: {line}", file=file)
    hidden = max(0, len(report.warnings) - MAX_PROBLEM_LINES) + max(0, len(report.errors) - MAX_PROBLEM_LINES)
    if hidden:
        print(f"... and {hidden} more problems", file=file)
    print(f"{what}: {report.summary()}", file=file)
