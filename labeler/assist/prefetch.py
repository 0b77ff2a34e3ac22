"""Prepare the images the user is about to open, in one background thread (Qt-free).

``Prefetcher.focus(items, index)`` says "the user is on ``items[index]``": the worker prepares
that image first (unless it is cached already), then the next ``ahead`` ones, into an
:class:`~labeler.assist.cache.EmbeddingCache`. The call returns at once with a
:class:`concurrent.futures.Future` for the current image; a window or a command can wait on it,
or attach a callback. Moving elsewhere cancels the queued work that is no longer wanted; an image
already being encoded finishes (an encoder cannot be stopped halfway) and its state is cached.

One thread is enough: torch releases the GIL while it computes, so the caller stays responsive,
and the engine's own threads already use the cores.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any, Callable, Hashable, Sequence

import numpy as np

from .cache import EmbeddingCache

#: ``on_ready(item, state)``, called on the worker thread when an item's state is ready.
ReadyCallback = Callable[[Hashable, Any], None]


class Prefetcher:
    """Keeps the states of ``items[index : index + 1 + ahead]`` ready while the user works.

    ``load(item) -> image`` reads an item (a path, a project key, ...). The states go into
    ``cache``, else the engine's own ``cache`` (as the SAM engine has), else a new in-memory one.
    ``ahead`` is capped so that the window fits the cache's memory: prefetching must never push
    the image being worked on out of it.
    """

    def __init__(self, engine, load: Callable[[Hashable], np.ndarray], *, ahead: int = 2,
                 cache: EmbeddingCache | None = None, on_ready: ReadyCallback | None = None) -> None:
        if ahead < 0:
            raise ValueError("ahead must be 0 or more")
        self.engine = engine
        self.load = load
        self.cache = cache or getattr(engine, "cache", None) or EmbeddingCache(memory_items=ahead + 2)
        self.ahead = min(ahead, self.cache.memory_items - 1)
        self.on_ready = on_ready
        self.failures: dict[Hashable, str] = {}
        self._cond = threading.Condition()
        self._queue: list[Hashable] = []
        self._futures: dict[Hashable, Future] = {}
        self._window: list[Hashable] = []
        self._running: Hashable | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._work, name="labeler-prefetch", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ caller side (never blocks)
    def focus(self, items: Sequence[Hashable], index: int) -> Future:
        """The user is on ``items[index]``: prepare it, then the next ``ahead``; drop stale work."""
        if not 0 <= index < len(items):
            raise IndexError(f"index {index} is outside a list of {len(items)} items")
        window = list(dict.fromkeys(items[index:index + 1 + self.ahead]))
        with self._cond:
            if self._closed:
                raise RuntimeError("the prefetcher is closed")
            for item in list(self._futures):
                if item not in window:
                    self._futures.pop(item).cancel()  # a no-op for work already running or done
            self._queue = []
            for item in window:
                future = self._futures.get(item)
                # the shown item is tried again after a failure (the file may be readable now);
                # the look-ahead ones are not, so a broken file is not re-read on every focus
                failed = item == window[0] and future is not None and future.done() \
                    and not future.cancelled() and future.exception() is not None
                if future is None or future.cancelled() or failed:
                    future = self._futures[item] = Future()
                if not future.done() and item != self._running:
                    self._queue.append(item)
            self._window = window
            self._cond.notify()
            return self._futures[window[0]]

    def future(self, item: Hashable) -> Future | None:
        """The future of an item in the current window (None when it is not in it)."""
        with self._cond:
            return self._futures.get(item)

    def state(self, item: Hashable) -> Any | None:
        """The item's state if it is ready now, else None."""
        future = self.future(item)
        if future is None or not future.done() or future.cancelled() or future.exception() is not None:
            return None
        return future.result()

    def ready(self) -> list[Hashable]:
        """The items of the current window whose states are ready, in window order."""
        with self._cond:
            window, futures = list(self._window), dict(self._futures)
        return [i for i in window if i in futures and futures[i].done() and not futures[i].cancelled()
                and futures[i].exception() is None]

    def pending(self) -> list[Hashable]:
        """What is queued (not yet started), in the order it will be prepared."""
        with self._cond:
            return list(self._queue)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until nothing is queued or running (for commands and tests); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and self._running is None, timeout)

    def close(self, timeout: float | None = 5.0) -> None:
        """Cancel what is queued, let the running item finish, stop the thread."""
        with self._cond:
            self._closed = True
            for item in self._queue:
                self._futures[item].cancel()
            self._queue = []
            self._cond.notify_all()
        self._thread.join(timeout)

    def __enter__(self) -> "Prefetcher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------------------- worker side
    def _prepare(self, image: np.ndarray) -> Any:
        if getattr(self.engine, "cache", None) is self.cache:  # the engine caches by itself
            return self.engine.prepare(image)
        return self.cache.get_or_prepare(self.engine, image)

    def _work(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._closed)
                if self._closed:
                    return
                item = self._queue.pop(0)
                future = self._futures[item]
                if not future.set_running_or_notify_cancel():
                    continue
                self._running = item
            try:
                state = self._prepare(self.load(item))
            except Exception as e:  # one bad image is reported, the rest go on
                self.failures[item] = f"{type(e).__name__}: {e}"
                future.set_exception(e)
            else:
                future.set_result(state)
                if self.on_ready is not None:
                    try:
                        self.on_ready(item, state)
                    except Exception as e:  # a broken callback must not kill the worker
                        self.failures[item] = f"on_ready failed: {type(e).__name__}: {e}"
            finally:
                with self._cond:
                    self._running = None
                    self._cond.notify_all()
