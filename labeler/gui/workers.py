"""Running slow calls off the GUI thread and getting their results back on it.

:class:`Worker` owns a ``QThreadPool``; :meth:`Worker.submit` runs ``fn()`` in it and calls
``on_done(result)`` or ``on_error(exception)`` later on the GUI thread (a queued Qt signal
carries them across). A submitted call cannot be interrupted; callers that may no longer want
a result tag their calls and drop stale answers when they arrive.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


class _Bridge(QObject):
    finished = Signal(object, object, object)  # callback, value, error


class _Call(QRunnable):
    def __init__(self, bridge: _Bridge, fn: Callable[[], Any], on_done, on_error) -> None:
        super().__init__()
        self.bridge, self.fn, self.on_done, self.on_error = bridge, fn, on_done, on_error

    def run(self) -> None:
        try:
            value = self.fn()
        except Exception as e:  # reported on the GUI thread, never lost in the worker
            self.bridge.finished.emit(self.on_error, None, e)
            return
        self.bridge.finished.emit(self.on_done, value, None)


class Worker(QObject):
    """A small thread pool whose results come back on the GUI thread."""

    def __init__(self, threads: int = 1, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max(1, threads))
        self._bridge = _Bridge(self)
        self._bridge.finished.connect(self._deliver)
        self.pending = 0  # calls submitted whose callbacks have not run yet
        self._closed = False

    def submit(self, fn: Callable[[], Any], on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[BaseException], None] | None = None, priority: int = 0) -> None:
        """Run ``fn()`` in the pool (higher ``priority`` first among the queued)."""
        self.pending += 1
        self.pool.start(_Call(self._bridge, fn, on_done, on_error), priority)

    def _deliver(self, callback, value, error) -> None:
        self.pending -= 1
        if callback is not None:
            callback(error if error is not None else value)

    @property
    def busy(self) -> bool:
        return self.pending > 0

    def wait(self, msecs: int = 10000) -> bool:
        return self.pool.waitForDone(msecs)

    def shutdown(self, msecs: int = 10000) -> None:
        """Drop the queued calls and wait for the running ones (their callbacks never run)."""
        self.pool.clear()
        self.pool.waitForDone(msecs)
        if not self._closed:
            self._closed = True
            self._bridge.finished.disconnect(self._deliver)
