"""The string-built paths that let 50,000 images open fast are the paths pathlib gives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from labeler.core.project import Project

KEYS = ["a.png", "d/img.png", "d/e/f.JPG", "x.tar.gz", "a.", "../o/x.png", "./a.png", "a//b.png", "a/./b.png",
        "a\\b.png", ".png", "d/.png", "noext", "d/a.b.c.png", "/abs/x.png", "d.x/y", "a b/c d.png", "é/ü.png"]


def pathlib_rule(project: Project, key: str) -> Path:
    """The annotation path as it was written before (one pathlib step at a time)."""
    img = Path(key)
    if project.annotation_dir is None:
        return (project.root / img).with_suffix(".json")
    parts = ["_up_" if p == ".." else p for p in img.with_suffix(".json").parts]
    return project.root / project.annotation_dir / Path(*parts)


@pytest.mark.parametrize("annotation_dir", ["annotations", None, "ann/sub", "./a//b", "/elsewhere/ann"])
def test_annotation_path_and_file_match_the_pathlib_rule(tmp_path, annotation_dir):
    project = Project(tmp_path, annotation_dir=annotation_dir)
    for key in KEYS:
        assert project.annotation_path(key) == pathlib_rule(project, key), key
        assert str(project.annotation_path(key)) == str(pathlib_rule(project, key)), key
        assert os.path.normpath(project.annotation_file(key)) == os.path.normpath(pathlib_rule(project, key)), key


def test_scanned_keys_are_relative_posix_paths_in_every_folder(tmp_path):
    root = tmp_path / "proj"
    outside = tmp_path / "photos" / "trip"
    for folder in (root, root / "a", root / "a" / "b c", outside):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "x.png").write_bytes(b"")
    project = Project(root, image_roots=[".", "../photos"])
    expected = sorted(Path(os.path.relpath(p, root)).as_posix()
                      for p in [root / "x.png", root / "a" / "x.png", root / "a" / "b c" / "x.png",
                                outside / "x.png"])
    assert project.image_keys() == expected
    assert "../photos/trip/x.png" in expected and "a/b c/x.png" in expected
