"""Level of detail for the canvas, so that thousands of shapes still pan and zoom smoothly.

Measured on 5,000 polygons (tests/bench/bench_canvas.py): antialiased fills and 2-px cosmetic
outlines are what cost most when zoomed out, where every shape is on screen and a few pixels
wide. Below ``LOW_DETAIL_BELOW`` the view drops antialiasing and the shape items draw 1-px
outlines (Qt's fast cosmetic stroker); from ``HIGH_DETAIL_FROM`` on, where fewer shapes are
visible, both come back (the gap keeps zooming about one level from restyling every item). Shape items also cache their rendering per device (``DeviceCoordinateCache``), so a
pan blits pixmaps instead of redrawing paths; the pixmap cache is raised to hold them.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer
from PySide6.QtGui import QPainter, QPixmapCache
from PySide6.QtWidgets import QGraphicsItem

LOW_DETAIL_BELOW = 0.5  # zoom (screen pixels per image pixel) under which detail is reduced
HIGH_DETAIL_FROM = 0.7
PIXMAP_CACHE_KB = 256 * 1024
CACHE_AFTER_MS = 250
_CACHED = QGraphicsItem.CacheMode.DeviceCoordinateCache
_UNCACHED = QGraphicsItem.CacheMode.NoCache


class CanvasDetail:
    def __init__(self, canvas) -> None:
        self.canvas = canvas
        self.low = False
        self._last_zoom = float("-inf")
        self.cached = True  # shape items cache their pixmaps (off while zooming)
        self._recache = QTimer(canvas)
        self._recache.setSingleShot(True)
        self._recache.setInterval(CACHE_AFTER_MS)
        self._recache.timeout.connect(self.settle)
        QPixmapCache.setCacheLimit(max(QPixmapCache.cacheLimit(), PIXMAP_CACHE_KB))
        canvas.zoom_changed.connect(self.on_zoom)

    def on_zoom(self, scale: float) -> None:
        low = scale < LOW_DETAIL_BELOW or (self.low and scale < HIGH_DETAIL_FROM)
        now = time.monotonic()
        burst = now - self._last_zoom < CACHE_AFTER_MS / 1000  # a second step within one gesture
        self._last_zoom = now
        if low != self.low:
            self.low = low
            for item in self.canvas._items.values():
                item.set_low_detail(low)
        if not burst:  # a single zoom (fit, 1:1, one wheel notch) is drawn at full quality
            self.canvas.setRenderHint(QPainter.RenderHint.Antialiasing, not low)
            return
        self.canvas.setRenderHint(QPainter.RenderHint.Antialiasing, False)  # back when zooming stops
        self.set_cached(False)
        self._recache.start()

    def settle(self) -> None:
        """Zooming stopped: full quality (when not zoomed out) and cached items again."""
        self._recache.stop()
        self.canvas.setRenderHint(QPainter.RenderHint.Antialiasing, not self.low)
        self.set_cached(True)
        self.canvas.viewport().update()

    def cache_mode(self) -> QGraphicsItem.CacheMode:
        """The cache mode for a new shape item."""
        return _CACHED if self.cached else _UNCACHED

    def set_cached(self, cached: bool) -> None:
        if cached == self.cached:
            return
        self.cached = cached
        mode = self.cache_mode()
        for item in self.canvas._items.values():
            item.setCacheMode(mode)


def sync_changed_shapes(canvas) -> bool:
    """Redraw only the shapes the document's last change replaced in place (a move, a relabel, a
    vertex drag), instead of walking all of them. False when the full pass is needed: shapes were
    added, removed or reordered, stand-ins are being previewed, or the change is not known."""
    doc = canvas.document
    if doc is None or canvas._previewed:
        return False
    ids = getattr(doc, "last_change", None)
    if ids is None or doc.last_change_revision != doc.revision or len(doc.shapes) != len(canvas._items):
        return False
    index = {s.id: i for i, s in enumerate(doc.shapes)} if len(ids) > 8 else None
    for sid in ids:
        item = canvas._items.get(sid)
        try:
            i = index[sid] if index is not None else doc.index_of(sid)
        except KeyError:
            return False
        if item is None:
            return False
        s = doc.shapes[i]
        if item.shape_data is not s:
            canvas.scene().removeItem(item)
            item = canvas._make_item(s)
        item.setZValue(s.z * 1e6 + i)
    return True
