"""Export speed: a synthetic project exported to COCO and to VOC, in images per second.

The project (default 1,000 images of 64 x 48, each with three polygons, a rectangle and a mask
shape over four classes) is built in a temporary folder. Each export is timed next to a baseline
measured in the same run, on the same project:

* ``read``: parse every annotation JSON (``Project.load``), nothing else;
* ``read+raster``: parse and rasterise every annotation into a class map in memory (what any
  dense export must do at least), no writing.

The ratio export / baseline says how much an exporter costs on top of reading (and painting) the
annotations: file writes, PNG/JSON encoding, RLE and polygon work.

Run: ``python -m tests.bench.bench_export [N]`` (N images, default 1000).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from labeler.core import geometry
from labeler.core.annotation import ImageAnnotation
from labeler.core.jobs import JobContext
from labeler.core.project import Project
from labeler.core.schema import LabelClass, Schema
from labeler.core.shapes import Shape
from labeler.core.fileio import deferred_sync
from labeler.formats.registry import get_format

W, H = 64, 48
FORMATS = ("coco", "voc")


def _schema() -> Schema:
    return Schema([LabelClass(0, "background", (0, 0, 0), False), LabelClass(1, "car", (128, 0, 0)),
                   LabelClass(2, "person", (0, 128, 0)), LabelClass(3, "road", (128, 64, 128), False)],
                  name="bench", background="background")


def _polygon(rng: np.random.Generator) -> np.ndarray:
    cx, cy = rng.uniform(8, W - 8), rng.uniform(8, H - 8)
    n = int(rng.integers(3, 8))
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = rng.uniform(3, 8, n)
    return np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], axis=1)


def build_project(root: Path, n: int, seed: int = 0) -> Project:
    """``n`` JPEG images with their annotations under ``root``; returns the open project."""
    rng = np.random.default_rng(seed)
    project = Project.create(root / "project", _schema(), image_roots=[])
    images = root / "project" / "images"
    images.mkdir()
    for i in range(n):
        path = images / f"img{i:05d}.jpg"
        Image.fromarray(rng.integers(0, 255, (H, W, 3), dtype=np.uint8)).save(path, quality=90)
        (key,) = project.add_images([path])
        blob = np.zeros((H, W), bool)
        y, x = int(rng.integers(0, H - 12)), int(rng.integers(0, W - 16))
        blob[y:y + 12, x:x + 16] = rng.random((12, 16)) < 0.8
        shapes = [Shape("polygon", str(rng.choice(["car", "person"])), _polygon(rng), instance_id=j + 1)
                  for j in range(3)]
        shapes.append(Shape("rectangle", "road", [[0, H - 10], [W, H]], z=-1))
        shapes.append(Shape("mask", "car", rle=geometry.rle_encode(blob), instance_id=4, z=1))
        project.save_annotation(key, ImageAnnotation(path.name, W, H, shapes))
    project.save()
    return project


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def baseline_read(project: Project) -> None:
    for key in project.image_keys():
        project.load(key)


def baseline_raster(project: Project) -> None:
    ids = {c.name: c.id for c in project.schema}
    for key in project.image_keys():
        ann = project.load(key)
        geometry.rasterize(((s, ids[s.label]) for s in ann.shapes), ann.height, ann.width, fill=255)


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    n = int(argv[0]) if argv else 1000
    figures: dict = {"images": n}
    with tempfile.TemporaryDirectory(prefix="labeler-bench-export-") as tmp:
        tmp = Path(tmp)
        t_build = _timed(lambda: build_project(tmp, n).close())
        print(f"bench_export: built a {n}-image {W}x{H} project in {t_build:.1f} s")
        project = Project.open(tmp / "project", read_only=True)
        t_read = _timed(lambda: baseline_read(project))
        t_raster = _timed(lambda: baseline_raster(project))
        figures["read_img_per_s"] = n / t_read
        figures["read_raster_img_per_s"] = n / t_raster
        print(f"bench_export: baseline read            {n / t_read:8.0f} img/s")
        print(f"bench_export: baseline read+raster     {n / t_raster:8.0f} img/s")
        for name in FORMATS:
            try:
                fmt = get_format(name)
                export = fmt.export_dataset
            except (ImportError, AttributeError):
                print(f"bench_export: skipped: {name} not available")
                continue
            ctx = JobContext()
            def run(export=export, name=name, ctx=ctx):
                with deferred_sync():  # as the CLI and the window run exports
                    export(project, tmp / f"out-{name}", ctx)

            t = _timed(run)
            if not ctx.report.ok:
                print(f"bench_export: {name}: {len(ctx.report.errors)} errors, e.g. {ctx.report.errors[0]}")
            rate = n / t
            figures[f"{name}_img_per_s"] = rate
            figures[f"{name}_vs_read"] = rate / figures["read_img_per_s"]
            figures[f"{name}_vs_read_raster"] = rate / figures["read_raster_img_per_s"]
            print(f"bench_export: export {name:<16}  {rate:8.0f} img/s  ({t:.2f} s; "
                  f"{rate / figures['read_img_per_s']:.2f} x read, "
                  f"{rate / figures['read_raster_img_per_s']:.2f} x read+raster)")
        project.close()
    return figures


if __name__ == "__main__":
    main()
