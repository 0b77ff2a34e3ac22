"""A small demo project built from scikit-image's bundled sample images (no network needed).

``ensure_demo_project()`` builds it once in a user-writable folder (``$LABELER_DEMO_DIR`` or
``~/.local/share/labeler/demo``) and returns that folder. The project file is written last, so a
build cut short is simply redone next time; nothing is written outside the demo folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image

from .core.annotation import ImageAnnotation
from .core.errors import ProjectError
from .core.fileio import save_image_atomic
from .core.project import PROJECT_FILE, Project
from .core.schema import LabelClass, Schema, default_color
from .core.shapes import POLYGON, RECTANGLE, Shape

#: file name -> name of the skimage.data function that returns the image
DEMO_IMAGES = {
    "astronaut.png": "astronaut",
    "chelsea.png": "chelsea",
    "coffee.png": "coffee",
    "rocket.png": "rocket",
}

#: (name, is_thing) of the demo schema's classes
DEMO_CLASSES = [("person", True), ("cat", True), ("cup", True), ("spoon", True), ("rocket", True),
                ("sky", False)]

# Rough outlines drawn by hand on the sample images, so a new user sees shapes at once.
_CAT = [(30, 0), (400, 0), (380, 60), (360, 160), (330, 250), (300, 300), (0, 300), (0, 40)]
_CUP = [(175, 40), (230, 20), (330, 20), (400, 45), (410, 120), (395, 200), (360, 240), (330, 260),
        (260, 285), (230, 300), (200, 300), (195, 250), (215, 225), (185, 180), (172, 110)]
_SPOON = [(325, 65), (425, 325)]


def default_demo_dir() -> Path:
    env = os.environ.get("LABELER_DEMO_DIR")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".local" / "share" / "labeler" / "demo"


def demo_schema() -> Schema:
    return Schema([LabelClass(i, name, default_color(i + 1), thing) for i, (name, thing) in enumerate(DEMO_CLASSES)],
                  name="demo")


def _premade(project: Project) -> dict[str, ImageAnnotation]:
    out = {}
    w, h = project.image_size("images/chelsea.png")
    out["images/chelsea.png"] = ImageAnnotation("", w, h, [Shape(POLYGON, "cat", _CAT)], status="done")
    w, h = project.image_size("images/coffee.png")
    out["images/coffee.png"] = ImageAnnotation(
        "", w, h, [Shape(POLYGON, "cup", _CUP), Shape(RECTANGLE, "spoon", _SPOON)], status="in_progress")
    return out


def ensure_demo_project(root: str | Path | None = None) -> Path:
    """Build the demo project in ``root`` (default :func:`default_demo_dir`) unless it exists."""
    root = Path(root).expanduser() if root is not None else default_demo_dir()
    if (root / PROJECT_FILE).is_file():
        return root
    if root.exists() and not root.is_dir():
        raise ProjectError(f"{root}: exists and is not a folder; cannot build the demo project there")
    try:
        from skimage import data
    except ImportError as e:  # pragma: no cover - scikit-image is a dependency
        raise ProjectError(f"{root}: cannot build the demo project without scikit-image: {e}") from None
    try:
        for fname, func in DEMO_IMAGES.items():
            target = root / "images" / fname
            if not target.is_file():
                save_image_atomic(target, Image.fromarray(getattr(data, func)()))
        project = Project(root, demo_schema(), image_roots=["images"], annotation_dir="annotations")
        for key, ann in _premade(project).items():
            project.save_annotation(key, ann)
        project.save()  # last: its presence marks a finished build
    except OSError as e:
        raise ProjectError(f"{root}: cannot build the demo project: {e.strerror or e}") from None
    return root
