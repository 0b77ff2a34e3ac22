"""Training samples from huge images, a crop at a time.

An image is *huge* when the canvas shows it through tiles (``tiles.should_tile``: over
``TILED_ABOVE_PIXELS``) or when it is too large to decode whole (over ``MAX_FULL_DECODE_PIXELS``).
Such an image is never decoded whole and never gets a full-size target map: training takes
``CropSampling.per_image`` crops of it, each ``size`` pixels square at pyramid ``level`` (level k
is the image scaled by 1 / 2**k), read with :meth:`TileSource.read_region`, with the target
rasterised for that window only (:func:`geometry.rasterize_window`, weak labels painted into the
window). Memory per crop: ``size**2 * 4`` bytes (image and target), whatever the image's size.

Which crops: ``1 - random_share`` of them are centred on a random point of the bounding box of a
label shape picked at random (area shapes, scribbles, points), so every label gets seen; the rest
lie anywhere on the image (they bring in the background of dense images). A crop without a single
labelled pixel teaches nothing and is dropped. The draws depend only on ``(seed, image key)``:
the same settings give the same crops. The pixel classifier takes its crops once per training run;
the networks draw new ones every epoch, read as the data loader asks for them
(:mod:`labeler.train.epoch_crops`, seeded by run seed and epoch too).

Box pseudo-labels (GrabCut on weak boxes) need the whole image and are not made for huge images;
such images train from their other labels, and the skipped boxes are reported.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ..core import geometry, images, tiles
from ..core.annotation import ImageAnnotation
from ..core.errors import LabelerError
from ..core.shapes import POINT, SCRIBBLE
from ..core.tiles import TileSource
from .dataset import LabelSpace, Sample, _paint_weak, _weak_region, is_dense, label_shapes


def is_huge(width: int, height: int) -> bool:
    """Trained on and predicted by windows rather than whole (see the module docstring)."""
    return tiles.should_tile(width, height) or width * height > images.MAX_FULL_DECODE_PIXELS


@dataclass(frozen=True)
class CropSampling:
    #: side of a crop, in pixels of ``level``
    size: int = 512
    #: pyramid level the crops are read at (0: full resolution; k: downscaled by 2**k)
    level: int = 0
    #: crops per huge image
    per_image: int = 8
    #: share of the crops placed anywhere rather than on a label
    random_share: float = 0.25
    seed: int = 0


def label_boxes(ann: ImageAnnotation, point_radius: float) -> list[tuple[float, float, float, float]]:
    """Full-resolution (x0, y0, x1, y1) of every shape that is a label on this image."""
    out = []
    for s in label_shapes(ann):
        b = _weak_region(s, point_radius).bounds if s.kind in (SCRIBBLE, POINT) else s.bbox()
        out.append(tuple(float(v) for v in b))
    return out


def choose_crops(width: int, height: int, boxes, sampling: CropSampling, key: str,
                 stream: tuple[int, ...] = ()) -> list[tuple[int, int, int, int]]:
    """The crop windows (x0, y0, x1, y1), in pixels of ``sampling.level``, for one image.
    ``stream``: more seed words (the networks pass run seed, epoch and draw for fresh crops)."""
    rng = np.random.default_rng([sampling.seed, *(int(v) for v in stream), zlib.crc32(key.encode("utf-8"))])
    s = 2 ** sampling.level
    lw, lh = -(-width // s), -(-height // s)
    cw, ch = min(sampling.size, lw), min(sampling.size, lh)
    n = max(0, int(sampling.per_image))
    n_random = n if not boxes else int(round(n * min(1.0, max(0.0, sampling.random_share))))
    out = []
    for i in range(n):
        if i < n - n_random:
            bx0, by0, bx1, by1 = boxes[int(rng.integers(len(boxes)))]
            cx, cy = rng.uniform(bx0, max(bx0, bx1)) / s, rng.uniform(by0, max(by0, by1)) / s
            x0 = int(np.clip(round(cx - cw / 2), 0, lw - cw))
            y0 = int(np.clip(round(cy - ch / 2), 0, lh - ch))
        else:
            x0, y0 = int(rng.integers(0, lw - cw + 1)), int(rng.integers(0, lh - ch + 1))
        out.append((x0, y0, x0 + cw, y0 + ch))
    return out


def window_target(ann: ImageAnnotation, space: LabelSpace, window: tuple[int, int, int, int], *,
                  level: int = 0, point_radius: float = 3) -> tuple[np.ndarray, list[str]]:
    """:func:`labeler.train.dataset.target_for` of only ``window`` (pixels of ``level``)."""
    dense = is_dense(ann)
    fill = space.background if dense and space.background is not None else space.ignore_index
    shapes = sorted(label_shapes(ann), key=lambda s: s.z)
    unknown = sorted({s.label for s in shapes if space.index(s.label) is None})
    known = [(s, space.index(s.label)) for s in shapes if space.index(s.label) is not None]
    scale = 1.0 / 2 ** level
    target = geometry.rasterize_window([(s, v) for s, v in known if s.is_area], window, scale=scale,
                                       fill=fill, dtype=space.dtype)
    for s, v in known:
        if s.kind in (SCRIBBLE, POINT):
            _paint_weak(target, s, v, point_radius, origin=(window[0], window[1]), scale=scale)
    return target, unknown


def open_source(project, key: str, ann: ImageAnnotation, level: int = 0) -> TileSource:
    """The image's TileSource, checked against its annotation and readable at ``level``."""
    path = project.image_path(key)
    source = TileSource(path)
    if source.size != (ann.width, ann.height):
        raise LabelerError(f"{path}: image is {source.width}x{source.height} but its annotation says "
                           f"{ann.width}x{ann.height}; skipped")
    if not (0 <= level < source.levels):
        raise LabelerError(f"{path}: no pyramid level {level} (it has {source.levels})")
    if not source.readable_now(level):
        raise LabelerError(f"{path}: huge image without its pyramid cache: build it first "
                           "(`labeler pyramids` or open the image in the window); skipped")
    return source


def check_huge(project, key: str, ann: ImageAnnotation, level: int, problems: list[str]) -> TileSource | None:
    """:func:`open_source`, or None with the reason in ``problems``; skipped weak boxes reported."""
    from .box_labels import weak_boxes

    try:
        source = open_source(project, key, ann, level)
    except LabelerError as e:
        problems.append(str(e))
        return None
    if weak_boxes(ann):
        problems.append(f"{project.annotation_path(key)}: weak boxes are not turned into masks on huge "
                        "images (GrabCut needs the whole image); trained from its other labels")
    return source


def huge_samples(project, key: str, ann: ImageAnnotation, space: LabelSpace, sampling: CropSampling | None,
                 point_radius: float, problems: list[str]) -> Iterator[Sample]:
    """The crops of one huge image as samples (``window`` and ``level`` set); problems reported."""
    sampling = sampling or CropSampling()
    source = check_huge(project, key, ann, sampling.level, problems)
    if source is None:
        return
    boxes = label_boxes(ann, point_radius)
    reported = False
    for window in choose_crops(ann.width, ann.height, boxes, sampling, key):
        target, unknown = window_target(ann, space, window, level=sampling.level, point_radius=point_radius)
        if unknown and not reported:
            problems.append(f"{project.annotation_path(key)}: classes not in the model skipped: "
                            f"{', '.join(unknown)}")
            reported = True
        if not (target != space.ignore_index).any():
            continue
        try:
            image = source.read_region(sampling.level, *window)
        except LabelerError as e:
            problems.append(str(e))
            return
        yield Sample(key, image, target, is_dense(ann), window=window, level=sampling.level)
