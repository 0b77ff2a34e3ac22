"""What every importer does with the shapes it read: one policy, in one place.

- Imported shapes carry ``source="import"`` (unless they already say where they came from, as
  labeler's own files do).
- Importing into an image that already has annotations keeps the user's own shapes and replaces
  only shapes an earlier import brought, so importing the same dataset twice changes nothing.
- An image that receives shapes from a labelled dataset is marked ``done`` (its labels are
  finished ground truth, dense where the format is a label map), unless it already has a status
  other than ``new``; images that receive no shapes keep their status.
- A shape whose points lie further outside the image than the image's own size (1e300, a sign
  error, another image's coordinates) is refused by the importer, naming its file
  (:func:`check_inside`): rasterising it would make pycocotools allocate gigabytes or crash.
"""

from __future__ import annotations

import numpy as np

from ..core.annotation import ImageAnnotation
from ..core.errors import InvalidShapeError
from ..core.shapes import Shape

IMPORTED = "import"


def far_outside(shape: Shape, width: int, height: int) -> str | None:
    """Why ``shape`` cannot belong to a ``width`` x ``height`` image, or None: a point more than
    the image's own width (height) beyond its left or right (top or bottom) edge."""
    rings = [np.asarray(r, dtype=np.float64).reshape(-1, 2) for r in (shape.points, *shape.holes)]
    pts = np.concatenate(rings) if rings else np.zeros((0, 2))
    if not len(pts):
        return None
    (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
    w, h = max(width, 1), max(height, 1)
    if x0 < -w or y0 < -h or x1 > 2 * w or y1 > 2 * h:
        return f"points ({x0:g}, {y0:g}) .. ({x1:g}, {y1:g}) lie far outside the {width} x {height} image"
    return None


def check_inside(shapes: list[Shape], width: int, height: int) -> list[Shape]:
    """``shapes``, or :class:`InvalidShapeError` for the first that is :func:`far_outside` the image."""
    for s in shapes:
        why = far_outside(s, width, height)
        if why:
            raise InvalidShapeError(why)
    return shapes


def save_imported(project, key: str, width: int, height: int, shapes: list[Shape], *,
                  status: str = "done", tags: dict | None = None, extra: dict | None = None) -> ImageAnnotation:
    shapes = [s if s.source != "manual" else s.replace(source=IMPORTED) for s in shapes]
    if project.has_annotation(key):
        ann = project.load(key)
        incoming = {s.id for s in shapes}
        kept = [s for s in ann.shapes if s.source != IMPORTED and s.id not in incoming]
        ann.shapes = kept + shapes
        ann.width, ann.height = width, height
    else:
        ann = ImageAnnotation(image_path="", width=width, height=height, shapes=shapes)
    if tags:
        ann.tags.update(tags)
    if extra:
        ann.extra.update(extra)
    if shapes and ann.status == "new":
        ann.status = status
    project.save_annotation(key, ann)
    return ann
