"""Engines on a 20,000 x 16,000 image: never decoded whole (TileSource counters), SAM-style engines
on a downscaled copy, GrabCut on a full-resolution crop, proposals placed back at full resolution."""

from __future__ import annotations

import numpy as np
import pytest

from labeler.assist.engine import Prompts, Proposal
from labeler.assist.large_image import (LargeImage, LargeImageAdapter, PlacedProposal, load_for_engine,
                                        placed_to_shapes, rle_from_region)
from labeler.core.geometry import rle_area, rle_bbox, rle_decode, rle_encode
from labeler.core.shapes import MASK, POLYGON
from labeler.core.tiles import write_raw_tiff

W, H = 20_000, 16_000
CX, CY, AX, AY = 12_500, 9_400, 400, 250  # the object: an ellipse
BAND = (8_600, 10_200)  # rows with a textured background; the rest is black (and sparse on disk)
TRUTH_BBOX = (CX - AX, CY - AY, CX + AX, CY + AY)


def _fill(y0, y1):
    if y1 <= BAND[0] or y0 >= BAND[1]:
        return None
    rng = np.random.default_rng(y0)
    rows = rng.integers(0, 20, (y1 - y0, W, 3), dtype=np.uint8) + np.array([80, 100, 90], np.uint8)
    x0, x1 = CX - AX - 2, CX + AX + 2
    yy, xx = np.mgrid[y0:y1, x0:x1]
    inside = ((xx - CX) / AX) ** 2 + ((yy - CY) / AY) ** 2 <= 1
    patch = rows[:, x0:x1]
    patch[inside] = np.clip(rng.normal((200, 60, 50), 12, (int(inside.sum()), 3)), 0, 255)
    return rows


@pytest.fixture(scope="module")
def huge(tmp_path_factory):
    return write_raw_tiff(tmp_path_factory.mktemp("huge") / "scan.tif", W, H, _fill)


class RedThreshold:
    """A SAM-like engine: records the image it was prepared on; the mask is the red pixels in the box."""

    name = "red"
    accepts = frozenset({"box", "positive_points"})
    cache_key = "red"

    def __init__(self) -> None:
        self.prepared: list[tuple[int, ...]] = []
        self.boxes = []

    def prepare(self, image):
        self.prepared.append(image.shape)
        return image

    def propose(self, state, prompts):
        self.boxes.append(prompts.box)
        x0, y0, x1, y1 = (int(round(v)) for v in prompts.box)
        mask = np.zeros(state.shape[:2], bool)
        mask[y0:y1, x0:x1] = state[y0:y1, x0:x1, 0] > 150
        return [Proposal(mask, 0.9, self.name)]


def _close(a, b, tol):
    return all(abs(u - v) <= tol for u, v in zip(a, b))


def test_rle_from_region_matches_the_dense_encoding():
    rng = np.random.default_rng(1)
    h, w = 37, 23
    for x0, y0, rh, rw in ((3, 0, 37, 5), (0, 4, 10, 23), (7, 9, 1, 1), (20, 30, 7, 3)):
        region = rng.random((rh, rw)) > 0.5
        region[:, 0] = True  # runs across column ends
        full = np.zeros((h, w), bool)
        full[y0:y0 + rh, x0:x0 + rw] = region
        rle = rle_from_region(region, x0, y0, h, w)
        assert rle == rle_encode(full)
        np.testing.assert_array_equal(rle_decode(rle), full)
    assert rle_area(rle_from_region(np.zeros((3, 3), bool), 1, 1, h, w)) == 0


def test_downscale_engine_never_decodes_the_full_image(huge):
    image = load_for_engine(huge)
    assert isinstance(image, LargeImage) and image.size == (W, H)
    engine = RedThreshold()
    adapter = LargeImageAdapter(engine)
    state = adapter.prepare(image)
    assert max(engine.prepared[0][:2]) <= 2048  # the engine saw a downscaled copy
    src = state.source
    assert src.full_decodes == 0 and src.regions_read == 1 and src.lazy
    box = (CX - AX - 60, CY - AY - 60, CX + AX + 60, CY + AY + 60)
    (proposal,) = adapter.propose(state, Prompts(box=box))
    assert isinstance(proposal, PlacedProposal) and proposal.mask.shape == engine.prepared[0][:2]
    s = 2.0 ** -state.level
    assert _close(engine.boxes[0], [v * s for v in box], 1e-6)  # prompts mapped down
    step = 2 ** state.level
    (poly,) = placed_to_shapes(proposal, "object", polygons=True)
    assert poly.kind == POLYGON
    xs, ys = poly.points[:, 0], poly.points[:, 1]
    assert _close((xs.min(), ys.min(), xs.max(), ys.max()), TRUTH_BBOX, 2 * step)  # mapped back up
    (mask,) = placed_to_shapes(proposal, "object", links=("w1",))
    assert mask.kind == MASK and mask.rle["size"] == [H, W] and mask.links == ("w1",)
    x, y, bw, bh = rle_bbox(mask.rle)
    assert _close((x, y, x + bw, y + bh), TRUTH_BBOX, 2 * step)
    assert abs(rle_area(mask.rle) - np.pi * AX * AY) < 0.1 * np.pi * AX * AY
    assert src.full_decodes == 0


def test_grabcut_reads_a_full_resolution_crop_around_the_prompt(huge):
    from labeler.plugins.grabcut import GrabCutEngine

    adapter = LargeImageAdapter(GrabCutEngine())
    state = adapter.prepare(load_for_engine(huge))
    assert state.inner is None and state.source.regions_read == 0  # nothing read before a prompt
    box = (CX - AX - 15, CY - AY - 15, CX + AX + 15, CY + AY + 15)
    best = max(adapter.propose(state, Prompts(box=box)), key=lambda p: p.score)
    assert best.scale == 1.0 and best.mask.size < 4_000_000  # a crop, at full resolution
    ox, oy = best.offset
    assert ox <= box[0] and oy <= box[1] and ox + best.mask.shape[1] >= box[2]
    assert state.source.full_decodes == 0 and state.source.regions_read == 1
    (shape,) = placed_to_shapes(best, "object")
    x, y, bw, bh = rle_bbox(shape.rle)
    assert _close((x, y, x + bw, y + bh), TRUTH_BBOX, 8)
    assert abs(rle_area(shape.rle) - np.pi * AX * AY) < 0.08 * np.pi * AX * AY


def test_ordinary_images_pass_through_unchanged(tmp_path):
    from PIL import Image

    arr = np.zeros((40, 60, 3), np.uint8)
    arr[10:20, 10:30, 0] = 255
    Image.fromarray(arr).save(tmp_path / "small.png")
    image = load_for_engine(tmp_path / "small.png")
    assert isinstance(image, np.ndarray) and image.shape == (40, 60, 3)
    adapter = LargeImageAdapter(RedThreshold())
    state = adapter.prepare(image)
    (p,) = adapter.propose(state, Prompts(box=(5, 5, 35, 25)))
    assert type(p) is Proposal and p.mask[10:20, 10:30].all() and p.mask.sum() == 200
    assert adapter.prepare(image) is state  # cached by pixels, as before


def test_autolabel_from_a_weak_box_on_the_huge_image(huge, tmp_path, monkeypatch):
    import os

    from labeler.assist import large_image
    from labeler.assist.autolabel import autolabel
    from labeler.core.project import Project
    from labeler.core.schema import Schema
    from labeler.core.shapes import RECTANGLE, Shape
    from labeler.core.tiles import TileSource

    def refuse(*args, **kwargs):
        raise AssertionError("the huge image was decoded whole")

    monkeypatch.setattr(large_image, "read_image", refuse)
    monkeypatch.setattr(TileSource, "_full_decode", refuse)
    root = tmp_path / "proj"
    root.mkdir()
    os.link(huge, root / "scan.tif")
    project = Project.create(root, Schema.from_names(["object"]))
    ann = project.load("scan.tif")
    x0, y0, x1, y1 = TRUTH_BBOX
    weak = Shape(RECTANGLE, "object", [[x0 - 80, y0 - 80], [x1 + 80, y1 + 80]], weak=True)
    ann.shapes.append(weak)
    project.save_annotation("scan.tif", ann)
    ctx = autolabel(project, RedThreshold(), "boxes")
    assert ctx.report.done == 1 and ctx.report.outputs["proposals"] == 1
    (prop,) = [s for s in project.load("scan.tif").shapes if s.is_proposal]
    assert prop.links == (weak.id,) and prop.rle["size"] == [H, W]
    x, y, bw, bh = rle_bbox(prop.rle)
    assert _close((x, y, x + bw, y + bh), TRUTH_BBOX, 32)
    project.close()
