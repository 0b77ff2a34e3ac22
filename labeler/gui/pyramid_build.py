"""Building a huge image's pyramid cache in the background when the window opens it.

A :class:`~labeler.core.tiles.TileSource` whose ``needs_pyramid`` is true (a PNG/JPEG/WebP over
the full-decode limit, a huge TIFF without a stored pyramid) cannot show its coarse levels yet.
The canvas paints a placeholder at once (``TiledImageItem`` draws only the levels the source's
``readable_now`` allows: a JPEG's 1/8 DCT draft and coarser; a TIFF's own tiles when zoomed in,
levels 0 to 2; else nothing) while this controller runs :meth:`TileSource.build_pyramid` in a
:class:`~labeler.gui.job_thread.JobThread`, with its progress in the status bar. When the build
succeeds the pyramid is attached on the GUI thread and the tiles are read as for any huge image.
Leaving the image cancels its build (between strips); closing the window waits for it.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QObject

from ..core.tiles import TileSource
from .job_thread import JobThread


def _tr(text: str) -> str:
    return QCoreApplication.translate("pyramid", text)


class PyramidBuildController(QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.session = None
        self.source: TileSource | None = None  # the image whose cache is being built
        self.job: JobThread | None = None
        self._jobs: list[JobThread] = []  # every thread still running (cancelled ones finish later)
        self.last_message = ""
        self.built: list[str] = []  # keys whose cache this window built, for tests and the log

    def attach(self, session) -> None:
        self.session = session
        session.image_opened.connect(self._on_image_opened)

    @property
    def running(self) -> bool:
        return self.job is not None

    def _say(self, text: str) -> None:
        self.last_message = text
        self.window.statusBar().showMessage(text, 0 if self.job is not None else 8000)

    def _on_image_opened(self, key: str) -> None:
        image = self.session.image if self.session is not None else None
        if self.job is not None and isinstance(image, TileSource) and image.path == self.source.path:
            self.source = image  # the same file again (reload): its build goes on, for this source
            return
        self.cancel()
        if not isinstance(image, TileSource) or not image.needs_pyramid:
            return
        self.source = image
        job = JobThread(lambda j, src=image: src.build_pyramid(j.context()))
        job.key = key
        job.progressed.connect(self._on_progress)
        job.succeeded.connect(self._on_built)
        job.failed.connect(self._on_failed)
        job.was_cancelled.connect(self._on_cancelled)
        job.finished.connect(self._on_finished)
        self.job = job
        self._jobs.append(job)
        self._say(_tr("{0}: building its pyramid (once), the image appears when it is ready").format(key))
        job.start()

    def _current(self) -> bool:
        return self.job is not None and self.sender() is self.job

    def _on_progress(self, done, total, _text: str) -> None:
        if self._current() and total:
            self._say(_tr("{0}: building its pyramid, {1}%").format(self.job.key, int(100 * done / total)))

    def _on_built(self, pyramid) -> None:
        if not self._current():
            return
        source, key = self.source, self.job.key
        self.job, self.source = None, None
        source.attach_pyramid(pyramid)
        self.built.append(key)
        item = self.window.canvas.tiled_image
        if self.session is not None and self.session.image is source:
            if source.tiff is not None and item.source is source:
                item.update()  # the TIFF's own tiles shown meanwhile stay; the coarse levels now read
            else:
                item.set_source(source)  # now ready: tiles are read (a JPEG's drafts dropped)
        self._say(_tr("{0}: pyramid ready").format(key))

    def _on_failed(self, text: str) -> None:
        if self._current():
            self.job, self.source = None, None
            self._say(_tr("cannot show the image: {0}").format(text))

    def _on_cancelled(self) -> None:
        if self._current():
            self.job, self.source = None, None

    def _on_finished(self) -> None:
        job = self.sender()
        if job in self._jobs:
            self._jobs.remove(job)
            job.deleteLater()

    def cancel(self) -> None:
        """Stop the running build (it ends at its next strip); its results are dropped."""
        if self.job is not None:
            self.job.cancel()
        self.job, self.source = None, None

    def shutdown(self, msecs: int = 30000) -> None:
        self.cancel()
        for job in list(self._jobs):
            job.cancel()
            job.wait(msecs)
