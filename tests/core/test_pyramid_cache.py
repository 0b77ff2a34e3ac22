"""The one-time pyramid cache: huge PNGs (and TIFFs without a pyramid) built once, then memory-mapped."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import tifffile
from PIL import Image

from labeler.core import pyramid_cache, tiles
from labeler.core.errors import ImageReadError
from labeler.core.jobs import Cancelled, JobContext
from labeler.core.pyramid_cache import MANIFEST, TIFF_FIRST_CACHED_LEVEL, cache_key, project_cache_root
from labeler.core.tiles import TILE, TileSource

from .test_tiff_regions import _pattern


def _pillow_levels(truth: np.ndarray, n: int) -> list[np.ndarray]:
    levels = [truth]
    for _ in range(1, n):
        levels.append(np.asarray(Image.fromarray(levels[-1]).reduce(2)))
    return levels


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder (it has ``.labeler/``) holding a 2,600 x 1,900 PNG that counts as huge."""
    root = tmp_path / "proj"
    (root / ".labeler").mkdir(parents=True)
    (root / "scans").mkdir()
    truth = _pattern(1900, 2600, seed=5)
    Image.fromarray(truth).save(root / "scans" / "scan.png", compress_level=1)
    monkeypatch.setattr(tiles, "MAX_FULL_DECODE_PIXELS", 1_000_000)
    return root, root / "scans" / "scan.png", truth


def _progress_log(log):
    def progress(items, total, desc):
        log.append((total, desc))
        return items
    return progress


def test_png_cache_is_built_once_then_read_memory_mapped(project):
    root, path, truth = project
    src = TileSource(path)
    assert src.cache_root == project_cache_root(root) and src.needs_pyramid and not src.ready
    with pytest.raises(ImageReadError, match=r"scan\.png.*pyramid cache"):
        src.read_tile(0, 0, 0)  # too large to decode whole, and no cache yet
    log = []
    pyramid = src.build_pyramid(JobContext(progress=_progress_log(log)))
    assert src.full_decodes == 1 and log and log[0][0] > src.levels and "scan.png" in log[0][1]
    folder = root / ".labeler" / "pyramids" / cache_key(path, src.cache_root)
    assert pyramid.folder == folder and sorted(p.name for p in folder.iterdir()) == \
        sorted([MANIFEST] + [f"level_{k}.npy" for k in range(src.levels)])
    assert not list(folder.parent.glob("*.partial-*"))
    src.attach_pyramid(pyramid)
    assert src.ready and src.lazy

    again = TileSource(path)  # a second open: the cache is found, nothing is decoded
    assert again.ready and again.lazy
    assert np.array_equal(again.read_region(0, 100, 1500, 2600, 1900), truth[1500:1900, 100:2600])
    for level, expected in enumerate(_pillow_levels(truth, again.levels)):
        assert np.array_equal(again.read_tile(level, 0, 0), expected[:TILE, :TILE])
    assert again.full_decodes == 0
    assert again.build_pyramid().folder == folder and again.full_decodes == 0  # found, not rebuilt


def test_half_written_or_damaged_cache_is_ignored_and_rebuilt(project):
    root, path, truth = project
    src = TileSource(path)
    folder = src.build_pyramid().folder
    (folder / MANIFEST).unlink()  # as if the build had stopped before its last step
    stray = folder.parent / f"{folder.name}.partial-x1"
    stray.mkdir()
    (stray / "level_0.npy").write_bytes(b"half")
    src = TileSource(path)
    assert src.needs_pyramid
    src.attach_pyramid(src.build_pyramid())
    assert src.full_decodes == 1 and not stray.exists()
    assert np.array_equal(src.read_tile(1, 1, 1), _pillow_levels(truth, 2)[1][TILE:2 * TILE, TILE:2 * TILE])

    level2 = folder / "level_2.npy"
    with open(level2, "r+b") as f:  # a level cut short (disk full, copied half-way)
        f.truncate(level2.stat().st_size // 2)
    src = TileSource(path)
    assert src.needs_pyramid
    src.build_pyramid()
    assert src.full_decodes == 1 and TileSource(path).ready


def test_editing_the_image_gives_it_a_new_cache(project):
    root, path, _ = project
    st = path.stat()
    old = TileSource(path).build_pyramid().folder
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    src = TileSource(path)
    assert src.needs_pyramid
    new = src.build_pyramid().folder
    assert new != old and new.exists() and not old.exists()  # the old version's cache is gone


def test_cancelled_build_leaves_nothing(project):
    root, path, _ = project
    src = TileSource(path)
    calls = []

    def cancelled():
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(Cancelled):
        src.build_pyramid(JobContext(cancelled=cancelled))
    assert list((root / ".labeler" / "pyramids").iterdir()) == []
    assert TileSource(path).needs_pyramid


def test_truncated_png_is_a_clear_error_and_leaves_no_cache(project):
    root, path, _ = project
    data = path.read_bytes()
    cut = path.with_name("cut.png")
    cut.write_bytes(data[: len(data) // 2])
    src = TileSource(cut)
    with pytest.raises(ImageReadError, match=r"cut\.png.*does not decode"):
        src.build_pyramid()
    assert list((root / ".labeler" / "pyramids").iterdir()) == []


def test_not_enough_memory_is_said_before_decoding(project, monkeypatch):
    root, path, _ = project
    monkeypatch.setattr(pyramid_cache, "free_memory", lambda: 5_000_000)
    src = TileSource(path)
    with pytest.raises(ImageReadError, match=r"scan\.png.*needs about .* GiB of memory"):
        src.build_pyramid()
    assert src.full_decodes == 0


def test_pillow_pixel_limit_is_lifted_only_for_the_build(project, monkeypatch):
    root, path, truth = project
    src = TileSource(path, cache_root=root / ".labeler" / "pyramids")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # the guard as Pillow ships it, scaled down
    src.attach_pyramid(src.build_pyramid())
    assert Image.MAX_IMAGE_PIXELS == 1000
    assert np.array_equal(src.read_tile(0, 2, 1), truth[TILE:2 * TILE, 2 * TILE:3 * TILE])


def test_outside_a_project_the_caller_chooses_the_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(tiles, "MAX_FULL_DECODE_PIXELS", 100_000)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    truth = _pattern(500, 700, seed=6)
    path = tmp_path / "loose" / "a.png"
    path.parent.mkdir()
    Image.fromarray(truth).save(path)
    src = TileSource(path)
    assert src.cache_root is None and src.needs_pyramid
    pyramid = src.build_pyramid()  # no project: the user's cache folder
    assert pyramid.folder.parent == tmp_path / "xdg" / "labeler" / "pyramids"
    meta = json.loads((pyramid.folder / MANIFEST).read_text())
    assert meta["size"] == [700, 500] and meta["first"] == 0


def test_tiff_cache_holds_only_coarse_levels_streamed_from_its_tiles(tmp_path, monkeypatch):
    monkeypatch.setattr(tiles, "TILED_ABOVE_PIXELS", 1_000_000)
    truth = _pattern(2900, 4500, seed=7)
    root = tmp_path / "proj"
    (root / ".labeler").mkdir(parents=True)
    path = root / "slide.tif"
    tifffile.imwrite(path, truth, tile=(256, 256), compression="zlib", compressionargs={"level": 1})
    src = TileSource(path)
    assert src.needs_pyramid and src.levels == 5
    pyramid = src.build_pyramid()
    # one pass over the file: every tile decoded exactly once, the image never decoded whole
    assert len(src.tiff.decode_counts) == 18 * 12 and set(src.tiff.decode_counts.values()) == {1}
    assert sorted(pyramid.maps) == list(range(TIFF_FIRST_CACHED_LEVEL, src.levels)) and src.full_decodes == 0
    src.attach_pyramid(pyramid)
    reopened = TileSource(path)
    assert reopened.ready
    expected = _pillow_levels(truth, src.levels)
    for level in reversed(range(src.levels)):
        tile = reopened.read_tile(level, 0, 0)
        assert np.abs(tile.astype(int) - expected[level][:TILE, :TILE]).max() <= 2
        if level >= TIFF_FIRST_CACHED_LEVEL:
            assert not reopened.tiff.decode_counts  # from the cache: nothing decoded
    assert len(reopened.tiff.decode_counts) == 8 * 8  # level 2's first tile reads 2,048 x 2,048 pixels


def test_huge_jpeg_shows_its_draft_levels_before_the_cache_exists(tmp_path, monkeypatch):
    monkeypatch.setattr(tiles, "MAX_FULL_DECODE_PIXELS", 1_000_000)
    yy, xx = np.mgrid[0:1200, 0:4700]
    smooth = np.stack([xx % 256, yy % 256, (xx + yy) // 16 % 256], 2).astype(np.uint8)
    path = tmp_path / "wide.jpg"
    Image.fromarray(smooth).save(path, quality=95)
    src = TileSource(path, cache_root=tmp_path / "cache")
    assert src.needs_pyramid and src.levels == 5 and src.preview_level == 3
    with pytest.raises(ImageReadError, match="wide.jpg"):
        src.read_tile(0, 0, 0)  # full size needs the cache
    for level in (3, 4):  # DCT drafts at 1/8, then reduced: no full decode
        expected = np.asarray(Image.fromarray(smooth).reduce(2 ** level))
        assert np.abs(src.read_tile(level, 0, 0).astype(int) - expected[:TILE, :TILE]).mean() < 4
    assert src.full_decodes == 0
    src.attach_pyramid(src.build_pyramid())
    assert src.full_decodes == 1 and src.preview_level == 0
    assert np.abs(src.read_tile(0, 1, 1).astype(int) - smooth[TILE:2 * TILE, TILE:2 * TILE]).mean() < 4


def test_short_disk_or_unwritable_folder_is_a_clear_error(project, monkeypatch):
    root, path, _ = project
    usage = pyramid_cache.shutil.disk_usage(root)
    monkeypatch.setattr(pyramid_cache.shutil, "disk_usage", lambda p: usage._replace(free=1000))
    with pytest.raises(ImageReadError, match=r"scan\.png.*GiB on disk"):
        TileSource(path).build_pyramid()
    monkeypatch.undo()
    blocker = root / "not_a_folder"
    blocker.write_text("x")
    monkeypatch.setattr(tiles, "MAX_FULL_DECODE_PIXELS", 1_000_000)
    src = TileSource(path, cache_root=blocker / "pyramids")
    with pytest.raises(ImageReadError, match=r"scan\.png.*cannot write its pyramid cache"):
        src.build_pyramid()
    assert list((root / ".labeler" / "pyramids").iterdir()) == []  # nothing half-built left
