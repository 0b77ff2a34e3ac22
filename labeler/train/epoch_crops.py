"""Crops of huge images drawn anew every epoch and read when the network's data loader asks.

The pixel classifier takes the crops of a huge image once (:func:`labeler.train.tiling.huge_samples`).
A network trains for many epochs, and seeing the same few windows each time wastes the image:
:class:`EpochCrops` is its training set instead. It holds the ordinary images' pairs in memory as
before and, for each huge image, only what drawing and reading its crops needs (a
:class:`HugeImage`: path, annotation, label boxes; no pixels). At every epoch each huge image
gives ``CropSampling.per_image`` new windows, chosen as :func:`tiling.choose_crops` chooses them
but seeded by ``(sampling seed, run seed, epoch, image key)``, so a resumed run draws exactly what
an uninterrupted one would, and every DDP process the same. ``__getitem__`` reads one crop
through the image's :class:`~labeler.core.tiles.TileSource` and rasterises the target of that
window only: memory holds a crop at a time, never the image.

A window without a labelled pixel teaches nothing (the pixel classifier drops such crops; here
every epoch keeps ``per_image`` of them): it is drawn again, centred on a label this time
(``attempt`` 1, 2, ... of the same epoch, seeded as well), up to :data:`MAX_DRAWS` times; the
last draw is kept regardless (its target is all ignore and adds nothing to the loss).

The dataset pickles without its open files: each DataLoader worker process opens the
TileSources it reads on its own (TileSource is thread-safe within a process).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Iterator, Sequence

import numpy as np

from ..core.annotation import ImageAnnotation
from ..core.errors import LabelerError
from ..core.tiles import TileSource
from .dataset import LabelSpace, POINT_RADIUS, label_shapes
from .tiling import CropSampling, check_huge, choose_crops, label_boxes, window_target

#: draws of one crop before a window without labelled pixels is kept anyway
MAX_DRAWS = 8


@dataclass(frozen=True)
class HugeImage:
    """One huge training image, as crops are drawn from it: no pixels, no open file."""

    key: str
    path: str
    ann: ImageAnnotation
    boxes: tuple[tuple[float, float, float, float], ...]


def huge_image(project, key: str, ann: ImageAnnotation, space: LabelSpace, sampling: CropSampling | None,
               point_radius: float, problems: list[str]) -> HugeImage | None:
    """The :class:`HugeImage` of ``key`` once its file is checked (None and a problem if not)."""
    sampling = sampling or CropSampling()
    if check_huge(project, key, ann, sampling.level, problems) is None:
        return None
    labels = label_shapes(ann)
    unknown = sorted({s.label for s in labels if space.index(s.label) is None})
    if unknown:
        problems.append(f"{project.annotation_path(key)}: classes not in the model skipped: {', '.join(unknown)}")
    if len(unknown) == len({s.label for s in labels}):  # no crop could hold a labelled pixel
        return None
    return HugeImage(key, str(project.image_path(key)), ann, tuple(label_boxes(ann, point_radius)))


class EpochCrops:
    """Training pairs ``(uint8 RGB image, int64 target)``: ``pairs`` (held in memory) first, then
    ``sampling.per_image`` crops of each huge image, drawn for the epoch of :meth:`set_epoch`."""

    def __init__(self, pairs: Sequence[tuple[np.ndarray, np.ndarray]], huge: Sequence[HugeImage],
                 space: LabelSpace, sampling: CropSampling | None = None, seed: int = 0,
                 point_radius: float = POINT_RADIUS) -> None:
        self.pairs = list(pairs)
        self.huge = list(huge)
        self.space = space
        self.sampling = sampling or CropSampling()
        if self.sampling.per_image < 1 or self.sampling.size < 1:
            raise LabelerError("crops of huge images need a size and at least one crop per image")
        self.seed = int(seed)
        self.point_radius = point_radius
        self.epoch = 0
        self._sources: dict[int, TileSource] = {}
        self._pid = os.getpid()
        self._drawn: dict[tuple[int, int, int], list[tuple[int, int, int, int]]] = {}

    # -- the Sequence a training loop sees ----------------------------------------------------
    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        self._drawn.clear()

    def __len__(self) -> int:
        return len(self.pairs) + len(self.huge) * self.sampling.per_image

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        if not 0 <= i < len(self):
            raise IndexError(i)
        if i < len(self.pairs):
            image, target = self.pairs[i]
            return np.asarray(image), self._clean(target)
        j, c = divmod(i - len(self.pairs), self.sampling.per_image)
        window, target = self.crop_window(j, c, self.epoch)
        try:
            image = self._source(j).read_region(self.sampling.level, *window)
        except LabelerError as e:
            raise LabelerError(f"{self.huge[j].path}: crop {window} unreadable: {e}") from None
        return image, target

    # -- windows and targets, without reading pixels ------------------------------------------
    def crop_window(self, j: int, c: int, epoch: int) -> tuple[tuple[int, int, int, int], np.ndarray]:
        """Window and int64 target of crop ``c`` of huge image ``j`` at ``epoch``."""
        img = self.huge[j]
        for attempt in range(MAX_DRAWS):
            window = self._windows(j, epoch, attempt)[c]
            target, _ = window_target(img.ann, self.space, window, level=self.sampling.level,
                                      point_radius=self.point_radius)
            target = self._clean(target)
            if (target != self.space.ignore_index).any():
                break
        return window, target

    def windows(self, epoch: int) -> dict[str, list[tuple[int, int, int, int]]]:
        """The crop windows (pixels of ``sampling.level``) each huge image gives at ``epoch``."""
        return {img.key: [self.crop_window(j, c, epoch)[0] for c in range(self.sampling.per_image)]
                for j, img in enumerate(self.huge)}

    def targets(self, epoch: int) -> Iterator[np.ndarray]:
        """Every pair's target at ``epoch``, one at a time (no image is read)."""
        for _, t in self.pairs:
            yield self._clean(t)
        for j in range(len(self.huge)):
            for c in range(self.sampling.per_image):
                yield self.crop_window(j, c, epoch)[1]

    def _windows(self, j: int, epoch: int, attempt: int) -> list[tuple[int, int, int, int]]:
        got = self._drawn.get((j, epoch, attempt))
        if got is None:
            img = self.huge[j]
            sampling = self.sampling if attempt == 0 else replace(self.sampling, random_share=0.0)
            got = choose_crops(img.ann.width, img.ann.height, list(img.boxes), sampling, img.key,
                               stream=(self.seed, epoch, attempt))
            if len(self._drawn) > 4 * MAX_DRAWS * max(1, len(self.huge)):
                self._drawn.clear()
            self._drawn[(j, epoch, attempt)] = got
        return got

    def _clean(self, target) -> np.ndarray:
        t = np.asarray(target).astype(np.int64)
        t[(t < 0) | (t >= self.space.num_classes)] = self.space.ignore_index
        return t

    # -- one TileSource per image and process -------------------------------------------------
    def _source(self, j: int) -> TileSource:
        if self._pid != os.getpid():  # a forked DataLoader worker: open the files again
            self._sources, self._pid = {}, os.getpid()
        source = self._sources.get(j)
        if source is None:
            source = self._sources[j] = TileSource(self.huge[j].path)
        return source

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_sources"] = {}
        state["_drawn"] = {}
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._pid = os.getpid()
