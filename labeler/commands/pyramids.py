"""Build the pyramid caches of a project's huge images ahead of time.

    labeler pyramids --project DIR [--strict] [-q]

The window builds a huge image's pyramid cache (:mod:`labeler.core.pyramid_cache`) the first time
it opens the image, and shows a placeholder meanwhile. This command builds them all at once, in
``DIR/.labeler/pyramids/`` where the window looks for them: every image the window would show
through tiles that still needs a cache (a PNG/JPEG/WebP too large to decode whole, a huge TIFF
without a stored pyramid). Images already cached, and those that need none, are skipped. An image
that cannot be read is one error line naming it; the others are still built. Neither Qt nor torch
is loaded.
"""

from __future__ import annotations

import argparse

from ..core.jobs import Cancelled, JobContext, Report
from . import add_job_options, job_context, open_project, print_report


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "pyramids", help="build the pyramid caches of a project's huge images",
        description="Build, once, the pyramid cache of every huge compressed image of a project "
                    "(DIR/.labeler/pyramids/), so that the window shows them at once. Images "
                    "already cached or small enough to need none are skipped.")
    p.add_argument("--project", required=True, metavar="DIR", help="the project (or image folder)")
    add_job_options(p)
    p.set_defaults(func=pyramids_command)


def build_project_pyramids(project, ctx: JobContext | None = None, keys: list[str] | None = None) -> Report:
    """Build the missing pyramid caches of ``project``'s images (or ``keys``), as the window would.

    ``report.done`` counts the caches built now; ``report.outputs``: ``cached`` (there already),
    ``not_needed`` (read without a cache) and ``folder``. An unreadable image is one error line
    naming its file (or stops the job under the strict policy)."""
    from ..core import tiles
    from ..core.errors import LabelerError
    from ..core.images import image_size
    from ..core.pyramid_cache import project_cache_root

    ctx = ctx or JobContext()
    report = ctx.report
    report.outputs.update(cached=0, not_needed=0)
    root = project_cache_root(project.root)
    keys = project.image_keys() if keys is None else keys
    for key in ctx.track(keys, total=len(keys), desc="pyramids"):
        path = project.image_path(key)
        try:
            w, h = image_size(path)
            if not tiles.should_tile(w, h):  # shown as a plain image: no tiles, no cache
                report.outputs["not_needed"] += 1
                continue
            source = tiles.TileSource(path, cache_root=root)
            if source.needs_pyramid:
                source.build_pyramid(ctx)
                report.done += 1
            elif source.pyramid is not None:
                report.outputs["cached"] += 1
            else:
                report.outputs["not_needed"] += 1
        except Cancelled:
            raise
        except LabelerError as e:
            ctx.problem(str(e))
    report.outputs["folder"] = str(root)
    return report


def pyramids_command(args: argparse.Namespace) -> int:
    project = open_project(args.project, write=False)
    try:
        report = build_project_pyramids(project, job_context(args))
    finally:
        project.close()
    print_report(report, "pyramids")
    out = report.outputs
    print(f"{report.done} built, {out['cached']} already cached, {out['not_needed']} need none; "
          f"caches in {out['folder']}")
    return 0 if report.ok else 1
