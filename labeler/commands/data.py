"""Dataset commands: import, export, split, stats, validate.

    labeler import FORMAT SRC --project DIR [--classes PRESET_OR_FILE] [--split-ratios R] [--seed N]
    labeler import mask-png --images DIR --masks DIR --project DIR --classes camvid
    labeler export FORMAT --project DIR --out DIR [--split NAME] [--overwrite]
    labeler split --project DIR (--ratios train=0.8,val=0.2 [--seed N] | --from-lists train=F,val=F)
    labeler stats --project DIR [--json]
    labeler validate --project DIR [--quick]

A job reports bad items one line each (naming the file) and goes on; ``--strict`` stops at the
first. A job that met problems exits with 1.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
from pathlib import Path

from ..core.errors import LabelerError, ProjectError
from ..core.fileio import deferred_sync
from ..core.project import LOCK_FILE, PROJECT_FILE, Project
from ..core.schema import Schema, load_schema
from ..core.splits import parse_ratios, split_by_ratio, split_from_lists
from ..formats.export_target import ExportTarget
from ..formats.registry import FORMATS
from . import (add_job_options, job_context, load_format, open_project, parse_assignments, parse_options,
               print_report)
from .project_checks import format_stats, project_stats, validate_project


def register(subparsers) -> None:
    formats = ", ".join(FORMATS)

    p = subparsers.add_parser(
        "import", help="read a dataset into a project (created if needed)",
        description=f"Read a dataset into the project DIR, creating it if DIR has none. FORMAT: {formats}. "
                    "mask-png takes --images DIR --masks DIR (or SRC with images/ and masks/ inside).")
    p.add_argument("format", metavar="FORMAT")
    p.add_argument("src", nargs="?", metavar="SRC", help="the dataset (a folder or a file, per format)")
    p.add_argument("--project", required=True, metavar="DIR")
    p.add_argument("--classes", metavar="PRESET_OR_FILE",
                   help="a preset name, a schema JSON, or a text file of class names")
    p.add_argument("--images", metavar="DIR", help="the images folder (mask-png, coco)")
    p.add_argument("--masks", metavar="DIR", help="the masks folder (mask-png)")
    p.add_argument("--split-ratios", metavar="R", help="then split by ratio, e.g. train=0.8,val=0.2")
    p.add_argument("--split-lists", metavar="L", help="then split from list files, e.g. train=train.txt,val=val.txt")
    p.add_argument("--seed", type=int, default=0, help="seed of the ratio split (default 0)")
    add_job_options(p, options=True)
    p.set_defaults(func=import_command)

    p = subparsers.add_parser("export", help="write a project (or one split) in a dataset format",
                              description=f"Write the project in FORMAT under --out. FORMAT: {formats}.")
    p.add_argument("format", metavar="FORMAT")
    p.add_argument("--project", required=True, metavar="DIR")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--split", metavar="NAME", help="export only this split (default: every image)")
    p.add_argument("--overwrite", action="store_true",
                   help="write into a folder that holds other files or another format's export: files of the "
                        "same name are replaced, nothing is deleted (a re-export of the same format into its "
                        "own folder needs no --overwrite and removes what the earlier one left behind)")
    add_job_options(p, options=True)
    p.set_defaults(func=export_command)

    p = subparsers.add_parser("split", help="set train/val/test splits",
                              description="Set the project's splits by ratio (seeded) or from list files.")
    p.add_argument("--project", required=True, metavar="DIR")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--ratios", help="train=0.8,val=0.2 (or 0.8,0.2 for train,val)")
    how.add_argument("--from-lists", metavar="LISTS", help="train=FILE,val=FILE: files of names or stems")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=split_command)

    p = subparsers.add_parser("stats", help="count images, shapes, classes, statuses, splits")
    p.add_argument("--project", required=True, metavar="DIR")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    add_job_options(p)
    p.set_defaults(func=stats_command)

    p = subparsers.add_parser(
        "validate", help="find broken shapes, missing images, unknown classes, corrupt files",
        description="Check every image and annotation; exit with 1 when problems are found.")
    p.add_argument("--project", required=True, metavar="DIR")
    p.add_argument("--quick", action="store_true", help="read image headers only (no full decode)")
    add_job_options(p)
    p.set_defaults(func=validate_command)


# ------------------------------------------------------------------------------ import


def _open_or_create(folder: str) -> Project:
    root = Path(folder)
    if root.exists() and not root.is_dir():
        raise ProjectError(f"{root}: not a folder")
    if (root / PROJECT_FILE).exists():
        return open_project(root, write=True)
    # an imported dataset registers its images one by one: nothing is found by scanning
    proj = Project.create(root, Schema([], name=root.resolve().name or "project"), image_roots=[])
    if proj.read_only:
        proj.close()
        raise ProjectError(proj.lock_warning)
    return proj


def _apply_classes(project: Project, spec: str) -> None:
    schema = load_schema(spec)
    if not len(project.schema):
        project.schema = schema
        return
    for c in schema:
        if c.name not in project.schema:
            project.schema.add(c.name, is_thing=c.is_thing, color=c.color)


def _accepts(func, name: str) -> bool:
    params = inspect.signature(func).parameters
    return name in params


def _call_format(func, what: str, options: dict, *args, **kwargs):
    """Call a format's import/export; an option it does not take is a usage error, not a crash."""
    params = inspect.signature(func).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(options) - set(params))
        if unknown:
            raise LabelerError(f"{what} takes no option {', '.join(unknown)}")
    try:
        with deferred_sync():  # one sync for the whole job instead of two per file
            return func(*args, **kwargs, **options)
    except TypeError as e:
        if not options:
            raise
        raise LabelerError(f"{what}: {e}") from None


def import_command(args: argparse.Namespace) -> int:
    fmt = load_format(args.format, "import_dataset")
    options = parse_options(args.option)
    if args.images is not None:
        options["images"] = args.images
    if args.masks is not None:
        options["masks"] = args.masks
    src = args.src
    if src is None:
        if args.images is None:
            raise LabelerError(f"import {args.format}: give the dataset SRC"
                               + (" or --images and --masks" if args.format == "mask-png" else ""))
        src = os.getcwd()
    elif not Path(src).exists():
        raise LabelerError(f"{src}: no such file or folder")
    ratios = parse_ratios(args.split_ratios) if args.split_ratios else None
    lists = parse_assignments(args.split_lists, "--split-lists") if args.split_lists else None
    if ratios is not None and lists is not None:
        raise LabelerError("give --split-ratios or --split-lists, not both")
    if args.classes:
        load_schema(args.classes)  # a bad preset name or file fails before anything is created
    ctx = job_context(args)
    root = Path(args.project)
    fresh_dir, fresh = not root.exists(), not (root / PROJECT_FILE).exists()
    try:
        _import_into(args, fmt, options, src, ratios, lists, ctx)
    except BaseException:
        if fresh:
            _remove_unused_project(root, fresh_dir)
        raise
    print_report(ctx.report, f"import {args.format}")
    return 0 if ctx.report.ok else 1


def _remove_unused_project(root: Path, remove_dir: bool) -> None:
    """After a failed import into a project it had just created, take the empty project away
    again; anything the import managed to write is kept."""
    leftovers = {p.name for p in root.iterdir()} if root.is_dir() else set()
    if not leftovers <= {PROJECT_FILE, LOCK_FILE, "annotations"}:
        return
    ann = root / "annotations"
    if ann.is_dir() and any(ann.iterdir()):
        return
    for name in (PROJECT_FILE, LOCK_FILE):
        (root / name).unlink(missing_ok=True)
    if ann.is_dir():
        ann.rmdir()
    if remove_dir:
        root.rmdir()


def _import_into(args, fmt, options, src, ratios, lists, ctx) -> None:
    with _open_or_create(args.project) as project:
        before = set(project.image_keys())
        if args.classes:
            if _accepts(fmt.import_dataset, "schema"):
                options["schema"] = args.classes  # the format maps raw indices through it
            else:
                _apply_classes(project, args.classes)
        _call_format(fmt.import_dataset, f"import {args.format}", options, src, project, ctx)
        project.refresh()
        keys = project.image_keys()
        if ratios is not None:
            project.splits = split_by_ratio(keys, ratios, seed=args.seed)
        elif lists is not None:
            project.splits = split_from_lists(keys, lists)
        project.save()
        added = len(set(keys) - before)
        print(f"{project.root}: {added} images added, {len(keys)} in the project, "
              f"{len(project.schema)} classes" + _splits_text(project), file=sys.stdout)


def _splits_text(project: Project) -> str:
    if not project.splits:
        return ""
    return "; splits " + ", ".join(f"{k} {len(v)}" for k, v in project.splits.items())


# ------------------------------------------------------------------------------ export


def export_command(args: argparse.Namespace) -> int:
    fmt = load_format(args.format, "export_dataset")
    options = parse_options(args.option)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise LabelerError(f"{out}: exists and is not a folder")
    ctx = job_context(args)
    with open_project(args.project, write=False) as project:
        if args.split is not None:
            project.keys_in_split(args.split)  # an unknown split is an error before anything is written
        target = run_export(args.format, fmt, options, project, out, ctx, split=args.split,
                            overwrite=args.overwrite)
    print(f"exported {args.format} to {out}", file=sys.stdout)
    if target.removed:
        print(f"removed {len(target.removed)} files the previous {args.format} export left behind", file=sys.stdout)
    print_report(ctx.report, f"export {args.format}")
    return 0 if ctx.report.ok else 1


def run_export(name: str, fmt, options: dict, project: Project, out, ctx, split: str | None = None,
               overwrite: bool = False) -> ExportTarget:
    """The format's exporter inside an :class:`ExportTarget` (refuses a folder of other files
    unless ``overwrite``, writes the manifest, clears an earlier export's leftovers); the CLI and
    the Export dialog both run exports through here. Proposals awaiting review are left out unless
    the option ``include_proposals`` is true (:mod:`labeler.formats.reviewed`)."""
    from ..formats.reviewed import report_left_out, view_for_export

    options = dict(options)
    view = view_for_export(project, bool(options.pop("include_proposals", False)))
    with ExportTarget(out, name, overwrite=overwrite, project=project, split=split, report=ctx.report) as target:
        _call_format(fmt.export_dataset, f"export {name}", options, view, out, ctx, split=split)
    report_left_out(view, ctx.report)
    return target


# ------------------------------------------------------------------------------- split


def split_command(args: argparse.Namespace) -> int:
    with open_project(args.project, write=True) as project:
        keys = project.image_keys()
        if not keys:
            raise ProjectError(f"{project.root}: the project has no images to split")
        if args.ratios:
            try:
                ratios = parse_ratios(args.ratios)
                splits = split_by_ratio(keys, ratios, seed=args.seed)
            except ValueError as e:
                raise LabelerError(f"--ratios {args.ratios!r}: {e}") from None
        else:
            splits = split_from_lists(keys, parse_assignments(args.from_lists, "--from-lists"))
        project.splits = splits
        project.save()
        placed = set().union(*map(set, splits.values())) if splits else set()
        for name, members in splits.items():
            print(f"{name}: {len(members)}")
        if len(placed) < len(keys):
            print(f"warning: {len(keys) - len(placed)} of {len(keys)} images are in no split", file=sys.stderr)
        overlap = sum(len(v) for v in splits.values()) - len(placed)
        if overlap:
            print(f"warning: {overlap} images are in more than one split", file=sys.stderr)
    return 0


# ------------------------------------------------------------------------ stats, validate


def stats_command(args: argparse.Namespace) -> int:
    ctx = job_context(args)
    with open_project(args.project, write=False) as project:
        stats = project_stats(project, ctx)
    if args.json:
        print(json.dumps(stats, indent=2))
    else:
        print(format_stats(stats))
    if stats["unreadable"]:
        print_report(ctx.report, "stats")
        return 1
    return 0


def validate_command(args: argparse.Namespace) -> int:
    ctx = job_context(args)
    with open_project(args.project, write=False) as project:
        checked = validate_project(project, ctx, decode_images=not args.quick)
    for line in ctx.report.errors:
        print(line)
    n = len(ctx.report.errors)
    print(f"validate: {checked} images checked, {n} problem{'s' if n != 1 else ''}", file=sys.stderr)
    return 1 if n else 0
