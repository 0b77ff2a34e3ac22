"""Files written atomically get the permissions an ordinary write gives them, not mkstemp's 0600."""

import os
import stat
import sys

import pytest

from labeler.core import fileio
from labeler.core.annotation import ImageAnnotation
from labeler.core.fileio import write_bytes_atomic, write_json_atomic
from labeler.core.project import PROJECT_FILE, Project
from labeler.core.shapes import POLYGON, Shape

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_file_gets_the_mode_open_would_give_it(tmp_path):
    plain = tmp_path / "plain.json"
    plain.write_text("{}")
    atomic = tmp_path / "atomic.json"
    write_json_atomic(atomic, {"a": 1})
    assert mode(atomic) == mode(plain) == 0o666 & ~fileio._UMASK


def test_replacing_a_file_keeps_its_mode(tmp_path):
    target = tmp_path / "a.json"
    target.write_text("old")
    os.chmod(target, 0o640)
    write_bytes_atomic(target, b"new")
    assert target.read_bytes() == b"new" and mode(target) == 0o640
    os.chmod(target, 0o604)
    write_bytes_atomic(target, b"newer")
    assert target.read_bytes() == b"newer" and mode(target) == 0o604
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_project_file_and_its_annotations_are_readable_by_others(tmp_path):
    """What the 0600 files broke: a training job under another user, or a colleague, reading labels."""
    if fileio._UMASK & 0o044:
        pytest.skip("this process runs with a umask that hides new files from others")
    with Project.create(tmp_path / "p") as project:
        path = project.save_annotation(
            "a.png", ImageAnnotation("a.png", 10, 10, [Shape(POLYGON, "cat", [(0, 0), (5, 0), (5, 5)])]))
    assert mode(tmp_path / "p" / PROJECT_FILE) & 0o044 == 0o044
    assert mode(path) & 0o044 == 0o044
