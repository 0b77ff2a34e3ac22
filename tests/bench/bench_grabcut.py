"""GrabCut from a box on real street scenes: CamVid val "Car" components, box vs GrabCut IoU.

Every connected component of class Car (8-connected, area >= MIN_AREA px) is one object; its
prompt is its bounding box. The baseline is the filled box itself, and bare
``cv2.grabCut(..., GC_INIT_WITH_RECT)`` on the whole image is shown for reference.

Run: ``python -m tests.bench.bench_grabcut [N]`` (N = how many cars; all when absent).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from labeler.assist.engine import Prompts
from labeler.core.geometry import mask_iou
from labeler.core.images import read_image, read_label_png

CAMVID = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "camvid"
CAR = 8
MIN_AREA = 200


@dataclass
class Car:
    stem: str
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)
    truth: np.ndarray  # boolean mask of the whole image


def car_samples(root: Path = CAMVID, limit: int | None = None, split: str = "val") -> list[Car]:
    """Car components of a CamVid split, in file order, spread evenly when ``limit`` is given."""
    cars = []
    for stem in (root / f"{split}.txt").read_text().split():
        lab = read_label_png(root / f"{split}annot" / f"{stem}.png")
        n, cc, stats, _ = cv2.connectedComponentsWithStats((lab == CAR).astype(np.uint8), connectivity=8)
        for i in range(1, n):
            x, y, w, h, area = (int(v) for v in stats[i])
            if area >= MIN_AREA:
                cars.append(Car(stem, (x, y, x + w, y + h), cc == i))
    if limit is not None and limit < len(cars):
        cars = [cars[int(i)] for i in np.linspace(0, len(cars) - 1, limit)]
    return cars


def box_mask(box, shape) -> np.ndarray:
    x0, y0, x1, y1 = box
    m = np.zeros(shape, bool)
    m[y0:y1, x0:x1] = True
    return m


def evaluate(engine, cars: list[Car], root: Path = CAMVID, split: str = "val", bare: bool = False) -> dict:
    """Mean IoU of the engine's first proposal, of the filled box and (optionally) bare GrabCut."""
    ious, boxes, bares, images = [], [], [], {}
    start = time.perf_counter()
    for car in cars:
        if car.stem not in images:
            images = {car.stem: read_image(root / split / f"{car.stem}.png")}
        image = images[car.stem]
        state = engine.prepare(image)
        proposal = engine.propose(state, Prompts(box=car.box))[0]
        ious.append(mask_iou(proposal.mask, car.truth))
        boxes.append(mask_iou(box_mask(car.box, car.truth.shape), car.truth))
        if bare:
            labels = np.zeros(car.truth.shape, np.uint8)
            x0, y0, x1, y1 = car.box
            cv2.grabCut(cv2.cvtColor(image, cv2.COLOR_RGB2BGR), labels, (x0, y0, x1 - x0, y1 - y0),
                        np.zeros((1, 65)), np.zeros((1, 65)), 5, cv2.GC_INIT_WITH_RECT)
            bares.append(mask_iou((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD), car.truth))
    out = {"n": len(cars), "grabcut": float(np.mean(ious)), "box": float(np.mean(boxes)),
           "seconds_per_object": (time.perf_counter() - start) / max(1, len(cars))}
    if bare:
        out["bare_grabcut"] = float(np.mean(bares))
    return out


def main(argv: list[str] | None = None) -> dict | None:
    from labeler.plugins.grabcut import GrabCutEngine

    argv = sys.argv[1:] if argv is None else argv
    if not (CAMVID / "val").is_dir():
        print(f"bench_grabcut: skipped, {CAMVID} is absent")
        return None
    cars = car_samples(limit=int(argv[0]) if argv else None)
    r = evaluate(GrabCutEngine(), cars, bare=True)
    print(f"bench_grabcut: CamVid val cars (area >= {MIN_AREA} px), n={r['n']}: "
          f"mean IoU grabcut {r['grabcut']:.3f}, filled box {r['box']:.3f}, "
          f"bare cv2.grabCut {r['bare_grabcut']:.3f}; {1000 * r['seconds_per_object']:.0f} ms/object")
    return r


if __name__ == "__main__":
    main()
