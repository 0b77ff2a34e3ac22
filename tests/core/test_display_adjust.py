"""The display LUT: identity by default, brightness/contrast/gamma/auto levels move pixels the
way their names say, and the BGRA table for Qt's 32-bit pixels keeps alpha."""

from __future__ import annotations

import numpy as np
import pytest

from labeler.core.display_adjust import DisplayAdjust, apply_lut, auto_levels, bgra_lut, make_lut


def test_default_is_identity_and_values_are_clamped():
    lut = make_lut(DisplayAdjust())
    assert DisplayAdjust().is_identity
    assert np.array_equal(lut, np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1))
    assert DisplayAdjust(brightness=7).brightness == 1.0 and DisplayAdjust(gamma=0).gamma == 0.1
    with pytest.raises(ValueError):
        DisplayAdjust(contrast=float("nan"))


def test_brightness_contrast_gamma_directions():
    x = np.arange(256)
    brighter = make_lut(DisplayAdjust(brightness=0.2))[:, 0].astype(int)
    assert (brighter >= x).all() and brighter[100] == 100 + 51
    steeper = make_lut(DisplayAdjust(contrast=2.0))[:, 0].astype(int)
    assert steeper[64] < 64 and steeper[192] > 192 and steeper[0] == 0 and steeper[255] == 255
    gamma = make_lut(DisplayAdjust(gamma=2.0))[:, 0].astype(int)
    assert gamma[0] == 0 and gamma[255] == 255 and gamma[64] == round((64 / 255) ** 0.5 * 255)
    assert np.all(np.diff(gamma) >= 0)


def test_auto_levels_stretch_a_dark_image_per_channel():
    rng = np.random.default_rng(0)
    rgb = np.stack([rng.integers(10, 60, (300, 400)), rng.integers(20, 80, (300, 400)),
                    rng.integers(0, 40, (300, 400))], axis=2).astype(np.uint8)
    adj = auto_levels(rgb)
    lo, hi = np.percentile(rgb.reshape(-1, 3), [1, 99], axis=0)
    assert np.allclose(adj.low, lo, atol=1) and np.allclose(adj.high, hi, atol=1)
    out = apply_lut(rgb, make_lut(adj))
    assert out.shape == rgb.shape
    for c in range(3):
        assert np.percentile(out[..., c], 99) >= 250 and np.percentile(out[..., c], 1) <= 5
    assert out.mean() > rgb.mean() + 60


def test_flat_image_auto_does_not_divide_by_zero():
    adj = auto_levels(np.full((20, 20, 3), 77, np.uint8))
    assert all(h >= lo + 1 for lo, h in zip(adj.low, adj.high))
    assert make_lut(adj).dtype == np.uint8


def test_bgra_table_maps_blue_green_red_and_keeps_alpha():
    adj = DisplayAdjust(low=(0, 0, 100), high=(255, 255, 200))  # only blue is stretched
    table = bgra_lut(make_lut(adj))
    px = np.array([[[150, 150, 150, 255]]], np.uint8)  # B, G, R, A
    out = apply_lut(px, table)[0, 0]
    assert out[0] == round(0.5 * 255) and out[1] == 150 and out[2] == 150 and out[3] == 255
    with pytest.raises(ValueError):
        apply_lut(np.zeros((2, 2, 3), np.uint8), table)
