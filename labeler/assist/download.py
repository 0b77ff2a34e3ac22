"""The official segment-anything checkpoints, and a resumable, verified downloader (urllib only).

``CHECKPOINTS`` lists Meta's three SAM checkpoints with their file names, URLs, sizes and SHA-256
checksums (the checksums as published by several independent projects that pin them, e.g.
micro-sam's model registry and 3D Slicer's SegmentWithSAM; Meta publishes no checksum file).

``download(url, dest, sha256=..., size=...)`` streams into ``dest + ".part"``; an interrupted
transfer is resumed with an HTTP ``Range`` request (now, up to ``retries`` times, or on the next
call), the finished file is checked against its size and SHA-256 (a mismatch deletes the partial
file and raises), and only then is it renamed onto ``dest`` in one atomic step.

``resolve_checkpoint("vit_b" | PATH)`` is what every command and engine uses: a model name gives
its file in the user cache (``$LABELER_CACHE_DIR/checkpoints``, else ``~/.cache/labeler/checkpoints``),
downloading it first only when asked to; any other string is a local checkpoint file.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..core.errors import LabelerError
from ..core.fileio import fsync_dir

CACHE_ENV = "LABELER_CACHE_DIR"
CHUNK = 1 << 20

#: ``progress(done_bytes, total_bytes_or_None)``, called as bytes arrive (and once at the start).
Progress = Callable[[int, "int | None"], None]


class DownloadError(LabelerError):
    """A download failed, was interrupted, or did not match its checksum."""


@dataclass(frozen=True)
class Checkpoint:
    name: str
    filename: str
    url: str
    size: int
    sha256: str


_BASE = "https://dl.fbaipublicfiles.com/segment_anything/"
CHECKPOINTS: dict[str, Checkpoint] = {c.name: c for c in (
    Checkpoint("vit_b", "sam_vit_b_01ec64.pth", _BASE + "sam_vit_b_01ec64.pth", 375_042_383,
               "ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912"),
    Checkpoint("vit_l", "sam_vit_l_0b3195.pth", _BASE + "sam_vit_l_0b3195.pth", 1_249_524_607,
               "3adcc4315b642a4d2101128f611684e8734c41232a17c648ed1693702a49a622"),
    Checkpoint("vit_h", "sam_vit_h_4b8939.pth", _BASE + "sam_vit_h_4b8939.pth", 2_564_550_879,
               "a7bf3b02f3ebf1267aba913ff637d9a2d5c33d3173bb679e46d9f338c26f262e"),
)}


def cache_root() -> Path:
    """The user's labeler cache: ``$LABELER_CACHE_DIR``, else ``$XDG_CACHE_HOME/labeler``, else
    ``~/.cache/labeler``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "labeler"


def checkpoint_dir() -> Path:
    return cache_root() / "checkpoints"


def checkpoint_path(name: str) -> Path:
    """Where the official checkpoint ``name`` lives (or will live) in the user cache."""
    return checkpoint_dir() / CHECKPOINTS[name].filename


def sha256_of(path: str | os.PathLike, chunk: int = CHUNK) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def _total_from(response, offset: int) -> int | None:
    """The full file's size from a 200 (Content-Length) or 206 (Content-Range) response."""
    if response.status == 206:
        crange = response.headers.get("Content-Range", "")  # bytes START-END/TOTAL
        total = crange.rpartition("/")[2].strip()
        if total.isdigit():
            return int(total)
    length = response.headers.get("Content-Length")
    if length and length.isdigit():
        return int(length) + (offset if response.status == 206 else 0)
    return None


def _transfer(url: str, part: Path, progress: Progress | None, timeout: float, hashed: list) -> int | None:
    """Append what the server has beyond ``part``'s current size; returns the full size if known.

    ``hashed[0]`` holds the SHA-256 of ``part``'s bytes so far and is fed everything appended.
    """
    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": "labeler", "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and offset:  # nothing beyond what we have: the partial file is complete
            return offset
        raise DownloadError(f"{url}: HTTP {e.code} {e.reason}") from None
    with response:
        if offset and response.status != 206:  # the server ignored the Range: start again
            offset = 0
            hashed[0] = hashlib.sha256()
            mode = "wb"
        else:
            mode = "ab"
        total = _total_from(response, offset)
        done = offset
        if progress:
            progress(done, total)
        with open(part, mode) as f:
            while True:
                block = response.read(CHUNK)
                if not block:
                    break
                f.write(block)
                hashed[0].update(block)
                done += len(block)
                if progress:
                    progress(done, total)
            f.flush()
            os.fsync(f.fileno())
        if total is not None and done < total:
            raise http.client.IncompleteRead(b"", total - done)
        return total if total is not None else done


def download(url: str, dest: str | os.PathLike, *, sha256: str | None = None, size: int | None = None,
             progress: Progress | None = None, retries: int = 3, timeout: float = 60.0,
             backoff: float = 1.0) -> Path:
    """Fetch ``url`` into ``dest``, resuming ``dest.part``, verified, renamed atomically at the end.

    A dropped connection is resumed from where it stopped, up to ``retries`` times; after that the
    ``.part`` file stays, and calling again resumes it. A file of the wrong size or checksum is
    deleted and :class:`DownloadError` raised.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    hashed = [hashlib.sha256()]
    if part.exists():
        with open(part, "rb") as f:
            for block in iter(lambda: f.read(CHUNK), b""):
                hashed[0].update(block)
    attempt = 0
    while True:
        try:
            total = _transfer(url, part, progress, timeout, hashed)
            break
        except (http.client.IncompleteRead, ConnectionError, socket.timeout, TimeoutError,
                urllib.error.URLError, http.client.HTTPException) as e:
            if isinstance(e, urllib.error.URLError) and not part.exists():
                raise DownloadError(f"{url}: cannot download ({getattr(e, 'reason', e)})") from None
            attempt += 1
            if attempt > retries:
                have = part.stat().st_size if part.exists() else 0
                raise DownloadError(f"{url}: the transfer was interrupted ({type(e).__name__}) after "
                                    f"{have:,} bytes; run again to resume {part}") from None
            time.sleep(backoff * attempt)
    have = part.stat().st_size
    expected = size if size is not None else total
    if expected is not None and have != expected:
        part.unlink(missing_ok=True)
        raise DownloadError(f"{dest.name}: downloaded {have:,} bytes, expected {expected:,}; "
                            "the partial file was deleted")
    digest = hashed[0].hexdigest()
    if sha256 is not None and digest != sha256.lower():
        part.unlink(missing_ok=True)
        raise DownloadError(f"{dest.name}: SHA-256 {digest} does not match the expected "
                            f"{sha256.lower()}; the download was deleted")
    os.replace(part, dest)
    fsync_dir(dest.parent)
    return dest


def download_checkpoint(name: str, *, folder: str | os.PathLike | None = None, url: str | None = None,
                        progress: Progress | None = None, retries: int = 3, backoff: float = 1.0) -> Path:
    """The official checkpoint ``name`` in ``folder`` (default: the user cache), fetched if absent.

    ``url`` fetches the same file from a mirror (it must still match the official checksum).
    """
    ckpt = official(name)
    dest = Path(folder).expanduser() / ckpt.filename if folder else checkpoint_path(name)
    if dest.is_file() and dest.stat().st_size == ckpt.size:
        return dest
    return download(url or ckpt.url, dest, sha256=ckpt.sha256, size=ckpt.size, progress=progress,
                    retries=retries, backoff=backoff)


def official(name: str) -> Checkpoint:
    try:
        return CHECKPOINTS[name]
    except KeyError:
        raise LabelerError(f"unknown SAM model {name!r}; use {', '.join(CHECKPOINTS)} "
                           "or the path of a checkpoint file") from None


def resolve_checkpoint(model: str | os.PathLike, *, download_missing: bool = False,
                       progress: Progress | None = None) -> Path:
    """A checkpoint file for a model name (``vit_b``, ``vit_l``, ``vit_h``) or a local path.

    A name gives its file in the user cache; when it is not there yet it is downloaded if
    ``download_missing``, and otherwise a one-line error says how to get it.
    """
    text = os.fspath(model)
    if text in CHECKPOINTS:
        path = checkpoint_path(text)
        if path.is_file():
            return path
        if download_missing:
            return download_checkpoint(text, progress=progress)
        raise LabelerError(f"SAM model {text} is not downloaded yet ({path} is missing); "
                           f"run `labeler sam-download {text}` or give a checkpoint file")
    path = Path(text).expanduser()
    if not path.is_file():
        raise LabelerError(f"{path}: SAM checkpoint not found (give {', '.join(CHECKPOINTS)} "
                           "or the path of a checkpoint file)")
    return path
