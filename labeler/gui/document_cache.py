"""The documents of the images left lately, kept with their undo history for when the user returns.

Going from image 5 to 6 and back to 5, Ctrl+Z still undoes the last edits made on 5: the session
keeps the :class:`~labeler.core.document.Document` of the open image and of the last
:data:`KEPT_IMAGES` images left, least recently used dropped first. A kept document is given back
only when nothing could have changed under it:

- its annotation file holds exactly what that document last wrote, or what it was read from if it
  never wrote (compared by a hash of the file's bytes, not by time stamps: a class rename can
  rewrite a file with the same size within the file system's time resolution);
- it has no unsaved edits (a failed write leaves it dirty; the session also drops it while a
  failed write of it is kept, so that write's edits come back the usual way, see save_queue.py);
- every class its history was made with still exists (a class renamed or removed while away
  would come back through undo or redo).

Otherwise the file is read as if the image had never been open: another program, a class rename,
a prediction, an import or autolabel wrote it meanwhile, and a history built on another file must
not be undone onto this one.

Memory: a document holds its shapes plus up to ``Document.max_undo`` (1000) undo steps, each
keeping the frozen shapes it replaced (shared with the other steps, never copied). Measured with
tracemalloc: 200 brush strokes on one mask of a 1000x1000 image (run-length counts growing to
33 kB) hold 5.4 MB; 400 polygon adds/moves (20 points) about 1 kB a step. So twenty documents of
ordinary polygon work take a few MB; twenty of long mask painting on large images can reach a few
hundred MB, which is why the count stays small and fixed. Pixels are not kept: the image is read
again on return, as it is today.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from ..core.document import Document

#: documents of this many images left are kept besides the open one's (no setting: see above)
KEPT_IMAGES = 20


def file_digest(path: str | Path) -> str | None:
    """A hash of the file's bytes; None when there is no file (or it cannot be read)."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    return hashlib.blake2b(data, digest_size=20).hexdigest()


@dataclass
class _Kept:
    document: Document
    digest: str | None  # of the annotation file the document's saved state is
    classes: frozenset[str] = field(default_factory=frozenset)  # class names when it was left


class DocumentCache:
    """Image key -> its document, for the open image and the last ``capacity`` images left."""

    def __init__(self, capacity: int = KEPT_IMAGES) -> None:
        self.capacity = capacity
        self._kept: OrderedDict[str, _Kept] = OrderedDict()

    def __len__(self) -> int:
        return len(self._kept)

    def __contains__(self, key: str) -> bool:
        return key in self._kept

    def keys(self) -> list[str]:
        """Least recently opened first."""
        return list(self._kept)

    def holds(self, key: str, document: Document) -> bool:
        entry = self._kept.get(key)
        return entry is not None and entry.document is document

    def opened(self, key: str, document: Document, digest: str | None) -> None:
        """``document`` is now shown for ``key``; its file's bytes hash to ``digest``."""
        old = self._kept.pop(key, None)
        classes = old.classes if old is not None and old.document is document else frozenset()
        self._kept[key] = _Kept(document, digest, classes)
        while len(self._kept) > self.capacity + 1:  # the open one is the newest: never dropped here
            self._kept.popitem(last=False)

    def written(self, key: str, document: Document, digest: str | None) -> None:
        """A write of ``document``'s state to ``key``'s file finished; the file now hashes to ``digest``."""
        if self.holds(key, document):
            self._kept[key].digest = digest

    def left(self, key: str, document: Document, classes, keep: bool = True) -> None:
        """The user leaves ``key``; ``classes``: the project's class names now. ``keep=False``
        (e.g. opened read-only) drops it."""
        if not keep or not self.holds(key, document):
            self._kept.pop(key, None)
            return
        self._kept[key].classes = frozenset(classes)

    def reuse(self, key: str, digest: str | None, classes) -> Document | None:
        """The kept document of ``key`` if its file still hashes to what it last matched, it has no
        unsaved edits and its classes all still exist; else None (and it is dropped)."""
        entry = self._kept.pop(key, None)
        if entry is None:
            return None
        if entry.digest != digest or entry.document.dirty or not entry.classes <= set(classes):
            return None
        self._kept[key] = entry  # newest again (opened() follows)
        return entry.document

    def drop(self, key: str) -> None:
        self._kept.pop(key, None)

    def clear(self) -> None:
        self._kept.clear()
