"""A one-time pyramid cache for huge images that cannot be read by region.

A PNG, JPEG or WebP over ``MAX_FULL_DECODE_PIXELS`` cannot be decoded a tile at a time, and a
huge TIFF without a stored pyramid would be streamed through whole at every zoom-out. So the
first open builds a cache, in a worker (:func:`build_pyramid`, with progress and cancel through a
:class:`~labeler.core.jobs.JobContext`), and every later read is a slice of a memory-mapped file.

Where: ``PROJECT/.labeler/pyramids/<key>/`` (:func:`project_cache_root`); outside a project the
caller chooses, :func:`user_cache_root` (``$XDG_CACHE_HOME/labeler/pyramids``) being the usual
choice; a project folder that cannot be written (read-only) falls back to the user's cache folder,
where the next opening looks too. ``<key>`` is the file's stem and a hash of its path relative to
the project (absolute outside it), its size, its mtime and a hash of its first and last 64 KiB:
an edited, replaced or moved image gets a new cache, and the old folder is removed when the new one
is built. The limit: a file changed only in its middle bytes, keeping its size, and given its old
mtime back (``touch -r``, or a file system whose coarse mtime cannot see the edit) keeps the old
cache. A file of the same size and mtime that is another picture (``cp -p``, ``rsync -a``, an
archive restoring mtimes) differs in its first bytes: its header and first compressed rows.

What: one uncompressed ``level_<k>.npy`` per level (``numpy.lib.format.open_memmap``, RGB uint8,
level ``k`` = the image scaled by ``1 / 2**k``) and ``pyramid.json`` naming the source and the
levels. PNG/JPEG/WebP caches start at level 0; a TIFF's cache starts at level
``TIFF_FIRST_CACHED_LEVEL``: finer levels are read from the TIFF's own tiles.

How: the image is decoded once in the worker, if the memory it needs is free (else a clear
error). Level 0 is copied into its memory map in row strips (peak memory about one decoded
image), the decoded image is dropped, and each coarser level is box-reduced from the previous
memory map in row strips. A TIFF is streamed through its tiles instead, never decoded whole.
Everything is written in ``<key>.partial-*`` and renamed into place after ``pyramid.json``: a
half-built cache is never used, and an incomplete or damaged one is removed and rebuilt. The disk
space of each level is reserved (``posix_fallocate``) before it is mapped: a disk that fills during
the build is an error, not a SIGBUS at the first page that finds no space.

One build per image at a time: a build holds ``<key>.lock`` (a ``filelock``), so a second process
or thread building the same image (the window and ``labeler pyramids``) waits for the first, can be
cancelled while it waits, and then finds the cache. Leftover ``.partial-*`` folders of the same key
are removed only under that lock, so they are never another live build's.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import numpy as np
from filelock import FileLock, Timeout
from numpy.lib.format import open_memmap
from PIL import Image, UnidentifiedImageError

from .errors import ImageReadError
from .fileio import write_json_atomic
from .jobs import Cancelled, JobContext
from .tiff_regions import box_reduce

if TYPE_CHECKING:
    from .tiles import TileSource

PYRAMIDS_FOLDER = Path(".labeler") / "pyramids"
MANIFEST = "pyramid.json"
VERSION = 1
#: a TIFF's levels finer than this are reduced on demand from its tiles (a level-2 tile reads 16
#: full-resolution 512-pixel tiles); this one and coarser come from the cache
TIFF_FIRST_CACHED_LEVEL = 3
STRIP_BYTES = 16 * 1024 * 1024  # rows copied or reduced per step: about this many source bytes
FINGERPRINT_BYTES = 64 * 1024  # read from each end of the file for the cache key
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)
_BANDS = {"1": 1, "L": 1, "P": 1, "RGB": 3, "RGBA": 4, "LA": 2, "I;16": 2, "I": 4, "F": 4, "CMYK": 4, "YCbCr": 3}


def project_cache_root(project_root: str | Path) -> Path:
    return Path(project_root) / PYRAMIDS_FOLDER


def user_cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "labeler" / "pyramids"


def cache_root_for(image_path: str | Path) -> Path | None:
    """The pyramid folder of the project an image lies in: the nearest folder above it that
    holds ``.labeler/`` (None when there is none)."""
    for folder in Path(image_path).resolve().parents:
        if (folder / ".labeler").is_dir():
            return folder / PYRAMIDS_FOLDER
    return None


def cache_key(image_path: str | Path, cache_root: str | Path) -> str:
    """``<stem>-<sha1 of (relative path, size, mtime_ns, first and last 64 KiB)>`` (see the module)."""
    path = Path(image_path).resolve()
    st = path.stat()
    project = Path(cache_root).resolve().parent.parent  # .../PROJECT/.labeler/pyramids
    try:
        name = path.relative_to(project).as_posix()
    except ValueError:
        name = path.as_posix()
    h = hashlib.sha1(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    with open(path, "rb") as f:
        h.update(f.read(FINGERPRINT_BYTES))
        if st.st_size > 2 * FINGERPRINT_BYTES:
            f.seek(st.st_size - FINGERPRINT_BYTES)
        h.update(f.read(FINGERPRINT_BYTES))
    digest = h.hexdigest()[:20]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", path.stem)[:40]
    return f"{stem}-{digest}"


class Pyramid:
    """A complete cache, read memory-mapped: ``read(level, ...)`` decodes nothing."""

    def __init__(self, folder: Path, size: tuple[int, int], first: int, maps: dict[int, np.ndarray]) -> None:
        self.folder, self.size, self.first, self.maps = folder, size, first, maps

    def has(self, level: int) -> bool:
        return level in self.maps

    def read(self, level: int, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
        return np.array(self.maps[level][y0:y1, x0:x1])

    @classmethod
    def open(cls, folder: Path, size: tuple[int, int]) -> "Pyramid | None":
        """The cache in ``folder``, or None when it is missing, half-written or does not match."""
        try:
            meta = json.loads((folder / MANIFEST).read_text("utf-8"))
            if meta.get("version") != VERSION or tuple(meta["size"]) != tuple(size):
                return None
            maps = {}
            for k, (h, w) in meta["levels"].items():
                mm = np.load(folder / f"level_{int(k)}.npy", mmap_mode="r")
                if mm.shape != (h, w, 3) or mm.dtype != np.uint8:
                    return None
                maps[int(k)] = mm
            return cls(folder, tuple(size), int(meta["first"]), maps) if maps else None
        except (OSError, ValueError, KeyError, TypeError):
            return None


def find_pyramid(path: str | Path, size: tuple[int, int], cache_root: str | Path | None) -> Pyramid | None:
    """The complete cache of ``path`` under ``cache_root``, else under :func:`user_cache_root` (where
    a build goes when ``cache_root`` cannot be written), else None."""
    roots = [Path(cache_root)] if cache_root is not None else []
    user = user_cache_root()
    if user not in roots:
        roots.append(user)
    for root in roots:
        try:
            found = Pyramid.open(root / cache_key(path, root), size)
        except OSError:
            continue
        if found is not None:
            return found
    return None


class BuildLock:
    """The lock a build of one cache key holds: ``<key>.lock`` locked with ``flock`` and removed on
    release. Removing it is safe: whoever locks a file that is no longer the one at that path (it
    was removed meanwhile) lets it go and locks the new one. Without ``flock`` (Windows) a
    :class:`filelock.FileLock`, whose file stays."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None
        self._fallback: FileLock | None = None

    def acquire(self, cancelled=lambda: False, poll: float = 0.1) -> "BuildLock":
        """Wait for the lock; raises :class:`~labeler.core.jobs.Cancelled` once ``cancelled()``."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            self._fallback = FileLock(str(self.path))
            while not cancelled():
                try:
                    self._fallback.acquire(timeout=poll)
                    return self
                except Timeout:
                    continue
            raise Cancelled("cancelled by the user")
        while True:
            if cancelled():
                raise Cancelled("cancelled by the user")
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                time.sleep(poll)
                continue
            except BaseException:
                os.close(fd)
                raise
            try:
                current = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                current = False
            if current:
                self._fd = fd
                return self
            os.close(fd)  # removed by the holder as it let go: lock the file now at that path

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)  # while still locked: nobody holds a lock on a removed file long
            os.close(self._fd)
            self._fd = None
        if self._fallback is not None:  # pragma: no cover - Windows
            self._fallback.release()
            self._fallback = None

    def __enter__(self) -> "BuildLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def build_lock(cache_root: str | Path, key: str) -> BuildLock:
    """The lock a build of ``key`` under ``cache_root`` holds (see the module)."""
    return BuildLock(Path(cache_root) / f"{key}.lock")


def _can_write(folder: Path) -> bool:
    """Whether files can be made in ``folder`` (made if missing): False on a read-only file system
    or without permission; other failures (a file in the way) raise OSError."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        if e.errno in _READ_ONLY:
            return False
        raise
    return os.access(folder, os.W_OK | os.X_OK)


def free_memory() -> int | None:
    """Bytes of memory available now (Linux ``MemAvailable``, else free pages), None if unknown."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    with contextlib.suppress(ValueError, OSError, AttributeError):
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return None


_pil_limit_lock = threading.Lock()


@contextlib.contextmanager
def pixel_limit_lifted() -> Iterator[None]:
    """Pillow's decompression-bomb limit off for one explicit open, restored afterwards."""
    with _pil_limit_lock:
        old = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = old


def build_pyramid(source: "TileSource", cache_root: str | Path, ctx: JobContext | None = None) -> Pyramid:
    """Build (or find) the cache of ``source``'s file under ``cache_root`` (the user's cache folder
    when that cannot be written); returns it opened.

    Raises :class:`ImageReadError` (naming the file) when it does not decode, or memory or disk
    space is short, or no folder can be written; :class:`~labeler.core.jobs.Cancelled` when
    ``ctx`` is cancelled (also while waiting for another build of the same file). Either way
    nothing is left behind."""
    ctx = ctx or JobContext()
    root = Path(cache_root)
    found = find_pyramid(source.path, source.size, root)
    if found is not None:
        return found
    try:
        writable = _can_write(root)
    except OSError as e:
        raise ImageReadError(source.path, f"cannot write its pyramid cache under {root}: {e}") from None
    if not writable:
        user = user_cache_root()
        try:
            usable = user != root and _can_write(user)
        except OSError:
            usable = False
        if not usable:
            raise ImageReadError(source.path, f"cannot write its pyramid cache under {root} (read-only) nor under "
                                              f"{user}; make one of them writable")
        root = user
    lock = build_lock(root, cache_key(source.path, root))
    try:
        lock.acquire(ctx.cancelled)  # another build of the same file: wait for it, cancellable
    except OSError as e:
        raise ImageReadError(source.path, f"cannot write its pyramid cache under {root}: {e}") from None
    try:
        return _build_locked(source, root, ctx)
    finally:
        lock.release()


def _build_locked(source: "TileSource", root: Path, ctx: JobContext) -> Pyramid:
    key = cache_key(source.path, root)
    final = root / key
    found = Pyramid.open(final, source.size)
    if found is not None:  # built by the build this one waited for
        return found
    first = min(TIFF_FIRST_CACHED_LEVEL if source.tiff is not None else 0, source.levels - 1)
    shapes = {k: source.level_size(k)[::-1] for k in range(first, source.levels)}
    partial = None
    try:
        need = sum(h * w * 3 for h, w in shapes.values())
        free = shutil.disk_usage(root).free
        if need > free:
            raise ImageReadError(source.path, f"its pyramid cache needs {need / 2**30:.1f} GiB on disk and "
                                              f"{root} has {free / 2**30:.1f} GiB free")
        for old in root.glob(f"{key}.partial-*"):  # a build that was killed half-way (live ones hold the lock)
            shutil.rmtree(old, ignore_errors=True)
        partial = Path(tempfile.mkdtemp(prefix=f"{key}.partial-", dir=root))
        _fill_levels(source, partial, first, shapes, ctx)
        write_json_atomic(partial / MANIFEST, {
            "version": VERSION, "source": str(source.path.resolve()), "size": list(source.size), "first": first,
            "levels": {str(k): list(hw) for k, hw in shapes.items()}})
        if final.exists():  # incomplete or stale: it was not opened above
            shutil.rmtree(final, ignore_errors=True)
        try:
            os.rename(partial, final)
        except OSError:  # another process (of an older labeler, without the lock) finished it first
            shutil.rmtree(partial, ignore_errors=True)
        partial = None
        _remove_older_versions(root, final, source.path)
    except OSError as e:
        raise ImageReadError(source.path, f"cannot write its pyramid cache under {root}: {e}") from None
    finally:
        if partial is not None:
            shutil.rmtree(partial, ignore_errors=True)
    pyramid = Pyramid.open(final, source.size)
    if pyramid is None:
        raise ImageReadError(source.path, f"the pyramid cache written to {final} cannot be read back")
    return pyramid


def _remove_older_versions(root: Path, keep: Path, path: Path) -> None:
    """Caches of earlier versions of the same file (another size or mtime): never read again."""
    for folder in root.glob(f"{keep.name.rsplit('-', 1)[0]}-*"):
        if folder == keep or ".partial-" in folder.name:
            continue
        try:
            source = json.loads((folder / MANIFEST).read_text("utf-8")).get("source")
        except (OSError, ValueError, AttributeError):
            continue
        if source == str(path.resolve()):
            shutil.rmtree(folder, ignore_errors=True)


def _fill_levels(source: "TileSource", folder: Path, first: int, shapes: dict, ctx: JobContext) -> None:
    """Write ``level_<k>.npy`` for every level of ``shapes`` into ``folder``, a strip per step."""
    steps = [(k, y0, min(h, y0 + _strip_rows(k, w, first))) for k, (h, w) in shapes.items()
             for y0 in range(0, h, _strip_rows(k, w, first))]
    if source.tiff is None:
        steps.insert(0, (-1, 0, 0))  # the one full decode
    maps = {}
    for k, (h, w) in shapes.items():
        maps[k] = open_memmap(folder / f"level_{k}.npy", mode="w+", dtype=np.uint8, shape=(h, w, 3))
        _reserve(folder / f"level_{k}.npy")
    decoded = None
    try:
        for k, y0, y1 in ctx.track(steps, len(steps), f"building the pyramid of {source.path.name}"):
            if k < 0:
                decoded = _decode_whole(source)
                continue
            w = shapes[k][1]
            if decoded is not None and k == 0:
                strip = decoded.crop((0, y0, w, y1))
                maps[0][y0:y1] = np.asarray(strip if strip.mode == "RGB" else strip.convert("RGB"))
                if y1 == shapes[0][0]:
                    decoded.close()
                    decoded = None  # level 0 is on disk: the decoded image goes before the reductions
            elif k == first and source.tiff is not None:
                maps[k][y0:y1] = source.tiff.read_region(k, 0, y0, w, y1)
            else:
                fh, fw = shapes[k - 1]
                maps[k][y0:y1] = box_reduce(maps[k - 1][y0 * 2:min(fh, y1 * 2), :fw], 2)
        for mm in maps.values():
            mm.flush()
    finally:
        if decoded is not None:
            decoded.close()
        maps.clear()


def _reserve(path: Path) -> None:
    """Allocate the disk blocks of a (sparse) level file now: ENOSPC here, not a SIGBUS when a page
    of its memory map is written. A file system that cannot preallocate is left as it is."""
    fallocate = getattr(os, "posix_fallocate", None)
    if fallocate is None:  # pragma: no cover - macOS, Windows
        return
    fd = os.open(path, os.O_RDWR)
    try:
        fallocate(fd, 0, os.fstat(fd).st_size)
    except OSError as e:
        if e.errno not in (errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
            raise
    finally:
        os.close(fd)


def _strip_rows(level: int, width: int, first: int) -> int:
    if level == first and level > 0:  # streamed from a TIFF: whole tile rows of the finer level
        return max(1, 512 // 2 ** level)
    return max(1, STRIP_BYTES // max(1, width * 3 * (2 if level else 1)))


def _decode_whole(source: "TileSource") -> Image.Image:
    """The one full decode of a file that cannot be read by region (in the worker)."""
    w, h = source.size
    path = source.path
    try:
        with pixel_limit_lifted():
            im = Image.open(path)
        need = w * h * _BANDS.get(im.mode, 4) + w * 3 * 1024
        avail = free_memory()
        if avail is not None and need > avail:
            im.close()
            raise ImageReadError(path, f"building its pyramid cache decodes it once, which needs about "
                                       f"{need / 2**30:.1f} GiB of memory; only {avail / 2**30:.1f} GiB is free")
        im.load()
    except ImageReadError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, MemoryError) as e:
        raise ImageReadError(path, f"image does not decode (truncated or corrupt): {e}") from None
    source.full_decodes += 1
    return im
