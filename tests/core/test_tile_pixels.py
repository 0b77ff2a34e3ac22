"""Single pixels and readable levels of a TileSource: what the window may read, and when."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PIL import Image

from labeler.core import tiles
from labeler.core.pyramid_cache import TIFF_FIRST_CACHED_LEVEL
from labeler.core.tiles import TileSource

from .test_tiff_regions import _pattern


@pytest.fixture
def deflate_tiff(tmp_path):
    truth = _pattern(2900, 4500, seed=11)
    path = tmp_path / "proj" / "slide.tif"
    path.parent.mkdir()
    tifffile.imwrite(path, truth, tile=(256, 256), compression="zlib", compressionargs={"level": 1})
    return path, truth


def test_tiff_pixel_is_at_hand_only_once_its_segment_is_decoded(deflate_tiff):
    path, truth = deflate_tiff
    src = TileSource(path)
    assert src.pixel_readable
    assert src.cached_pixel(1000, 700) is None and not src.tiff.decode_counts  # nothing read for it
    assert np.array_equal(src.read_region(0, 1000, 700, 1001, 701)[0, 0], truth[700, 1000])
    assert len(src.tiff.decode_counts) == 1
    reads = src.regions_read
    for x, y in [(1000, 700), (1023, 767), (768, 512)]:  # the same 256 x 256 tile: no decode, no read
        assert src.cached_pixel(x, y) == tuple(int(v) for v in truth[y, x])
    assert src.regions_read == reads and sum(src.tiff.decode_counts.values()) == 1
    assert src.cached_pixel(1024, 700) is None  # the next tile is not decoded
    with pytest.raises(IndexError, match="slide.tif"):
        src.cached_pixel(4500, 0)


def test_huge_tiff_reads_its_fine_levels_while_the_coarse_ones_wait_for_the_cache(deflate_tiff, monkeypatch):
    path, truth = deflate_tiff
    monkeypatch.setattr(tiles, "TILED_ABOVE_PIXELS", 1_000_000)
    src = TileSource(path, cache_root=path.parent / ".labeler" / "pyramids")
    assert src.needs_pyramid and src.levels == 5 and src.preview_level is None
    readable = [src.readable_now(k) for k in range(src.levels)]
    assert readable == [k < TIFF_FIRST_CACHED_LEVEL for k in range(src.levels)] == [True, True, True, False, False]
    assert np.array_equal(src.read_tile(0, 2, 1), truth[512:1024, 1024:1536])
    src.attach_pyramid(src.build_pyramid())
    assert all(src.readable_now(k) for k in range(src.levels))


def test_huge_png_has_no_pixel_without_its_cache_and_every_pixel_with_it(tmp_path, monkeypatch):
    monkeypatch.setattr(tiles, "MAX_FULL_DECODE_PIXELS", 1_000_000)
    truth = _pattern(1300, 1700, seed=12)
    path = tmp_path / "scan.png"
    Image.fromarray(truth).save(path, compress_level=1)
    src = TileSource(path, cache_root=tmp_path / "cache")
    assert not src.pixel_readable and src.cached_pixel(5, 5) is None
    assert not any(src.readable_now(k) for k in range(src.levels))
    src.attach_pyramid(src.build_pyramid())
    assert src.pixel_readable and src.cached_pixel(1699, 1299) == tuple(int(v) for v in truth[1299, 1699])
    assert src.full_decodes == 1  # the build's one decode; the pixel came from the memory map


def test_compressed_image_pixel_is_at_hand_once_level_0_is_decoded(tmp_path):
    truth = _pattern(600, 900, seed=13)
    path = tmp_path / "p.png"
    Image.fromarray(truth).save(path)
    src = TileSource(path)
    assert not src.pixel_readable and src.cached_pixel(10, 20) is None and src.full_decodes == 0
    src.read_tile(0, 0, 0)
    assert src.pixel_readable and src.cached_pixel(899, 599) == tuple(int(v) for v in truth[599, 899])
    assert src.full_decodes == 1
