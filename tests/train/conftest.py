"""Synthetic data for the train tests: images of two textures, and projects built from them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from labeler.core.annotation import ImageAnnotation
from labeler.core.project import Project
from labeler.core.schema import Schema
from labeler.core.shapes import Shape

SIZE = 64
CLASSES = ["grass", "sand"]


def textured_image(seed: int, size: int = SIZE) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]]:
    """A 'grass' texture (green, vertical stripes) with a disc of 'sand' (grainy, yellowish).

    Returns the RGB image, the true label map (0 grass, 1 sand) and the disc (cx, cy, r), which
    moves from seed to seed so that position alone cannot tell the classes apart.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    cx, cy = rng.uniform(0.35 * size, 0.65 * size, 2)
    r = rng.uniform(0.2 * size, 0.28 * size)
    sand = (xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2 < r ** 2
    grass = np.stack([60 + 30 * np.sin(xx * 1.3), 140 + 40 * np.sin(xx * 1.3), 60 + 0 * xx], -1)
    grain = rng.normal(0, 35, (size, size, 1))
    sand_rgb = np.stack([170 + 0 * xx, 150 + 0 * xx, 90 + 0 * xx], -1) + grain
    img = np.where(sand[..., None], sand_rgb, grass) + rng.normal(0, 6, (size, size, 3))
    return np.clip(img, 0, 255).astype(np.uint8), sand.astype(np.uint8), (cx, cy, r)


def scribble_shapes(disc: tuple[float, float, float], size: int = SIZE) -> list[Shape]:
    """What a person would draw: a stroke across the disc, strokes and a click on the background."""
    cx, cy, r = disc
    return [
        Shape(kind="scribble", label="sand", points=[[cx - r / 2, cy], [cx, cy + r / 3], [cx + r / 2, cy]], width=3),
        Shape(kind="scribble", label="grass", points=[[3, 3], [size - 4, 4]], width=3),
        Shape(kind="scribble", label="grass", points=[[3, size - 4], [size / 2, size - 3], [size - 4, size - 4]],
              width=3),
        Shape(kind="point", label="grass", points=[[size - 5, size / 2]]),
    ]


def disc_shape(disc: tuple[float, float, float], **kw) -> Shape:
    cx, cy, r = disc
    return Shape(kind="circle", label="sand", points=[[cx, cy], [cx + r, cy]], **kw)


def make_project(root: Path, n_train: int = 2, n_val: int = 2, n_unlabelled: int = 2) -> Project:
    """Train images labelled by scribbles (in_progress), val images dense (done: a disc on the
    grass background) and unlabelled images; schema background = grass."""
    schema = Schema.from_names(CLASSES)
    schema.background = "grass"
    proj = Project.create(root, schema)
    (root / "images").mkdir()
    train, val = [], []
    for i in range(n_train + n_val + n_unlabelled):
        img, _, disc = textured_image(100 + i)
        key = f"images/img{i:02d}.png"
        Image.fromarray(img).save(root / key)
        if i < n_train:
            ann = ImageAnnotation(key, SIZE, SIZE, scribble_shapes(disc), status="in_progress")
            proj.save_annotation(key, ann)
            train.append(key)
        elif i < n_train + n_val:
            proj.save_annotation(key, ImageAnnotation(key, SIZE, SIZE, [disc_shape(disc)], status="done"))
            val.append(key)
    proj.refresh()
    proj.splits = {"train": train, "val": val}
    proj.save()
    return proj


@pytest.fixture
def project(tmp_path) -> Project:
    proj = make_project(tmp_path / "proj")
    yield proj
    proj.close()
