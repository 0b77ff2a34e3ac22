"""first_image_key finds image_keys()[0] by a short walk, under the scan's own rules."""

from __future__ import annotations

import json
import random

from labeler.core.export_manifest import MANIFEST
from labeler.core.first_key import first_image_key
from labeler.core.project import Project


def touch(root, rel, data=b"x"):
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return p


def test_names_that_sort_around_the_slash(tmp_path):
    for rel in ("a/x.png", "a-b/y.png", "a.png.txt", "a0.jpg", "b.png"):
        touch(tmp_path, rel)
    p = Project(tmp_path, annotation_dir=None)
    assert p.image_keys()[0] == "a-b/y.png" == first_image_key(p)  # '-' sorts before '/'
    (tmp_path / "a-b" / "y.png").unlink()
    p.refresh()
    assert p.image_keys()[0] == "a/x.png" == first_image_key(p)
    touch(tmp_path, "a.png")  # '.' sorts before '/': the file before the folder of the same stem
    p.refresh()
    assert p.image_keys()[0] == "a.png" == first_image_key(p)


def test_skipped_hidden_annotation_and_exported_files_are_not_first(tmp_path):
    for rel in (".hidden/a.png", "__pycache__/a.png", "annotations/a.png", "b/.a.png", "b/e/a.png",
                "b/e/b.png", "c/z.png"):
        touch(tmp_path, rel)
    exported = tmp_path / "b" / "e" / "a.png"
    st = exported.stat()
    (tmp_path / "b" / MANIFEST).write_text(json.dumps(  # an export wrote b/e/a.png: not an image to label
        {"files": ["e/a.png"], "stamps": {"e/a.png": [st.st_size, st.st_mtime_ns]}}))
    p = Project(tmp_path, annotation_dir="annotations")
    assert p.image_keys()[0] == "b/e/b.png" == first_image_key(p)


def test_explicit_images_roots_and_empty(tmp_path):
    p = Project(tmp_path, image_roots=[], images=["z/1.png", "m/2.png"])
    assert first_image_key(p) == "m/2.png" == p.image_keys()[0]
    touch(tmp_path, "imgs/k.png")
    p = Project(tmp_path, image_roots=["imgs", "missing"], images=["z/1.png"])
    assert first_image_key(p) == "imgs/k.png" == p.image_keys()[0]
    assert first_image_key(Project(tmp_path / "imgs", image_roots=["nothing"])) is None


def test_random_trees_agree_with_the_scan_and_a_long_walk_gives_up(tmp_path):
    rng = random.Random(7)
    parts = ["a", "a-b", "a.b", "B", "_", "a0", "ä", "a b"]
    exts = [".png", ".JPG", ".txt", ".json"]
    for t in range(25):
        root = tmp_path / f"t{t}"
        root.mkdir()
        for _ in range(rng.randint(1, 12)):
            depth = rng.randint(0, 3)
            rel = "/".join(rng.choice(parts) for _ in range(depth))
            touch(root, (rel + "/" if rel else "") + rng.choice(parts) + rng.choice(exts))
        p = Project(root, annotation_dir=None)
        keys = p.image_keys()
        assert first_image_key(p) == (keys[0] if keys else None), root
    deep = tmp_path / "deep"
    for i in range(30):
        (deep / f"d{i:02d}").mkdir(parents=True)
    touch(deep, "d29/x.png")
    assert first_image_key(Project(deep, annotation_dir=None), max_folders=10) is None
    assert first_image_key(Project(deep, annotation_dir=None)) == "d29/x.png"
