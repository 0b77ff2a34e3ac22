"""Prefetch: the next images are prepared in the background, stale work is dropped, the caller
never waits; with a fake slow engine and with the tiny random-weight SAM."""

import threading
import time

import numpy as np
import pytest

from labeler.assist.cache import EmbeddingCache
from labeler.assist.engine import Prompts
from labeler.assist.prefetch import Prefetcher
from labeler.plugins.sam import SamEngine

from .synthetic import scene
from .test_sam import save_tiny


class SlowEngine:
    """prepare() takes ``delay`` seconds, or waits for ``gates[item]`` to open; records its calls."""

    name, accepts, cache_key = "slow", frozenset(), "slow:v1"

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls: list[int] = []
        self.gates: dict[int, threading.Event] = {}
        self.started = threading.Event()

    def prepare(self, image):
        item = int(image[0, 0, 0])
        self.calls.append(item)
        self.started.set()
        if item in self.gates:
            assert self.gates[item].wait(10)
        time.sleep(self.delay)
        return {"item": item}

    def propose(self, state, prompts):
        return []


def load(item):
    if item == 13:
        raise OSError("image 13 is unreadable")
    return np.full((4, 4, 3), item, np.uint8)


ITEMS = list(range(20))


def test_focus_returns_at_once_and_the_next_images_follow_in_order():
    engine = SlowEngine(delay=0.15)
    seen = []
    with Prefetcher(engine, load, ahead=2, cache=EmbeddingCache(4),
                    on_ready=lambda item, state: seen.append((item, state["item"]))) as pre:
        t0 = time.perf_counter()
        current = pre.focus(ITEMS, 5)
        assert time.perf_counter() - t0 < 0.05 and not current.done()  # prepare takes 0.15 s
        assert current.result(timeout=5) == {"item": 5}
        assert pre.wait_idle(5)
        assert engine.calls == [5, 6, 7] and seen == [(5, 5), (6, 6), (7, 7)]
        assert pre.ready() == [5, 6, 7] and pre.state(6) == {"item": 6} and pre.state(8) is None
        # one step on: only the new image is prepared; the others come from the cache
        pre.focus(ITEMS, 6)
        assert pre.wait_idle(5)
        assert engine.calls == [5, 6, 7, 8] and pre.ready() == [6, 7, 8]
        # back to an image that is still in the cache: no work for the engine
        assert pre.focus(ITEMS, 5).result(timeout=5) == {"item": 5}
        assert engine.calls == [5, 6, 7, 8]


def test_jumping_elsewhere_cancels_the_queued_work():
    engine = SlowEngine()
    engine.gates[0] = threading.Event()
    with Prefetcher(engine, load, ahead=3, cache=EmbeddingCache(8)) as pre:
        pre.focus(ITEMS, 0)
        assert engine.started.wait(5)  # image 0 is being encoded, 1..3 wait in the queue
        stale = [pre.future(i) for i in (1, 2, 3)]
        assert pre.pending() == [1, 2, 3]
        current = pre.focus(ITEMS, 10)  # the user jumps while image 0 is still running
        assert pre.pending() == [10, 11, 12, 13]
        assert all(f.cancelled() for f in stale) and pre.future(1) is None
        engine.gates[0].set()
        assert current.result(timeout=5) == {"item": 10}
        assert pre.wait_idle(5)
    # 0 finished (an encoder cannot stop halfway), 1..3 never ran; 13 failed and said why
    assert engine.calls == [0, 10, 11, 12]
    assert "image 13 is unreadable" in pre.failures[13]
    assert isinstance(pre.future(13).exception(), OSError)
    assert pre.ready() == [10, 11, 12]


def test_the_window_never_outgrows_the_memory_cache():
    pre = Prefetcher(SlowEngine(), load, ahead=10, cache=EmbeddingCache(memory_items=3))
    try:
        assert pre.ahead == 2  # the current image plus two fit in three slots
        pre.focus(ITEMS, 17)
        assert pre.wait_idle(5) and pre.ready() == [17, 18, 19]  # the list ends there
        with pytest.raises(IndexError):
            pre.focus(ITEMS, 20)
    finally:
        pre.close()
    with pytest.raises(RuntimeError, match="closed"):
        pre.focus(ITEMS, 0)


def test_sam_prefetch_fills_its_cache_and_a_click_is_not_held_up_by_an_encoding(tmp_path):
    path = tmp_path / "tiny.pth"
    save_tiny(path)
    images = [scene("ellipse", seed=s)[0] for s in range(4)]
    engine = SamEngine(path, device="cpu", memory_items=4)
    with Prefetcher(engine, images.__getitem__, ahead=2) as pre:
        assert pre.cache is engine.cache  # the engine's own cache
        state = pre.focus(range(4), 0).result(timeout=30)
        assert pre.wait_idle(30) and engine.encoder_runs == 3
        assert engine.prepare(images[2]) is pre.state(2)  # what the window will ask for is ready
        assert engine.encoder_runs == 3
        # an encoding in the background (held half-way here) must not block propose()
        encoder = engine._encoder
        release, inside = threading.Event(), threading.Event()
        original = encoder.set_image

        def slow_set_image(*args, **kwargs):
            original(*args, **kwargs)
            inside.set()
            assert release.wait(10)

        encoder.set_image = slow_set_image
        try:
            pre.focus(range(4), 1)  # image 3 starts encoding
            assert inside.wait(30)
            t0 = time.perf_counter()
            proposals = engine.propose(state, Prompts(positive=[(100, 75)]))
            assert time.perf_counter() - t0 < 5 and len(proposals) == 3
            assert not pre.future(3).done()
        finally:
            release.set()
        assert pre.wait_idle(30) and pre.ready() == [1, 2, 3] and engine.encoder_runs == 4


def test_a_failed_prepare_of_the_shown_item_is_tried_again_on_the_next_focus():
    readable = threading.Event()

    def flaky(item):
        if item == 3 and not readable.is_set():
            raise OSError("image 3 is still being copied")
        return np.full((4, 4, 3), item, np.uint8)

    engine = SlowEngine()
    with Prefetcher(engine, flaky, ahead=1, cache=EmbeddingCache(4)) as pre:
        first = pre.focus(ITEMS, 3)
        with pytest.raises(OSError, match="still being copied"):
            first.result(timeout=5)
        readable.set()
        second = pre.focus(ITEMS, 3)  # the next prompt on the same image asks again
        assert second is not first and second.result(timeout=5) == {"item": 3}
        look_ahead_failures = []

        def broken_ahead(item):
            if item == 6:
                look_ahead_failures.append(item)
                raise OSError("image 6 is unreadable")
            return np.full((4, 4, 3), item, np.uint8)

    with Prefetcher(SlowEngine(), broken_ahead, ahead=1, cache=EmbeddingCache(4)) as pre:
        pre.focus(ITEMS, 5).result(timeout=5)
        with pytest.raises(OSError):
            pre.future(6).result(timeout=5)
        pre.focus(ITEMS, 5).result(timeout=5)
        time.sleep(0.1)
        assert look_ahead_failures == [6]  # a look-ahead failure is not retried on every focus
