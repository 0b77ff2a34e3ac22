"""Brightness / contrast of the displayed image: Auto brightens what is shown of a dark image,
never the file, read_image or the session's pixels; Reset restores; the setting follows the
user to the next image unless they turn that off; big images are adjusted in a worker; a tiled
image draws its tiles through the same table."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from labeler.core.images import read_image
from labeler.core.project import Project
from labeler.core.tiles import TileSource
from labeler.gui import image_adjust, image_loader
from labeler.gui.image_adjust import qimage_pixels
from labeler.gui.main_window import MainWindow

from .conftest import activate

CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def dark_root(tmp_path):
    """Three dark 160 x 120 street-like frames (values 5-70)."""
    root = tmp_path / "dark"
    root.mkdir()
    rng = np.random.default_rng(3)
    for i in range(3):
        Image.fromarray(rng.integers(5, 70, (120, 160, 3), dtype=np.uint8)).save(root / f"f{i}.png")
    Project.create(root).close()
    return root


def _window(qtbot, root, **kw) -> MainWindow:
    w = MainWindow(Project.open(root), autosave_s=3600, **kw)
    qtbot.addWidget(w)
    activate(qtbot, w)
    qtbot.waitUntil(lambda: w.session.document is not None, timeout=10000)
    return w


def _shown_mean(w) -> float:
    """Mean brightness of the image as it is on screen (the viewport grabbed, image part only)."""
    c = w.canvas
    shot = c.viewport().grab().toImage()
    p0, p1 = c.image_to_view(2, 2), c.image_to_view(c.image_size[0] - 2, c.image_size[1] - 2)
    part = shot.copy(p0.x(), p0.y(), p1.x() - p0.x(), p1.y() - p0.y())
    return float(qimage_pixels(part)[..., :3].mean())


def test_auto_brightens_only_the_display_and_reset_restores(qtbot, dark_root):
    w = _window(qtbot, dark_root)
    path = dark_root / "f0.png"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    before, session_pixels = _shown_mean(w), qimage_pixels(w.session.image).copy()
    qtbot.keyClick(w.canvas.viewport(), Qt.Key.Key_B, CTRL_SHIFT)  # labelme's shortcut
    panel = w.image_adjust.panel
    assert panel is not None and panel.isVisible() and not panel.isModal()
    qtbot.mouseClick(panel.auto_button, Qt.MouseButton.LeftButton)
    after = _shown_mean(w)
    assert after > before + 50, (before, after)
    assert panel.sliders["gamma"].value() == 100  # Auto sets levels, not the sliders
    # nothing but the display changed: the file, a fresh read and the session's image
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert np.array_equal(read_image(path), np.asarray(Image.open(path).convert("RGB")))
    assert np.array_equal(qimage_pixels(w.session.image), session_pixels)
    assert int(read_image(path).max()) < 70
    qtbot.mouseClick(panel.reset_button, Qt.MouseButton.LeftButton)
    assert abs(_shown_mean(w) - before) < 0.5
    panel.sliders["brightness"].setValue(30)  # the user drags a slider
    assert _shown_mean(w) > before + 60
    panel.sliders["brightness"].setValue(0)
    panel.sliders["gamma"].setValue(250)
    assert _shown_mean(w) > before + 30
    w.close()


def test_adjustment_kept_on_the_next_image_unless_turned_off(qtbot, dark_root):
    w = _window(qtbot, dark_root)
    raw = _shown_mean(w)
    w.image_adjust.show_panel()
    w.image_adjust.auto()
    bright = _shown_mean(w)
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas.viewport(), Qt.Key.Key_D)
    assert w.session.key == "f1.png"
    assert not w.image_adjust.adjust.is_identity and _shown_mean(w) > raw + 50  # kept (the default)
    w.image_adjust.panel.keep.setChecked(False)  # stored in the user's settings
    qtbot.keyClick(w.canvas.viewport(), Qt.Key.Key_D)
    assert w.session.key == "f2.png" and w.image_adjust.adjust.is_identity
    assert w.image_adjust.panel.sliders["brightness"].value() == 0
    assert _shown_mean(w) < bright - 50
    w.close()


def test_large_image_is_adjusted_in_a_worker_latest_setting_wins(qtbot, dark_root, monkeypatch):
    monkeypatch.setattr(image_adjust, "WORKER_PIXELS", 100)  # every image counts as large
    w = _window(qtbot, dark_root)
    raw = _shown_mean(w)
    ctl = w.image_adjust
    calls = []
    real = image_adjust.adjusted_qimage
    monkeypatch.setattr(image_adjust, "adjusted_qimage",
                        lambda img, table: calls.append(__import__("threading").get_ident()) or real(img, table))
    ctl.set_adjust(ctl.adjust.with_(brightness=0.1))
    ctl.set_adjust(ctl.adjust.with_(brightness=0.4))  # while the first one is computed
    qtbot.waitUntil(lambda: not ctl.busy, timeout=5000)
    qtbot.waitUntil(lambda: _shown_mean(w) > raw + 90, timeout=5000)  # 0.4 * 255 brighter, not 0.1
    assert calls and __import__("threading").get_ident() not in calls
    w.close()


def test_tiled_image_draws_its_tiles_through_the_adjustment(qtbot, tmp_path, monkeypatch):
    root = tmp_path / "tiled"
    root.mkdir()
    rng = np.random.default_rng(5)
    Image.fromarray(rng.integers(10, 60, (700, 900, 3), dtype=np.uint8)).save(root / "big.png")
    monkeypatch.setattr(image_loader, "should_tile", lambda w, h: True)
    w = _window(qtbot, root, background_loading=True)
    item = w.canvas.tiled_image
    assert isinstance(item.source, TileSource)

    def tiles_painted() -> bool:
        w.canvas.viewport().repaint()
        return bool(item.wanted) and not item.pending and all(k in item.cache for k in item.wanted)

    qtbot.waitUntil(tiles_painted, timeout=15000)
    raw = _shown_mean(w)
    key = next(iter(item.wanted))
    raw_tile = qimage_pixels(item.cache[key]).copy()
    w.image_adjust.auto()
    w.canvas.viewport().repaint()
    assert _shown_mean(w) > raw + 50
    assert key in item.adjusted  # the tile drawn through the LUT ...
    assert qimage_pixels(item.adjusted[key]).mean() > raw_tile.mean() + 50
    assert np.array_equal(qimage_pixels(item.cache[key]), raw_tile)  # ... its read pixels untouched
    w.image_adjust.reset()
    w.canvas.viewport().repaint()
    assert abs(_shown_mean(w) - raw) < 0.5 and not item.adjusted
    w.close()


def test_settings_dialog_stores_keep_adjustment_and_simplify_tolerance(qtbot, window):
    from labeler.gui import user_settings

    assert user_settings.get("keep_image_adjustment") is True  # labelme's default: kept
    dialog = window.dialogs.show_settings()
    dialog.keep_adjustment.setChecked(False)
    dialog.simplify_tolerance.setValue(2.5)
    dialog.accept()
    assert user_settings.get("keep_image_adjustment") is False  # read back from the INI file as a bool
    assert user_settings.get("simplify_tolerance") == 2.5
    assert not window.image_adjust.show_panel().keep.isChecked()
