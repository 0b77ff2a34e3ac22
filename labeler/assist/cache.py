"""A cache of prepared engine states (image embeddings): in memory (LRU) and on disk.

Keys are ``<engine.cache_key>/<image content hash>``: the same pixels under the same model hit,
whatever the file is called; another model or another image misses. Any engine's state can live
in memory; it is written to disk only for engines that can serialise it, i.e. that define
``state_to_dict(state) -> dict`` of tensors/numbers/strings and ``state_from_dict(d) -> state``.
Disk entries are written atomically with ``torch.save`` and read with ``weights_only=True``; a
damaged entry is ignored (and replaced), never trusted.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from ..core.fileio import atomic_open


def image_digest(image: np.ndarray) -> str:
    """A hash of an image's pixels, shape and dtype (not its file name)."""
    arr = np.ascontiguousarray(image)
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{arr.shape}|{arr.dtype.str}|".encode())
    h.update(memoryview(arr).cast("B"))
    return h.hexdigest()


def _safe_name(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


class EmbeddingCache:
    """``get_or_prepare(engine, image)``: the engine's state for the image, computed at most once."""

    def __init__(self, memory_items: int = 8, folder: str | Path | None = None) -> None:
        if memory_items < 1:
            raise ValueError("the cache must hold at least one state in memory")
        self.memory_items = memory_items
        self.folder = Path(folder) if folder is not None else None
        self._memory: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.disk_hits = self.misses = 0

    @staticmethod
    def key(engine, image: np.ndarray) -> str:
        return f"{engine.cache_key}/{image_digest(image)}"

    def _path(self, key: str) -> Path | None:
        return None if self.folder is None else self.folder / f"{_safe_name(key)}.pt"

    def get(self, engine, key: str) -> Any | None:
        with self._lock:
            if key in self._memory:
                self._memory.move_to_end(key)
                self.hits += 1
                return self._memory[key]
        path = self._path(key)
        if path is None or not path.is_file() or not hasattr(engine, "state_from_dict"):
            return None
        try:
            import torch

            data = torch.load(path, map_location="cpu", weights_only=True)
            if not isinstance(data, dict) or data.get("key") != key:
                raise ValueError("entry belongs to another key")
            state = engine.state_from_dict(data["state"])
        except Exception:  # a truncated or foreign file: recompute and overwrite it
            return None
        self.disk_hits += 1
        self._remember(key, state)
        return state

    def put(self, engine, key: str, state: Any, disk: bool = True) -> None:
        """Keep ``state`` under ``key`` in memory, and on disk unless ``disk`` is False."""
        self._remember(key, state)
        path = self._path(key)
        if disk and path is not None and hasattr(engine, "state_to_dict"):
            import torch

            with atomic_open(path, "wb") as f:
                torch.save({"key": key, "state": engine.state_to_dict(state)}, f)

    def _remember(self, key: str, state: Any) -> None:
        with self._lock:
            self._memory[key] = state
            self._memory.move_to_end(key)
            while len(self._memory) > self.memory_items:
                self._memory.popitem(last=False)

    def get_or_prepare(self, engine, image: np.ndarray, compute=None) -> Any:
        """The cached state, or ``compute(image)`` (default ``engine.prepare``) stored for next time."""
        key = self.key(engine, image)
        state = self.get(engine, key)
        if state is None:
            self.misses += 1
            state = (compute or engine.prepare)(image)
            self.put(engine, key, state)
        return state

    def __contains__(self, key: str) -> bool:
        return key in self._memory

    def on_disk(self, key: str) -> bool:
        """Whether the disk folder has an entry for ``key`` (not read, so not checked for damage)."""
        path = self._path(key)
        return path is not None and path.is_file()
