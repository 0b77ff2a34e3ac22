"""Regions of huge images at pyramid levels, read lazily: the canvas shows them as tiles.

Level ``k`` is the image scaled by ``1 / 2**k``; a tile is a ``TILE x TILE`` block of one level.
How a region is read depends on how the file stores its pixels:

* **uncompressed** files Pillow reads with its ``raw`` codec (uncompressed TIFF, in strips or
  tiles; top-down BMP/PPM): the pixel data is memory-mapped and a region is sliced out of it.
  Nothing is decoded whole; coarser levels sample every ``2**k``-th pixel (nearest neighbour), so
  a read touches only the rows and pages it returns. Peak memory: the tiles asked for.
* **any other TIFF** (compressed, tiled or in strips, 16-bit, palette, BigTIFF, OME/SVS/COG
  pyramids) is read through tifffile by :class:`~labeler.core.tiff_regions.TiffRegions`: only the
  tiles or strips a region touches are decoded; stored pyramid pages serve coarser levels, other
  levels are box-reduced from finer ones in row bands. A huge TIFF without a stored pyramid gets
  its coarse levels (``TIFF_FIRST_CACHED_LEVEL`` and up) from a pyramid cache (below). A TIFF
  stored as strips of over ``MAX_SEGMENT_BYTES`` (one strip for the whole image, say) has no
  cheap region: it is read whole, as a PNG is.
* **JPEG**: levels 1 to 3 come from Pillow's DCT-domain ``draft`` decode at 1/2, 1/4, 1/8 (memory
  ``W * H * 3 / 4**k``); coarser levels are reduced from level 3 with ``Image.reduce``. Level 0
  needs one full decode, done only when someone zooms in that far.
* **everything else** (PNG, WebP): one full decode, then the pyramid is built from it with
  ``Image.reduce`` (box filter) and cached. Peak memory about 1.4 x the decoded image.
* images that cannot be read this way (PNG/JPEG/WebP over ``MAX_FULL_DECODE_PIXELS``) read every
  level from a one-time **pyramid cache** of memory-mapped ``.npy`` files in
  ``PROJECT/.labeler/pyramids/`` (:mod:`labeler.core.pyramid_cache`): ``needs_pyramid`` says one
  must be built, :meth:`TileSource.build_pyramid` builds it (in a worker), and
  :meth:`TileSource.attach_pyramid` puts it to use. Until then reads at full size raise a clear
  error; the window builds the cache (``labeler.gui.pyramid_build``) and shows meanwhile a
  placeholder, or for a JPEG its DCT-draft levels (``preview_level``: 3 and coarser), for a TIFF
  its zoomed-in levels read from its own tiles (``readable_now``). ``labeler pyramids`` builds the
  caches of a whole project ahead of time.

Every read is meant to run in a worker thread; the counters (``full_decodes``, ``regions_read``,
``read_threads``) let tests prove what was decoded, and where.
"""

from __future__ import annotations

import math
import threading
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import ImageReadError
from .images import MAX_FULL_DECODE_PIXELS
from .jobs import JobContext
from .pyramid_cache import (TIFF_FIRST_CACHED_LEVEL, Pyramid, build_pyramid, cache_root_for, find_pyramid,
                            user_cache_root)
from .tiff_regions import TiffRegions, is_tiff

TILE = 512
#: images with more pixels than this are shown through tiles (Qt refuses images over 256 MB)
TILED_ABOVE_PIXELS = 40_000_000
#: a TIFF whose strips or tiles decode to more than this is read whole (as a PNG), not by region
MAX_SEGMENT_BYTES = 64 * 1024 * 1024
_RAW_MODES = {"RGB": 3, "L": 1, "RGBA": 4}


def should_tile(width: int, height: int) -> bool:
    return width * height > TILED_ABOVE_PIXELS


class TileSource:
    """One image file, read by region. Thread-safe: reads may come from several workers."""

    def __init__(self, path: str | Path, cache_root: str | Path | None = None) -> None:
        """``cache_root``: where pyramid caches live (default: ``.labeler/pyramids`` of the project
        folder above the image, if any; see :mod:`labeler.core.pyramid_cache`)."""
        self.path = Path(path)
        self.tiff: TiffRegions | None = None  # any TIFF that is not plain raw pixels
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with Image.open(self.path) as im:
                    self.size = (int(im.width), int(im.height))
                    self.format = im.format or ""
                    self._mode = im.mode
                    self._strips = self._raw_strips(im)
        except FileNotFoundError:
            raise ImageReadError(self.path, "image file not found") from None
        except (UnidentifiedImageError, OSError, ValueError) as e:
            if not is_tiff(self.path):  # a TIFF Pillow cannot open may still be one tifffile reads
                raise ImageReadError(self.path, f"cannot read image header: {e}") from None
            self.format, self._mode, self._strips = "TIFF", "", None
        if self._strips is None and self.format == "TIFF":
            self.tiff = TiffRegions(self.path)
            self.size = (self.tiff.width, self.tiff.height)
            if self.tiff.segment_bytes > MAX_SEGMENT_BYTES and self._mode:
                self.tiff = None  # one huge strip: no region is cheap; read as a PNG is (Pillow, cache)
        w, h = self.size
        #: level count: the coarsest level fits in one tile
        self.levels = max(1, math.ceil(math.log2(max(w, h, 1) / TILE)) + 1)
        self.cache_root = Path(cache_root) if cache_root is not None else cache_root_for(self.path)
        self._pyramid: Pyramid | None = None
        if self._wants_pyramid():
            self._pyramid = find_pyramid(self.path, self.size, self.cache_root)
        self._lock = threading.Lock()
        self._levels: dict[int, np.ndarray] = {}  # decoded levels (non-lazy formats)
        self._maps: list[tuple[tuple[int, int, int, int], np.memmap]] | None = None
        self.full_decodes = 0
        self.regions_read = 0
        self.read_threads: set[int] = set()

    @property
    def lazy(self) -> bool:
        """Full-resolution pixels come straight from a memory map (nothing decoded per read)."""
        return self._strips is not None or (self._pyramid is not None and self._pyramid.has(0))

    # -- the pyramid cache (huge files that cannot be read by region) ---------------------------
    def _wants_pyramid(self) -> bool:
        w, h = self.size
        if self._strips is not None:
            return False
        if self.tiff is not None:  # no stored pyramid: coarse levels would stream the whole file
            return len(self.tiff.stored) == 1 and self.levels > TIFF_FIRST_CACHED_LEVEL and should_tile(w, h)
        return w * h > MAX_FULL_DECODE_PIXELS

    @property
    def needs_pyramid(self) -> bool:
        """A pyramid cache should be built before this image is shown (see the module)."""
        return self._pyramid is None and self._wants_pyramid()

    @property
    def ready(self) -> bool:
        """Every level can be read now without building anything first."""
        return not self.needs_pyramid

    @property
    def preview_level(self) -> int | None:
        """The finest level readable while the pyramid cache is still missing: a huge JPEG's
        levels 3 and up come from a DCT draft at 1/8 (``W * H * 3 / 64`` bytes). None: nothing."""
        if self.ready:
            return 0
        return 3 if self.format == "JPEG" and self.tiff is None and self.levels > 3 else None

    def readable_now(self, level: int) -> bool:
        """A tile of ``level`` can be read now, cheaply, without the missing pyramid cache: any
        level once ready; meanwhile a JPEG's draft levels (``preview_level`` and coarser), and a
        TIFF's levels within ``TIFF_FIRST_CACHED_LEVEL - 1`` halvings of a level it stores (level
        0 always: a zoomed-in view is read from the file's own tiles while the cache builds)."""
        if self.ready:
            return True
        if self.tiff is not None:
            return level - max(k for k in self.tiff.stored if k <= level) < TIFF_FIRST_CACHED_LEVEL
        floor = self.preview_level
        return floor is not None and level >= floor

    @property
    def pixel_readable(self) -> bool:
        """A full-resolution pixel can be read without decoding the whole image (a memory map, the
        pyramid cache's level 0, a TIFF's segment, or a level 0 decoded already)."""
        return (self._strips is not None or self.tiff is not None or 0 in self._levels
                or (self._pyramid is not None and self._pyramid.has(0)))

    def cached_pixel(self, x: int, y: int) -> tuple[int, int, int] | None:
        """RGB of full-resolution pixel ``(x, y)`` if it is at hand without decoding anything
        (memory-mapped pixels, a decoded level 0, a TIFF segment in memory); else None: read it
        with ``read_region`` in a worker. Cheap enough for the GUI thread; not counted in
        ``regions_read``. Raises IndexError off the image."""
        w, h = self.size
        if not (0 <= x < w and 0 <= y < h):
            raise IndexError(f"pixel {x},{y} is outside {self.path} ({w} x {h})")
        if self._strips is not None:
            out = self._read_raw(0, x, y, x + 1, y + 1)
        elif self._pyramid is not None and self._pyramid.has(0):
            out = self._pyramid.read(0, x, y, x + 1, y + 1)
        elif self.tiff is not None:
            out = self.tiff.cached_region(0, x, y, x + 1, y + 1)
        else:
            decoded = self._levels.get(0)
            out = None if decoded is None else decoded[y:y + 1, x:x + 1]
        return None if out is None else tuple(int(v) for v in _to_rgb(out)[0, 0, :3])

    def build_pyramid(self, ctx: JobContext | None = None) -> Pyramid:
        """Build (or find) this file's pyramid cache; slow: run it in a worker. Does not attach it."""
        return build_pyramid(self, self.cache_root or user_cache_root(), ctx)

    @property
    def pyramid(self) -> Pyramid | None:
        """The pyramid cache in use (found on opening, or attached), if any."""
        return self._pyramid

    def attach_pyramid(self, pyramid: Pyramid) -> None:
        self._pyramid = pyramid
        with self._lock:
            self._levels.clear()  # preview levels decoded before the cache existed

    @property
    def width(self) -> int:
        return self.size[0]

    @property
    def height(self) -> int:
        return self.size[1]

    def level_size(self, level: int) -> tuple[int, int]:
        s = 2 ** level
        return -(-self.size[0] // s), -(-self.size[1] // s)

    def level_for_scale(self, scale: float) -> int:
        """The level to draw at ``scale`` screen pixels per image pixel (finest that is not larger)."""
        if scale >= 1.0 or scale <= 0:
            return 0
        return int(min(self.levels - 1, max(0, math.floor(math.log2(1.0 / scale)))))

    def tile_grid(self, level: int) -> tuple[int, int]:
        w, h = self.level_size(level)
        return -(-w // TILE), -(-h // TILE)

    def read_tile(self, level: int, tx: int, ty: int) -> np.ndarray:
        """Tile ``(tx, ty)`` of ``level`` as an RGB uint8 array (edge tiles are smaller)."""
        w, h = self.level_size(level)
        x0, y0 = tx * TILE, ty * TILE
        if not (0 <= level < self.levels and 0 <= x0 < w and 0 <= y0 < h):
            raise IndexError(f"no tile {tx},{ty} at level {level} of {self.path}")
        return self.read_region(level, x0, y0, min(w, x0 + TILE), min(h, y0 + TILE))

    def read_region(self, level: int, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
        """Pixels ``[y0:y1, x0:x1]`` of ``level`` (level coordinates) as RGB uint8."""
        self.read_threads.add(threading.get_ident())
        self.regions_read += 1
        if self._strips is not None:
            out = self._read_raw(level, x0, y0, x1, y1)
        elif self._pyramid is not None and self._pyramid.has(level):
            out = self._pyramid.read(level, x0, y0, x1, y1)
        elif self.tiff is not None:
            out = self.tiff.read_region(level, x0, y0, x1, y1)
        else:
            out = self._decoded_level(level)[y0:y1, x0:x1]
        return _to_rgb(out)

    # -- uncompressed files: memory-mapped strips or tiles ----------------------------------
    def _raw_strips(self, im: Image.Image):
        """``[(box, offset, bytes_per_pixel)]`` when every block is plain raw pixels, else None."""
        bpp = _RAW_MODES.get(im.mode)
        if bpp is None or not im.tile:
            return None
        strips = []
        for t in im.tile:
            args = t[3] if isinstance(t[3], tuple) else (t[3],)
            rawmode = args[0]
            stride = args[1] if len(args) > 1 else 0
            orientation = args[2] if len(args) > 2 else 1
            x0, y0, x1, y1 = t[1]
            if t[0] != "raw" or rawmode != im.mode or orientation != 1 or stride not in (0, (x1 - x0) * bpp):
                return None
            strips.append(((x0, y0, x1, y1), int(t[2]), bpp))
        return strips

    def _memmaps(self):
        if self._maps is None:
            with self._lock:
                if self._maps is None:
                    maps = []
                    for (x0, y0, x1, y1), offset, bpp in self._strips:
                        shape = (y1 - y0, x1 - x0, bpp)
                        maps.append(((x0, y0, x1, y1), np.memmap(self.path, np.uint8, "r", offset, shape)))
                    self._maps = maps
        return self._maps

    def _read_raw(self, level: int, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
        s = 2 ** level
        bpp = self._strips[0][2]
        out = np.zeros((max(0, y1 - y0), max(0, x1 - x0), bpp), np.uint8)
        rows = np.arange(y0, y1) * s  # full-resolution rows and columns sampled by this level
        cols = np.arange(x0, x1) * s
        try:
            for (bx0, by0, bx1, by1), mm in self._memmaps():
                ri = np.nonzero((rows >= by0) & (rows < by1))[0]
                ci = np.nonzero((cols >= bx0) & (cols < bx1))[0]
                if len(ri) and len(ci):
                    block = mm[rows[ri[0]] - by0:rows[ri[-1]] - by0 + 1:s, cols[ci[0]] - bx0:cols[ci[-1]] - bx0 + 1:s]
                    out[ri[0]:ri[-1] + 1, ci[0]:ci[-1] + 1] = block
        except (OSError, ValueError) as e:
            raise ImageReadError(self.path, f"cannot read pixels (truncated file?): {e}") from None
        return out

    # -- compressed files: decode once, keep a pyramid -------------------------------------------
    def _decoded_level(self, level: int) -> np.ndarray:
        with self._lock:
            if level not in self._levels:
                self._levels[level] = self._build_level(level)
            return self._levels[level]

    def _build_level(self, level: int) -> np.ndarray:
        jpeg = self.format == "JPEG"
        if level == 0 or (not jpeg and level == 1):
            return self._full_decode() if level == 0 else _reduce(self._decoded_level_locked(0), 2)
        if jpeg and level <= 3:
            return self._jpeg_draft(level)
        finer = level - 1
        return _reduce(self._decoded_level_locked(finer), 2)

    def _decoded_level_locked(self, level: int) -> np.ndarray:
        if level not in self._levels:  # caller holds the lock
            self._levels[level] = self._build_level(level)
        return self._levels[level]

    def _open(self) -> Image.Image:
        try:
            return Image.open(self.path)
        except (OSError, UnidentifiedImageError) as e:
            raise ImageReadError(self.path, f"cannot open: {e}") from None

    def _full_decode(self) -> np.ndarray:
        w, h = self.size
        if w * h > MAX_FULL_DECODE_PIXELS:
            raise ImageReadError(self.path, f"{w} x {h} {self.format or 'image'} is compressed and too large to "
                                            f"decode whole (limit {MAX_FULL_DECODE_PIXELS:,} pixels): build its "
                                            "pyramid cache first (the window does on opening it), or convert it "
                                            "to a tiled or uncompressed TIFF")
        try:
            with self._open() as im:
                im.load()
                self.full_decodes += 1
                return np.asarray(im if im.mode in _RAW_MODES else im.convert("RGB"))
        except (OSError, ValueError, SyntaxError) as e:
            raise ImageReadError(self.path, f"image does not decode (truncated or corrupt): {e}") from None

    def _jpeg_draft(self, level: int) -> np.ndarray:
        s = 2 ** level
        try:
            with self._open() as im:
                im.draft("RGB", (max(1, im.width // s), max(1, im.height // s)))
                im.load()
                arr = np.asarray(im.convert("RGB") if im.mode != "RGB" else im)
        except (OSError, ValueError, SyntaxError) as e:
            raise ImageReadError(self.path, f"image does not decode (truncated or corrupt): {e}") from None
        lw, lh = self.level_size(level)
        if arr.shape[1] != lw or arr.shape[0] != lh:  # draft scales by at most 8 and rounds up
            arr = np.asarray(Image.fromarray(arr).resize((lw, lh), Image.Resampling.BOX))
        return arr


def _reduce(arr: np.ndarray, factor: int) -> np.ndarray:
    """Box-filter downscale by ``factor`` (sizes round up, as ``level_size`` does)."""
    return np.asarray(Image.fromarray(arr).reduce(factor))


def _to_rgb(arr: np.ndarray) -> np.ndarray:
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.shape[2] == 1:
        return np.repeat(arr, 3, axis=2)
    if arr.shape[2] == 4:
        return np.ascontiguousarray(arr[:, :, :3])
    return np.ascontiguousarray(arr)


def write_raw_tiff(path: str | Path, width: int, height: int, fill=None, rows_per_strip: int = 256) -> Path:
    """Write an uncompressed RGB strip TIFF of any size without holding it in memory.

    ``fill(y0, y1)`` returns the ``(y1 - y0, width, 3)`` rows of a strip; without it the pixels
    stay zero and the file is sparse on disk. Pillow, libtiff and Qt read the result; the canvas
    reads it lazily. Used by tests and benchmarks to make huge images cheaply.
    """
    import itertools
    import struct

    path = Path(path)
    n = -(-height // rows_per_strip)
    strip_bytes = [min(rows_per_strip, height - i * rows_per_strip) * width * 3 for i in range(n)]
    header = 8
    entries = 10
    ifd_size = 2 + entries * 12 + 4
    offsets_at = header + ifd_size
    counts_at = offsets_at + 4 * n
    bps_at = counts_at + 4 * n
    data_at = bps_at + 8
    offsets = [data_at + o for o in itertools.accumulate([0] + strip_bytes[:-1])]
    ifd = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 3, bps_at), (259, 3, 1, 1), (262, 3, 1, 2),
           (273, 4, n, offsets_at if n > 1 else offsets[0]), (277, 3, 1, 3), (278, 4, 1, rows_per_strip),
           (279, 4, n, counts_at if n > 1 else strip_bytes[0]), (284, 3, 1, 1)]
    with open(path, "wb") as f:
        f.write(b"II*\x00" + struct.pack("<I", header))
        f.write(struct.pack("<H", entries))
        for tag, typ, count, value in ifd:
            if typ == 3 and count == 1:
                f.write(struct.pack("<HHIHH", tag, typ, count, value, 0))
            else:
                f.write(struct.pack("<HHII", tag, typ, count, value))
        f.write(struct.pack("<I", 0))
        f.write(struct.pack(f"<{n}I", *offsets))
        f.write(struct.pack(f"<{n}I", *strip_bytes))
        f.write(struct.pack("<HHHH", 8, 8, 8, 0))
        if fill is not None:
            for i in range(n):
                y0 = i * rows_per_strip
                rows = fill(y0, min(height, y0 + rows_per_strip))
                if rows is not None:
                    f.seek(offsets[i])
                    f.write(np.ascontiguousarray(rows, dtype=np.uint8).tobytes())
        f.truncate(data_at + sum(strip_bytes))
    return path
