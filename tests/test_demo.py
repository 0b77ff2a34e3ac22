"""The demo project builds offline from scikit-image's bundled images, once, and opens."""

from __future__ import annotations

import socket

import pytest

from labeler.core.errors import ProjectError
from labeler.core.images import read_image
from labeler.core.project import PROJECT_FILE, Project
from labeler.demo import DEMO_IMAGES, default_demo_dir, ensure_demo_project


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the demo builder tried to use the network")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_builds_offline_and_opens(tmp_path, no_network):
    root = ensure_demo_project(tmp_path / "demo")
    assert (root / PROJECT_FILE).is_file()
    with Project.open(root) as proj:
        keys = proj.image_keys()
        assert keys == sorted(f"images/{n}" for n in DEMO_IMAGES)
        for k in keys:
            img = read_image(proj.image_path(k))
            assert img.ndim == 3 and img.shape[2] == 3 and img.std() > 10  # a real photo, not a blank
        assert {"person", "cat", "cup"} <= set(proj.schema.names())
        cat = proj.load("images/chelsea.png")
        assert cat.status == "done" and [s.label for s in cat.shapes] == ["cat"]
        coffee = proj.load("images/coffee.png")
        assert coffee.status == "in_progress" and {s.kind for s in coffee.shapes} == {"polygon", "rectangle"}
        for ann in (cat, coffee):
            for s in ann.shapes:
                x0, y0, x1, y1 = s.bbox()
                assert 0 <= x0 < x1 <= ann.width and 0 <= y0 < y1 <= ann.height
        assert not proj.has_annotation("images/astronaut.png")


def test_builds_once_and_keeps_user_work(tmp_path):
    root = ensure_demo_project(tmp_path / "demo")
    with Project.open(root) as proj:
        ann = proj.load("images/chelsea.png")
        ann.shapes = []
        proj.save_annotation("images/chelsea.png", ann)
    assert ensure_demo_project(root) == root
    assert Project(root).load("images/chelsea.png").shapes == []


def test_unfinished_build_is_redone(tmp_path):
    root = ensure_demo_project(tmp_path / "demo")
    (root / PROJECT_FILE).unlink()
    (root / "images" / "rocket.png").unlink()
    ensure_demo_project(root)
    assert (root / PROJECT_FILE).is_file() and (root / "images" / "rocket.png").is_file()


def test_default_folder_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LABELER_DEMO_DIR", str(tmp_path / "here"))
    assert default_demo_dir() == tmp_path / "here"
    assert ensure_demo_project() == tmp_path / "here"
    monkeypatch.delenv("LABELER_DEMO_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_demo_dir() == tmp_path / "home" / ".local" / "share" / "labeler" / "demo"


def test_a_file_in_the_way_is_a_clear_error(tmp_path):
    (tmp_path / "demo").write_text("not a folder")
    with pytest.raises(ProjectError, match="demo"):
        ensure_demo_project(tmp_path / "demo")
