"""A segmentation network from scratch on CamVid, on the CPU, for a fixed time budget.

1. Full masks: a U-Net (ResNet-18 encoder, random weights) trained on all 367 train images for
   ``LABELER_BENCH_DEEP_MINUTES`` minutes (default 20), median-frequency class weights, CE + Dice,
   augmentation; the best epoch by mIoU on 20 val images; then scored on the whole val split
   (101 images). Printed beside the published from-scratch references, which are on the *test*
   split (233 images, not here): ours is on val, so the figures compare only roughly.
2. Scribbles vs full masks at an equal number of images (``N_WEAK`` train images), each trained
   for ``LABELER_BENCH_DEEP_WEAK_MINUTES`` minutes (default 5): scribbles simulated from the
   ground truth (``labeler.train.dataset.scribbles_from_labels``), scored on the val split; the
   scribble run's mIoU as a percentage of the full-mask run's.

To fit the CPU, images are trained and predicted at half size (240 x 180); predictions are
brought back to full size (nearest) and scored against the full-size ground truth, void ignored.

Run: ``LABELER_BENCH_DEEP_MINUTES=20 python -m tests.bench deep``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from labeler.core.images import read_image, read_label_png
from labeler.train.dataset import scribbles_from_labels
from labeler.train.deep import DeepSegmenter, DeepSettings
from labeler.train.metrics import ConfusionMatrix

CAMVID = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "camvid"
VOID = 11
CLASSES = ["Sky", "Building", "Pole", "Road", "Pavement", "Tree", "SignSymbol", "Fence", "Car",
           "Pedestrian", "Bicyclist"]
REFERENCES = {"SegNet-Basic (from scratch)": 46.3, "ENet (from scratch)": 51.3}
SCALE = 0.5
N_WEAK, N_EPOCH_VAL = 20, 20


def _minutes(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        raise SystemExit(f"{name} must be a number of minutes, got {os.environ[name]!r}") from None


def spread(items: list[str], n: int) -> list[str]:
    return [items[int(i)] for i in np.linspace(0, len(items) - 1, n)] if n < len(items) else list(items)


def load(root: Path, split: str, stem: str) -> tuple[np.ndarray, np.ndarray]:
    """Half-size image, full-size ground truth."""
    img = read_image(root / split / f"{stem}.png")
    small = cv2.resize(img, None, fx=SCALE, fy=SCALE, interpolation=cv2.INTER_AREA)
    return small, read_label_png(root / f"{split}annot" / f"{stem}.png")


def small_target(gt: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return cv2.resize(gt, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)


def settings(minutes: float) -> DeepSettings:
    return DeepSettings(arch="unet", encoder="resnet18", encoder_depth=5, decoder_width=128, epochs=10_000,
                        batch_size=8, lr=2e-3, crop=160, class_weights=True, max_minutes=minutes, device="cpu")


def score(model: DeepSegmenter, val: list[tuple[np.ndarray, np.ndarray]]) -> tuple[float, float]:
    cm = ConfusionMatrix(len(CLASSES), VOID)
    for img, gt in val:
        labels = model.predict(img)[0]
        cm.update(gt, cv2.resize(labels, (gt.shape[1], gt.shape[0]), interpolation=cv2.INTER_NEAREST))
    m = cm.metrics()
    return m.mIoU, m.PA


def train(name: str, pairs, epoch_val, minutes: float) -> DeepSegmenter:
    t0 = time.perf_counter()
    model = DeepSegmenter(CLASSES, settings(minutes))
    model.fit(pairs, epoch_val)
    i = model.info
    print(f"  {name}: {i['epochs_run']} epochs, {i['steps']} steps in {time.perf_counter() - t0:.0f} s "
          f"(stopped: {i['stopped'] or 'all epochs'}), best epoch {i['best_epoch']}")
    return model


def main(argv: list[str] | None = None) -> dict:
    """``argv``: optionally the CamVid folder (default ../shared/datasets/camvid)."""
    root = Path(argv[0]) if argv else CAMVID
    if not (root / "train").is_dir():
        print(f"skipped: CamVid not found at {root}")
        return {}
    minutes = _minutes("LABELER_BENCH_DEEP_MINUTES", 20)
    weak_minutes = _minutes("LABELER_BENCH_DEEP_WEAK_MINUTES", 5)
    torch.manual_seed(0)
    train_stems = (root / "train.txt").read_text().split()
    val = [load(root, "val", s) for s in (root / "val.txt").read_text().split()]
    epoch_val = [(img, small_target(gt, img.shape[:2])) for img, gt in spread(val, N_EPOCH_VAL)]
    dense = {s: load(root, "train", s) for s in train_stems}
    full = [(img, small_target(gt, img.shape[:2])) for img, gt in dense.values()]
    print(f"deep network from scratch, CamVid, CPU ({torch.get_num_threads()} threads): U-Net/ResNet-18, "
          f"images at {SCALE:g} size, {len(full)} train images, {minutes:g} min")
    model = train("full masks, all train images", full, epoch_val, minutes)
    miou, pa = score(model, val)
    print(f"  val split ({len(val)} images): mIoU {100 * miou:.1f}  PA {100 * pa:.1f}")
    for ref, value in REFERENCES.items():
        print(f"  reference {ref}: {value:.1f} mIoU on the test split (ours above is on val)")
    out = {"minutes": minutes, "val_mIoU": miou, "val_PA": pa, "epochs": model.info["epochs_run"]}

    few = [(img, small_target(gt, img.shape[:2])) for img, gt in (dense[s] for s in spread(train_stems, N_WEAK))]
    scribbled = [(img, scribbles_from_labels(t, VOID, erode=2, width=3, min_pixels=12)) for img, t in few]
    labelled = float(np.mean([(t != VOID).mean() for _, t in scribbled]))
    print(f"scribbles vs full masks, the same {N_WEAK} train images, {weak_minutes:g} min each "
          f"(scribbles label {100 * labelled:.1f}% of the pixels)")
    res = {}
    for name, pairs in (("full masks", few), ("scribbles", scribbled)):
        res[name] = score(train(name, pairs, epoch_val, weak_minutes), val)[0]
        print(f"  {name}: val mIoU {100 * res[name]:.1f}")
    ratio = res["scribbles"] / res["full masks"] if res["full masks"] else float("nan")
    print(f"  scribbles reach {100 * ratio:.0f}% of the full-mask mIoU")
    out.update({"weak_minutes": weak_minutes, "few_full_mIoU": res["full masks"],
                "few_scribbles_mIoU": res["scribbles"], "scribbles_over_full": ratio,
                "scribble_labelled_fraction": labelled})
    return out


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
