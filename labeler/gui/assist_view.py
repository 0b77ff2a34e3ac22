"""View mode in the window: which region of a huge image the AI tool's engine is prepared on.

Zoomed in on an image shown as tiles, a downscale engine (SAM) is prepared on the visible region
(plus a margin) rather than on the overview (:mod:`labeler.assist.view_region`). This object
watches the canvas: once the view has settled after a pan or zoom (``SETTLE_MS``), or right away
when a prompt is given, it works the region out again (prompts given so far count as part of the
view, so they always lie inside it) and, when it differs, asks the controller to prepare it; the
controller's worker prepares it, and prompts wait for it as they wait for any image. Zoomed out,
the region is None and the overview is used, as it is while the region's level cannot be read
yet (a huge JPEG whose pyramid cache is still being built). A region is kept while it holds the
view and the prompts, so small pans prepare nothing.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QObject, QTimer

from ..assist.engine import Prompts
from ..assist.large_image import MAX_SIDE, prompt_bounds, uses_crops
from ..assist.view_region import VIEW_SIDE, ViewRegion, choose_view_region

SETTLE_MS = 250


def preparing_text(engine_name: str) -> str:
    return QCoreApplication.translate("assist", "preparing the zoomed-in view with {0}...").format(engine_name)


def ready_text(region: ViewRegion) -> str:
    return QCoreApplication.translate("assist", "ready: zoomed-in view at 1/{0} scale").format(region.step)


class AssistView(QObject):
    """The view region of the shown image (``region``; None: the overview) for ``controller``."""

    def __init__(self, controller) -> None:
        super().__init__(controller)
        self.controller = controller
        self.canvas = canvas = controller.canvas
        self.region: ViewRegion | None = None
        self.side = VIEW_SIDE
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SETTLE_MS)
        self._timer.timeout.connect(self._settled)
        canvas.horizontalScrollBar().valueChanged.connect(self._moved)
        canvas.verticalScrollBar().valueChanged.connect(self._moved)
        canvas.zoom_changed.connect(self._moved)

    def visible_rect(self) -> tuple[float, float, float, float]:
        """The image rectangle the canvas shows, in full-resolution pixels."""
        r = self.canvas.mapToScene(self.canvas.viewport().rect()).boundingRect()
        return r.left(), r.top(), r.right(), r.bottom()

    def choose(self, prompts: Prompts | None = None) -> ViewRegion | None:
        """The region for the current view and ``prompts`` (None: the overview)."""
        source = self.canvas.tiled_image.source
        engine = self.controller.engine
        if source is None or engine is None or uses_crops(engine):
            return None  # an ordinary image; or GrabCut, which reads full-resolution crops anyway
        bounds = prompt_bounds(prompts) if prompts is not None else None
        region = choose_view_region(self.visible_rect(), source.size, source.levels, prompts=bounds,
                                    current=self.region, side=self.side, max_side=MAX_SIDE)
        if region is not None and not source.readable_now(region.level):
            return None  # its pyramid cache is still being built (pyramid_build.py): the overview meanwhile
        return region

    def update(self, prompts: Prompts | None = None) -> bool:
        """Work the region out again; prepare it when it changed. True when it changed."""
        self._timer.stop()
        region = self.choose(prompts)
        if region == self.region:
            return False
        self.region = region
        self.controller.ensure_prepared()
        return True

    def refresh(self) -> None:
        """Work the region out again without preparing it (the caller prepares next)."""
        self._timer.stop()
        tool = self.controller.active_tool
        self.region = self.choose(tool.prompts() if tool is not None and tool.steps else None)

    def reset(self) -> None:
        """Another image or engine: the overview until the view is looked at again."""
        self._timer.stop()
        self.region = None

    def _moved(self, *_args) -> None:
        if self.controller.active_tool is not None and self.canvas.tiled_image.source is not None:
            self._timer.start()  # restarted by every step of a pan or zoom

    def _settled(self) -> None:
        tool = self.controller.active_tool
        if tool is not None:
            self.update(tool.prompts() if tool.steps else None)
