"""The AI tool on an image too large to decode whole: the engine sees a downscaled copy, the
candidate is drawn scaled into place, and the accepted shape lands at full resolution."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from labeler.assist.large_image import PlacedProposal, ScaledState
from labeler.assist.plugins import LoadedPlugins
from labeler.core.geometry import rle_bbox
from labeler.core.project import Project
from labeler.core.schema import Schema
from labeler.core.shapes import MASK
from labeler.core.tiles import write_raw_tiff

from ..assist.test_large_image import RedThreshold
from .conftest import Mouse, activate

W, H = 8_000, 6_000  # 48 M pixels: shown as tiles, never decoded whole
BOX = (5_000, 3_000, 5_600, 3_400)  # a red rectangle


def _fill(y0, y1):
    if y1 <= BOX[1] or y0 >= BOX[3]:
        return None
    rows = np.full((y1 - y0, W, 3), 60, np.uint8)
    rows[max(0, BOX[1] - y0):BOX[3] - y0, BOX[0]:BOX[2]] = (220, 40, 40)
    return rows


@pytest.fixture
def huge_window(qtbot, tmp_path):
    from labeler.gui.main_window import MainWindow

    root = tmp_path / "proj"
    root.mkdir()
    write_raw_tiff(root / "scan.tif", W, H, _fill)
    Project.create(root, Schema.from_names(["object"])).close()
    plugins = LoadedPlugins()
    engine = RedThreshold()
    plugins.engines[engine.name] = engine
    plugins.origins[engine.name] = "test"
    w = MainWindow(autosave_s=3600)
    w.assist._plugins = plugins
    w.set_project(Project.open(root))
    qtbot.addWidget(w)
    activate(qtbot, w)
    w.class_dock.select("object")
    yield w, engine
    w.close()


def test_ai_tool_on_a_huge_image_places_the_proposal_at_full_resolution(huge_window, qtbot):
    w, engine = huge_window
    w.assist.set_engine("red")
    w.actions_by_id["tool_ai"].trigger()
    qtbot.waitUntil(lambda: w.assist.ready, timeout=10000)
    assert max(engine.prepared[0][:2]) <= 2048  # a downscaled copy
    state = w.assist._states[w.assist._want()]
    assert isinstance(state, ScaledState) and state.source.full_decodes == 0
    tool = w.canvas.tool
    x0, y0, x1, y1 = BOX
    Mouse(qtbot, w.canvas).drag((x0 - 200, y0 - 200), (x1 + 200, y1 + 200))
    qtbot.waitUntil(lambda: tool.current is not None, timeout=5000)
    proposal = tool.current
    assert isinstance(proposal, PlacedProposal)
    assert tool.overlay.scale() == pytest.approx(1 / proposal.scale)  # drawn scaled into place
    r = tool.overlay.sceneBoundingRect()
    assert r.width() == pytest.approx(W, abs=1 / proposal.scale)
    Mouse(qtbot, w.canvas).key(Qt.Key.Key_Return)
    (shape,) = w.session.document.shapes
    assert shape.kind == MASK and shape.rle["size"] == [H, W] and shape.source == "red"
    bx, by, bw, bh = rle_bbox(shape.rle)
    step = 1 / proposal.scale
    assert all(abs(a - b) <= step for a, b in zip((bx, by, bx + bw, by + bh), BOX))
    assert state.source.full_decodes == 0
