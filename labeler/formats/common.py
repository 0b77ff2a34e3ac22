"""What every importer does with the shapes it read: one policy, in one place.

- Imported shapes carry ``source="import"`` (unless they already say where they came from, as
  labeler's own files do).
- Importing into an image that already has annotations keeps the user's own shapes and replaces
  only shapes an earlier import brought, so importing the same dataset twice changes nothing.
- An image that receives shapes from a labelled dataset is marked ``done`` (its labels are
  finished ground truth, dense where the format is a label map), unless it already has a status
  other than ``new``; images that receive no shapes keep their status.
"""

from __future__ import annotations

from ..core.annotation import ImageAnnotation
from ..core.shapes import Shape

IMPORTED = "import"


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
