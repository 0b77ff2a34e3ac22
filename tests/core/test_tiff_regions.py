"""TIFFs read by region through tifffile: only the intersecting tiles or strips are decoded."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PIL import Image

from labeler.core import tiles
from labeler.core.errors import ImageReadError
from labeler.core.tiff_regions import TiffRegions, box_reduce
from labeler.core.tiles import TILE, TileSource

W, H, T = 6000, 5000, 256


def _pattern(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Gradients with noise: every pixel differs from its neighbours, yet deflate is quick."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.uint32)
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 16, (h, w), dtype=np.uint32)
    return np.stack([(xx + noise) % 256, (yy * 3 + noise) % 256, (xx // 7 + yy // 5) % 256], 2).astype(np.uint8)


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A 6,000 x 5,000 RGB TIFF in 256 x 256 deflate tiles, and its pixels."""
    truth = _pattern(H, W)
    path = tmp_path_factory.mktemp("tiff") / "big.tif"
    tifffile.imwrite(path, truth, tile=(T, T), compression="zlib", compressionargs={"level": 1})
    return path, truth


def _tiles_touching(x0, y0, x1, y1, width=W):
    across = -(-width // T)
    return {(0, r * across + c) for r in range(y0 // T, (y1 - 1) // T + 1) for c in range(x0 // T, (x1 - 1) // T + 1)}


def test_a_region_decodes_only_the_tiles_it_touches(big):
    path, truth = big
    tif = TiffRegions(path)
    assert (tif.width, tif.height) == (W, H) and tif.pyramid_levels == [0]
    region = tif.read_region(0, 1000, 2100, 1700, 2600)
    assert np.array_equal(region, truth[2100:2600, 1000:1700])
    assert set(tif.decode_counts) == _tiles_touching(1000, 2100, 1700, 2600)  # 4 x 3 of 480 tiles
    assert len(tif.decode_counts) == 12 and all(n == 1 for n in tif.decode_counts.values())
    # a neighbouring region reuses the tiles it shares with the first (segment LRU)
    assert np.array_equal(tif.read_region(0, 1500, 2100, 1900, 2300), truth[2100:2300, 1500:1900])
    assert set(tif.decode_counts) == _tiles_touching(1000, 2100, 1700, 2600) | _tiles_touching(1500, 2100, 1900, 2300)
    assert all(n == 1 for n in tif.decode_counts.values())
    edge = tif.read_region(0, W - 100, H - 50, W + 500, H + 500)  # clipped to the image
    assert np.array_equal(edge, truth[H - 50:, W - 100:])


def test_tile_source_reads_compressed_tiff_lazily(big, monkeypatch):
    path, truth = big
    src = TileSource(path)
    assert src.tiff is not None and src.size == (W, H) and src.full_decodes == 0
    assert np.array_equal(src.read_tile(0, 3, 2), truth[2 * TILE:3 * TILE, 3 * TILE:4 * TILE])
    assert len(src.tiff.decode_counts) == 4  # a 512-pixel tile is 2 x 2 stored tiles
    # coarser levels: box-reduced from the tiles in bands, as Pillow's reduce within rounding
    for level in (1, 3):
        expected = np.asarray(Image.fromarray(truth).reduce(2 ** level))
        tile = src.read_tile(level, 1, 1)
        assert tile.shape == expected[TILE:2 * TILE, TILE:2 * TILE].shape
        assert np.abs(tile.astype(int) - expected[TILE:2 * TILE, TILE:2 * TILE]).max() <= 1
    coarsest = src.read_tile(src.levels - 1, 0, 0)
    expected = np.asarray(Image.fromarray(truth).reduce(2 ** (src.levels - 1)))
    assert coarsest.shape == expected.shape and np.abs(coarsest.astype(int) - expected).max() <= 1
    assert src.full_decodes == 0


def test_stored_pyramid_levels_are_read_from_their_own_pages(tmp_path):
    truth = _pattern(1300, 2100, seed=1)
    half = np.asarray(Image.fromarray(truth).reduce(2))
    quarter = np.asarray(Image.fromarray(truth).reduce(4))
    path = tmp_path / "pyr.tif"
    with tifffile.TiffWriter(path) as tw:  # SubIFDs, as OME-TIFF and tifffile's pyramids store them
        tw.write(truth, tile=(T, T), compression="zlib", subifds=2)
        tw.write(half, tile=(T, T), compression="zlib", subfiletype=1)
        tw.write(quarter, tile=(T, T), compression="zlib", subfiletype=1)
    tif = TiffRegions(path)
    assert tif.pyramid_levels == [0, 1, 2]
    assert np.array_equal(tif.read_region(1, 100, 50, 700, 600), half[50:600, 100:700])
    assert np.array_equal(tif.read_region(2, 0, 0, *tif.level_size(2)), quarter)
    assert {page for page, _ in tif.decode_counts} == {1, 2}  # the full-resolution page untouched
    level3 = tif.read_region(3, 0, 0, *tif.level_size(3))  # not stored: reduced from level 2
    assert np.abs(level3.astype(int) - np.asarray(Image.fromarray(quarter).reduce(2))).max() <= 1
    assert {page for page, _ in tif.decode_counts} == {1, 2}


@pytest.mark.parametrize("how", ["pillow-lzw", "pillow-packbits", "strips-zstd", "tiles-jpeg", "planar", "grey16",
                                 "palette"])
def test_compressions_and_pixel_types(tmp_path, how):
    truth = _pattern(700, 1100, seed=2)
    path = tmp_path / f"{how}.tif"
    expected, tol = truth, 0
    if how.startswith("pillow"):
        Image.fromarray(truth).save(path, compression={"pillow-lzw": "tiff_lzw", "pillow-packbits": "packbits"}[how])
    elif how == "strips-zstd":
        tifffile.imwrite(path, truth, rowsperstrip=64, compression="zstd")
    elif how == "tiles-jpeg":  # as whole-slide scans store them; needs imagecodecs
        smooth = np.asarray(Image.fromarray(truth).resize((55, 35)).resize((1100, 700), Image.Resampling.BILINEAR))
        tifffile.imwrite(path, smooth, tile=(T, T), compression="jpeg", photometric="rgb")
        expected, tol = smooth, 12
    elif how == "planar":
        tifffile.imwrite(path, np.moveaxis(truth, 2, 0), tile=(T, T), compression="zlib", planarconfig="separate",
                         photometric="rgb")
    elif how == "grey16":
        tifffile.imwrite(path, truth[..., 1].astype(np.uint16) * 257, tile=(T, T), compression="zlib")
        expected = np.repeat(truth[..., 1:2], 3, axis=2)
    else:
        cmap = np.stack([np.arange(256) * 257, (255 - np.arange(256)) * 257, np.full(256, 128 * 257)]).astype(np.uint16)
        tifffile.imwrite(path, truth[..., 0], colormap=cmap, photometric="palette", compression="zlib")
        expected = (cmap.T >> 8).astype(np.uint8)[truth[..., 0]]
    region = TiffRegions(path).read_region(0, 130, 40, 1000, 690)
    assert np.abs(region.astype(int) - expected[40:690, 130:1000]).max() <= tol
    if tol:
        assert np.abs(region.astype(int) - expected[40:690, 130:1000]).mean() < 1.5


def test_corrupt_and_truncated_files_are_clear_errors(tmp_path, big):
    path, truth = big
    data = bytearray(path.read_bytes())
    tif = TiffRegions(path)
    page = tif.stored[0]
    bad = tmp_path / "bad.tif"
    off = page.offsets[100]
    data[off:off + page.counts[100]] = b"\xff" * page.counts[100]  # one tile's bytes are garbage
    bad.write_bytes(bytes(data))
    broken = TiffRegions(bad)
    with pytest.raises(ImageReadError, match=r"bad\.tif.*segment 100 .*does not decode"):
        broken.read_region(0, *_xy(100), *(v + 10 for v in _xy(100)))
    assert np.array_equal(broken.read_region(0, 0, 0, 300, 200), truth[:200, :300])  # the rest still reads

    cut = tmp_path / "cut.tif"
    cut.write_bytes(path.read_bytes()[: page.offsets[300] + 10])
    try:
        src = TiffRegions(cut)
    except ImageReadError as e:  # the IFD was past the cut
        assert "cut.tif" in str(e)
    else:
        with pytest.raises(ImageReadError, match=r"cut\.tif.*(truncated|does not decode)"):
            src.read_region(0, 0, 0, W, H)
    junk = tmp_path / "junk.tif"
    junk.write_bytes(b"II*\x00" + b"\x00" * 64)
    with pytest.raises(ImageReadError, match="junk.tif"):
        TileSource(junk)


def _xy(index):
    across = -(-W // T)
    return (index % across) * T, (index // across) * T


def test_a_codec_with_no_decoder_is_refused_when_opened(tmp_path):
    path = tmp_path / "odd.tif"
    tifffile.imwrite(path, _pattern(300, 400), tile=(T, T), compression="zlib")
    with tifffile.TiffFile(path, mode="r+b") as tif:
        tif.pages[0].tags["Compression"].overwrite(60000)  # a compression nobody implements
    with pytest.raises(ImageReadError, match=r"odd\.tif.*cannot decode its .*compression"):
        TiffRegions(path)


def test_box_reduce_matches_pillow_reduce_by_two():
    a = _pattern(301, 503, seed=3)
    assert np.array_equal(box_reduce(a, 2), np.asarray(Image.fromarray(a).reduce(2)))
    assert np.abs(box_reduce(a, 8).astype(int) - np.asarray(Image.fromarray(a).reduce(8))).max() <= 1


def test_huge_tiff_without_pyramid_asks_for_a_cache(big, monkeypatch):
    path, _ = big
    monkeypatch.setattr(tiles, "TILED_ABOVE_PIXELS", 1_000_000)
    src = TileSource(path, cache_root=path.parent / "cache")
    assert src.needs_pyramid and not src.ready
    monkeypatch.setattr(tiles, "TILED_ABOVE_PIXELS", 40_000_000)
    assert not TileSource(path).needs_pyramid  # 30 MP is not huge: coarse levels are cheap enough


def test_reduced_pages_beside_the_first_serve_coarser_levels(tmp_path):
    truth = _pattern(900, 1500, seed=4)
    half = np.asarray(Image.fromarray(truth).reduce(2))
    path = tmp_path / "cog.tif"
    with tifffile.TiffWriter(path) as tw:  # as COG and many scanners write them: top-level pages
        tw.write(truth, tile=(T, T), compression="zlib")
        tw.write(half, tile=(T, T), compression="zlib", subfiletype=1)
    tif = TiffRegions(path)
    assert tif.pyramid_levels == [0, 1]
    assert np.array_equal(tif.read_region(1, 0, 0, 750, 450), half)
    assert {page for page, _ in tif.decode_counts} == {1}


def test_a_tiff_stored_as_one_huge_strip_is_read_whole_like_a_png(tmp_path, monkeypatch):
    truth = _pattern(700, 1100, seed=8)
    path = tmp_path / "onestrip.tif"
    tifffile.imwrite(path, truth, rowsperstrip=700, compression="zlib")  # the whole image is one strip
    monkeypatch.setattr(tiles, "MAX_SEGMENT_BYTES", 1_000_000)
    src = TileSource(path)
    assert src.tiff is None  # a region read would decode everything each time: decoded once instead
    assert np.array_equal(src.read_tile(0, 1, 0), truth[:512, 512:1024]) and src.full_decodes == 1
    monkeypatch.setattr(tiles, "MAX_FULL_DECODE_PIXELS", 100_000)
    assert TileSource(path, cache_root=tmp_path / "c").needs_pyramid  # too big for that: a cache
