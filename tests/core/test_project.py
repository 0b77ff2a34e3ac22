import json
import os
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image

from labeler.core import annotation as annotation_mod
from labeler.core import fileio
from labeler.core.errors import ImageReadError, ProjectError, ProjectLockedError, UnsafePathError
from labeler.core.images import image_size, read_image
from labeler.core.project import PROJECT_FILE, Project
from labeler.core.schema import load_preset
from labeler.core.shapes import Shape


def _img(path, w=32, h=24):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8)).save(path)


def test_create_save_reopen(tmp_path):
    _img(tmp_path / "imgs" / "a.png")
    _img(tmp_path / "imgs" / "sub" / "b.jpg")
    proj = Project.create(tmp_path, load_preset("voc"), image_roots=["imgs"])
    assert proj.image_keys() == ["imgs/a.png", "imgs/sub/b.jpg"]
    ann = proj.load("imgs/sub/b.jpg")
    assert (ann.width, ann.height) == (32, 24) and ann.shapes == []
    ann.shapes.append(Shape("polygon", "car", [[1, 1], [9, 1], [9, 9]]))
    path = proj.save_annotation("imgs/sub/b.jpg", ann)
    assert path == tmp_path / "annotations" / "imgs" / "sub" / "b.json"
    assert json.loads(path.read_text())["imagePath"] == "../../../imgs/sub/b.jpg"
    proj.close()
    again = Project.open(tmp_path)
    assert again.schema.name == "voc" and len(again.schema) == 21
    assert again.load("imgs/sub/b.jpg").shapes[0].label == "car"
    again.close()


def test_images_outside_project_are_referenced_not_copied(tmp_path):
    _img(tmp_path / "data" / "x.png")
    proj = Project.create(tmp_path / "proj", image_roots=[])
    keys = proj.add_images([tmp_path / "data" / "x.png"])
    assert keys == ["../data/x.png"]
    ann = proj.load(keys[0])
    out = proj.save_annotation(keys[0], ann)
    assert (tmp_path / "proj") in out.parents  # the annotation stays inside the project
    assert not (tmp_path / "proj" / "x.png").exists()
    proj.save()
    proj.close()
    assert Project.open(tmp_path / "proj").image_keys() == ["../data/x.png"]


def test_plain_image_folder_just_works(tmp_path):
    _img(tmp_path / "a.png")
    proj = Project.open(tmp_path)
    assert proj.image_keys() == ["a.png"]
    ann = proj.load("a.png")
    ann.shapes.append(Shape("point", "x", [[1, 1]]))
    assert proj.save_annotation("a.png", ann) == tmp_path / "a.json"  # labelme-style, beside the image


def test_labelme_folder_builds_schema(tmp_path):
    _img(tmp_path / "a.png")
    d = {"version": "5.5.0", "flags": {}, "imagePath": "a.png", "imageData": None, "imageHeight": 24,
         "imageWidth": 32, "shapes": [{"label": "dog", "points": [[1, 1], [5, 1], [5, 5]], "group_id": None,
                                       "shape_type": "polygon", "flags": {}}]}
    (tmp_path / "a.json").write_text(json.dumps(d))
    proj = Project.open(tmp_path)
    assert proj.schema.names() == ["dog"]
    assert proj.load("a.png").shapes[0].label == "dog"


def test_open_does_not_parse_annotations(tmp_path, monkeypatch):
    folder = tmp_path / "imgs"
    folder.mkdir()
    _img(folder / "0.png")
    for i in range(1, 2000):
        os.link(folder / "0.png", folder / f"{i}.png")
    proj = Project.create(tmp_path / "p", image_roots=["../imgs"])
    for k in proj.image_keys()[:5]:
        proj.save_annotation(k, proj.load(k))
    proj.close()
    calls = []
    monkeypatch.setattr("labeler.core.project.read_annotation",
                        lambda *a, **k: calls.append(a) or annotation_mod.read_annotation(*a, **k))
    proj = Project.open(tmp_path / "p")
    assert len(proj.image_keys()) == 2000
    assert calls == []
    proj.load(proj.image_keys()[0])
    assert len(calls) == 1


def test_corrupt_project_file_is_a_clear_error(tmp_path):
    (tmp_path / PROJECT_FILE).write_text("{not json")
    with pytest.raises(ProjectError, match="corrupt project file"):
        Project.open(tmp_path)


def test_second_process_gets_read_only(tmp_path):
    proj = Project.create(tmp_path)
    code = (
        "import sys; from labeler.core.project import Project\n"
        f"p = Project.open({str(tmp_path)!r})\n"
        "print(p.read_only, 'another labeler process' in p.lock_warning)\n"
        "try:\n    p.save()\nexcept Exception as e:\n    print(type(e).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["True", "True", "ProjectLockedError"], out.stderr
    proj.close()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split()[0] == "False"


def test_read_only_project_refuses_writes(tmp_path):
    _img(tmp_path / "a.png")
    proj = Project.open(tmp_path, read_only=True)
    with pytest.raises(ProjectLockedError):
        proj.save_annotation("a.png", proj.load("a.png"))
    assert not (tmp_path / "a.json").exists()


def test_atomic_write_keeps_old_file_on_crash(tmp_path, monkeypatch):
    target = tmp_path / "ann.json"
    fileio.write_json_atomic(target, {"v": 1})

    def boom(src, dst):
        raise OSError("disk died")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        fileio.write_json_atomic(target, {"v": 2})
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["ann.json"]  # no temporary left behind


def test_safe_join_refuses_escapes(tmp_path):
    assert fileio.safe_join(tmp_path, "a/b.png") == tmp_path.resolve() / "a" / "b.png"
    for bad in ("../x.png", "../../x", "/etc/passwd", "a/../../x", "C:/x.png"):
        with pytest.raises(UnsafePathError):
            fileio.safe_join(tmp_path, bad)


def test_truncated_image_is_a_clear_error(tmp_path):
    p = tmp_path / "t.png"
    _img(p, 64, 64)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match="t.png"):
        read_image(p)
    (tmp_path / "junk.jpg").write_bytes(b"not an image")
    with pytest.raises(ImageReadError, match="junk.jpg"):
        image_size(tmp_path / "junk.jpg")


def _png_header_only(path, w, h):
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10))
                     + chunk(b"IEND", b""))


def test_huge_image_size_reads_but_full_decode_is_refused(tmp_path):
    p = tmp_path / "huge.png"
    _png_header_only(p, 40000, 40000)
    assert image_size(p) == (40000, 40000)
    with pytest.raises(ImageReadError, match="too large to decode whole"):
        read_image(p)


def test_deferred_sync_keeps_writes_atomic_but_syncs_once(tmp_path, monkeypatch):
    fsyncs, syncs = [], []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: fsyncs.append(fd) or real_fsync(fd))
    monkeypatch.setattr(os, "sync", lambda: syncs.append(1))
    with fileio.deferred_sync():
        with fileio.deferred_sync():  # nested scopes sync once, at the outer end
            for i in range(5):
                fileio.write_json_atomic(tmp_path / f"{i}.json", {"i": i})
        assert syncs == []
    assert fsyncs == [] and syncs == [1]
    assert json.loads((tmp_path / "4.json").read_text()) == {"i": 4}
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{i}.json" for i in range(5)]
    fileio.write_json_atomic(tmp_path / "after.json", {})
    assert len(fsyncs) == 2  # outside the scope each write is durable on its own (file + folder)
