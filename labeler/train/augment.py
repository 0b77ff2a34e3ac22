"""Training-time augmentation of (image, target) pairs for segmentation networks.

Each sample is randomly rescaled (images bilinear, targets nearest), padded to the crop size
with the ignore value where smaller, cropped, flipped left-right and colour-jittered
(brightness, contrast, saturation). The random draws depend only on ``(seed, epoch, index)``,
so a resumed run sees the same augmentations as an uninterrupted one, and every DDP process
draws the same for the same sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np
import torch

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def rgb3(image: np.ndarray) -> np.ndarray:
    img = np.asarray(image)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    return img[..., :3]


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """(3, H, W) float32, ImageNet-normalised, from an RGB (or grey) uint8 image."""
    img = (rgb3(image).astype(np.float32) / 255.0 - MEAN) / STD
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))


@dataclass
class Augment:
    crop: int = 256
    scale_min: float = 0.75
    scale_max: float = 1.25
    flip: bool = True
    #: brightness/contrast/saturation factors are drawn from [1 - jitter, 1 + jitter]
    jitter: float = 0.2


def jitter_colour(img: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """Brightness, contrast and saturation jitter on a float RGB image in 0..255."""
    if amount <= 0:
        return img
    b, c, s = rng.uniform(1 - amount, 1 + amount, 3)
    img = img * b
    img = (img - img.mean()) * c + img.mean()
    grey = img @ np.array([0.299, 0.587, 0.114], np.float32)
    img = (img - grey[..., None]) * s + grey[..., None]
    return np.clip(img, 0, 255)


def augment_pair(image: np.ndarray, target: np.ndarray, aug: Augment, ignore_index: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One augmented ``(float32 RGB image, int64 target)`` pair of ``aug.crop`` pixels square."""
    img = rgb3(image).astype(np.float32)
    tgt = np.asarray(target).astype(np.int64)
    h, w = tgt.shape
    scale = rng.uniform(aug.scale_min, aug.scale_max) if aug.scale_max > aug.scale_min else aug.scale_min
    if abs(scale - 1) > 1e-3:
        size = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))
        img = cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)
        tgt = cv2.resize(tgt.astype(np.int32), size, interpolation=cv2.INTER_NEAREST).astype(np.int64)
        h, w = tgt.shape
    crop = aug.crop
    ph, pw = max(0, crop - h), max(0, crop - w)
    if ph or pw:
        img = np.pad(img, ((0, ph), (0, pw), (0, 0)))
        tgt = np.pad(tgt, ((0, ph), (0, pw)), constant_values=ignore_index)
        h, w = tgt.shape
    top, left = int(rng.integers(0, h - crop + 1)), int(rng.integers(0, w - crop + 1))
    img, tgt = img[top:top + crop, left:left + crop], tgt[top:top + crop, left:left + crop]
    if aug.flip and rng.random() < 0.5:
        img, tgt = img[:, ::-1], tgt[:, ::-1]
    img = jitter_colour(img, rng, aug.jitter)
    return img, np.ascontiguousarray(tgt)


class AugmentedPairs(torch.utils.data.Dataset):
    """Samples held in memory, augmented afresh each epoch (call :meth:`set_epoch`). Samples
    with a ``set_epoch`` of their own (:class:`labeler.train.epoch_crops.EpochCrops`) are kept as
    they are, read one at a time, and told the epoch too."""

    def __init__(self, samples: Sequence[tuple[np.ndarray, np.ndarray]], aug: Augment, ignore_index: int,
                 seed: int = 0) -> None:
        self.samples = samples if hasattr(samples, "set_epoch") else list(samples)
        self.aug = aug
        self.ignore_index = ignore_index
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        if hasattr(self.samples, "set_epoch"):
            self.samples.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng((self.seed, self.epoch, i))
        img, tgt = augment_pair(*self.samples[i], self.aug, self.ignore_index, rng)
        x = (img / 255.0 - MEAN) / STD
        return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1), dtype=np.float32)), torch.from_numpy(tgt)
