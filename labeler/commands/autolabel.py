"""``labeler autolabel``: masks from weak labels with a proposal engine, written as proposals.

    labeler autolabel --project DIR --engine sam|grabcut|superpixels --from boxes|points|scribbles
                      [--model CHECKPOINT] [--images KEY,KEY,...] [--polygons] [--strict] [-q]

Results are proposals awaiting review (``flags.proposal``); accepted shapes are never touched,
and a re-run replaces only the proposals made earlier from the same weak labels.
"""

from __future__ import annotations

import argparse

from . import add_job_options, job_context, open_project, print_report


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "autolabel", help="turn weak labels (boxes, points, scribbles) into mask proposals",
        description="Run a proposal engine on every image's weak labels of one kind and write the "
                    "masks as proposals awaiting review (accepted shapes are never overwritten).")
    p.add_argument("--project", required=True, metavar="DIR")
    p.add_argument("--engine", required=True, metavar="ENGINE",
                   help="sam, grabcut or superpixels (or any loaded engine; see `labeler plugins`)")
    p.add_argument("--from", dest="source", required=True, choices=("boxes", "points", "scribbles"),
                   help="which weak labels to start from")
    p.add_argument("--model", metavar="CHECKPOINT", help="a SAM checkpoint file (sam only; default: "
                   "$LABELER_SAM_CHECKPOINT)")
    p.add_argument("--images", metavar="KEYS", help="only these images: comma-separated keys as the project lists them")
    p.add_argument("--polygons", action="store_true", help="write polygons (holes kept) instead of mask shapes")
    p.add_argument("--cluster-distance", type=float, default=40.0, metavar="PX",
                   help="points of one class without an instance id closer than this form one object (default 40)")
    add_job_options(p)
    p.set_defaults(func=autolabel_command)


def autolabel_command(args: argparse.Namespace) -> int:
    from ..assist.autolabel import autolabel, resolve_engine

    engine = resolve_engine(args.engine, args.model)
    keys = [k.strip() for k in args.images.split(",") if k.strip()] if args.images else None
    project = open_project(args.project, write=True)
    try:
        ctx = autolabel(project, engine, args.source, job_context(args), keys=keys,
                        cluster_distance=args.cluster_distance, polygons=args.polygons)
    finally:
        project.close()
    print_report(ctx.report, f"autolabel ({engine.name} from {args.source}, "
                             f"{ctx.report.outputs.get('proposals', 0)} proposals)")
    return 0 if ctx.report.ok else 1
