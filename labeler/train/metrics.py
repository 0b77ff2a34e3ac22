"""Segmentation metrics from a confusion matrix, accumulated over many images.

The matrix has one row per ground-truth class and one column per predicted class, plus a last
column for pixels whose prediction is not a class at all (the ignore index, or any value out of
range): such a prediction is wrong, so it counts against the ground-truth class but for no
predicted class. Pixels whose ground truth is the ignore index are skipped.

With ``n_ij`` the pixels of class ``i`` predicted as ``j``, ``t_i`` the ground-truth pixels of
class ``i`` (its row, including unpredicted ones) and ``p_j = sum_i n_ij`` the pixels predicted as
``j``, the definitions are those of Long et al., "Fully Convolutional Networks" (2015):

* PA (pixel accuracy) ``= sum_i n_ii / sum_i t_i``
* mPA (mean class accuracy) ``= mean_i n_ii / t_i`` over classes present in the ground truth
* IoU_i ``= n_ii / (t_i + p_i - n_ii)``; mIoU is its mean
* FWIoU ``= sum_i t_i * IoU_i / sum_i t_i``
* Dice_i ``= 2 n_ii / (t_i + p_i)``; Dice (mean) is its mean

A class absent from both ground truth and prediction has NaN IoU/Dice/accuracy and is left out of
every mean; a class absent from the ground truth but predicted has IoU 0 and Dice 0 (and NaN
accuracy, since it has no pixels to be accurate on).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..core.fileio import atomic_open


@dataclass
class ConfusionMatrix:
    """Counts of (ground truth, prediction) pixels for ``num_classes`` classes."""

    num_classes: int
    ignore_index: int = 255
    #: (K, K + 1) int64: rows ground truth, columns prediction, last column "no valid prediction"
    counts: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.num_classes < 1:
            raise ValueError("a confusion matrix needs at least one class")
        if self.counts is None:
            self.counts = np.zeros((self.num_classes, self.num_classes + 1), np.int64)
        self.counts = np.asarray(self.counts, dtype=np.int64)
        if self.counts.shape != (self.num_classes, self.num_classes + 1):
            raise ValueError(f"counts must have shape {(self.num_classes, self.num_classes + 1)}, "
                             f"got {self.counts.shape}")

    def update(self, gt: np.ndarray, pred: np.ndarray) -> "ConfusionMatrix":
        """Add one image's label maps (same shape, integer class indices)."""
        gt = np.asarray(gt)
        pred = np.asarray(pred)
        if gt.shape != pred.shape:
            raise ValueError(f"ground truth {gt.shape} and prediction {pred.shape} differ in shape")
        k = self.num_classes
        g = gt.reshape(-1).astype(np.int64)
        p = pred.reshape(-1).astype(np.int64)
        keep = g != self.ignore_index
        g, p = g[keep], p[keep]
        bad = (g < 0) | (g >= k)
        if bad.any():
            raise ValueError(f"ground truth holds value {int(g[bad][0])}, which is neither a class "
                             f"(0..{k - 1}) nor the ignore index {self.ignore_index}")
        p = np.where((p < 0) | (p >= k), k, p)
        self.counts += np.bincount(g * (k + 1) + p, minlength=k * (k + 1)).reshape(k, k + 1)
        return self

    def __iadd__(self, other: "ConfusionMatrix") -> "ConfusionMatrix":
        if other.num_classes != self.num_classes:
            raise ValueError("cannot add confusion matrices of different class counts")
        self.counts += other.counts
        return self

    @property
    def matrix(self) -> np.ndarray:
        """The square (K, K) part: ground truth class by predicted class."""
        return self.counts[:, :-1]

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def metrics(self) -> "Metrics":
        return compute_metrics(self)


@dataclass
class Metrics:
    PA: float
    mPA: float
    mIoU: float
    FWIoU: float
    Dice: float
    per_class_IoU: np.ndarray
    per_class_accuracy: np.ndarray
    per_class_Dice: np.ndarray

    def to_dict(self, class_names: Sequence[str] | None = None) -> dict:
        """JSON-ready: fractions, NaN as None, per-class values keyed by class name."""
        names = list(class_names) if class_names is not None else [str(i) for i in range(len(self.per_class_IoU))]

        def per(values):
            return {n: _num(v) for n, v in zip(names, values)}

        return {"PA": _num(self.PA), "mPA": _num(self.mPA), "mIoU": _num(self.mIoU),
                "FWIoU": _num(self.FWIoU), "Dice": _num(self.Dice),
                "per_class_IoU": per(self.per_class_IoU), "per_class_accuracy": per(self.per_class_accuracy),
                "per_class_Dice": per(self.per_class_Dice)}

    def format(self, class_names: Sequence[str]) -> str:
        """A small human-readable table (percentages)."""
        lines = [f"PA {_pct(self.PA)}  mPA {_pct(self.mPA)}  mIoU {_pct(self.mIoU)}  "
                 f"FWIoU {_pct(self.FWIoU)}  Dice {_pct(self.Dice)}",
                 f"{'class':<20} {'IoU':>7} {'Dice':>7} {'acc':>7}"]
        for i, n in enumerate(class_names):
            lines.append(f"{n[:20]:<20} {_pct(self.per_class_IoU[i]):>7} {_pct(self.per_class_Dice[i]):>7} "
                         f"{_pct(self.per_class_accuracy[i]):>7}")
        return "\n".join(lines)


def _num(v) -> float | None:
    v = float(v)
    return None if math.isnan(v) else v


def _pct(v) -> str:
    return "-" if math.isnan(float(v)) else f"{100 * float(v):.1f}"


def _nanmean(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float("nan")


def compute_metrics(cm: ConfusionMatrix) -> Metrics:
    n = cm.counts.astype(np.float64)
    tp = np.diag(n[:, :-1])
    t = n.sum(axis=1)  # ground-truth pixels per class (unpredicted ones included)
    p = n[:, :-1].sum(axis=0)  # pixels predicted as each class
    union = t + p - tp
    with np.errstate(divide="ignore", invalid="ignore"):
        acc = np.where(t > 0, tp / t, np.nan)
        iou = np.where(union > 0, tp / union, np.nan)
        dice = np.where(t + p > 0, 2 * tp / (t + p), np.nan)
    total = t.sum()
    pa = float(tp.sum() / total) if total > 0 else float("nan")
    fwiou = float(np.nansum(np.where(t > 0, t * iou, 0.0)) / total) if total > 0 else float("nan")
    return Metrics(PA=pa, mPA=_nanmean(acc), mIoU=_nanmean(iou), FWIoU=fwiou, Dice=_nanmean(dice),
                   per_class_IoU=iou, per_class_accuracy=acc, per_class_Dice=dice)


def evaluate_maps(pairs: Iterable[tuple[np.ndarray, np.ndarray]], num_classes: int,
                  ignore_index: int = 255) -> ConfusionMatrix:
    """Accumulate a confusion matrix over ``(ground truth, prediction)`` label maps."""
    cm = ConfusionMatrix(num_classes, ignore_index)
    for gt, pred in pairs:
        cm.update(gt, pred)
    return cm


def compare_projects(project_a, project_b, keys: Iterable[str] | None = None, *, split: str | None = None
                     ) -> tuple[ConfusionMatrix, list[str], list[str]]:
    """Agreement of two annotators: project A (rows, taken as reference) against project B.

    Both are rasterised per image with the target rules of :mod:`labeler.train.dataset` in A's
    label space (B's classes are matched by name). Pixels A leaves unlabelled are skipped; pixels
    A labels but B does not count as "no prediction". Images are matched by key (the image path
    relative to each project: each annotator's own copy), or by the same image file reached from
    both projects. Returns the matrix, the class names, and one line per image that
    could not be compared.
    """
    from .dataset import LabelSpace, target_for

    space = LabelSpace.from_schema(project_a.schema)
    if keys is None:
        keys = [k for k in project_a.keys_in_split(split) if project_a.has_annotation(k)]
    cm = ConfusionMatrix(space.num_classes, space.ignore_index)
    problems: list[str] = []
    # the same image has different keys in projects kept in different folders: match by file
    b_keys = project_b.image_keys()
    b_by_file = {project_b.image_path(k).resolve(): k for k in b_keys}
    b_key_set = set(b_keys)
    for key in keys:
        key_b = b_by_file.get(project_a.image_path(key).resolve()) or (key if key in b_key_set else None)
        if key_b is None:
            problems.append(f"{key}: not in {project_b.root}")
            continue
        try:
            ann_a, ann_b = project_a.load(key), project_b.load(key_b)
        except Exception as e:  # a corrupt file in one project: report it, compare the rest
            problems.append(str(e))
            continue
        if (ann_a.width, ann_a.height) != (ann_b.width, ann_b.height):
            problems.append(f"{key}: image sizes differ ({ann_a.width}x{ann_a.height} vs "
                            f"{ann_b.width}x{ann_b.height})")
            continue
        ta, _ = target_for(ann_a, space)
        tb, _ = target_for(ann_b, space)
        cm.update(ta, tb)
    return cm, list(space.names), problems


def plot_confusion_matrix(cm: ConfusionMatrix, class_names: Sequence[str], path: str | Path,
                          normalize: bool = True, title: str = "Confusion matrix") -> Path:
    """Write the matrix as a PNG heat map (rows normalised to fractions of the ground truth)."""
    # The Agg canvas directly, not pyplot: no global backend switch, no GUI, thread-safe enough.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    counts = cm.counts.astype(np.float64)
    names = list(class_names) + ["(none)"]
    if normalize:
        rows = counts.sum(axis=1, keepdims=True)
        values = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    else:
        values = counts
    k = cm.num_classes
    size = max(4.0, 0.45 * (k + 1) + 2.5)
    fig = Figure(figsize=(size, size * 0.9))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    im = ax.imshow(values, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(k + 1), names, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(k), names[:-1], fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("ground truth")
    ax.set_title(title)
    if k <= 20:
        for i in range(k):
            for j in range(k + 1):
                if counts[i, j]:
                    ax.text(j, i, f"{values[i, j]:.2f}" if normalize else str(int(counts[i, j])),
                            ha="center", va="center", fontsize=6,
                            color="white" if values[i, j] > 0.5 * (values.max() or 1) else "black")
    fig.tight_layout()
    path = Path(path)
    with atomic_open(path, "wb") as f:
        fig.savefig(f, format="png", dpi=100)
    return path
