"""View mode in the window: zoomed in on a huge image, the AI tool's engine is prepared (in its
worker) on the visible region, a click lands where it was made; zoomed out, the overview is used."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import Qt

from labeler.assist.large_image import PlacedProposal
from labeler.assist.plugins import LoadedPlugins
from labeler.core.geometry import rle_bbox
from labeler.core.project import Project
from labeler.core.schema import Schema
from labeler.core.shapes import MASK
from labeler.core.tiles import write_raw_tiff
from labeler.gui.assist_view import SETTLE_MS

from ..assist.test_view_region import DiskEngine
from .conftest import Mouse, activate

W, H = 8_000, 6_000  # 48 M pixels: shown as tiles, read by region, never decoded whole


class ThreadedDisk(DiskEngine):
    def __init__(self) -> None:
        super().__init__(radius=25.0)
        self.threads: list[int] = []

    def prepare(self, image):
        self.threads.append(threading.get_ident())
        return super().prepare(image)


def _fill(y0, y1):  # texture in the middle rows, so that regions differ; the rest stays sparse
    if y1 <= 2_000 or y0 >= 4_000:
        return None
    x, y = np.arange(W), np.arange(y0, y1)[:, None]
    rows = np.empty((y1 - y0, W, 3), np.uint8)
    rows[..., 0], rows[..., 1], rows[..., 2] = (x // 5) % 251, (y // 3) % 241, (x + y) % 239
    return rows


@pytest.fixture
def zoomable(qtbot, tmp_path):
    from labeler.gui.main_window import MainWindow

    root = tmp_path / "proj"
    root.mkdir()
    write_raw_tiff(root / "scan.tif", W, H, _fill)
    Project.create(root, Schema.from_names(["object"])).close()
    plugins = LoadedPlugins()
    engine = ThreadedDisk()
    plugins.engines[engine.name] = engine
    plugins.origins[engine.name] = "test"
    w = MainWindow(autosave_s=3600)
    w.assist._plugins = plugins
    w.set_project(Project.open(root))
    qtbot.addWidget(w)
    activate(qtbot, w)
    w.class_dock.select("object")
    w.assist.set_engine("disk")
    w.actions_by_id["tool_ai"].trigger()
    qtbot.waitUntil(lambda: w.assist.ready, timeout=10000)  # the overview, as before
    yield w, engine
    w.close()


def _zoom_to(canvas, x: float, y: float, scale: float) -> None:
    canvas.zoom_by(scale / canvas.scale_factor)
    canvas.centerOn(x, y)


def test_zoomed_in_a_click_is_proposed_on_the_visible_region_and_lands_where_made(zoomable, qtbot):
    w, engine = zoomable
    canvas, tool, assist = w.canvas, w.canvas.tool, w.assist
    assert assist.view.region is None and len(engine.prepared) == 1  # fitted: the overview
    overview = engine.prepared[0]
    _zoom_to(canvas, 5_000, 3_000, 1.0)  # one screen pixel per image pixel
    click = (5_013.0, 2_987.0)
    Mouse(qtbot, canvas).click(*click)  # at once: the click waits for the view to be prepared
    qtbot.waitUntil(lambda: tool.current is not None, timeout=10000)
    region = assist.view.region
    assert region is not None and region.contains((*click, *click)) and region.step * 2 <= W / 1024
    x0, y0, x1, y1 = assist.view.visible_rect()
    assert region.contains((max(0, x0), max(0, y0), min(W, x1), min(H, y1)))
    assert engine.prepared[-1][:2] == region.size[::-1] and engine.prepared[-1] != overview
    assert threading.get_ident() not in engine.threads  # prepared in the worker, never here
    proposal = tool.current
    assert isinstance(proposal, PlacedProposal)
    assert proposal.offset == region.origin and proposal.scale == region.scale
    np.testing.assert_allclose(engine.clicks[-1], region.to_region([click])[0], atol=1e-6)
    assert tool.overlay.scale() == pytest.approx(region.step)  # drawn scaled into place
    assert (tool.overlay.pos().x(), tool.overlay.pos().y()) == region.origin

    # a small pan keeps the prompts and the region: nothing is prepared again
    prepared = len(engine.prepared)
    canvas.centerOn(5_060, 3_030)
    qtbot.wait(SETTLE_MS + 150)
    assert assist.view.region is region and len(engine.prepared) == prepared and len(tool.steps) == 1
    Mouse(qtbot, canvas).key(Qt.Key.Key_Return)
    (shape,) = w.session.document.shapes
    assert shape.kind == MASK and shape.rle["size"] == [H, W]
    bx, by, bw, bh = rle_bbox(shape.rle)
    tol = region.step / 2 + 0.5
    assert abs(bx + bw / 2 - click[0]) <= tol and abs(by + bh / 2 - click[1]) <= tol
    assert bw == pytest.approx(2 * engine.radius * region.step, abs=2 * region.step)

    # panning far away prepares that view; panning back finds the first one in the cache
    canvas.centerOn(1_500, 3_500)
    qtbot.waitUntil(lambda: assist.view.region not in (None, region) and assist.ready, timeout=10000)
    away = len(engine.prepared)
    assert away == prepared + 1
    canvas.centerOn(5_013, 2_987)
    qtbot.waitUntil(lambda: assist.view.region == region and assist.ready, timeout=10000)
    assert len(engine.prepared) == away  # cached: not prepared again

    # a click right after panning, outside the prepared region: that view is prepared first
    canvas.centerOn(3_000, 2_400)
    elsewhere = (3_020.0, 2_410.0)
    assert not region.contains((*elsewhere, *elsewhere))
    Mouse(qtbot, canvas).click(*elsewhere)
    qtbot.waitUntil(lambda: tool.current is not None, timeout=10000)
    new = assist.view.region
    assert new.contains((*elsewhere, *elsewhere)) and tool.current.offset == new.origin
    np.testing.assert_allclose(engine.clicks[-1], new.to_region([elsewhere])[0], atol=1e-6)
    Mouse(qtbot, canvas).key(Qt.Key.Key_Escape)
    assert len(engine.prepared) == away + 1

    # zoomed out: the overview is used again
    canvas.fit()
    qtbot.waitUntil(lambda: assist.view.region is None and assist.ready, timeout=10000)
    Mouse(qtbot, canvas).click(2_000, 1_500)
    qtbot.waitUntil(lambda: tool.current is not None, timeout=10000)
    assert tool.current.offset == (0, 0) and tool.current.mask.shape == overview[:2]
    assert len(engine.prepared) == away + 1  # the overview was kept


def test_while_the_zoomed_in_level_cannot_be_read_yet_the_overview_is_used(zoomable, qtbot, monkeypatch):
    w, engine = zoomable
    source = w.canvas.tiled_image.source
    _zoom_to(w.canvas, 4_000, 3_000, 1.0)
    region = w.assist.view.choose()
    assert region is not None and region.level < 3
    monkeypatch.setattr(source, "readable_now", lambda level: level >= 3)  # a JPEG while its cache builds
    assert w.assist.view.choose() is None
    monkeypatch.undo()
    assert w.assist.view.choose() == region


def test_the_view_mode_status_is_translated(qapp):
    from labeler.assist.view_region import ViewRegion
    from labeler.gui.assist_view import preparing_text, ready_text
    from labeler.gui.i18n import install_translator, remove_translators

    region = ViewRegion(2, (0, 0, 1024, 1024))
    assert ready_text(region) == "ready: zoomed-in view at 1/4 scale"
    assert install_translator(qapp, "zh_CN")
    try:
        assert ready_text(region) == "就绪：放大后的可见区域，比例 1/4"
        assert preparing_text("sam") == "正在用 sam 准备放大后的可见区域..."
    finally:
        remove_translators(qapp)
