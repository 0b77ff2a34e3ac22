"""The formats, registered by explicit name (the names the CLI and the dialogs use).

Each format module may define:

``detect(path) -> bool``
    Whether a folder or file looks like this format.
``import_dataset(src, project, ctx, **options) -> None``
    Read a dataset into an open :class:`~labeler.core.project.Project`: register its images
    (by relative path, never copied), write one annotation per image, extend the schema.
    Problems go through ``ctx.problem`` / ``ctx.report``; nothing is written outside the project.
``export_dataset(project, out, ctx, split=None, **options) -> None``
    Write the project (or one split) under ``out``; nothing is written outside ``out``.

Run exports through :func:`export_project` (``labeler export`` and the Export dialog do the same,
through :class:`~labeler.formats.export_target.ExportTarget`): it refuses a folder of other files
unless ``overwrite``, writes the manifest ``.labeler-export.json`` and clears what an earlier
export of the same format left behind.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ..core.errors import FormatError

FORMATS: dict[str, str] = {
    "labelme": "labeler.formats.labelme",
    "coco": "labeler.formats.coco",
    "coco-panoptic": "labeler.formats.coco_panoptic",
    "voc": "labeler.formats.voc",
    "cityscapes": "labeler.formats.cityscapes",
    "mask-png": "labeler.formats.mask_png",
    "weak": "labeler.formats.weak_labels",
    "yolo": "labeler.formats.yolo",
    "cvat": "labeler.formats.cvat",
}


def get_format(name: str) -> ModuleType:
    if name not in FORMATS:
        raise FormatError(f"unknown format {name!r}; known: {', '.join(FORMATS)}")
    return importlib.import_module(FORMATS[name])


def can_import(name: str) -> bool:
    return hasattr(get_format(name), "import_dataset")


def can_export(name: str) -> bool:
    return hasattr(get_format(name), "export_dataset")


def export_project(name: str, project, out, ctx=None, split: str | None = None, *, overwrite: bool = False,
                   include_proposals: bool = False, **options):
    """Export ``project`` (or one split) as format ``name`` into the folder ``out``, with the
    folder rules of :mod:`labeler.formats.export_target`. Proposals awaiting review on images not
    marked done are left out (and counted in the report) unless ``include_proposals``: see
    :mod:`labeler.formats.reviewed`."""
    from ..core.jobs import JobContext
    from .export_target import ExportTarget
    from .reviewed import report_left_out, view_for_export

    if not can_export(name):
        raise FormatError(f"format {name!r} cannot export datasets")
    ctx = ctx or JobContext()
    view = view_for_export(project, include_proposals)
    with ExportTarget(out, name, overwrite=overwrite, project=project, split=split, report=ctx.report):
        result = get_format(name).export_dataset(view, out, ctx, split=split, **options)
    report_left_out(view, ctx.report)
    return result


def detect_format(path) -> str | None:
    """The first registered format whose ``detect`` accepts ``path``."""
    for name in FORMATS:
        mod = get_format(name)
        det = getattr(mod, "detect", None)
        if det is not None and det(path):
            return name
    return None
