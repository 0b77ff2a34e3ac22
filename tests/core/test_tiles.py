"""Tile sources: regions at pyramid levels, lazily from uncompressed files, once-decoded otherwise."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from labeler.core import tiles
from labeler.core.errors import ImageReadError
from labeler.core.tiles import TILE, TileSource, should_tile, write_raw_tiff


@pytest.fixture
def photo():
    rng = np.random.default_rng(3)
    return rng.integers(0, 256, (700, 1100, 3), dtype=np.uint8)


def test_uncompressed_tiff_is_read_lazily_by_region(tmp_path, photo):
    path = tmp_path / "a.tif"
    Image.fromarray(photo).save(path)  # Pillow writes uncompressed strips
    src = TileSource(path)
    assert src.lazy and src.size == (1100, 700) and src.levels == 3
    assert np.array_equal(src.read_tile(0, 1, 1), photo[512:700, 512:1024])
    assert np.array_equal(src.read_region(0, 5, 7, 900, 650), photo[7:650, 5:900])
    # coarser levels sample every 2**k-th pixel, without decoding the whole image
    assert np.array_equal(src.read_tile(1, 0, 0), photo[::2, ::2][:512, :512])
    assert src.read_tile(2, 0, 0).shape == (175, 275, 3)
    assert np.array_equal(src.read_tile(2, 0, 0), photo[::4, ::4])
    assert src.full_decodes == 0 and src.regions_read == 5
    with pytest.raises(IndexError):
        src.read_tile(0, 3, 0)


def test_grey_images_come_back_as_rgb(tmp_path, photo):
    grey = photo[:, :, 0]
    Image.fromarray(grey).save(tmp_path / "g.tif")
    tile = TileSource(tmp_path / "g.tif").read_tile(0, 0, 0)
    assert tile.shape == (512, 512, 3) and np.array_equal(tile[:, :, 2], grey[:512, :512])


def test_huge_sparse_tiff_reads_only_what_is_asked(tmp_path):
    def fill(y0, y1):  # the first 512 rows get a gradient; the rest of the file stays a hole
        if y0 >= 512:
            return None
        rows = np.zeros((y1 - y0, 20_000, 3), np.uint8)
        rows[..., 0] = (np.arange(20_000) % 251)[None, :]
        rows[..., 1] = (np.arange(y0, y1) % 7)[:, None]
        return rows

    path = write_raw_tiff(tmp_path / "huge.tif", 20_000, 20_000, fill)
    with Image.open(path) as im:
        assert im.size == (20_000, 20_000) and im.mode == "RGB"
    src = TileSource(path)
    assert should_tile(*src.size) and src.lazy and src.levels == 7
    tile = src.read_tile(0, 3, 0)
    assert np.array_equal(tile[0, :, 0], np.arange(3 * TILE, 4 * TILE) % 251)
    assert np.array_equal(tile[:, 0, 1], np.arange(TILE) % 7)
    coarse = src.read_tile(src.levels - 1, 0, 0)  # the whole image in one small tile
    assert coarse.shape == (313, 313, 3)
    assert np.array_equal(coarse[0, :, 0], (np.arange(313) * 64) % 251) and not coarse[8:].any()
    assert src.full_decodes == 0


def test_truncated_uncompressed_file_is_a_clear_error(tmp_path):
    path = write_raw_tiff(tmp_path / "cut.tif", 2000, 2000)
    with open(path, "r+b") as f:
        f.truncate(5000)
    with pytest.raises(ImageReadError, match="cut.tif"):
        TileSource(path).read_tile(0, 0, 0)


def test_png_is_decoded_once_and_reduced_into_a_pyramid(tmp_path, photo):
    path = tmp_path / "a.png"
    Image.fromarray(photo).save(path)
    src = TileSource(path)
    assert not src.lazy
    assert np.array_equal(src.read_tile(0, 1, 0), photo[:512, 512:1024])
    expected = np.asarray(Image.fromarray(photo).reduce(2))
    assert np.array_equal(src.read_tile(1, 0, 0), expected[:512, :512])
    src.read_tile(2, 0, 0)
    assert src.full_decodes == 1


def test_jpeg_overview_levels_need_no_full_decode(tmp_path):
    yy, xx = np.mgrid[0:700, 0:1100]
    photo = np.stack([xx % 256, yy % 256, (xx + yy) // 8 % 256], 2).astype(np.uint8)  # smooth: JPEG keeps it
    path = tmp_path / "a.jpg"
    Image.fromarray(photo).save(path, quality=95)
    src = TileSource(path)
    for level in (1, 2):
        tile = src.read_tile(level, 0, 0)
        w, h = src.level_size(level)
        assert tile.shape == (min(h, TILE), min(w, TILE), 3)
    assert src.full_decodes == 0
    full = src.read_tile(0, 0, 0)
    assert src.full_decodes == 1 and np.abs(full.astype(int) - photo[:512, :512]).mean() < 4


def test_compressed_image_too_large_to_decode_says_what_to_do(tmp_path, photo, monkeypatch):
    path = tmp_path / "a.png"
    Image.fromarray(photo).save(path)
    monkeypatch.setattr(tiles, "MAX_FULL_DECODE_PIXELS", 1000)
    with pytest.raises(ImageReadError, match=r"a\.png.*tiled or uncompressed TIFF"):
        TileSource(path).read_tile(0, 0, 0)


def test_levels_for_zoom(tmp_path):
    src = TileSource(write_raw_tiff(tmp_path / "z.tif", 4000, 3000))
    assert src.levels == 4 and src.tile_grid(0) == (8, 6) and src.tile_grid(3) == (1, 1)
    assert [src.level_for_scale(s) for s in (4.0, 1.0, 0.7, 0.5, 0.3, 0.2, 0.01)] == [0, 0, 0, 1, 1, 2, 3]


def test_missing_or_broken_files_name_the_file(tmp_path):
    with pytest.raises(ImageReadError, match="nothing.tif"):
        TileSource(tmp_path / "nothing.tif")
    (tmp_path / "junk.png").write_bytes(b"not an image")
    with pytest.raises(ImageReadError, match="junk.png"):
        TileSource(tmp_path / "junk.png")
