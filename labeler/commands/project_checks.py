"""What `labeler stats` counts and what `labeler validate` checks (Qt-free, usable from the GUI).

Both walk the project through a :class:`~labeler.core.jobs.JobContext`, so they show progress,
honour cancelling, and report each bad item as one line naming its file (``ctx.problem``: under
the strict policy the first one stops the walk).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from ..core.annotation import read_annotation
from ..core.errors import InvalidShapeError, LabelerError
from ..core.geometry import polygon_problems, rasterize
from ..core.images import image_size, read_image
from ..core.jobs import JobContext
from ..core.project import Project
from ..core.shapes import MASK


def _mask_fits(shape, height: int, width: int) -> bool:
    return shape.kind != MASK or [int(v) for v in shape.rle["size"]] == [height, width]


def project_stats(project: Project, ctx: JobContext) -> dict:
    """Counts over the whole project.

    ``images``: images in the project; ``annotated``: images with at least one shape;
    ``shapes``: shapes per kind; ``classes``: per label, its ``shapes``, ``instances`` (area
    shapes, those sharing an instance id counting once) and ``pixels`` (what a semantic export
    shows: area shapes painted by z-order, so covered pixels count for the shape on top);
    ``status``: images per review status (an image without annotation file is ``new``);
    ``splits``: images per split, and ``unassigned``; ``unreadable``: annotation files that
    failed to load (each also reported through ``ctx``).
    """
    keys = project.image_keys()
    kinds: Counter = Counter()
    status: Counter = Counter()
    shapes_per_class: Counter = Counter()
    instances: dict[str, set] = {}
    pixels: Counter = Counter()
    annotated = unreadable = 0
    for key in ctx.track(keys, total=len(keys), desc="stats"):
        path = project.annotation_path(key)
        if not path.is_file():
            status["new"] += 1
            continue
        try:
            ann, _ = read_annotation(path, strict=False)
        except LabelerError as e:
            unreadable += 1
            ctx.problem(str(e))
            continue
        status[ann.status] += 1
        if ann.shapes:
            annotated += 1
        labels = sorted({s.label for s in ann.shapes})
        value = {lab: i + 1 for i, lab in enumerate(labels)}
        for s in ann.shapes:
            kinds[s.kind] += 1
            shapes_per_class[s.label] += 1
            if s.is_area:
                instance = ("group", s.instance_id) if s.instance_id is not None else ("shape", s.id)
                instances.setdefault(s.label, set()).add((key, instance))
        paint = [(s, value[s.label]) for s in ann.shapes if s.is_area and _mask_fits(s, ann.height, ann.width)]
        if paint:
            try:
                label_map = rasterize(paint, ann.height, ann.width, fill=0, dtype=np.int32)
            except InvalidShapeError as e:
                ctx.problem(f"{path}: {e}")
                continue
            counts = np.bincount(label_map.ravel(), minlength=len(labels) + 1)
            for lab, v in value.items():
                if counts[v]:
                    pixels[lab] += int(counts[v])
    order = [c.name for c in project.schema] + sorted(set(shapes_per_class) - set(project.schema.names()))
    classes = {lab: {"shapes": shapes_per_class[lab], "instances": len(instances.get(lab, ())),
                     "pixels": pixels[lab]}
               for lab in order if shapes_per_class[lab]}
    in_split = set().union(*map(set, project.splits.values())) if project.splits else set()
    return {
        "project": str(project.root),
        "images": len(keys),
        "annotated": annotated,
        "unreadable": unreadable,
        "shapes": dict(sorted(kinds.items())),
        "classes": classes,
        "unknown_classes": sorted(set(shapes_per_class) - set(project.schema.names())),
        "status": dict(sorted(status.items())),
        "splits": {name: len(v) for name, v in project.splits.items()},
        "unassigned": len(set(keys) - in_split),
    }


def format_stats(stats: dict) -> str:
    """The figures as an aligned text table."""
    def pairs(d: dict) -> str:
        return ", ".join(f"{k} {v}" for k, v in d.items()) or "none"

    lines = [
        f"project     {stats['project']}",
        f"images      {stats['images']}",
        f"annotated   {stats['annotated']}" + (f"   (unreadable {stats['unreadable']})" if stats["unreadable"] else ""),
        f"shapes      {sum(stats['shapes'].values())}: {pairs(stats['shapes'])}",
        f"status      {pairs(stats['status'])}",
        f"splits      {pairs(stats['splits'])}" + (f"   (unassigned {stats['unassigned']})" if stats["splits"] else ""),
    ]
    if stats["classes"]:
        width = max(12, *(len(n) for n in stats["classes"]))
        lines.append("")
        lines.append(f"{'class':<{width}}  {'shapes':>8}  {'instances':>9}  {'pixels':>12}")
        for name, c in stats["classes"].items():
            mark = "  (not in the schema)" if name in stats["unknown_classes"] else ""
            lines.append(f"{name:<{width}}  {c['shapes']:>8}  {c['instances']:>9}  {c['pixels']:>12}{mark}")
    return "\n".join(lines)


def validate_project(project: Project, ctx: JobContext, decode_images: bool = True) -> int:
    """Report every problem through ``ctx.problem``; returns how many images were checked.

    Checked: the image exists and decodes (header only with ``decode_images=False``) and has the
    size its annotation records; the annotation file parses; every shape can exist (a polygon of
    two points, a mask without data), is geometrically valid (``polygon_problems``), is labelled
    with a class of the schema, and a mask has the image's size; splits name project images.
    """
    keys = project.image_keys()
    known_keys = set(keys)
    for name, members in project.splits.items():
        stray = [k for k in members if k not in known_keys]
        if stray:
            ctx.problem(f"{project.root}: split {name!r} lists {len(stray)} images not in the project, "
                        f"e.g. {stray[0]}")
    classes = set(project.schema.names())
    checked = 0
    for key in ctx.track(keys, total=len(keys), desc="validate"):
        checked += 1
        img = project.image_path(key)
        size = None
        if not img.is_file():
            ctx.problem(f"{img}: image file not found")
        else:
            try:
                if decode_images:
                    h, w = read_image(img).shape[:2]
                    size = (w, h)
                else:
                    size = image_size(img)
            except LabelerError as e:
                ctx.problem(str(e))
        path = project.annotation_path(key)
        if not path.is_file():
            continue
        try:
            ann, problems = read_annotation(path, strict=False)
        except LabelerError as e:
            ctx.problem(str(e))
            continue
        for p in problems:
            ctx.problem(p)
        if size is not None and size != (ann.width, ann.height):
            ctx.problem(f"{path}: records a {ann.width} x {ann.height} image but {img.name} is "
                        f"{size[0]} x {size[1]}")
        for i, s in enumerate(ann.shapes):
            where = f"{path}: {s.kind} {s.label!r}"
            if s.label not in classes:
                ctx.problem(f"{where}: class {s.label!r} is not in the project's classes")
            if not _mask_fits(s, ann.height, ann.width):
                ctx.problem(f"{where}: mask is {s.rle['size'][0]} x {s.rle['size'][1]} (rows x columns) "
                            f"but the image is {ann.height} x {ann.width}")
            for msg in polygon_problems(s):
                ctx.problem(f"{where}: {msg}")
    return checked
