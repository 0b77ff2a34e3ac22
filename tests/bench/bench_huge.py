"""Huge compressed images: first view of a 20,000 x 20,000 deflate TIFF and of a 16,000 x 16,000 PNG.

* **raw**: a 20,000 x 20,000 RGB *uncompressed* strip TIFF (the memory-mapped path, nothing
  decoded; coarse levels sample every 2**k-th pixel): time until the fitted view is painted, then
  a 1:1 view in the middle.
* **tiff**: the same pixels as a tiled (256 x 256) deflate TIFF, written tile by tile from a
  generator (the bench never holds the image). Its pyramid cache (levels 3 and up, streamed
  from the tiles once) is built, then the fitted and 1:1 views are painted; also the coarsest
  level read on demand without a cache (what every zoom-out would cost without one).
* **png**: a 16,000 x 16,000 PNG: the pyramid cache build (one full decode in the worker, level 0
  copied to a memory map in strips, levels reduced from it), then the first view from the cache.

Each scenario runs in its own process so that its peak resident memory (``ru_maxrss``) is its
own (it counts the file pages of memory maps and read-ahead too); ``*_anon_growth_mb`` is private
memory only (RssAnon), ``*_numpy_peak_mb`` the tracemalloc peak (numpy arrays; not Pillow's own
decode buffer, which the anon growth shows). Run:
``python -m tests.bench huge`` or ``python -m tests.bench.bench_huge [raw tiff png]``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SIDE = 20_000
PNG_SIDE = 16_000


def _rows(y0: int, y1: int, width: int) -> np.ndarray:
    """The bench picture: bands different on each axis plus sensor-like noise in the low 4 bits
    (deflate shrinks it about 2:1, as it does a photograph or a scan; a smooth picture would
    shrink 60:1 and decode unrealistically fast)."""
    x = np.arange(width)
    y = np.arange(y0, y1)
    out = np.empty((y1 - y0, width, 3), np.uint8)
    out[..., 0] = ((x // 97) % 200)[None, :]
    out[..., 1] = ((y // 89) % 200)[:, None]
    out[..., 2] = ((x[None, :] + y[:, None]) // 211 % 200)
    out += np.random.default_rng(y0).integers(0, 16, out.shape, dtype=np.uint8)
    return out


def _tiles(side: int, tile: int = 256):
    for ty in range(0, side, tile):
        band = _rows(ty, min(side, ty + tile), side)
        for tx in range(0, side, tile):
            block = np.zeros((tile, tile, 3), np.uint8)
            part = band[:, tx:tx + tile]
            block[:part.shape[0], :part.shape[1]] = part
            yield block


def _view(path: Path, side: int, cache_root: Path | None, build: bool) -> dict:
    from labeler.core.annotation import ImageAnnotation
    from labeler.core.document import Document
    from labeler.core.tiles import TileSource

    from .bench_canvas import _app, _canvas, _rss_mb, _wait_tiles

    import tracemalloc

    _app()
    out = {}
    anon0 = _rss_mb("RssAnon")
    t0 = time.perf_counter()
    src = TileSource(path, cache_root=cache_root)
    out["open_s"] = time.perf_counter() - t0
    if build and src.needs_pyramid:
        tracemalloc.start()
        t0 = time.perf_counter()
        src.attach_pyramid(src.build_pyramid())
        out["pyramid_build_s"] = time.perf_counter() - t0
        out["build_numpy_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2 ** 20
        tracemalloc.stop()
        out["build_anon_growth_mb"] = _rss_mb("RssAnon") - anon0
    canvas = _canvas()
    canvas.set_document(Document(ImageAnnotation(path.name, side, side)), src)
    anon1 = _rss_mb("RssAnon")
    tracemalloc.start()
    t0 = time.perf_counter()
    _wait_tiles(canvas, timeout=120)
    out["first_view_s"] = time.perf_counter() - t0
    canvas.actual_size()
    canvas.centerOn(side / 2, side / 2)
    t0 = time.perf_counter()
    _wait_tiles(canvas, timeout=120)
    out["zoom_1to1_s"] = time.perf_counter() - t0
    out["view_numpy_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2 ** 20
    tracemalloc.stop()
    out["view_anon_growth_mb"] = _rss_mb("RssAnon") - anon1
    out["full_decodes"] = src.full_decodes
    out["tiles_read"] = src.regions_read
    canvas.tiled_image.shutdown()
    canvas.close()
    _app().processEvents()
    return out


def scenario(name: str, folder: Path) -> dict:
    """One scenario in this process (the parent runs each in a child)."""
    import resource

    from .bench_canvas import _rss_mb

    out: dict = {}
    if name == "raw":
        from labeler.core.tiles import write_raw_tiff

        t0 = time.perf_counter()
        path = write_raw_tiff(folder / "raw.tif", SIDE, SIDE, lambda y0, y1: _rows(y0, y1, SIDE))
        out["write_s"] = time.perf_counter() - t0
        out.update(_view(path, SIDE, None, build=False))
    elif name == "tiff":
        import tifffile

        path = folder / "deflate.tif"
        t0 = time.perf_counter()
        tifffile.imwrite(path, _tiles(SIDE), shape=(SIDE, SIDE, 3), dtype=np.uint8, tile=(256, 256),
                         compression="zlib", compressionargs={"level": 1}, photometric="rgb", bigtiff=True)
        out["write_s"] = time.perf_counter() - t0
        out["file_mb"] = path.stat().st_size / 2 ** 20
        from labeler.core.tiles import TileSource

        src = TileSource(path)  # no cache: the coarsest level streamed from every tile
        t0 = time.perf_counter()
        src.read_tile(src.levels - 1, 0, 0)
        out["coarsest_on_demand_s"] = time.perf_counter() - t0
        del src
        (folder / "proj" / ".labeler").mkdir(parents=True)
        out.update(_view(path, SIDE, folder / "proj" / ".labeler" / "pyramids", build=True))
        out["cache_mb"] = sum(p.stat().st_size for p in (folder / "proj").rglob("*.npy")) / 2 ** 20
    elif name == "png-write":  # its own process: holding the picture to save it is not the build's memory
        from PIL import Image

        path = folder / "big.png"
        t0 = time.perf_counter()
        picture = np.empty((PNG_SIDE, PNG_SIDE, 3), np.uint8)
        for y0 in range(0, PNG_SIDE, 1024):
            picture[y0:y0 + 1024] = _rows(y0, min(PNG_SIDE, y0 + 1024), PNG_SIDE)
        Image.fromarray(picture).save(path, compress_level=1)
        out["write_s"] = time.perf_counter() - t0
        out["file_mb"] = path.stat().st_size / 2 ** 20
    elif name == "png":
        import labeler.core.tiles as tiles

        tiles.MAX_FULL_DECODE_PIXELS = min(tiles.MAX_FULL_DECODE_PIXELS, PNG_SIDE * PNG_SIDE - 1)  # as if huge
        (folder / "proj" / ".labeler").mkdir(parents=True)
        out.update(_view(folder / "big.png", PNG_SIDE, folder / "proj" / ".labeler" / "pyramids", build=True))
        out["cache_mb"] = sum(p.stat().st_size for p in (folder / "proj").rglob("*.npy")) / 2 ** 20
    out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--scenario"]:  # a child: one scenario, JSON on the last line
        print(json.dumps(scenario(argv[1], Path(argv[2]))), flush=True)
        return {}
    names = argv or ["raw", "tiff", "png"]
    result = {}
    root = Path(__file__).resolve().parents[2]
    for name in names:
        with tempfile.TemporaryDirectory() as d:
            for step in (["png-write", "png"] if name == "png" else [name]):
                proc = subprocess.run([sys.executable, "-m", "tests.bench.bench_huge", "--scenario", step, d],
                                      cwd=root, capture_output=True, text=True, timeout=600)
                if proc.returncode != 0:
                    print(f"  {step}: failed\n{proc.stderr[-2000:]}", flush=True)
                    lines = proc.stderr.strip().splitlines()
                    result[f"{step}_error"] = lines[-1] if lines else "failed"
                    break
                figures = json.loads(proc.stdout.strip().splitlines()[-1])
                for k, v in figures.items():
                    print(f"  {step}_{k}: {v:.2f}" if isinstance(v, float) else f"  {step}_{k}: {v}", flush=True)
                    result[f"{step}_{k}"] = v
    return result


if __name__ == "__main__":
    main()
