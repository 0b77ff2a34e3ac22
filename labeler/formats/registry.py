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
}


def get_format(name: str) -> ModuleType:
    if name not in FORMATS:
        raise FormatError(f"unknown format {name!r}; known: {', '.join(FORMATS)}")
    return importlib.import_module(FORMATS[name])


def can_import(name: str) -> bool:
    return hasattr(get_format(name), "import_dataset")


def can_export(name: str) -> bool:
    return hasattr(get_format(name), "export_dataset")


def detect_format(path) -> str | None:
    """The first registered format whose ``detect`` accepts ``path``."""
    for name in FORMATS:
        mod = get_format(name)
        det = getattr(mod, "detect", None)
        if det is not None and det(path):
            return name
    return None
