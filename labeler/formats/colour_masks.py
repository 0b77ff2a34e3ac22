"""Label masks saved as colour images, mapped back to class indices.

Index masks are 'L', 'P' or 16-bit PNGs whose raw values are class ids. Many datasets in the wild
store the same masks as RGB images painted in a colour map instead: Pascal VOC's
``SegmentationClass`` re-saved as RGB in the VOC colour map, or masks painted in each class's own
colour (CamVid's colour labels, our own ``mask-png`` ``color/`` output). :func:`read_mask` reads
either kind; a colour mask goes through the first colour table that explains every colour in it:

- :func:`voc_colours`: the VOC colour map, index ``i`` -> ``default_color(i)`` for 0..255 (the
  palette the VOC exporter writes), so (224, 224, 192) is 255, void;
- :func:`schema_colours`: each class's own colour -> its id (a colour that two classes share
  explains neither).

Each importer tries the table of its own format first (VOC: the VOC colour map; mask-png: the
schema's colours, as its ``color/`` output paints them); where both tables explain every colour of
a mask but read them differently, the first wins and a warning names the file.

A colour mask with a colour no table explains is refused whole (:class:`UnknownColoursError`,
one line naming the file and the colours with their pixel counts): guessing would give
anti-aliased edges or a mask painted in another palette a wrong class, so the importers report
the image and skip it, and nothing of it is written. Alpha is ignored.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..core.errors import FormatError, ImageReadError
from ..core.images import read_label_png
from ..core.schema import Schema, default_color

#: ``(description, {(r, g, b): index})``, tried in order
ColourTable = tuple[str, dict[tuple[int, int, int], int]]
#: most unknown colours named in one message
MAX_NAMED = 6


class UnknownColoursError(FormatError):
    """A colour mask holds colours that no colour table maps to a class index."""


def voc_colours() -> ColourTable:
    return "the VOC colour map", {default_color(i): i for i in range(256)}


def schema_colours(schema: Schema) -> ColourTable | None:
    """The schema's class colours -> class ids, or None when the schema has no classes."""
    seen: dict[tuple[int, int, int], int] = {}
    shared = set()
    for c in schema.classes:
        colour = tuple(int(v) for v in c.color)
        if colour in seen and seen[colour] != c.id:
            shared.add(colour)
        seen.setdefault(colour, c.id)
    table = {k: v for k, v in seen.items() if k not in shared}
    return (f"the class colours of schema {schema.name!r}", table) if table else None


def _pack(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.uint32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def _unpack(code: int) -> tuple[int, int, int]:
    return (code >> 16) & 255, (code >> 8) & 255, code & 255


def colours_to_index(rgb: np.ndarray, tables: list[ColourTable], source, warn=None) -> np.ndarray:
    """An ``(H, W, 3)`` colour mask as an ``(H, W)`` index map through the first table that
    explains every colour; :class:`UnknownColoursError` when none does. When a later table
    explains every colour too but reads some differently, ``warn(message)`` is told."""
    codes, inverse, counts = np.unique(_pack(rgb[..., :3]).ravel(), return_inverse=True, return_counts=True)
    colours = [_unpack(int(c)) for c in codes]
    best_missing: list[int] | None = None
    for n, (desc, table) in enumerate(tables):
        missing = [i for i, col in enumerate(colours) if col not in table]
        if not missing:
            values = np.array([table[col] for col in colours], dtype=np.int64)
            for other_desc, other in tables[n + 1:]:
                if warn is not None and all(col in other for col in colours) and any(
                        other[col] != table[col] for col in colours):
                    warn(f"{source}: its colours fit both {desc} and {other_desc}; read with {desc}")
            top = int(values.max(initial=0))
            dtype = np.uint8 if top < 256 else np.uint16 if top < 65536 else np.int32
            return values.astype(dtype)[inverse].reshape(rgb.shape[:2])
        if best_missing is None or counts[missing].sum() < counts[best_missing].sum():
            best_missing = missing
    if best_missing is None:
        raise UnknownColoursError(f"{source}: colour mask, but no colour table to read it with")
    order = sorted(best_missing, key=lambda i: -int(counts[i]))
    named = ", ".join(f"{colours[i]} x {int(counts[i])} px" for i in order[:MAX_NAMED])
    more = f" and {len(order) - MAX_NAMED} more" if len(order) > MAX_NAMED else ""
    where = " or ".join(desc for desc, _ in tables)
    raise UnknownColoursError(f"{source}: colour mask with {len(order)} colour{'s' if len(order) != 1 else ''} "
                              f"not in {where}: {named}{more}; image skipped")


def read_mask(path: str | Path, tables: list[ColourTable | None], warn=None) -> np.ndarray:
    """A label PNG as a 2-D index map: raw values of an index PNG ('L', 'P', 'I;16'), or the
    colours of an RGB/RGBA PNG mapped through ``tables`` (see :func:`colours_to_index`)."""
    try:
        with Image.open(path) as im:
            colour = im.mode in ("RGB", "RGBA")
            if colour:
                im.load()
                rgb = np.asarray(im)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise ImageReadError(path, f"mask does not decode: {e}") from None
    if not colour:
        return read_label_png(path)
    return colours_to_index(rgb, [t for t in tables if t is not None], path, warn)
