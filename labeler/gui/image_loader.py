"""Loading an image and its annotation off the GUI thread, and prefetching the next one.

:func:`load_image` does the slow part (annotation parse, image decode; for huge images only the
header, and a :class:`~labeler.core.tiles.TileSource` that the canvas reads tile by tile).
:class:`ImageLoader` runs it in a one-thread pool and hands the result back on the GUI thread;
it also keeps one prefetched result, used when its files have not changed since.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage

from ..core.annotation import ImageAnnotation
from ..core.errors import LabelerError
from ..core.images import image_size, read_image
from ..core.project import Project
from ..core.pyramid_cache import project_cache_root
from ..core.tiles import TileSource, should_tile
from .document_cache import file_digest
from .tiled_image import rgb_to_qimage


@dataclass
class LoadedImage:
    index: int
    key: str
    annotation: ImageAnnotation | None
    problems: list[str] = field(default_factory=list)
    image: QImage | TileSource | None = None
    error: str = ""
    thread: int = 0  # ident of the thread that did the reading
    stamps: tuple = ()  # (mtime_ns, size) of the annotation and image files when read
    digest: str | None = None  # hash of the annotation file's bytes when read (None: no file)


def _stamps(project: Project, key: str) -> tuple:
    out = []
    for p in (project.annotation_path(key), project.image_path(key)):
        try:
            st = os.stat(p)
            out.append((st.st_mtime_ns, st.st_size))
        except OSError:
            out.append(None)
    return tuple(out)


def load_image(project: Project, index: int, key: str) -> LoadedImage:
    """Read image ``key``'s annotation and pixels (or a tile source); errors become messages."""
    stamps = _stamps(project, key)
    digest = file_digest(project.annotation_path(key))  # a kept document is reused only if it matches
    try:
        ann, problems = project.load_with_problems(key, strict=False)
    except LabelerError as e:
        ann, problems = None, [str(e)]
    image, error = None, ""
    path = project.image_path(key)
    try:
        w, h = image_size(path)
        image = (TileSource(path, cache_root=project_cache_root(project.root)) if should_tile(w, h)
                 else rgb_to_qimage(read_image(path)))
    except LabelerError as e:
        error = str(e)
    return LoadedImage(index, key, ann, problems, image, error, threading.get_ident(), stamps, digest)


class _Bridge(QObject):
    done = Signal(object)


class _LoadJob(QRunnable):
    def __init__(self, bridge: _Bridge, project: Project, index: int, key: str, prefetch: bool) -> None:
        super().__init__()
        self.bridge, self.project, self.index, self.key, self.prefetch = bridge, project, index, key, prefetch

    def run(self) -> None:
        result = load_image(self.project, self.index, self.key)
        self.bridge.done.emit((result, self.prefetch))


class ImageLoader:
    """Loads in one worker thread; ``on_loaded(LoadedImage)`` is called on the GUI thread for the
    latest :meth:`request` only (an image skipped past while it loaded is dropped)."""

    def __init__(self, project: Project, on_loaded: Callable[[LoadedImage], None]) -> None:
        self.project = project
        self.on_loaded = on_loaded
        self.pool = QThreadPool()
        self.pool.setMaxThreadCount(1)
        self.bridge = _Bridge()
        self.bridge.done.connect(self._on_done)
        self.wanted: tuple[int, str] | None = None
        self.prefetched: LoadedImage | None = None
        self._prefetching: tuple[int, str] | None = None

    @property
    def busy(self) -> bool:
        return self.wanted is not None

    def request(self, index: int, key: str) -> bool:
        """Start loading; True when a fresh prefetched copy was delivered at once instead."""
        p = self.prefetched
        if p is not None and p.key == key and p.stamps == _stamps(self.project, key):
            self.prefetched = None
            self.wanted = None
            self.on_loaded(p)
            return True
        self.wanted = (index, key)
        if self._prefetching != (index, key):  # else the running prefetch becomes the load
            self.pool.start(_LoadJob(self.bridge, self.project, index, key, False))
        return False

    def prefetch(self, index: int, key: str) -> None:
        if self.prefetched is not None and self.prefetched.key == key:
            return
        self.prefetched = None
        self._prefetching = (index, key)
        self.pool.start(_LoadJob(self.bridge, self.project, index, key, True))

    def _on_done(self, payload) -> None:
        result, was_prefetch = payload
        if was_prefetch and self._prefetching == (result.index, result.key):
            self._prefetching = None
        if self.wanted == (result.index, result.key):
            if result.stamps != _stamps(self.project, result.key):
                # its files changed since they were read (a prefetch that ran while the image's
                # save was still being written): read them again, never show the older state
                self.pool.start(_LoadJob(self.bridge, self.project, result.index, result.key, False))
                return
            self.wanted = None
            self.on_loaded(result)
        elif was_prefetch:
            self.prefetched = result

    def cancel(self) -> None:
        self.wanted = None

    def wait(self, msecs: int = 10000) -> bool:
        return self.pool.waitForDone(msecs)

    def shutdown(self) -> None:
        self.wanted = None
        self.pool.clear()
        self.pool.waitForDone(10000)


class _CallJob(QRunnable):
    def __init__(self, bridge: _Bridge, fn: Callable[[], object]) -> None:
        super().__init__()
        self.bridge, self.fn = bridge, fn

    def run(self) -> None:
        self.bridge.done.emit(self.fn())


class BackgroundCall:
    """Run ``fn()`` in a worker thread; ``on_done(result)`` then runs on the GUI thread."""

    def __init__(self, fn: Callable[[], object], on_done: Callable[[object], None]) -> None:
        self.pool = QThreadPool()
        self.pool.setMaxThreadCount(1)
        self.bridge = _Bridge()
        self.bridge.done.connect(on_done)
        self.pool.start(_CallJob(self.bridge, fn))

    def wait(self, msecs: int = 10000) -> bool:
        return self.pool.waitForDone(msecs)
