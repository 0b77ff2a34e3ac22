"""A small cache of every image's status, so a big project opens without parsing its annotations.

``.labeler/status.json`` in the project maps each image key to its status and to the size and
modification time (ns) of its annotation file when that status was read. On open, an entry whose
file still has that size and mtime is trusted; an image without a file is "new" (no read
either); anything else is *stale* and is read again, lazily, by whoever calls :meth:`refresh`
(the GUI does it in a worker). Saving an annotation records its new status and stamp at once.

Each entry also holds how many proposals (shapes awaiting review, ``Shape.is_proposal``) the file
has, so the file list can show and filter the images a reviewer still has to look at; an entry
from before counts were kept is stale (read once more).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable

from .fileio import write_json_atomic
from .project import Project
from .shapes import flagged_as_proposal

INDEX_FILE = Path(".labeler") / "status.json"
INDEX_VERSION = 1
UNKNOWN = "unknown"  # shown until a stale entry has been read again


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def read_status(path: Path) -> str:
    """The status written in one annotation file ("unreadable" when it cannot be parsed)."""
    return read_entry(path)[0]


def count_proposals(shapes) -> int:
    """How many of a file's shape objects (labelme dicts) are proposals awaiting review."""
    n = 0
    for d in shapes if isinstance(shapes, list) else ():
        if isinstance(d, dict):
            ext = d.get("labeler") if isinstance(d.get("labeler"), dict) else {}
            flags = d.get("flags") if isinstance(d.get("flags"), dict) else {}
            n += flagged_as_proposal(str(ext.get("source", "manual")), flags)
    return n


def read_entry(path: Path) -> tuple[str, int]:
    """``(status, proposals)`` of one annotation file, parsed once (``("unreadable", 0)`` when it
    cannot be parsed)."""
    try:
        d = json.loads(Path(path).read_text("utf-8"))
        return str((d.get("labeler") or {}).get("status", "new")), count_proposals(d.get("shapes"))
    except (OSError, ValueError, AttributeError):
        return "unreadable", 0


class StatusIndex:
    """Statuses by image key, cached on disk with each annotation file's (mtime, size) stamp."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.path = project.root / INDEX_FILE
        self.reads = 0  # annotation files parsed: what this cache is here to avoid
        self.dirty = False
        self._entries: dict[str, dict] = self._load()

    def _load(self) -> dict[str, dict]:
        try:
            d = json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError):
            return {}  # missing or damaged: it is only a cache, so start again
        if not isinstance(d, dict) or d.get("version") != INDEX_VERSION or not isinstance(d.get("entries"), dict):
            return {}
        return {k: v for k, v in d["entries"].items() if isinstance(v, dict)}

    def lookup(self, keys: Iterable[str]) -> tuple[dict[str, str], list[str]]:
        """``(statuses, stale)``: every key's status (``UNKNOWN`` for the stale ones), and the keys
        whose annotation changed since it was indexed. Only stats files; parses none."""
        statuses: dict[str, str] = {}
        stale: list[str] = []
        for key in keys:
            stamp = _stamp(self.project.annotation_file(key))
            if stamp is None:
                statuses[key] = "new"
                if self._entries.pop(key, None) is not None:
                    self.dirty = True
                continue
            e = self._entries.get(key)
            if e is not None and (e.get("mtime_ns"), e.get("size")) == stamp and isinstance(e.get("status"), str) \
                    and "proposals" in e:
                statuses[key] = e["status"]
            else:
                statuses[key] = UNKNOWN
                stale.append(key)
        return statuses, stale

    def refresh(self, keys: Iterable[str]) -> dict[str, str]:
        """Read the status of these keys from their files (thread-safe for distinct keys)."""
        out = {}
        for key in keys:
            out[key] = self.record(key, None)
        return out

    def record(self, key: str, status: str | None, proposals: int | None = None) -> str:
        """Index ``key``'s annotation as it is on disk now; ``status`` (and ``proposals``, its
        number of proposals) when the caller knows it (just saved), else read from the file. A
        status given without a count leaves the count unknown (None: shown as none)."""
        path = self.project.annotation_path(key)
        stamp = _stamp(path)
        if stamp is None:
            self._entries.pop(key, None)
            self.dirty = True
            return "new"
        if status is None:
            self.reads += 1
            status, proposals = read_entry(path)
        self._entries[key] = {"status": status, "mtime_ns": stamp[0], "size": stamp[1], "proposals": proposals}
        self.dirty = True
        return status

    def proposal_counts(self, keys: Iterable[str]) -> dict[str, int]:
        """How many proposals each key's file had when indexed (0 when unknown or not indexed)."""
        out = {}
        for key in keys:
            n = (self._entries.get(key) or {}).get("proposals")
            out[key] = n if isinstance(n, int) else 0
        return out

    def save(self) -> bool:
        """Write the index if it changed and the project may be written; False if not written."""
        if not self.dirty or self.project.read_only:
            return False
        try:
            write_json_atomic(self.path, {"version": INDEX_VERSION, "entries": dict(self._entries)}, indent=None)
        except OSError:
            return False  # a cache: failing to write it loses nothing
        self.dirty = False
        return True
