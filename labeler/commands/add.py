"""Add images to a project from the command line.

    labeler add --project DIR PATH [PATH ...] [--strict] [-q]

Each PATH is an image file or a folder searched recursively for images. Images stay where they
are: the project refers to them by their path relative to the project folder (as ``import``
does), so new frames can be pre-labelled with ``labeler predict`` or autolabelled. An image whose
header cannot be read is one error line naming it and is not added; the others are. Images the
project already has are counted, not added twice. Neither Qt nor torch is loaded.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..core.errors import LabelerError
from ..core.images import image_size, is_image_file
from ..core.jobs import JobContext, Report
from . import add_job_options, job_context, open_project, print_report


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "add", help="add image files or folders to a project (images stay where they are)",
        description="Add images to a project: files, or folders searched recursively. Images "
                    "are referred to by their path relative to the project; nothing is copied.")
    p.add_argument("--project", required=True, metavar="DIR", help="the project")
    p.add_argument("paths", nargs="+", metavar="PATH", help="an image file or a folder of images")
    add_job_options(p)
    p.set_defaults(func=add_command)


def _images_under(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    found = []
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found.extend(Path(dirpath) / f for f in sorted(filenames) if is_image_file(f))
    return found


def add_images(project, paths, ctx: JobContext | None = None) -> Report:
    """Register the images of ``paths`` in ``project`` (and save it). ``report.done`` counts the
    new ones; ``report.outputs["known"]`` those already there."""
    ctx = ctx or JobContext()
    report = ctx.report
    report.outputs["known"] = 0
    known = set(project.image_keys())
    candidates: list[Path] = []
    for p in map(Path, paths):
        if not p.exists():
            ctx.problem(f"{p}: no such file or folder")
        elif p.is_file() and not is_image_file(p):
            ctx.problem(f"{p}: not an image file (by its extension)")
        else:
            candidates.extend(_images_under(p))
    new = []
    for path in ctx.track(candidates, total=len(candidates), desc="adding"):
        try:
            image_size(path)  # the header must read: a broken file is not added
        except LabelerError as e:
            ctx.problem(str(e))
            continue
        (key,) = project.add_images([path.resolve()])
        if key in known:
            report.outputs["known"] += 1
        else:
            known.add(key)
            new.append(key)
    if new:
        project.save()
    report.done = len(new)
    return report


def add_command(args: argparse.Namespace) -> int:
    project = open_project(args.project, write=True)
    try:
        report = add_images(project, args.paths, job_context(args))
    finally:
        project.close()
    print_report(report, "add")
    print(f"{report.done} images added, {report.outputs['known']} already in the project")
    return 0 if report.ok else 1
