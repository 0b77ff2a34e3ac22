"""`labeler pyramids`: the pyramid caches of a project's huge images, built ahead of time."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from labeler import cli
from labeler.core import tiles
from labeler.core.project import Project
from labeler.core.pyramid_cache import MANIFEST, project_cache_root
from labeler.core.tiles import TileSource

from ..core.test_tiff_regions import _pattern


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A 2,600 x 1,900 PNG that counts as huge (thresholds lowered) and a small JPEG."""
    monkeypatch.setattr(tiles, "MAX_FULL_DECODE_PIXELS", 1_000_000)
    monkeypatch.setattr(tiles, "TILED_ABOVE_PIXELS", 1_000_000)
    root = tmp_path / "proj"
    root.mkdir()
    truth = _pattern(1900, 2600, seed=5)
    Image.fromarray(truth).save(root / "scan.png", compress_level=1)
    Image.new("RGB", (80, 60), (10, 120, 30)).save(root / "small.jpg")
    Project.create(root).close()
    return root, truth


def run(capsys, *argv):
    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def _caches(root):
    folder = project_cache_root(root)
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_builds_the_huge_image_cache_then_skips_it(capsys, project):
    root, truth = project
    assert TileSource(root / "scan.png", cache_root=project_cache_root(root)).needs_pyramid
    rc, out, err = run(capsys, "pyramids", "--project", root, "-q")
    assert rc == 0, err
    assert "1 built, 0 already cached, 1 need none" in out and "pyramids: 1 done" in err
    caches = _caches(root)
    assert len(caches) == 1 and caches[0].startswith("scan-")
    assert (project_cache_root(root) / caches[0] / MANIFEST).is_file()
    # the window's own source finds it: every level, full size included, memory-mapped
    src = TileSource(root / "scan.png", cache_root=project_cache_root(root))
    assert src.ready and src.lazy and src.full_decodes == 0
    assert np.array_equal(src.read_region(0, 2500, 1800, 2600, 1900), truth[1800:, 2500:])
    mtime = (project_cache_root(root) / caches[0] / MANIFEST).stat().st_mtime_ns

    rc, out, err = run(capsys, "pyramids", "--project", root)  # with progress bars this time
    assert rc == 0, err
    assert "0 built, 1 already cached, 1 need none" in out
    assert _caches(root) == caches and (project_cache_root(root) / caches[0] / MANIFEST).stat().st_mtime_ns == mtime


def test_a_corrupt_image_is_one_line_and_the_others_are_still_built(capsys, project):
    root, _ = project
    Image.fromarray(_pattern(1500, 1800, seed=6)).save(root / "broken.png", compress_level=1)
    data = (root / "broken.png").read_bytes()
    (root / "broken.png").write_bytes(data[: len(data) // 3])  # header intact, pixels cut off
    (root / "garbage.jpg").write_bytes(b"not an image at all")
    rc, out, err = run(capsys, "pyramids", "--project", root, "-q")
    assert rc == 1
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 2
    assert any("broken.png" in e and "does not decode" in e for e in errors)
    assert any("garbage.jpg" in e for e in errors)
    assert "1 built" in out and [c.split("-")[0] for c in _caches(root)] == ["scan"]  # no partial left

    rc, _, err = run(capsys, "pyramids", "--project", root, "-q", "--strict")  # stops at the first
    assert rc == 1 and len([line for line in err.splitlines() if "broken.png" in line]) == 1


def test_usage_errors(capsys, tmp_path):
    rc, _, err = run(capsys, "pyramids")
    assert rc == 2 and "--project" in err
    rc, _, err = run(capsys, "pyramids", "--project", tmp_path / "missing")
    assert rc == 1 and err.startswith("labeler: error:") and "missing" in err


def test_a_project_without_huge_images_writes_nothing(capsys, tmp_path):
    root = tmp_path / "small"
    root.mkdir()
    Image.new("RGB", (40, 30)).save(root / "a.png")
    rc, out, _ = run(capsys, "pyramids", "--project", root, "-q")
    assert rc == 0 and "0 built, 0 already cached, 1 need none" in out
    assert not (root / ".labeler").exists()
