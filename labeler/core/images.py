"""Reading images: sizes without decoding, clear errors for broken files, huge images allowed.

Pillow's decompression-bomb guard refuses images over about 179 megapixels; a segmentation tool
must open 40,000 x 40,000 scans, so the guard is replaced by an explicit limit on *full* decodes
(``MAX_FULL_DECODE_PIXELS``); the canvas reads huge images through tiles instead.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from .errors import ImageReadError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
#: largest image decoded whole into memory (about 1.2 GB as RGB)
MAX_FULL_DECODE_PIXELS = 400_000_000

Image.MAX_IMAGE_PIXELS = None  # we check sizes ourselves
ImageFile.LOAD_TRUNCATED_IMAGES = False


def is_image_file(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) from the header only."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                return int(im.width), int(im.height)
    except FileNotFoundError:
        raise ImageReadError(path, "image file not found") from None
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise ImageReadError(path, f"cannot read image header: {e}") from None


def read_image(path: str | Path, mode: str = "RGB", max_pixels: int = MAX_FULL_DECODE_PIXELS) -> np.ndarray:
    """Decode a whole image to a numpy array; truncated or undecodable files raise ImageReadError."""
    w, h = image_size(path)
    if w * h > max_pixels:
        raise ImageReadError(path, f"{w} x {h} image is too large to decode whole "
                                   f"(limit {max_pixels:,} pixels); open it tiled")
    try:
        with Image.open(path) as im:
            im.load()
            if mode and im.mode != mode:
                im = im.convert(mode)
            return np.asarray(im)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise ImageReadError(path, f"image does not decode (truncated or corrupt): {e}") from None


def read_label_png(path: str | Path) -> np.ndarray:
    """An index-mask PNG ('L', 'P' or 'I;16') as a 2-D integer array of its raw values."""
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("RGB", "RGBA"):
                raise ImageReadError(path, f"expected an index mask (mode L/P/I), got colour mode {im.mode}")
            return np.asarray(im)
    except ImageReadError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise ImageReadError(path, f"mask does not decode: {e}") from None
