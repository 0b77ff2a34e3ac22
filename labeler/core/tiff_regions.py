"""Regions of any TIFF, decoding only the strips or tiles they touch (through tifffile).

:class:`TiffRegions` reads ``[y0:y1, x0:x1]`` of a pyramid level (level ``k`` is the image
scaled by ``1 / 2**k``, sizes rounded up, as :mod:`labeler.core.tiles` counts them):

* the segments (tiles, or strips) of a stored page that intersect the region are read from the
  file and decoded with tifffile's public ``TiffPage.decode``; the rest of the file is never
  touched. Decoded segments sit in a small LRU (``SEGMENT_CACHE_BYTES``), so neighbouring tiles
  that share a segment decode it once;
* **stored pyramids** (SubIFDs, reduced-resolution pages: OME-TIFF, SVS, COG, tifffile's
  ``subifds=``) serve the levels whose size matches theirs within a pixel;
* a level the file does not store is reduced (box filter) from the nearest finer stored level,
  in row bands: memory is a band of the finer level, never the whole image.
  :mod:`labeler.core.pyramid_cache` keeps such levels on disk once built, so a huge file
  without a stored pyramid is streamed through once, not at every zoom.

Every compression tifffile can decode works: deflate and zstd/lzma with the standard library,
LZW, packbits, JPEG (tiled SVS scans), WebP, JPEG 2000 ... through ``imagecodecs`` (a dependency).
A segment that does not decode, a truncated file or an unsupported pixel type raises
:class:`ImageReadError` naming the file. ``decode_counts`` counts the segments decoded,
``(page, segment) -> times``, so tests can prove what was touched.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

from .errors import ImageReadError

SEGMENT_CACHE_BYTES = 96 * 1024 * 1024
#: output rows per band when a level is reduced from a finer one (times the reduction factor)
BAND_SOURCE_ROWS = 256
MAX_PAGES_SCANNED = 64


@dataclass
class _Page:
    """What a region read needs of one stored page (copied out, so the file can be closed)."""

    number: int  # our own index of the page, for cache keys and counts
    width: int
    height: int
    decode: Callable[..., Any]
    offsets: tuple[int, ...]
    counts: tuple[int, ...]
    jpegtables: bytes | None
    seg_w: int
    seg_h: int
    planes: int  # separate sample planes (planar configuration 2), else 1
    samples: int  # samples per pixel in total

    @property
    def across(self) -> int:
        return -(-self.width // self.seg_w)

    @property
    def per_plane(self) -> int:
        return self.across * -(-self.height // self.seg_h)

    def segments(self, x0: int, y0: int, x1: int, y1: int) -> list[int]:
        """Indices of the segments that intersect ``[y0:y1, x0:x1]`` (page pixels)."""
        if x1 <= x0 or y1 <= y0:
            return []
        cols = range(x0 // self.seg_w, (x1 - 1) // self.seg_w + 1)
        rows = range(y0 // self.seg_h, (y1 - 1) // self.seg_h + 1)
        return [p * self.per_plane + r * self.across + c for p in range(self.planes) for r in rows for c in cols]


class TiffRegions:
    """One TIFF file, read by region at any pyramid level. Thread-safe."""

    def __init__(self, path: str | Path) -> None:
        import tifffile

        self.path = Path(path)
        try:
            with tifffile.TiffFile(self.path) as tif:
                levels = [lvl.keyframe for lvl in tif.series[0].levels]
                # reduced-resolution pages beside the first (not a whole stack of planes or frames)
                reduced = [p for p in tif.pages[1:MAX_PAGES_SCANNED] if getattr(p, "is_reduced", False)]
                base = levels[0]
                self.width, self.height = int(base.imagewidth), int(base.imagelength)
                self.photometric = int(base.photometric)
                self.colormap = None if base.colormap is None else np.asarray(base.colormap)
                self.dtype = np.dtype(base.dtype)
                self.compression = base.compression
                alike = [p for p in _unique(levels + reduced)  # pixels of the same kind as the first
                         if (p.dtype, p.photometric, p.samplesperpixel) == (base.dtype, base.photometric,
                                                                            base.samplesperpixel)
                         and (p is base or _has_codec(p.compression))]
                pages = [self._page(i, p) for i, p in enumerate(alike)]
        except FileNotFoundError:
            raise ImageReadError(self.path, "image file not found") from None
        except ImageReadError:
            raise
        except Exception as e:  # tifffile raises TiffFileError, ValueError, struct.error, ...
            raise ImageReadError(self.path, f"cannot read the TIFF structure (truncated or corrupt?): {e}") from None
        _check_codec(self.path, self.compression)
        if self.dtype not in (np.uint8, np.uint16, np.bool_) or self.photometric not in (0, 1, 2, 3, 6):
            raise ImageReadError(self.path, f"unsupported TIFF pixels ({self.dtype}, photometric {self.photometric}); "
                                            "8- or 16-bit grey, RGB or palette images can be shown")
        #: stored pages by our level number (0 is the full-resolution page)
        self.stored: dict[int, _Page] = {0: pages[0]}
        for page in pages[1:]:
            for level in range(1, 40):
                lw, lh = -(-self.width // 2 ** level), -(-self.height // 2 ** level)
                if lw < page.width - 1:
                    break
                if abs(lw - page.width) <= 1 and abs(lh - page.height) <= 1 and level not in self.stored:
                    self.stored[level] = page
        self._lock = threading.Lock()
        self._segments: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()
        self._segment_bytes = 0
        self.decode_counts: Counter[tuple[int, int]] = Counter()

    @staticmethod
    def _page(number: int, p) -> _Page:
        tiled = bool(p.is_tiled)
        shaped = p.shaped  # (separate samples, depth, length, width, contig samples)
        planes, contig = int(shaped[0]), int(shaped[4])
        return _Page(number, int(p.imagewidth), int(p.imagelength), p.decode, tuple(p.dataoffsets),
                     tuple(p.databytecounts), p.jpegtables,
                     int(p.tilewidth) if tiled else int(p.imagewidth),
                     int(p.tilelength) if tiled else max(1, min(int(p.rowsperstrip or p.imagelength), int(p.imagelength))),
                     planes, planes * contig)

    @property
    def segment_bytes(self) -> int:
        """Decoded bytes of one strip or tile of the full-resolution page."""
        page = self.stored[0]
        return page.seg_w * page.seg_h * page.samples * self.dtype.itemsize

    @property
    def pyramid_levels(self) -> list[int]:
        """The levels the file stores (0 and any reduced-resolution pages that fit a level)."""
        return sorted(self.stored)

    def level_size(self, level: int) -> tuple[int, int]:
        return -(-self.width // 2 ** level), -(-self.height // 2 ** level)

    # -- reading ---------------------------------------------------------------------------------
    def read_region(self, level: int, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
        """Pixels ``[y0:y1, x0:x1]`` of ``level`` as RGB uint8 (``(y1-y0, x1-x0, 3)``)."""
        lw, lh = self.level_size(level)
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(lw, x1), min(lh, y1)
        if x1 <= x0 or y1 <= y0:
            return np.zeros((max(0, y1 - y0), max(0, x1 - x0), 3), np.uint8)
        if level in self.stored:
            return self._read_page(self.stored[level], x0, y0, x1, y1)
        finer = max(k for k in self.stored if k < level)
        return self.reduce_from(finer, level, x0, y0, x1, y1)

    def cached_region(self, level: int, x0: int, y0: int, x1: int, y1: int) -> np.ndarray | None:
        """``read_region`` of a stored level when every segment it needs is decoded in memory
        already (the LRU); None otherwise. Reads and decodes nothing: cheap enough for the GUI
        thread (the window's pixel readout)."""
        lw, lh = self.level_size(level)
        if level not in self.stored or not (0 <= x0 < x1 <= lw and 0 <= y0 < y1 <= lh):
            return None
        return self._read_page(self.stored[level], x0, y0, x1, y1, cached_only=True)

    def reduce_from(self, finer: int, level: int, x0: int, y0: int, x1: int, y1: int,
                    read: Callable[[int, int, int, int, int], np.ndarray] | None = None) -> np.ndarray:
        """A region of ``level`` box-reduced from level ``finer``, a band of rows at a time.

        ``read(level, x0, y0, x1, y1)`` reads the finer level (default: this file)."""
        read = read or self.read_region
        f = 2 ** (level - finer)
        fw, fh = self.level_size(finer)
        out = np.empty((y1 - y0, x1 - x0, 3), np.uint8)
        band = max(1, BAND_SOURCE_ROWS // f)
        for oy in range(y0, y1, band):
            oy1 = min(y1, oy + band)
            src = read(finer, x0 * f, oy * f, min(fw, x1 * f), min(fh, oy1 * f))
            out[oy - y0:oy1 - y0] = box_reduce(src, f)
        return out

    def _read_page(self, page: _Page, x0: int, y0: int, x1: int, y1: int,
                   cached_only: bool = False) -> np.ndarray | None:
        """``cached_only``: use only segments decoded already; None when one is missing."""
        # a stored reduced page may be a pixel smaller than the level: read what it has, pad the edge
        px1, py1 = min(x1, page.width), min(y1, page.height)
        raw = np.zeros((max(0, py1 - y0), max(0, px1 - x0), page.samples), self.dtype)
        if raw.size:
            with contextlib.nullcontext() if cached_only else open(self.path, "rb") as fh:
                for index in page.segments(x0, y0, px1, py1):
                    got = self._segment(fh, page, index)
                    if got is None:  # not decoded yet, and only decoded segments may be used
                        return None
                    seg, (plane, _, sy, sx, _) = got
                    if seg is None:
                        continue  # an empty segment stays zero
                    sh, sw = seg.shape[:2]
                    ya, yb = max(y0, sy), min(py1, sy + sh)
                    xa, xb = max(x0, sx), min(px1, sx + sw)
                    if ya < yb and xa < xb:
                        chans = slice(plane, plane + 1) if page.planes > 1 else slice(None)
                        raw[ya - y0:yb - y0, xa - x0:xb - x0, chans] = seg[ya - sy:yb - sy, xa - sx:xb - sx]
        rgb = self._to_rgb8(raw)
        if rgb.shape[:2] != (y1 - y0, x1 - x0):
            rgb = np.pad(rgb, ((0, y1 - y0 - rgb.shape[0]), (0, x1 - x0 - rgb.shape[1]), (0, 0)), mode="edge") \
                if rgb.size else np.zeros((y1 - y0, x1 - x0, 3), np.uint8)
        return rgb

    def _segment(self, fh, page: _Page, index: int):
        """Segment ``index`` of ``page`` decoded: ``(array (h, w, samples) or None, position)``;
        None when it is not in the LRU and ``fh`` is None (nothing may be read)."""
        key = (page.number, index)
        with self._lock:
            hit = self._segments.get(key)
            if hit is not None:
                self._segments.move_to_end(key)
                return hit
        if fh is None:
            return None
        offset, count = page.offsets[index], page.counts[index]
        data = None
        if offset and count:
            fh.seek(offset)
            data = fh.read(count)
            if len(data) < count:
                raise ImageReadError(self.path, f"truncated file: segment {index} of page {page.number} "
                                                f"ends past the end of the file")
        try:
            seg, position, shape = page.decode(data, index, jpegtables=page.jpegtables)
        except Exception as e:  # zlib.error, imagecodecs errors, ValueError ...
            raise ImageReadError(self.path, f"segment {index} of page {page.number} does not decode "
                                            f"(corrupt or truncated file?): {type(e).__name__}: {e}") from None
        if seg is not None:
            seg = seg.reshape(seg.shape[-3:])[: shape[1], : shape[2]]  # (length, width, samples)
        result = (seg, position)
        with self._lock:
            self.decode_counts[key] += 1
            if seg is not None:
                self._segments[key] = result
                self._segment_bytes += seg.nbytes
                while self._segment_bytes > SEGMENT_CACHE_BYTES and len(self._segments) > 1:
                    _, (old, _) = self._segments.popitem(last=False)
                    self._segment_bytes -= old.nbytes
        return result

    def _to_rgb8(self, raw: np.ndarray) -> np.ndarray:
        if self.photometric == 3 and self.colormap is not None:  # palette: indices through the colour map
            cmap = self.colormap
            lut = (cmap >> 8 if cmap.max() > 255 else cmap).T.astype(np.uint8)
            return lut[np.minimum(raw[..., 0].astype(np.intp), len(lut) - 1)]
        if raw.dtype == np.uint16:
            raw = (raw >> 8).astype(np.uint8)
        elif raw.dtype == np.bool_:
            raw = raw.astype(np.uint8) * 255
        if self.photometric == 0:  # min-is-white
            raw = 255 - raw
        if raw.shape[2] >= 3:
            return np.ascontiguousarray(raw[..., :3])
        return np.repeat(raw[..., :1], 3, axis=2)


def box_reduce(arr: np.ndarray, f: int) -> np.ndarray:
    """Mean of each ``f x f`` block of an ``(h, w, channels)`` array, rounded; blocks cut by the
    edge average the pixels they have, as Pillow's ``Image.reduce`` does; sizes round up.

    The full blocks go through OpenCV's area resize (an exact box mean at an integer factor, and
    15 x faster than numpy sums); the cut blocks of the last row and column through numpy."""
    if f == 1:
        return arr
    h, w, c = arr.shape
    fh, fw = h // f, w // f
    out = np.empty((-(-h // f), -(-w // f), c), np.uint8)
    if fh and fw:
        out[:fh, :fw] = cv2.resize(arr[:fh * f, :fw * f], (fw, fh), interpolation=cv2.INTER_AREA).reshape(fh, fw, c)
    if fh * f < h:
        out[fh:] = _mean_blocks(arr[fh * f:], f)
    if fw * f < w and fh:
        out[:fh, fw:] = _mean_blocks(arr[:fh * f, fw * f:], f)
    return out


def _mean_blocks(arr: np.ndarray, f: int) -> np.ndarray:
    h, w = arr.shape[:2]
    rows, cols = np.arange(0, h, f), np.arange(0, w, f)
    sums = np.add.reduceat(np.add.reduceat(arr, rows, axis=0, dtype=np.uint32), cols, axis=1, dtype=np.uint32)
    counts = (np.minimum(f, h - rows)[:, None] * np.minimum(f, w - cols)[None, :])[..., None]
    return ((sums + counts // 2) // counts).astype(np.uint8)


def _unique(pages: list) -> list:
    seen, out = set(), []
    for p in pages:
        key = (getattr(p, "offset", id(p)), p.shape)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def _has_codec(compression) -> bool:
    import tifffile

    if int(compression) == 1:
        return True
    try:
        tifffile.TIFF.DECOMPRESSORS[compression]
    except (KeyError, ValueError, ImportError):
        return False
    return True


def _check_codec(path: Path, compression) -> None:
    """A clear error now, not a broken tile later, when this compression has no decoder here."""
    if not _has_codec(compression):
        name = getattr(compression, "name", str(compression))
        raise ImageReadError(path, f"cannot decode its {name} compression here; "
                                   "install imagecodecs or convert the file to deflate")


def is_tiff(path: str | Path) -> bool:
    """True when the file starts with a TIFF or BigTIFF signature."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError:
        return False
    return head in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
