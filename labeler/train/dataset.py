"""Training samples from a project: one RGB image and one target label map per image.

Target rules (what a pixel's label is):

* The label space is the schema's classes in schema order, numbered 0..K-1, minus the schema's
  void class (the class whose id equals ``schema.ignore_index``, as CamVid's "Unlabelled").
  Target maps use :attr:`LabelSpace.ignore_index` (255, or 65535 past 254 classes) for "no label".
* Images whose status is ``done`` or ``reviewed`` are **dense**: every pixel is labelled, and
  pixels no shape covers are the schema's background class when it names one (VOC), else ignore.
* Every other image (``new``, ``in_progress``) is **sparse**: only the pixels its shapes cover
  are labelled; the rest are ignore. This is how scribbles and clicks become training data.
* Weak boxes (rectangles flagged ``weak``) become GrabCut pseudo-masks when training asks for
  them (:mod:`labeler.train.box_labels`); otherwise they are not labels.
* Area shapes (polygon, rectangle, circle, mask) are painted with :func:`geometry.rasterize`
  (higher z over lower z), then weak labels over them: a scribble is drawn as a stroke of its
  ``width`` (round ends), a point as a disc of ``point_radius`` pixels. Area shapes flagged ``weak`` (a box
  that only says "there is a car here") and lines are not pixel labels and are skipped.
* Proposals (``Shape.is_proposal``: model pre-labels, and autolabel / SAM / GrabCut results
  flagged ``proposal``) are not labels until a person accepts them: they count
  only on images marked done/reviewed (the person looked at them and left them there), or once
  accepted (``Shape.is_proposal`` false: the window's "accept pre-labels" clears the flag).
* Shapes of classes not in the label space are skipped and reported.

Splits: the project's ``train`` / ``val`` splits; a project without any split trains on all
images and has nothing to validate on. Training also takes the images that are in no split
(images labelled or corrected after the split was made), so that corrections feed the next run;
held-out splits (val, test) never leak into training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

import cv2
import numpy as np
import shapely

from ..core import geometry
from ..core.annotation import LOOKED_AT_STATUSES, ImageAnnotation
from ..core.errors import LabelerError, ProjectError
from ..core.images import image_size, read_image
from ..core.schema import Schema
from ..core.shapes import LINE, LINESTRIP, POINT, SCRIBBLE, Shape

DENSE_STATUSES = LOOKED_AT_STATUSES
#: radius in pixels of the disc a point label paints
POINT_RADIUS = 3


@dataclass(frozen=True)
class LabelSpace:
    """Class names by training index, the ignore value, and the background index if any."""

    names: tuple[str, ...]
    background: int | None = None

    def __post_init__(self) -> None:
        if not self.names:
            raise ProjectError("the schema has no classes to train on")
        if len(set(self.names)) != len(self.names):
            raise ProjectError("class names in a label space must be unique")

    @classmethod
    def from_schema(cls, schema: Schema) -> "LabelSpace":
        names = tuple(c.name for c in schema.classes if c.id != schema.ignore_index)
        bg = names.index(schema.background) if schema.background in names else None
        return cls(names, bg)

    @classmethod
    def from_names(cls, names: Sequence[str], schema: Schema | None = None) -> "LabelSpace":
        """A saved model's classes, with the background taken from the project's schema."""
        names = tuple(names)
        bg = names.index(schema.background) if schema is not None and schema.background in names else None
        return cls(names, bg)

    @property
    def num_classes(self) -> int:
        return len(self.names)

    @property
    def dtype(self):
        return np.uint8 if self.num_classes < 255 else np.uint16

    @property
    def ignore_index(self) -> int:
        return 255 if self.num_classes < 255 else 65535

    def index(self, name: str) -> int | None:
        try:
            return self.names.index(name)
        except ValueError:
            return None


@dataclass
class Sample:
    key: str
    image: np.ndarray  # (H, W, 3) uint8 RGB
    target: np.ndarray  # (H, W) class indices, ignore_index where unlabelled
    dense: bool
    #: a crop of a huge image: (x0, y0, x1, y1) at pyramid ``level`` (see labeler.train.tiling)
    window: tuple[int, int, int, int] | None = None
    level: int = 0


def is_dense(ann: ImageAnnotation) -> bool:
    return ann.status in DENSE_STATUSES


def label_shapes(ann: ImageAnnotation) -> list[Shape]:
    """The shapes that count as labels on this image (see the module docstring)."""
    dense = is_dense(ann)
    out = []
    for s in ann.shapes:
        if s.is_proposal and not dense:
            continue
        if s.kind in (LINE, LINESTRIP):
            continue
        if s.is_area or s.kind in (SCRIBBLE, POINT):
            out.append(s)
    return out


def has_labels(ann: ImageAnnotation) -> bool:
    return bool(label_shapes(ann))


def _weak_region(shape: Shape, point_radius: float):
    """A scribble as its stroke (the polyline buffered by half its width, round ends); a point as
    a disc. Coordinates are continuous: pixel (i, j) covers [i, i+1) x [j, j+1)."""
    if shape.kind == POINT:
        return shapely.Point(shape.points[0]).buffer(max(0.5, float(point_radius)))
    radius = max(0.5, shape.width / 2)
    pts = shape.points
    base = shapely.Point(pts[0]) if len(pts) == 1 else shapely.LineString(pts)
    return base.buffer(radius)


def _paint_weak(target: np.ndarray, shape: Shape, value: int, point_radius: float,
                origin: tuple[int, int] = (0, 0), scale: float = 1.0) -> None:
    """Paint a weak label into ``target``, a window at ``origin`` of the image scaled by ``scale``."""
    h, w = target.shape
    region = _weak_region(shape, point_radius)
    if scale != 1.0 or origin != (0, 0):
        region = shapely.transform(region, lambda c: c * scale - np.asarray(origin, dtype=np.float64))
    bx0, by0, bx1, by1 = region.bounds
    x0, y0 = max(0, int(np.floor(bx0)) - 1), max(0, int(np.floor(by0)) - 1)
    x1, y1 = min(w, int(np.ceil(bx1)) + 1), min(h, int(np.ceil(by1)) + 1)
    if x1 <= x0 or y1 <= y0:
        return
    off = np.array([x0, y0], dtype=np.float64)
    window = target[y0:y1, x0:x1]
    for ext, holes in geometry.geometry_to_rings(region):
        m = geometry.polygon_to_mask(ext - off, [hh - off for hh in holes], y1 - y0, x1 - x0, "coco")
        window[m] = value


def target_for(ann: ImageAnnotation, space: LabelSpace, point_radius: int = POINT_RADIUS
               ) -> tuple[np.ndarray, list[str]]:
    """The target map of one annotation, and the class names it had to skip (not in the space)."""
    dense = is_dense(ann)
    fill = space.background if dense and space.background is not None else space.ignore_index
    shapes = sorted(label_shapes(ann), key=lambda s: s.z)  # stable: list order among equal z
    unknown = sorted({s.label for s in shapes if space.index(s.label) is None})
    known = [(s, space.index(s.label)) for s in shapes if space.index(s.label) is not None]
    target = geometry.rasterize([(s, v) for s, v in known if s.is_area], ann.height, ann.width,
                                fill=fill, dtype=space.dtype)
    for s, v in known:
        if s.kind in (SCRIBBLE, POINT):
            _paint_weak(target, s, v, point_radius)
    return target, unknown


def split_keys(project, split: str) -> list[str]:
    """Keys of a split; ``train`` also takes images in no split; no splits at all: everything."""
    if not project.splits:
        if split in ("train", "trainval"):
            return project.image_keys()
        raise ProjectError(f"{project.root}: the project has no splits, so no {split!r} images; "
                           "make one with `labeler split` or pass --split train")
    keys = project.keys_in_split(split)
    if split in ("train", "trainval"):
        assigned = {k for ks in project.splits.values() for k in ks}
        keys = sorted(set(keys) | {k for k in project.image_keys() if k not in assigned})
    return keys


def spread_first(keys: Sequence[str], n: int | None) -> list[str]:
    """``keys`` reordered so that ``n`` of them evenly spread over the list come first (the first
    and the last key among them), then keys that fill the gaps ever more finely, then the rest.

    What ``max_images`` takes: keys sort by file name, and frames of a video sort by sequence and
    time, so the first N keys are N near-identical frames of one sequence (CamVid's first 8 train
    keys are consecutive frames of its one dusk sequence). Where a spread pick has no labels, the
    next keys taken lie in the gaps between the picks, not at the start of the list.
    """
    keys = list(keys)
    if n is None or n >= len(keys) or n < 1:
        return keys
    order: list[int] = []
    seen: set[int] = set()
    m = n
    while len(order) < len(keys) and m < 2 * len(keys):
        for i in np.linspace(0, len(keys) - 1, m).round().astype(int).tolist():
            if i not in seen:
                seen.add(i)
                order.append(i)
        m *= 2
    order += [i for i in range(len(keys)) if i not in seen]
    return [keys[i] for i in order]


def iter_samples(project, keys: Iterable[str], space: LabelSpace, *, max_images: int | None = None,
                 require_labels: bool = True, problems: list[str] | None = None,
                 point_radius: int = POINT_RADIUS, boxes=None, crops=None,
                 defer_huge: list | None = None) -> Iterator[Sample]:
    """Samples for ``keys``; images without labels are skipped when ``require_labels``.

    A huge image (:func:`labeler.train.tiling.is_huge`) is never decoded whole: it gives
    ``crops.per_image`` crops (a :class:`labeler.train.tiling.CropSampling`, default settings
    without it) read through its TileSource, each with the target of its window only. With
    ``defer_huge`` a list, a huge image gives no samples here: its checked
    :class:`labeler.train.epoch_crops.HugeImage` goes into the list instead (networks draw new
    crops of it every epoch).

    With ``boxes`` (a :class:`labeler.train.box_labels.BoxPseudoLabels`) weak boxes become
    GrabCut pseudo-masks (an image with only weak boxes then counts as labelled); without it
    they are not labels. Unreadable annotations or images, and skipped classes or boxes, go to
    ``problems`` (one line each, naming the file) instead of stopping the run.
    """
    from . import tiling
    from .box_labels import weak_boxes

    problems = problems if problems is not None else []
    count = 0
    for key in keys:
        if max_images is not None and count >= max_images:
            return
        try:
            if require_labels and not project.has_annotation(key):
                continue
            ann, bad = project.load_with_problems(key)
            problems.extend(bad)
            if require_labels and not (has_labels(ann) or (boxes is not None and weak_boxes(ann))):
                continue
            huge = tiling.is_huge(*image_size(project.image_path(key)))
            if huge and defer_huge is not None:
                from .epoch_crops import huge_image

                found = huge_image(project, key, ann, space, crops, point_radius, problems)
                if found is not None:
                    defer_huge.append(found)
                    count += 1
                continue
            if huge:
                got = False
                for crop in tiling.huge_samples(project, key, ann, space, crops, point_radius, problems):
                    got = True
                    yield crop
                count += got
                continue
            image = read_image(project.image_path(key))
        except LabelerError as e:
            problems.append(str(e))
            continue
        if image.shape[:2] != (ann.height, ann.width):
            problems.append(f"{project.image_path(key)}: image is {image.shape[1]}x{image.shape[0]} but its "
                            f"annotation says {ann.width}x{ann.height}; skipped")
            continue
        target, unknown = target_for(ann, space, point_radius)
        if boxes is not None:
            _, bad = boxes.paint(image, ann, target, {n: i for i, n in enumerate(space.names)},
                                 space.ignore_index)
            problems.extend(f"{project.annotation_path(key)}: {b}" for b in bad)
        if unknown:
            problems.append(f"{project.annotation_path(key)}: classes not in the model skipped: "
                            f"{', '.join(unknown)}")
        count += 1
        yield Sample(key, image, target, is_dense(ann))


def scribbles_from_labels(target: np.ndarray, ignore_index: int, *, erode: int = 4, width: int = 3,
                          min_pixels: int = 50) -> np.ndarray:
    """Simulated scribbles from a dense label map: the skeleton of each region, shrunk away from
    its border by ``erode`` pixels and drawn ``width`` pixels wide; everything else is ignore.

    Used to measure how far scribbles get compared with full masks (benchmarks, tests).
    """
    from skimage.measure import label as connected
    from skimage.morphology import skeletonize

    def disk(r: int) -> np.ndarray:
        return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))

    out = np.full(target.shape, ignore_index, dtype=target.dtype)
    for value in np.unique(target):
        if value == ignore_index:
            continue
        regions = connected(target == value, connectivity=1)
        for r in range(1, regions.max() + 1):
            region = regions == r
            if region.sum() < min_pixels:
                continue
            core = cv2.erode(region.astype(np.uint8), disk(erode)).astype(bool) if erode > 0 else region
            if not core.any():
                continue
            stroke = skeletonize(core)
            if width > 1:
                stroke = cv2.dilate(stroke.astype(np.uint8), disk(width // 2)).astype(bool) & region
            out[stroke] = value
    return out
