"""Intelligent scissors (live wire) on a synthetic image: a bright disk on dark noise."""

from __future__ import annotations

import math

import numpy as np
import pytest
from shapely.geometry import LinearRing, Point

from labeler.assist.live_wire import MAX_SIDE, LiveWire, closed_polygon, crop_window, trace_polygon
from labeler.core.geometry import mask_iou, polygon_to_mask

H, W = 240, 320
CX, CY, R = 150.0, 120.0, 70.0


def disk_image(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """RGB noise (dark) with a bright disk, and the disk's mask (pixel centres inside)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W] + 0.5
    disk = (xx - CX) ** 2 + (yy - CY) ** 2 <= R ** 2
    grey = rng.normal(45, 12, (H, W)) + disk * 150 + rng.normal(0, 8, (H, W)) * disk
    rgb = np.repeat(np.clip(grey, 0, 255).astype(np.uint8)[:, :, None], 3, axis=2)
    return rgb, disk


def rim(angles_deg) -> list[tuple[float, float]]:
    return [(CX + R * math.cos(math.radians(a)), CY + R * math.sin(math.radians(a))) for a in angles_deg]


@pytest.mark.parametrize("angles", [(0, 90, 180, 270), (10, 130, 250), (0, 60, 120, 180, 240, 300)])
def test_anchors_on_the_rim_trace_the_disk_better_than_straight_lines(angles):
    rgb, disk = disk_image()
    anchors = rim(angles)
    poly = trace_polygon(LiveWire(rgb), anchors)
    traced = polygon_to_mask(poly, height=H, width=W)
    straight = polygon_to_mask(np.array(anchors), height=H, width=W)
    iou, straight_iou = mask_iou(traced, disk), mask_iou(straight, disk)
    assert iou >= 0.95, (iou, straight_iou)
    assert iou > straight_iou + 0.05
    assert 3 <= len(poly) < 200  # simplified: not one vertex per rim pixel
    ring = LinearRing(poly)
    for a in anchors:  # the outline passes through the clicked anchors (within the simplification)
        assert ring.distance(Point(a)) < 1.0


def test_path_follows_the_edge_between_two_anchors_and_ends_at_them():
    rgb, _ = disk_image(1)
    wire = LiveWire(rgb)
    a, b = rim([0])[0], rim([90])[0]
    assert wire.path(a, b) is None  # no map built yet: the caller draws a straight segment
    assert wire.segment(a, b)[1] is False
    assert wire.build_map(a)
    assert wire.map_ready(a) and not wire.map_ready(b)
    pts = wire.path(a, b)
    assert tuple(pts[0]) == a and tuple(pts[-1]) == b
    radii = np.hypot(pts[:, 0] - CX, pts[:, 1] - CY)
    assert np.all(np.abs(radii - R) < 3.0), radii  # on the rim all the way, not the chord
    chord_mid = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
    assert np.hypot(chord_mid[0] - CX, chord_mid[1] - CY) < R - 15  # the chord cuts well inside


def test_a_crop_of_a_large_image_keeps_image_coordinates():
    rgb, disk = disk_image(2)
    big = np.zeros((H + 400, W + 500, 3), np.uint8)
    big[300:300 + H, 450:450 + W] = rgb
    x0, y0, x1, y1 = crop_window(W + 500, H + 400, (600, 420), max_side=300)
    assert (x1 - x0, y1 - y0) == (300, 300) and x0 <= 600 < x1 and y0 <= 420 < y1
    wire = LiveWire(big[y0:y1, x0:x1], origin=(x0, y0))
    a, b = (450 + CX + R, 300 + CY), (450 + CX, 300 + CY + R)
    wire.build_map(a)
    pts = wire.path(a, b)
    radii = np.hypot(pts[:, 0] - 450 - CX, pts[:, 1] - 300 - CY)
    assert np.all(np.abs(radii - R) < 3.0)
    outside = (x1 + 50.0, y0 + 10.0)
    assert not wire.contains(outside) and wire.path(a, outside) is None
    seg, snapped = wire.segment(a, outside)
    assert not snapped and seg.tolist() == [list(a), list(outside)]


def test_crop_window_limits():
    assert crop_window(1000, 800, (10, 10)) == (0, 0, 1000, 800)
    assert crop_window(5000, 800, (4990, 10)) == (5000 - MAX_SIDE, 0, 5000, 800)
    assert crop_window(5000, 6000, (2500, 100)) == (1500, 0, 3500, MAX_SIDE)
    with pytest.raises(ValueError, match="no pixels"):
        crop_window(0, 10, (0, 0))
    with pytest.raises(ValueError, match="at most"):
        LiveWire(np.zeros((10, MAX_SIDE + 1), np.uint8))


def test_closed_polygon_drops_repeats_and_simplifies_straight_runs():
    square = [np.array([(0, 0), (5, 0), (10, 0)], float), np.array([(10, 0), (10, 10)], float),
              np.array([(10, 10), (10, 10), (0, 10)], float), np.array([(0, 10), (0, 0)], float)]
    poly = closed_polygon(square)
    assert sorted(map(tuple, poly.tolist())) == [(0, 0), (0, 10), (10, 0), (10, 10)]


def test_a_ring_that_crosses_itself_becomes_its_largest_valid_part():
    bowtie = [np.array([(0, 0), (20, 20), (20, 0), (0, 20), (0, 0)], float)]
    poly = closed_polygon(bowtie, epsilon=0)
    from shapely.geometry import Polygon

    p = Polygon(poly)
    assert p.is_valid and p.area == pytest.approx(100.0)
