"""Pixel classifier on CamVid: trained from scribbles vs from full masks, same 5 images.

Scribbles are simulated from the ground truth: the skeleton of every region (>= 50 px), shrunk
4 px away from its border and drawn 3 px wide (``labeler.train.dataset.scribbles_from_labels``),
so they label about 5-8 % of the pixels. The full-mask run uses every labelled pixel of the same
images. Both are scored on 20 val images spread over the val list (void pixels ignored), next to
the mIoU of a uniformly random prediction for scale.

Measured (2 shared cores): random 3.5; scribbles 23.0 (4 s fit); full masks 23.4 (33 s fit);
scribbles without position 18.9. The images must be spread over the list: the first 8 train keys
are consecutive frames of 0001TP, CamVid's dusk sequence (mean brightness 59 against 107-139
for the others), and val is all 0016E5 daylight. Trained on those 8 frames (full masks,
position), the 4 first val frames scored 8.5 % mIoU (majority class 2.8, random forest on raw
RGB 8.2); 8 spread frames scored 28.5 (raw-RGB forest 20.7). ``--max-images`` took the first N
keys until it took a spread subset: ``labeler train --max-images 8 --position`` then evaluate
``--max-images 4`` went from 8.5 to 27.3 % (26.9 on 20 val images). Import, label space (void
11 ignored, no background) and feature scale were checked pixel-exact and are not the cause.

Run: ``python -m tests.bench.bench_pixel_classifier``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from labeler.core.images import read_image, read_label_png
from labeler.train.dataset import scribbles_from_labels
from labeler.train.metrics import ConfusionMatrix
from labeler.train.pixel_classifier import FeatureSettings, PixelClassifier

CAMVID = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "camvid"
VOID = 11
CLASSES = ["Sky", "Building", "Pole", "Road", "Pavement", "Tree", "SignSymbol", "Fence", "Car",
           "Pedestrian", "Bicyclist"]
N_TRAIN, N_VAL = 5, 20


def spread(items: list[str], n: int) -> list[str]:
    return [items[int(i)] for i in np.linspace(0, len(items) - 1, n)]


def load(root: Path, split: str, stem: str) -> tuple[np.ndarray, np.ndarray]:
    return read_image(root / split / f"{stem}.png"), read_label_png(root / f"{split}annot" / f"{stem}.png")


def run(name: str, train: list[tuple[np.ndarray, np.ndarray]], val: list[tuple[np.ndarray, np.ndarray]],
        features: FeatureSettings) -> dict:
    labelled = float(np.mean([(t != VOID).mean() for _, t in train]))
    model = PixelClassifier(CLASSES, features, n_estimators=50, max_samples_per_class=20_000)
    t0 = time.perf_counter()
    model.fit(train)
    fit_s = time.perf_counter() - t0
    cm = ConfusionMatrix(len(CLASSES), VOID)
    t0 = time.perf_counter()
    for img, gt in val:
        cm.update(gt, model.predict(img)[0])
    pred_s = (time.perf_counter() - t0) / len(val)
    m = cm.metrics()
    print(f"{name:<34} labelled {100 * labelled:5.1f}%  train {fit_s:6.1f} s  predict {pred_s:5.2f} s/img  "
          f"PA {100 * m.PA:5.1f}  mIoU {100 * m.mIoU:5.1f}")
    return {"labelled": labelled, "train_s": fit_s, "predict_s": pred_s, "PA": m.PA, "mIoU": m.mIoU}


def main(argv: list[str] | None = None) -> dict:
    """``argv``: optionally the CamVid folder (default ../shared/datasets/camvid)."""
    root = Path(argv[0]) if argv else CAMVID
    if not (root / "train").is_dir():
        print(f"skipped: CamVid not found at {root}")
        return {}
    train_stems = spread((root / "train.txt").read_text().split(), N_TRAIN)
    val = [load(root, "val", s) for s in spread((root / "val.txt").read_text().split(), N_VAL)]
    dense = [load(root, "train", s) for s in train_stems]
    t0 = time.perf_counter()
    scribbled = [(img, scribbles_from_labels(gt, VOID)) for img, gt in dense]
    print(f"pixel classifier, CamVid: {N_TRAIN} train images, {N_VAL} val images "
          f"(scribbles simulated in {time.perf_counter() - t0:.1f} s)")
    rng = np.random.default_rng(0)
    chance = ConfusionMatrix(len(CLASSES), VOID)
    for _, gt in val:
        chance.update(gt, rng.integers(0, len(CLASSES), gt.shape))
    print(f"{'uniformly random prediction':<34} mIoU {100 * chance.metrics().mIoU:5.1f}")
    features = FeatureSettings(scale=0.5, position=True)
    out = {}
    for name, train in (("scribbles", scribbled), ("full masks", dense)):
        res = run(f"{name} (scale 0.5, position)", train, val, features)
        out.update({f"{name.replace(' ', '_')}_{k}": v for k, v in res.items()})
    res = run("scribbles (scale 0.5, no position)", scribbled, val, FeatureSettings(scale=0.5))
    out["scribbles_noposition_mIoU"] = res["mIoU"]
    out["scribbles_over_full_mIoU"] = out["scribbles_mIoU"] / out["full_masks_mIoU"]
    print(f"scribbles reach {100 * out['scribbles_over_full_mIoU']:.0f}% of the full-mask mIoU")
    return out


if __name__ == "__main__":
    main()
