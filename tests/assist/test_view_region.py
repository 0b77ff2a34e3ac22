"""View mode: a downscale engine prepared on the visible part of a huge image (region and level
choice, exact mapping both ways, caching by region, the TINY SAM through the real path)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from shapely.geometry import Polygon

from labeler.assist.engine import Prompts, Proposal
from labeler.assist.large_image import LargeImage, LargeImageAdapter, PlacedProposal, load_for_engine, to_shapes
from labeler.assist.view_region import (GRID_FRACTION, VIEW_MARGIN, ViewRegion, choose_view_region, content_key,
                                        overview_step)
from labeler.core.geometry import rle_area, rle_bbox
from labeler.core.shapes import MASK, POLYGON
from labeler.core.tiles import TileSource, write_raw_tiff

BIG = (40_000, 40_000)
BIG_LEVELS = 8  # TileSource's count for 40,000 pixels: the coarsest level fits one 512 tile


def _padded_extent(view, size):
    w = min(view[2], size[0]) - max(0, view[0])
    h = min(view[3], size[1]) - max(0, view[1])
    return max(w, h) * (1 + 2 * VIEW_MARGIN)


# ------------------------------------------------------------------------- region and level


def test_zoomed_out_keeps_the_overview_and_zoomed_in_gets_a_region_at_the_finest_level_that_fits():
    assert choose_view_region((0, 0, *BIG), BIG, BIG_LEVELS) is None  # the whole image
    assert choose_view_region((5_000, 5_000, 25_000, 25_000), BIG, BIG_LEVELS) is None  # half of it
    # a quarter: at the level it needs (32) the region would be hardly finer than the overview
    assert choose_view_region((5_000, 5_000, 14_000, 12_000), BIG, BIG_LEVELS) is None
    rng = np.random.default_rng(3)
    side, grid = 1024, 1024 // GRID_FRACTION
    for extent in (150, 600, 2_000, 5_000):
        for _ in range(5):
            x, y = rng.uniform(0, BIG[0] - extent, 2)
            view = (x, y, x + extent, y + extent * 0.6)
            region = choose_view_region(view, BIG, BIG_LEVELS)
            assert region is not None, extent
            padded = _padded_extent(view, BIG)
            assert padded / region.step <= side - grid  # it fits, with a grid cell to spare
            if region.level > 0:  # and one level finer would not: never coarser than needed
                assert padded / (region.step / 2) > side - grid
            assert region.size == (side, side)  # the engine's whole input, never more
            assert region.contains(view)  # the view and its margin are inside
            ix0, iy0, ix1, iy1 = region.image_box
            m = VIEW_MARGIN * (view[2] - view[0])
            assert ix0 <= max(0, view[0] - m) and ix1 >= min(BIG[0], view[2] + m)
            # worth it: at least twice the overview's detail (SAM sees 40,000 px in 1024)
            assert overview_step(BIG, 2048) >= 2 * region.step
    small = choose_view_region((20_000, 20_000, 20_300, 20_200), BIG, BIG_LEVELS)
    assert small.level == 0 and small.step == 1  # full resolution, not upsampled


def test_regions_stay_inside_the_image_and_follow_a_grid_so_panning_back_reuses_one():
    corner = choose_view_region((39_200, 39_500, 40_000, 40_000), BIG, BIG_LEVELS)
    lw = -(-BIG[0] // corner.step)
    assert corner.box[2] == lw and corner.box[3] == lw and corner.size == (1024, 1024)
    a = choose_view_region((10_000, 10_000, 12_000, 11_000), BIG, BIG_LEVELS)
    b = choose_view_region((10_030, 10_011, 12_030, 11_011), BIG, BIG_LEVELS)  # panned a little
    assert a == b and hash(a) == hash(b)
    # a small image (the view's margin reaches past it): the region is the whole level
    tiny = choose_view_region((100, 100, 400, 300), (3_000, 600), 4, side=1024, min_gain=1.0)
    assert tiny.level == 0 and tiny.box == (0, 0, 1024, 600)


def test_the_current_region_is_kept_while_it_holds_the_view_and_prompts():
    view = (10_000, 10_000, 11_000, 10_800)
    current = choose_view_region(view, BIG, BIG_LEVELS)
    nudged = (10_300, 10_100, 11_300, 10_900)
    kept = choose_view_region(nudged, BIG, BIG_LEVELS, current=current)
    assert kept is current and kept.contains(nudged)
    far = choose_view_region((20_000, 20_000, 21_000, 20_800), BIG, BIG_LEVELS, current=current)
    assert far != current and far.contains((20_000, 20_000, 21_000, 20_800))
    closer = choose_view_region((10_100, 10_100, 10_300, 10_250), BIG, BIG_LEVELS, current=current)
    assert closer.level < current.level  # zoomed in further: a finer region
    # a prompt given before panning away stays inside the region its proposal is made on
    with_prompt = choose_view_region((12_000, 10_000, 13_000, 10_800), BIG, BIG_LEVELS,
                                     prompts=(10_500, 10_400, 10_500, 10_400), current=current)
    assert with_prompt.contains((10_500, 10_400, 10_500, 10_400))
    assert with_prompt.contains((12_000, 10_000, 13_000, 10_800))
    # prompts far apart: the overview is the only frame holding both
    assert choose_view_region(view, BIG, BIG_LEVELS, prompts=(35_000, 35_000, 35_001, 35_001)) is None


def test_points_map_both_ways_exactly():
    region = ViewRegion(3, (100, 240, 1124, 1264))
    assert region.origin == (800, 1920) and region.scale == 1 / 8
    pts = np.array([[800.0, 1920.0], [1234.5, 2001.25], [9_000.0, 10_000.0]])
    uv = region.to_region(pts)
    np.testing.assert_array_equal(uv[0], [0, 0])
    np.testing.assert_allclose(uv[1], [(1234.5 - 800) / 8, (2001.25 - 1920) / 8], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(region.to_image(uv), pts)


# ------------------------------------------------------------------ through the adapter


class DiskEngine:
    """A SAM-like fake: a disk of ``radius`` region pixels around the (first) positive click, in
    the frame it was prepared on; it records what it saw."""

    name = "disk"
    accepts = frozenset({"positive_points", "logits"})
    cache_key = "disk-v1"

    def __init__(self, radius: float = 30.0) -> None:
        self.radius = radius
        self.prepared: list[tuple[int, ...]] = []
        self.clicks: list[np.ndarray] = []
        self.logits_seen: list = []

    def prepare(self, image):
        self.prepared.append(image.shape)
        return image.shape[:2]

    def propose(self, state, prompts):
        h, w = state
        (u, v) = prompts.positive[0]
        self.clicks.append(prompts.positive[0].copy())
        self.logits_seen.append(prompts.logits)
        yy, xx = np.mgrid[0:h, 0:w]
        mask = (xx + 0.5 - u) ** 2 + (yy + 0.5 - v) ** 2 <= self.radius ** 2  # pixel centres in the disk
        return [Proposal(mask, 0.9, self.name, logits=np.zeros((4, 4), np.float32))]


W, H = 6_000, 4_000  # made "huge" by a low threshold: load_for_engine(huge_pixels=...)
SIDE = 256  # the engine's working size, lowered so that the crops stay small


@pytest.fixture(scope="module")
def scan(tmp_path_factory):
    def fill(y0, y1):  # a texture: no two regions alike
        yy, xx = np.mgrid[y0:y1, 0:W]
        return np.stack([(xx // 7 + yy // 5) % 251, (xx // 3) % 253, (yy // 11) % 241], axis=2)

    return write_raw_tiff(tmp_path_factory.mktemp("view") / "scan.tif", W, H, fill)


def _large(path, region):
    image = load_for_engine(path, huge_pixels=1_000_000, region=region)
    assert isinstance(image, LargeImage)
    return image


@pytest.mark.parametrize("extent, corner", [(120, (10, 15)), (200, (2_345, 1_234)), (400, (4_100, 3_050)),
                                            (700, (5_300, 3_300)), (900, (1_000, 700))])
def test_a_click_in_view_mode_lands_where_it_was_made(scan, extent, corner):
    engine = DiskEngine()
    adapter = LargeImageAdapter(engine)
    rng = np.random.default_rng(extent)
    x0, y0 = corner
    view = (x0, y0, x0 + extent, y0 + extent * 0.7)
    levels = TileSource(scan).levels
    region = choose_view_region(view, (W, H), levels, side=SIDE)
    assert region is not None and region.contains(view)
    state = adapter.prepare(_large(scan, region))
    assert engine.prepared[-1][:2] == region.size[::-1]  # the engine saw the region, at its level
    assert state.origin == region.origin and state.level == region.level
    click = (x0 + rng.uniform(0.2, 0.8) * extent, y0 + rng.uniform(0.2, 0.7) * extent * 0.7)
    (proposal,) = adapter.propose(state, Prompts(positive=[click]))
    np.testing.assert_allclose(engine.clicks[-1], region.to_region([click])[0], rtol=0, atol=1e-9)
    assert isinstance(proposal, PlacedProposal)
    assert proposal.offset == region.origin and proposal.scale == region.scale
    (poly,) = to_shapes(proposal, "object", polygons=True)
    assert poly.kind == POLYGON
    c = Polygon(poly.points).centroid
    assert math.hypot(c.x - click[0], c.y - click[1]) <= 1.0, (c, click, region)
    r = engine.radius * region.step
    assert Polygon(poly.points).area == pytest.approx(math.pi * r * r, rel=0.06)
    (mask,) = to_shapes(proposal, "object")
    assert mask.kind == MASK and mask.rle["size"] == [H, W]
    bx, by, bw, bh = rle_bbox(mask.rle)
    tol = region.step / 2 + 0.5  # a pixel's box is whole region pixels
    assert abs(bx + bw / 2 - click[0]) <= tol and abs(by + bh / 2 - click[1]) <= tol
    assert rle_area(mask.rle) == int(proposal.mask.sum()) * region.step ** 2
    assert state.source.full_decodes == 0


def test_a_region_is_prepared_once_and_found_again_without_reading_it(scan):
    engine = DiskEngine()
    adapter = LargeImageAdapter(engine)
    levels = TileSource(scan).levels
    here = choose_view_region((1_000, 1_000, 1_300, 1_200), (W, H), levels, side=SIDE)
    there = choose_view_region((4_000, 2_500, 4_300, 2_700), (W, H), levels, side=SIDE)
    first = adapter.prepare(_large(scan, here))
    assert first.source.regions_read == 1 and len(engine.prepared) == 1
    adapter.prepare(_large(scan, there))
    assert len(engine.prepared) == 2
    back = adapter.prepare(_large(scan, here))  # panned back: a new TileSource, as the prefetcher loads
    assert len(engine.prepared) == 2 and back.source.regions_read == 0  # neither prepared nor read
    assert back.inner is first.inner and back.origin == first.origin


def test_logits_from_another_frame_are_not_fed_back(scan):
    engine = DiskEngine()
    adapter = LargeImageAdapter(engine)
    levels = TileSource(scan).levels
    a = adapter.prepare(_large(scan, choose_view_region((1_000, 1_000, 1_300, 1_200), (W, H), levels, side=SIDE)))
    b = adapter.prepare(_large(scan, choose_view_region((4_000, 2_500, 4_300, 2_700), (W, H), levels, side=SIDE)))
    (pa,) = adapter.propose(a, Prompts(positive=[(1_100, 1_100)]))
    adapter.propose(a, Prompts(positive=[(1_150, 1_100)], logits=pa.logits))
    assert engine.logits_seen[-1] is pa.logits  # the same region: refined from its own logits
    adapter.propose(b, Prompts(positive=[(4_100, 2_600)], logits=pa.logits))
    assert engine.logits_seen[-1] is None  # another region's logits are in another frame


def test_content_key_follows_the_pixels_not_the_name(tmp_path):
    a = write_raw_tiff(tmp_path / "a.tif", 300, 200, lambda y0, y1: np.full((y1 - y0, 300, 3), 7, np.uint8))
    key = content_key(a)
    moved = a.rename(tmp_path / "b.tif")
    assert content_key(moved) == key
    write_raw_tiff(moved, 300, 200, lambda y0, y1: np.full((y1 - y0, 300, 3), 9, np.uint8))
    assert content_key(moved) != key


# ------------------------------------------------------------------------- the TINY SAM


def test_tiny_sam_in_view_mode_prepares_a_region_caches_it_and_places_its_masks(scan, tmp_path):
    from labeler.plugins.sam import SamEngine

    from .test_sam import save_tiny

    save_tiny(tmp_path / "tiny.pth")
    sam = SamEngine(tmp_path / "tiny.pth", device="cpu", cache_dir=tmp_path / "embeddings")
    adapter = LargeImageAdapter(sam)
    assert adapter.cache is sam.cache
    levels = TileSource(scan).levels
    here = choose_view_region((2_000, 1_500, 2_600, 1_900), (W, H), levels, side=SIDE)
    there = choose_view_region((300, 200, 700, 500), (W, H), levels, side=SIDE)
    assert here.level > 0 and there != here
    state = adapter.prepare(_large(scan, here))
    assert sam.encoder_runs == 1 and state.inner.original_size == here.size[::-1]
    click = (2_300.0, 1_700.0)
    proposals = adapter.propose(state, Prompts(positive=[click]))
    assert len(proposals) == 3 and all(isinstance(p, PlacedProposal) for p in proposals)
    for p in proposals:
        assert p.offset == here.origin and p.scale == here.scale and p.mask.shape == here.size[::-1]
        ix0, iy0, ix1, iy1 = here.image_box
        for s in to_shapes(p, "object", polygons=True):  # every shape inside the region
            xs, ys = s.points[:, 0], s.points[:, 1]
            assert ix0 <= xs.min() and xs.max() <= ix1 and iy0 <= ys.min() and ys.max() <= iy1
    adapter.propose(state, Prompts(positive=[click, (2_350.0, 1_720.0)], logits=proposals[0].logits))
    adapter.prepare(_large(scan, there))
    assert sam.encoder_runs == 2
    back = adapter.prepare(_large(scan, here))  # panning back: the cached embedding, nothing read
    assert sam.encoder_runs == 2 and back.inner is state.inner and back.source.regions_read == 0
    # a new session: the embedding comes from disk (kept once, under the crop's pixels)
    fresh = SamEngine(tmp_path / "tiny.pth", device="cpu", cache_dir=tmp_path / "embeddings")
    again = LargeImageAdapter(fresh).prepare(_large(scan, here))
    assert fresh.encoder_runs == 0 and fresh.cache.disk_hits == 1
    assert len(list((tmp_path / "embeddings").glob("*.pt"))) == 2  # one per region, no duplicates
    torch = pytest.importorskip("torch")
    assert torch.equal(again.inner.features, state.inner.features)
