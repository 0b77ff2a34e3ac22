"""Bad input through the command line: a clear line naming the file, the rest of the job done."""

import json
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from labeler import cli


def _header_only_png(path, w, h):
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10))
                     + chunk(b"IEND", b""))


def _labelme(path, image, w, h):
    path.write_text(json.dumps({
        "version": "5.5.0", "flags": {}, "imagePath": image, "imageData": None, "imageHeight": h, "imageWidth": w,
        "shapes": [{"label": "car", "points": [[1, 1], [20, 1], [20, 20]], "group_id": None,
                    "shape_type": "polygon", "flags": {}}]}))


@pytest.fixture
def folder_with_huge_image(tmp_path):
    """A labelme folder: one 40,000 x 40,000 image (header only) and one small image."""
    p = tmp_path / "p"
    p.mkdir()
    _header_only_png(p / "huge.png", 40000, 40000)
    _labelme(p / "huge.json", "huge.png", 40000, 40000)
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(p / "small.png")
    _labelme(p / "small.json", "small.png", 40, 30)
    return p


@pytest.mark.parametrize("fmt", ["mask-png", "cityscapes", "coco-panoptic"])
def test_huge_image_is_reported_and_the_rest_exported(capsys, folder_with_huge_image, tmp_path, fmt):
    out = tmp_path / "out"
    rc = cli.main(["export", fmt, "--project", str(folder_with_huge_image), "--out", str(out), "-q"])
    err = capsys.readouterr().err
    assert rc == 1
    lines = [ln for ln in err.splitlines() if "40000 x 40000" in ln]
    assert len(lines) == 1 and "huge" in lines[0] and "too large" in lines[0]
    written = [p for p in out.rglob("*.png")]
    assert written and all("huge" not in p.name for p in written)  # small.png's output is there
    assert not (tmp_path / "p" / "labeler-project.json").exists()  # a plain folder stays plain


def test_validate_names_the_huge_image(capsys, folder_with_huge_image):
    rc = cli.main(["validate", "--project", str(folder_with_huge_image), "-q"])
    out, err = capsys.readouterr()
    assert rc == 1 and "huge.png" in out + err and "too large" in out + err
