"""A rendered screenshot of the demo project compared with a stored snapshot, within a tolerance.

Regenerate after an intended change of the window's look with
``LABELER_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/gui/test_snapshot.py`` and look at
the new PNG before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtGui import QImage

from labeler.core.project import Project
from labeler.gui.main_window import MainWindow

SNAPSHOTS = Path(__file__).parent / "snapshots"
SIZE = (1100, 720)
MAX_MEAN_ABS_DIFF = 3.0  # grey levels, averaged over every pixel and channel
PIXEL_DIFF = 40  # a pixel "differs" when a channel is off by more than this
MAX_DIFFERING_FRACTION = 0.01


def grab_rgb(widget) -> np.ndarray:
    img = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h = img.width(), img.height()
    arr = np.frombuffer(img.constBits(), np.uint8, img.bytesPerLine() * h).reshape(h, img.bytesPerLine())
    return arr[:, :3 * w].reshape(h, w, 3).copy()


def compare(actual: np.ndarray, expected: np.ndarray) -> tuple[float, float]:
    """(mean absolute difference, fraction of pixels differing by more than PIXEL_DIFF)."""
    if actual.shape != expected.shape:
        return float("inf"), 1.0
    diff = np.abs(actual.astype(np.int16) - expected.astype(np.int16))
    return float(diff.mean()), float((diff.max(axis=2) > PIXEL_DIFF).mean())


def test_compare_sees_real_differences():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    assert compare(a, a) == (0.0, 0.0)
    b = a.copy()
    b[:10, :10] = 255 - b[:10, :10]  # a patch of 2% of the pixels inverted
    mad, frac = compare(b, a)
    assert frac > MAX_DIFFERING_FRACTION and mad > 0
    assert compare(a[:50], a) == (float("inf"), 1.0)


def test_demo_window_matches_snapshot(qtbot, demo_root):
    w = MainWindow(Project.open(demo_root), autosave_s=3600)
    qtbot.addWidget(w)
    w.resize(*SIZE)
    with qtbot.waitExposed(w, timeout=3000):
        w.show()
    qtbot.waitUntil(lambda: (w.width(), w.height()) == SIZE, timeout=3000)
    w.go_relative(2)  # coffee: a polygon and a rectangle drawn over the photo
    w.fit_view()
    qtbot.wait(50)
    actual = grab_rgb(w)
    path = SNAPSHOTS / "main_window_demo.png"
    if os.environ.get("LABELER_UPDATE_SNAPSHOTS") or not path.is_file():
        SNAPSHOTS.mkdir(exist_ok=True)
        Image.fromarray(actual).save(path)
        if not os.environ.get("LABELER_UPDATE_SNAPSHOTS"):
            pytest.fail(f"{path} did not exist; written now: look at it, then commit it")
    expected = np.asarray(Image.open(path).convert("RGB"))
    mad, frac = compare(actual, expected)
    if mad > MAX_MEAN_ABS_DIFF or frac > MAX_DIFFERING_FRACTION:
        failed = path.with_name(path.stem + ".actual.png")
        Image.fromarray(actual).save(failed)
        pytest.fail(f"window differs from {path.name}: mean abs diff {mad:.2f} (max {MAX_MEAN_ABS_DIFF}), "
                    f"{frac:.2%} of pixels differ (max {MAX_DIFFERING_FRACTION:.0%}); this run's image is "
                    f"{failed}; if the change is intended, rerun with LABELER_UPDATE_SNAPSHOTS=1")
    w.close()
