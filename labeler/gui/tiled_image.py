"""A graphics item that shows a huge image through tiles read in worker threads.

The item asks its :class:`~labeler.core.tiles.TileSource` for the tiles it can see at the level
that suits the current zoom; reads run in a small QThreadPool, and the item paints whatever it
already has: the tile itself, else a coarser tile scaled up, else a plain grey square. Nothing is
read or decoded in ``paint``. Tiles are kept in an LRU cache bounded in bytes.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from PySide6.QtCore import QObject, QRectF, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QGraphicsView, QStyleOptionGraphicsItem

from ..core.errors import LabelerError
from ..core import events
from ..core.tiles import TILE, TileSource
from .image_adjust import adjusted_qimage

CACHE_BYTES = 256 * 1024 * 1024
ADJUSTED_TILES = 64  # tiles kept as drawn through the display LUT (1 MiB each)
READ_THREADS = 2
_PLACEHOLDER = QColor(90, 90, 90)


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    img = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return img.convertToFormat(QImage.Format.Format_RGB32)  # a copy, in the fastest format to draw


class _Bridge(QObject):
    """Carries finished tiles from worker threads to the GUI thread (queued connection)."""
    tile_ready = Signal(object, object, object)  # source, key, QImage or error text


class _TileRead(QRunnable):
    def __init__(self, item: "TiledImageItem", source: TileSource, key: tuple[int, int, int]) -> None:
        super().__init__()
        self.item, self.source, self.key = item, source, key
        self.bridge = item.bridge

    def run(self) -> None:
        if self.key not in self.item.wanted:  # scrolled away before its turn
            self.bridge.tile_ready.emit(self.source, self.key, None)
            return
        try:
            result = rgb_to_qimage(self.source.read_tile(*self.key))
        except (LabelerError, OSError, ValueError, IndexError) as e:
            result = str(e)
        self.bridge.tile_ready.emit(self.source, self.key, result)


class TiledImageItem(QGraphicsItem):
    """Shows a :class:`TileSource` in image coordinates (one unit = one full-resolution pixel)."""

    def __init__(self, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)
        self.source: TileSource | None = None
        self.cache: OrderedDict[tuple[int, int, int], QImage] = OrderedDict()
        self.cache_bytes = 0
        self.pending: set[tuple[int, int, int]] = set()
        self.wanted: set[tuple[int, int, int]] = set()
        self.errors: list[str] = []
        self.error = events.Signal()  # (str) a tile could not be read: said once per distinct reason
        self.pool = QThreadPool()
        self.pool.setMaxThreadCount(READ_THREADS)
        self.bridge = _Bridge()
        self.bridge.tile_ready.connect(self._on_tile_ready)
        self.painted_levels: list[int] = []  # the level of each paint, for tests and benchmarks
        self.display_lut: np.ndarray | None = None  # brightness/contrast as drawn (image_adjust.py)
        self.adjusted: OrderedDict[tuple[int, int, int], QImage] = OrderedDict()  # tiles as drawn

    def set_display_lut(self, table: np.ndarray | None) -> None:
        """Draw every tile through ``table`` ((1, 256, 4) for B, G, R, A; None: as read)."""
        self.display_lut = table
        self.adjusted.clear()
        self.update()

    def _drawn(self, key: tuple[int, int, int], img: QImage) -> QImage:
        """The tile as drawn: through the display LUT when one is set (kept for the next paint)."""
        if self.display_lut is None:
            return img
        out = self.adjusted.get(key)
        if out is None:
            out = self.adjusted[key] = adjusted_qimage(img, self.display_lut)
            while len(self.adjusted) > ADJUSTED_TILES:
                self.adjusted.popitem(last=False)
        else:
            self.adjusted.move_to_end(key)
        return out

    def set_source(self, source: TileSource | None) -> None:
        self.prepareGeometryChange()
        self.source = source
        self.cache.clear()
        self.adjusted.clear()
        self.cache_bytes = 0
        self.pending.clear()
        self.wanted.clear()
        self.errors.clear()
        self.setVisible(source is not None)
        self.update()

    def boundingRect(self) -> QRectF:
        if self.source is None:
            return QRectF()
        return QRectF(0, 0, *self.source.size)

    # -- painting: only what is cached, requests for the rest -----------------------------------
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        src = self.source
        if src is None:
            return
        # while its pyramid cache is built (pyramid_build.py) only some levels can be read: a JPEG's
        # drafts (preview_level and coarser), a TIFF's own tiles when zoomed in; else a placeholder
        scale = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        level = max(src.preview_level or 0, src.level_for_scale(scale))
        if not src.readable_now(level):
            self.wanted = set()  # reads queued for a zoom left behind are dropped
            painter.fillRect(option.exposedRect.intersected(self.boundingRect()), _PLACEHOLDER)
            return
        self.painted_levels.append(level)
        del self.painted_levels[:-100]
        bounds = self.boundingRect()
        keys = self._visible_keys(level, option.exposedRect.intersected(bounds))
        view = widget.parent() if widget is not None else None
        if isinstance(view, QGraphicsView):  # everything on screen stays wanted, not just this strip
            seen = view.mapToScene(view.viewport().rect()).boundingRect().intersected(bounds)
            self.wanted = set(self._visible_keys(level, seen)) | set(keys)
        else:
            self.wanted = set(keys)
        coarsest = (src.levels - 1, 0, 0)
        if coarsest not in self.cache and src.readable_now(coarsest[0]):  # one small tile to draw
            # behind anything not read yet (not while a TIFF's coarse levels wait for the cache)
            self.wanted.add(coarsest)
            self._request(coarsest)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, level > 0)
        missing = []
        for key in keys:
            img = self.cache.get(key)
            if img is not None:
                self.cache.move_to_end(key)
                painter.drawImage(self._tile_rect(key), self._drawn(key, img))
            else:
                missing.append(key)
                self._paint_fallback(painter, key)
        painter.restore()
        for key in missing:
            self._request(key)

    def _visible_keys(self, level: int, rect: QRectF) -> list[tuple[int, int, int]]:
        if rect.isEmpty():
            return []
        span = TILE * 2 ** level  # one tile of this level, in full-resolution pixels
        nx, ny = self.source.tile_grid(level)
        tx0, tx1 = max(0, int(rect.left() // span)), min(nx - 1, int(rect.right() // span))
        ty0, ty1 = max(0, int(rect.top() // span)), min(ny - 1, int(rect.bottom() // span))
        # nearest the centre first, so the middle of the view fills in first
        cx, cy = (tx0 + tx1) / 2, (ty0 + ty1) / 2
        keys = [(level, tx, ty) for ty in range(ty0, ty1 + 1) for tx in range(tx0, tx1 + 1)]
        return sorted(keys, key=lambda k: (k[1] - cx) ** 2 + (k[2] - cy) ** 2)

    def _tile_rect(self, key: tuple[int, int, int]) -> QRectF:
        level, tx, ty = key
        s = 2 ** level
        w, h = self.source.size
        x0, y0 = tx * TILE * s, ty * TILE * s
        return QRectF(x0, y0, min(TILE * s, w - x0), min(TILE * s, h - y0))

    def _paint_fallback(self, painter: QPainter, key: tuple[int, int, int]) -> None:
        """A coarser cached tile, scaled up, until the right one arrives; else a grey square."""
        level, tx, ty = key
        target = self._tile_rect(key)
        for coarse in range(level + 1, self.source.levels):
            d = 2 ** (coarse - level)
            ckey = (coarse, tx // d, ty // d)
            img = self.cache.get(ckey)
            if img is None:
                continue
            # the part of the coarse tile that covers this one, in the coarse tile's pixels
            sub = TILE / d
            sx, sy = (tx % d) * sub, (ty % d) * sub
            ratio = 2 ** coarse
            painter.drawImage(target, self._drawn(ckey, img),
                              QRectF(sx, sy, target.width() / ratio, target.height() / ratio))
            return
        painter.fillRect(target, _PLACEHOLDER)

    # -- reading in workers ---------------------------------------------------------------------------
    def _request(self, key: tuple[int, int, int]) -> None:
        if key in self.pending or key in self.cache:
            return
        self.pending.add(key)
        self.pool.start(_TileRead(self, self.source, key))

    def _on_tile_ready(self, source: TileSource, key, result) -> None:
        if source is not self.source:
            return  # a tile of the previous image
        self.pending.discard(key)
        if result is None:
            return
        if isinstance(result, str):
            if result not in self.errors:
                self.errors.append(result)
                self.error.emit(result)
            return
        self.cache[key] = result
        self.cache_bytes += result.sizeInBytes()
        while self.cache_bytes > CACHE_BYTES and len(self.cache) > 1:
            _, old = self.cache.popitem(last=False)
            self.cache_bytes -= old.sizeInBytes()
        self.update(self._tile_rect(key))

    def wait_idle(self, msecs: int = 5000) -> bool:
        """Block until queued reads finish (tests and benchmarks); their results still arrive
        through the event loop."""
        return self.pool.waitForDone(msecs)

    def shutdown(self) -> None:
        self.wanted.clear()
        self.pool.clear()
        self.pool.waitForDone(5000)
