"""Atomic file writes and safe path joining.

A write goes to a temporary file in the same folder, is fsynced, then replaces the target with
``os.replace``: a crash at any instant leaves either the old file or the new one, never a mix.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterator

from .errors import UnsafePathError


def _process_umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it: put it straight back
    os.umask(mask)
    return mask


#: read once, at import: new files get ``0o666 & ~umask``, as a plain ``open()`` would give them
_UMASK = _process_umask()

_deferred = contextvars.ContextVar("labeler_deferred_sync", default=False)
_write_listeners: list = []
_listeners_lock = threading.Lock()


@contextlib.contextmanager
def recording_writes(listener):
    """Inside this scope, ``listener(path)`` is told the absolute path of every file an atomic
    write puts in place, from any thread (an export uses it to list the files it wrote)."""
    with _listeners_lock:
        _write_listeners.append(listener)
    try:
        yield
    finally:
        with _listeners_lock:
            _write_listeners.remove(listener)


@contextlib.contextmanager
def deferred_sync():
    """Inside this scope, atomic writes skip their per-file fsyncs; one ``os.sync()`` at the end
    makes everything durable. Each file is still replaced atomically (a crash leaves the old
    file or the new one), but a bulk export of thousands of files is no longer bound by fsync."""
    if _deferred.get():
        yield
        return
    token = _deferred.set(True)
    try:
        yield
    finally:
        _deferred.reset(token)
        os.sync()


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[Any]:
    """Open a temporary file next to ``path``; on success it atomically becomes ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        _give_mode(fd, tmp, path)
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
            f.flush()
            if not _deferred.get():
                os.fsync(f.fileno())
        os.replace(tmp, path)
        if not _deferred.get():
            fsync_dir(path.parent)
        for listener in tuple(_write_listeners):
            listener(os.path.abspath(path))
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _give_mode(fd: int, tmp: str, path: Path) -> None:
    """mkstemp makes the temporary file 0600: give it the mode of the file it replaces, or for a
    new file the mode ``open()`` would (others can read annotations and exports, as with labelme)."""
    try:
        mode = path.stat().st_mode & 0o7777
    except OSError:
        mode = 0o666 & ~_UMASK
    if hasattr(os, "fchmod"):
        os.fchmod(fd, mode)
    else:  # pragma: no cover - Windows: only the read-only bit exists
        os.chmod(tmp, mode)


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in ``folder`` durable (where the platform allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    with atomic_open(path, "wb") as f:
        f.write(data)


def write_json_atomic(path: str | os.PathLike, obj: Any, indent: int | None = 2) -> None:
    text = json.dumps(obj, indent=indent, ensure_ascii=False)
    write_bytes_atomic(path, text.encode("utf-8"))


def save_image_atomic(path: str | os.PathLike, image, **save_kwargs) -> None:
    """Save a PIL image atomically; the format comes from the target's extension."""
    path = Path(path)
    fmt = save_kwargs.pop("format", None) or _pil_format(path)
    with atomic_open(path, "wb") as f:
        image.save(f, format=fmt, **save_kwargs)


def link_or_copy_atomic(src: str | os.PathLike, dst: str | os.PathLike) -> bool:
    """Put ``src`` at ``dst`` as a hard link when both are on one file system, else as a copy;
    either way atomically (through a temporary name and ``os.replace``) and told to the listeners
    of :func:`recording_writes` like any atomic write. Returns True when it linked."""
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.parent / f".{dst.name}.{os.getpid()}.{threading.get_ident()}.link.tmp"
    try:
        os.link(src, tmp)
    except OSError:  # another file system, no hard links there, or no permission: copy instead
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        with open(src, "rb") as fin, atomic_open(dst, "wb") as fout:
            shutil.copyfileobj(fin, fout)
        return False
    try:
        os.replace(tmp, dst)  # when dst already is a link to src, POSIX leaves both names in place
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    if not _deferred.get():
        fsync_dir(dst.parent)
    for listener in tuple(_write_listeners):
        listener(os.path.abspath(dst))
    return True


def _pil_format(path: Path) -> str:
    ext = path.suffix.lower()
    return {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".tif": "TIFF",
            ".tiff": "TIFF", ".webp": "WEBP"}.get(ext, "PNG")


def safe_join(root: str | os.PathLike, relative: str) -> Path:
    """Join a path that comes from a dataset onto ``root``, refusing anything that escapes it.

    Absolute paths, drive letters and ``..`` components that climb out of ``root`` raise
    :class:`UnsafePathError`.
    """
    root = Path(root).resolve()
    rel = str(relative).replace("\\", "/")
    if rel.startswith("/") or (len(rel) > 1 and rel[1] == ":"):
        raise UnsafePathError(f"{relative!r} is an absolute path; it must be relative to {root}")
    candidate = (root / rel).resolve()
    if candidate != root and root not in candidate.parents:
        raise UnsafePathError(f"{relative!r} resolves outside {root}")
    return candidate
