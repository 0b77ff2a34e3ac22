"""Small synthetic projects for the VOC tests: noise images with hand-placed shapes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from labeler.core.annotation import ImageAnnotation
from labeler.core.project import Project
from labeler.core.schema import LabelClass, Schema, load_preset
from labeler.core.shapes import Shape

W, H = 40, 30


def noise_image(path: Path, seed: int, size=(W, H)) -> Path:
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path


def rect(label: str, x0, y0, x1, y1, **kw) -> Shape:
    return Shape(kind="rectangle", label=label, points=[[x0, y0], [x1, y1]], **kw)


def poly(label: str, pts, holes=(), **kw) -> Shape:
    return Shape(kind="polygon", label=label, points=pts, holes=holes, **kw)


def annotate(project: Project, key: str, shapes: list[Shape]) -> None:
    w, h = project.image_size(key)
    project.save_annotation(key, ImageAnnotation(image_path="", width=w, height=h, shapes=shapes))


def street_schema() -> Schema:
    """A schema without a background class, with stuff and things (unlabelled pixels are void)."""
    return Schema([LabelClass(0, "road", (128, 64, 128), False), LabelClass(1, "car", (64, 0, 128), True),
                   LabelClass(2, "person", (64, 64, 0), True), LabelClass(3, "void", (0, 0, 0), False)],
                  name="street", ignore_index=3)


def voc_project(root: Path, splits: dict | None = None) -> Project:
    """Three images (two PNGs, one JPEG) under ``root/images`` with VOC-class shapes.

    a.png: a person rectangle over a car rectangle (z-order), a dog polygon with a hole.
    b.png: two cars forming one instance (shared instance_id), a cat and a bird.
    c.jpg: a single aeroplane circle.
    """
    noise_image(root / "images" / "a.png", 1)
    noise_image(root / "images" / "b.png", 2)
    noise_image(root / "images" / "c.jpg", 3)
    proj = Project.create(root, load_preset("voc"), splits=splits or {})
    annotate(proj, "images/a.png", [
        rect("person", 8, 4, 16, 20, z=1),
        rect("car", 2, 10, 20, 25),
        poly("dog", [[24, 2], [38, 2], [38, 16], [24, 16]], holes=[[[28, 6], [33, 6], [33, 11], [28, 11]]]),
    ])
    annotate(proj, "images/b.png", [
        rect("car", 1, 1, 8, 8, instance_id=7),
        rect("car", 12, 1, 18, 8, instance_id=7),
        rect("cat", 20, 10, 30, 20),
        rect("bird", 2, 20, 6, 26),
    ])
    annotate(proj, "images/c.jpg", [Shape(kind="circle", label="aeroplane", points=[[20, 15], [27, 15]])])
    return proj


def read_png(path: Path) -> tuple[np.ndarray, str, list[int] | None]:
    with Image.open(path) as im:
        im.load()
        return np.asarray(im).copy(), im.mode, im.getpalette()


def snapshot(folder: Path, exclude: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime) of every file under ``folder`` that is not under ``exclude``."""
    out = {}
    for p in folder.rglob("*"):
        if p.is_file() and exclude not in p.parents:
            st = p.stat()
            out[str(p.relative_to(folder))] = (st.st_size, st.st_mtime_ns)
    return out
