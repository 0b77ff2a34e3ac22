"""`labeler add`: new images join a project where they are; broken ones are named, not added."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from labeler import cli
from labeler.core.project import PROJECT_FILE, Project
from labeler.core.schema import Schema

ROOT = Path(__file__).resolve().parents[2]


def run(capsys, *argv):
    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def make_project(root: Path) -> Path:
    (root / "frames").mkdir(parents=True)
    Image.fromarray(np.zeros((12, 16, 3), np.uint8)).save(root / "frames" / "f0.png")
    with Project.create(root, Schema.from_names(["road", "car"]), image_roots=[]) as p:
        p.add_images([root / "frames" / "f0.png"])
        p.save()
    return root


def test_add_files_and_folders_kept_where_they_are(capsys, tmp_path):
    root = make_project(tmp_path / "p")
    new = tmp_path / "p" / "frames" / "more"
    (new / "deep").mkdir(parents=True)
    for name in ("f1.png", "deep/f2.jpg"):
        Image.fromarray(np.full((12, 16, 3), 80, np.uint8)).save(new / name)
    (new / "notes.txt").write_text("not an image")
    outside = tmp_path / "elsewhere.png"
    Image.fromarray(np.zeros((5, 5, 3), np.uint8)).save(outside)
    rc, out, err = run(capsys, "add", "--project", root, new, outside, root / "frames" / "f0.png", "-q")
    assert rc == 0, err
    assert "3 images added, 1 already in the project" in out
    with Project.open(root, read_only=True) as p:
        keys = p.image_keys()
        assert keys == sorted(["frames/f0.png", "frames/more/f1.png", "frames/more/deep/f2.jpg", "../elsewhere.png"])
        assert p.image_path("../elsewhere.png").resolve() == outside.resolve()
    saved = json.loads((root / PROJECT_FILE).read_text("utf-8"))
    assert "frames/more/deep/f2.jpg" in json.dumps(saved)  # written to the project file
    rc, out, _ = run(capsys, "add", "--project", root, new, "-q")
    assert rc == 0 and "0 images added, 2 already in the project" in out


def test_broken_and_missing_paths_are_named_and_the_rest_added(capsys, tmp_path):
    root = make_project(tmp_path / "p")
    good, broken = tmp_path / "good.png", tmp_path / "broken.png"
    Image.fromarray(np.zeros((5, 5, 3), np.uint8)).save(good)
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (tmp_path / "x.txt").write_text("notes")
    rc, out, err = run(capsys, "add", "--project", root, good, broken, tmp_path / "missing", tmp_path / "x.txt",
                        "-q")
    assert rc == 1
    assert "broken.png" in err and "missing: no such file or folder" in err and "x.txt: not an image" in err
    assert "1 images added" in out
    with Project.open(root, read_only=True) as p:
        assert "../good.png" in p.image_keys() and "../broken.png" not in p.image_keys()


def test_add_loads_neither_qt_nor_torch(tmp_path):
    root = make_project(tmp_path / "p")
    code = ("import sys; from labeler.cli import main; rc = main(['add', '--project', sys.argv[1], sys.argv[2], '-q']); "
            "print('qt' if any(m.startswith('PySide6') for m in sys.modules) else 'no-qt', "
            "'torch' if 'torch' in sys.modules else 'no-torch', rc)")
    res = subprocess.run([sys.executable, "-c", code, str(root), str(root / "frames")], capture_output=True,
                         text=True, timeout=120, cwd=ROOT)
    assert res.stdout.splitlines()[-1].split() == ["no-qt", "no-torch", "0"], res.stdout + res.stderr
