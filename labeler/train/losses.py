"""Losses for segmentation networks trained on dense masks or partial labels.

``segmentation_loss`` is cross-entropy plus Dice, both computed only on labelled pixels: a
target pixel equal to the ignore index contributes nothing to either term and receives no
gradient. With scribbles and points as targets this is the partial cross-entropy of
Tang et al., "Normalized Cut Loss for Weakly-supervised CNN Segmentation" (CVPR 2018).

``median_frequency_weights`` are the class weights of Eigen & Fergus (ICCV 2015), as SegNet
used on CamVid: ``w_c = median(f) / f_c`` with ``f_c`` the pixels of class ``c`` divided by the
labelled pixels of the images where ``c`` appears.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import torch
import torch.nn.functional as F


def median_frequency_weights(targets: Iterable[np.ndarray], num_classes: int) -> np.ndarray:
    """(K,) float32 weights from label maps (values outside 0..K-1 are unlabelled).

    A class that never appears gets weight 1 (it has no pixels to weigh).
    """
    pixels = np.zeros(num_classes, np.float64)
    image_pixels = np.zeros(num_classes, np.float64)
    for t in targets:
        t = np.asarray(t).reshape(-1).astype(np.int64)
        t = t[(t >= 0) & (t < num_classes)]
        if not t.size:
            continue
        counts = np.bincount(t, minlength=num_classes)
        pixels += counts
        image_pixels[counts > 0] += t.size
    present = pixels > 0
    weights = np.ones(num_classes, np.float64)
    if present.any():
        freq = pixels[present] / image_pixels[present]
        weights[present] = np.median(freq) / freq
    return weights.astype(np.float32)


def dice_loss(logits: torch.Tensor, target: torch.Tensor, ignore_index: int, eps: float = 1.0) -> torch.Tensor:
    """1 - mean soft Dice over the classes present in the labelled pixels of the batch."""
    num_classes = logits.shape[1]
    valid = (target != ignore_index) & (target >= 0) & (target < num_classes)
    probs = torch.softmax(logits.float(), dim=1) * valid[:, None]
    onehot = F.one_hot(torch.where(valid, target, 0).long(), num_classes).permute(0, 3, 1, 2)
    onehot = onehot.to(probs.dtype) * valid[:, None]
    dims = (0, 2, 3)
    inter = (probs * onehot).sum(dims)
    cardinality = probs.sum(dims) + onehot.sum(dims)
    present = onehot.sum(dims) > 0
    if not present.any():
        return logits.sum() * 0.0
    dice = (2 * inter + eps) / (cardinality + eps)
    return 1 - dice[present].mean()


def segmentation_loss(logits: torch.Tensor, target: torch.Tensor, ignore_index: int,
                      class_weights: torch.Tensor | None = None, dice_weight: float = 1.0) -> torch.Tensor:
    """Cross-entropy (optionally class-weighted) + ``dice_weight`` x Dice, on labelled pixels only."""
    if not (target != ignore_index).any():
        return logits.sum() * 0.0
    ce = F.cross_entropy(logits.float(), target.long(), weight=class_weights, ignore_index=ignore_index)
    if dice_weight:
        ce = ce + dice_weight * dice_loss(logits, target, ignore_index)
    return ce
