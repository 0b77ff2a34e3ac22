"""The pyramid cache under stress: two builds of one image at once, an image replaced by another
of the same size and mtime, a project folder that cannot be written, a disk that fills half-way."""

from __future__ import annotations

import errno
import io
import os
import threading
import time

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from labeler.core import pyramid_cache, tiles
from labeler.core.errors import ImageReadError
from labeler.core.jobs import Cancelled, JobContext
from labeler.core.tiles import TILE, TileSource

from .test_tiff_regions import _pattern


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder holding a 1,300 x 900 PNG that counts as huge."""
    root = tmp_path / "proj"
    (root / ".labeler").mkdir(parents=True)
    truth = _pattern(900, 1300, seed=7)
    path = root / "scan.png"
    Image.fromarray(truth).save(path, compress_level=1)
    monkeypatch.setattr(tiles, "MAX_FULL_DECODE_PIXELS", 300_000)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    return root, path, truth


def pyramids(root):
    folder = root / ".labeler" / "pyramids"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_a_second_build_of_the_same_image_waits_for_the_first_instead_of_removing_its_work(project):
    """The window and ``labeler pyramids`` (or two windows) building one image at the same moment."""
    root, path, truth = project
    inside, go = threading.Event(), threading.Event()

    def held_progress(items, total, desc):
        for i, item in enumerate(items):
            if i == 2:  # the first build is half-way: its .partial folder is on disk
                inside.set()
                assert go.wait(20)
            yield item

    results = {}

    def build(name, ctx):
        try:
            results[name] = TileSource(path).build_pyramid(ctx)
        except Exception as e:  # noqa: BLE001 - the test reports it below
            results[name] = e

    first = threading.Thread(target=build, args=("first", JobContext(progress=held_progress)))
    first.start()
    assert inside.wait(20)
    partial = [n for n in pyramids(root) if ".partial-" in n]
    assert len(partial) == 1
    second = threading.Thread(target=build, args=("second", JobContext()))
    second.start()
    second.join(0.5)
    assert second.is_alive(), "the second build did not wait for the first"
    assert partial[0] in pyramids(root)  # the first build's work is still there
    go.set()
    first.join(20), second.join(20)
    assert not isinstance(results["first"], Exception), results["first"]
    assert not isinstance(results["second"], Exception), results["second"]
    assert results["first"].folder == results["second"].folder
    assert not [n for n in pyramids(root) if ".partial-" in n]
    assert np.array_equal(results["second"].read(0, 0, 0, 1300, 900), truth)


def test_a_build_waiting_for_another_can_be_cancelled(project):
    root, path, _ = project
    folder = pyramid_cache.project_cache_root(root)
    folder.mkdir(parents=True)
    lock = pyramid_cache.build_lock(folder, pyramid_cache.cache_key(path, folder))
    with lock:  # another process is building this image
        flag = {"n": 0}

        def cancelled():
            flag["n"] += 1
            return flag["n"] > 2

        start = time.monotonic()
        with pytest.raises(Cancelled):
            TileSource(path).build_pyramid(JobContext(cancelled=cancelled))
        assert time.monotonic() - start < 5
    assert not [n for n in pyramids(root) if ".partial-" in n]


def _png_bytes(array: np.ndarray, padding: int = 0) -> bytes:
    info = PngImagePlugin.PngInfo()
    if padding:
        info.add_text("pad", "x" * padding)
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG", compress_level=1, pnginfo=info)
    return buf.getvalue()


def test_an_image_replaced_by_another_of_the_same_size_and_mtime_gets_its_own_cache(project):
    """``cp -p``, ``rsync -a`` or an archive restoring mtimes: same byte size, same mtime, other pixels."""
    root, path, truth = project
    src = TileSource(path)
    src.attach_pyramid(src.build_pyramid())
    st = path.stat()
    other = np.zeros_like(truth)  # another picture of the same dimensions, padded to the same byte size
    other[:, :, 2] = np.arange(1300, dtype=np.uint8)[None, :]
    data = _png_bytes(other, padding=1)
    data = _png_bytes(other, padding=1 + st.st_size - len(data))
    assert len(data) == st.st_size
    path.write_bytes(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    again = TileSource(path)
    assert again.needs_pyramid  # the old cache is not taken for this file
    again.attach_pyramid(again.build_pyramid())
    assert np.array_equal(again.read_tile(0, 0, 0), other[:TILE, :TILE])


def test_a_project_folder_that_cannot_be_written_falls_back_to_the_user_cache(project, monkeypatch, tmp_path):
    root, path, truth = project
    real = pyramid_cache._can_write  # a read-only folder (tests run as root: no chmod would stop them)
    monkeypatch.setattr(pyramid_cache, "_can_write", lambda folder: not str(folder).startswith(str(root))
                        and real(folder))
    src = TileSource(path)
    pyramid = src.build_pyramid()
    user = tmp_path / "user-cache" / "labeler" / "pyramids"
    assert pyramid.folder.parent == user and not [n for n in pyramids(root) if not n.endswith(".lock")]
    again = TileSource(path)  # found there on the next opening
    assert again.ready and again.full_decodes == 0
    assert np.array_equal(again.read_tile(1, 0, 0), np.asarray(Image.fromarray(truth).reduce(2))[:TILE, :TILE])

    monkeypatch.setenv("XDG_CACHE_HOME", str(path))  # nowhere to go: one clear error naming both
    fresh = path.with_name("copy.png")
    fresh.write_bytes(path.read_bytes())
    with pytest.raises(ImageReadError, match=r"copy\.png.*cannot write its pyramid cache under .*proj.*"):
        TileSource(fresh).build_pyramid()


def test_a_disk_that_fills_half_way_is_a_clear_error_and_leaves_no_cache(project, monkeypatch):
    """Space is reserved for each level before it is written: a memory map over a file the disk
    cannot hold would kill the process (SIGBUS) at the first page that finds no space."""
    root, path, _ = project
    calls = []
    real = os.posix_fallocate

    def full(fd, offset, length):
        calls.append(length)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, offset, length)

    monkeypatch.setattr(pyramid_cache.os, "posix_fallocate", full, raising=False)
    with pytest.raises(ImageReadError, match=r"scan\.png.*No space left on device"):
        TileSource(path).build_pyramid()
    assert len(calls) == 2 and not [n for n in pyramids(root) if not n.endswith(".lock")]
    assert TileSource(path).needs_pyramid  # nothing half-built is taken for a cache
    monkeypatch.undo()
    monkeypatch.setattr(tiles, "MAX_FULL_DECODE_PIXELS", 300_000)
    assert TileSource(path).build_pyramid().folder.is_dir()
