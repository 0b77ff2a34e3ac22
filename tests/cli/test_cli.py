"""The `labeler` command, driven in-process through ``labeler.cli.main`` as a shell would."""

import importlib
import json
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from labeler import cli
from labeler.commands import parse_options
from labeler.core.geometry import rle_decode, rle_encode
from labeler.core.project import PROJECT_FILE, Project

ROOT = Path(__file__).resolve().parents[2]
W, H = 64, 48
SCHEMA = {"name": "pets", "ignore_index": 255, "classes": [
    {"id": 0, "name": "background", "color": [0, 0, 0], "is_thing": False},
    {"id": 1, "name": "cat", "color": [200, 0, 0], "is_thing": True},
    {"id": 2, "name": "dog", "color": [0, 200, 0], "is_thing": True},
]}


def needs_format(name):
    from labeler.formats.registry import FORMATS

    try:
        importlib.import_module(FORMATS[name])
    except ModuleNotFoundError:
        pytest.skip(f"format {name} is not written yet")


def make_masks(n=4):
    """Index masks: a background band, i % 3 + 1 separate cat squares, one dog on the last image,
    void (255) elsewhere. Returns {stem: mask} and the number of cat squares."""
    masks, cats = {}, 0
    for i in range(n):
        m = np.full((H, W), 255, np.uint8)
        m[:16] = 0
        for j in range(i % 3 + 1):
            m[20:28, 4 + 12 * j:12 + 12 * j] = 1
            cats += 1
        if i == n - 1:
            m[36:44, 40:50] = 2
        masks[f"img{i}"] = m
    return masks, cats


@pytest.fixture
def dataset(tmp_path):
    root = tmp_path / "ds"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    masks, cats = make_masks()
    rng = np.random.default_rng(0)
    for stem, m in masks.items():
        Image.fromarray(rng.integers(0, 255, (H, W, 3), dtype=np.uint8)).save(root / "images" / f"{stem}.png")
        Image.fromarray(m, mode="L").save(root / "masks" / f"{stem}.png")
    (root / "pets.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
    return types.SimpleNamespace(root=root, masks=masks, cats=cats, schema=root / "pets.json")


def run(capsys, *argv):
    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def import_dataset(capsys, ds, project, *extra):
    needs_format("mask-png")
    return run(capsys, "import", "mask-png", "--images", ds.root / "images", "--masks", ds.root / "masks",
               "--project", project, "--classes", ds.schema, "-q", *extra)


def error_lines(err):
    return [ln for ln in err.splitlines() if ln.startswith("labeler: error:")]


# ----------------------------------------------------------------------------- import/export


def test_import_mask_png_creates_the_project_with_splits(capsys, dataset, tmp_path):
    proj_dir = tmp_path / "proj"
    rc, out, err = import_dataset(capsys, dataset, proj_dir, "--split-ratios", "train=0.5,val=0.5", "--seed", "3")
    assert rc == 0, err
    assert (proj_dir / PROJECT_FILE).is_file()
    with Project.open(proj_dir, read_only=True) as p:
        assert len(p.image_keys()) == 4
        assert p.schema.names() == ["background", "cat", "dog"]
        assert sorted(p.splits) == ["train", "val"]
        assert sorted(p.splits["train"] + p.splits["val"]) == p.image_keys()
        kinds = {s.kind for k in p.image_keys() for s in p.load(k).shapes}
        assert kinds == {"mask"}
    assert "4 images added" in out
    # nothing was written next to the dataset
    assert sorted(x.name for x in dataset.root.iterdir()) == ["images", "masks", "pets.json"]


def test_import_into_an_existing_project_opens_it(capsys, dataset, tmp_path):
    proj_dir = tmp_path / "proj"
    assert import_dataset(capsys, dataset, proj_dir)[0] == 0
    # a second folder of two more images goes into the same project
    more = tmp_path / "more"
    (more / "images").mkdir(parents=True)
    (more / "masks").mkdir()
    for i in range(2):
        Image.new("RGB", (W, H)).save(more / "images" / f"extra{i}.png")
        Image.fromarray(np.ones((H, W), np.uint8), mode="L").save(more / "masks" / f"extra{i}.png")
    rc, out, err = run(capsys, "import", "mask-png", "--images", more / "images", "--masks", more / "masks",
                       "--project", proj_dir, "-q")
    assert rc == 0, err
    with Project.open(proj_dir, read_only=True) as p:
        assert len(p.image_keys()) == 6
        assert p.schema.names() == ["background", "cat", "dog"]


def test_export_mask_png_gives_back_the_source_masks(capsys, dataset, tmp_path):
    proj_dir, out_dir = tmp_path / "proj", tmp_path / "out"
    assert import_dataset(capsys, dataset, proj_dir)[0] == 0
    rc, out, err = run(capsys, "export", "mask-png", "--project", proj_dir, "--out", out_dir, "-q")
    assert rc == 0, err
    written = sorted(out_dir.rglob("*.png"))
    assert [p.stem for p in written] == sorted(dataset.masks)
    for png in written:
        assert np.array_equal(np.asarray(Image.open(png)), dataset.masks[png.stem]), png
    # nothing written into the project by an export
    assert not (proj_dir / "masks").exists()


def test_export_one_split_and_an_unknown_split(capsys, dataset, tmp_path):
    proj_dir = tmp_path / "proj"
    assert import_dataset(capsys, dataset, proj_dir, "--split-ratios", "train=0.75,val=0.25")[0] == 0
    rc, _, err = run(capsys, "export", "mask-png", "--project", proj_dir, "--out", tmp_path / "o1",
                     "--split", "val", "-q")
    assert rc == 0, err
    with Project.open(proj_dir, read_only=True) as p:
        val = [Path(k).stem for k in p.splits["val"]]
    assert sorted(p.stem for p in (tmp_path / "o1").rglob("*.png")) == sorted(val)
    rc, _, err = run(capsys, "export", "mask-png", "--project", proj_dir, "--out", tmp_path / "o2",
                     "--split", "test")
    assert rc == 1 and len(error_lines(err)) == 1 and "'test'" in err
    assert not (tmp_path / "o2").exists()


def _labelme_folder(folder, n=3):
    folder.mkdir()
    for i in range(n):
        Image.new("RGB", (W, H), (i * 40, 0, 0)).save(folder / f"pic{i}.png")
        shapes = [{"label": "cat", "points": [[4, 4], [30, 4], [30, 20], [4, 20]], "shape_type": "polygon",
                   "group_id": None, "flags": {}, "description": ""},
                  {"label": "dog", "points": [[40, 10], [60, 40]], "shape_type": "rectangle",
                   "group_id": None, "flags": {}, "description": ""}]
        d = {"version": "5.5.0", "flags": {}, "shapes": shapes, "imagePath": f"pic{i}.png", "imageData": None,
             "imageHeight": H, "imageWidth": W}
        (folder / f"pic{i}.json").write_text(json.dumps(d), encoding="utf-8")


def test_labelme_import_with_a_preset_then_coco_export(capsys, tmp_path):
    needs_format("labelme")
    needs_format("coco")
    from pycocotools.coco import COCO

    _labelme_folder(tmp_path / "lm")
    rc, out, err = run(capsys, "import", "labelme", tmp_path / "lm", "--project", tmp_path / "p",
                       "--classes", "voc", "-q")
    assert rc == 0, err
    with Project.open(tmp_path / "p", read_only=True) as p:
        assert len(p.image_keys()) == 3
        assert p.schema.by_name("cat").id == 8 and len(p.schema) == 21  # VOC ids kept
    rc, out, err = run(capsys, "export", "coco", "--project", tmp_path / "p", "--out", tmp_path / "o",
                       "-o", "copy_images=true", "-q")
    assert rc == 0, err
    (ann_file,) = (tmp_path / "o" / "annotations").glob("*.json")
    coco = COCO(str(ann_file))
    assert len(coco.getImgIds()) == 3 and len(coco.getAnnIds()) == 6
    assert {coco.loadCats(a["category_id"])[0]["name"] for a in coco.loadAnns(coco.getAnnIds())} == {"cat", "dog"}
    assert coco.getCatIds(catNms=["cat"]) == [8]
    assert len([p for p in (tmp_path / "o").rglob("*.png")]) == 3  # copy_images=true reached the exporter
    # an option the format does not take is a one-line usage error
    rc, _, err = run(capsys, "import", "labelme", tmp_path / "lm", "--project", tmp_path / "p", "-o", "bogus=1")
    assert rc == 1 and len(error_lines(err)) == 1 and "bogus" in err


def test_progress_bar_goes_to_stderr(capsys, dataset, tmp_path):
    needs_format("mask-png")
    rc, out, err = run(capsys, "import", "mask-png", "--images", dataset.root / "images", "--masks",
                       dataset.root / "masks", "--project", tmp_path / "p", "--classes", dataset.schema)
    assert rc == 0
    assert "/4 [" in err  # tqdm's "n/total [elapsed..." counter
    assert "/4 [" not in out


def test_bad_item_is_reported_and_strict_stops(capsys, dataset, tmp_path):
    bad = dataset.root / "masks" / "img1.png"
    Image.fromarray(np.zeros((10, 10), np.uint8), mode="L").save(bad)  # wrong size
    rc, out, err = import_dataset(capsys, dataset, tmp_path / "p1")
    assert rc == 1
    assert any("img1" in ln for ln in err.splitlines() if ln.startswith("error:"))
    with Project.open(tmp_path / "p1", read_only=True) as p:
        assert sorted(Path(k).stem for k in p.image_keys() if p.has_annotation(k)) == ["img0", "img2", "img3"]
    rc, out, err = import_dataset(capsys, dataset, tmp_path / "p2", "--strict")
    assert rc == 1
    assert len(error_lines(err)) == 1 and "img1" in error_lines(err)[0]
    assert "Traceback" not in err


def test_unknown_format_is_a_clear_error(capsys, dataset, tmp_path):
    rc, out, err = run(capsys, "import", "shapefile", dataset.root, "--project", tmp_path / "p")
    assert rc == 1
    lines = error_lines(err)
    assert len(lines) == 1 and "unknown format 'shapefile'" in lines[0] and "mask-png" in lines[0]
    assert not (tmp_path / "p").exists()
    rc, _, err = run(capsys, "export", "shapefile", "--project", tmp_path / "p", "--out", tmp_path / "o")
    assert rc == 1 and "unknown format" in err


def test_failed_import_leaves_no_empty_project(capsys, dataset, tmp_path):
    needs_format("mask-png")
    rc, _, err = run(capsys, "import", "mask-png", "--images", dataset.root / "images", "--masks",
                     dataset.root / "masks", "--project", tmp_path / "p")  # no --classes
    assert rc == 1 and len(error_lines(err)) == 1 and "schema" in err
    assert not (tmp_path / "p").exists()
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "notes.txt").write_text("mine")
    rc, _, err = run(capsys, "import", "mask-png", "--images", dataset.root / "images", "--masks",
                     dataset.root / "masks", "--project", tmp_path / "keep", "--classes", "no-such-preset")
    assert rc == 1 and "no preset named 'no-such-preset'" in err
    assert sorted(p.name for p in (tmp_path / "keep").iterdir()) == ["notes.txt"]


def test_missing_source_and_missing_project(capsys, tmp_path):
    needs_format("labelme")
    rc, _, err = run(capsys, "import", "labelme", tmp_path / "nowhere", "--project", tmp_path / "p")
    assert rc == 1 and "nowhere: no such file or folder" in err
    rc, _, err = run(capsys, "stats", "--project", tmp_path / "nofolder")
    assert rc == 1 and "nofolder: no such folder" in err


def test_stats_and_validate_on_a_plain_labelme_folder(capsys, tmp_path):
    _labelme_folder(tmp_path / "lm")
    rc, out, err = run(capsys, "stats", "--project", tmp_path / "lm", "--json", "-q")
    assert rc == 0, err
    stats = json.loads(out)
    assert stats["images"] == 3 and stats["shapes"] == {"polygon": 3, "rectangle": 3}
    assert stats["classes"]["cat"]["pixels"] == 3 * 26 * 16  # "coco" pixel edges: 26 x 16 square
    assert run(capsys, "validate", "--project", tmp_path / "lm", "-q")[0] == 0
    _add_raw_shapes(tmp_path / "lm" / "pic1.json", [{"label": "cat", "points": [[1, 1]], "shape_type": "polygon"}])
    rc, out, _ = run(capsys, "validate", "--project", tmp_path / "lm", "-q")
    assert rc == 1 and out.count("\n") == 1 and "pic1.json" in out and "at least 3 points" in out
    # reading never writes a project file into the user's folder
    assert not (tmp_path / "lm" / PROJECT_FILE).exists()


def test_corrupt_project_file_one_line_error(capsys, dataset, tmp_path):
    proj_dir = tmp_path / "proj"
    assert import_dataset(capsys, dataset, proj_dir)[0] == 0
    (proj_dir / PROJECT_FILE).write_text('{"schema": {"classes": [', encoding="utf-8")
    for argv in (["stats"], ["validate"], ["export", "mask-png", "--out", tmp_path / "o"],
                 ["split", "--ratios", "0.5,0.5"]):
        rc, out, err = run(capsys, *argv, "--project", proj_dir)
        assert rc != 0, argv
        assert err.strip().count("\n") == 0, err  # exactly one line
        assert err.startswith("labeler: error:") and PROJECT_FILE in err and "corrupt" in err


# -------------------------------------------------------------------------------- split


def test_split_by_ratio_and_from_lists(capsys, dataset, tmp_path):
    proj_dir = tmp_path / "proj"
    assert import_dataset(capsys, dataset, proj_dir)[0] == 0
    rc, out, _ = run(capsys, "split", "--project", proj_dir, "--ratios", "train=0.75,val=0.25", "--seed", "1")
    assert rc == 0 and "train: 3" in out and "val: 1" in out
    with Project.open(proj_dir, read_only=True) as p:
        first = dict(p.splits)
    assert run(capsys, "split", "--project", proj_dir, "--ratios", "train=0.75,val=0.25", "--seed", "1")[0] == 0
    with Project.open(proj_dir, read_only=True) as p:
        assert p.splits == first  # same seed, same split
    (tmp_path / "train.txt").write_text("img0\nimg1\nimg2\n")
    (tmp_path / "val.txt").write_text("img3\n")
    rc, out, err = run(capsys, "split", "--project", proj_dir, "--from-lists",
                       f"train={tmp_path / 'train.txt'},val={tmp_path / 'val.txt'}")
    assert rc == 0, err
    with Project.open(proj_dir, read_only=True) as p:
        assert [Path(k).stem for k in p.splits["val"]] == ["img3"]
        assert len(p.splits["train"]) == 3
    rc, _, err = run(capsys, "split", "--project", proj_dir, "--ratios", "train=-1")
    assert rc == 1 and len(error_lines(err)) == 1


# -------------------------------------------------------------------------------- stats


def test_stats_numbers(capsys, dataset, tmp_path):
    proj_dir = tmp_path / "proj"
    assert import_dataset(capsys, dataset, proj_dir, "--split-ratios", "train=0.5,val=0.5")[0] == 0
    with Project.open(proj_dir) as p:  # imported label maps are done; mark one image reviewed
        key = p.image_keys()[0]
        ann = p.load(key)
        ann.status = "reviewed"
        p.save_annotation(key, ann)
    rc, out, err = run(capsys, "stats", "--project", proj_dir, "--json", "-q")
    assert rc == 0, err
    stats = json.loads(out)
    masks = list(dataset.masks.values())
    assert stats["images"] == 4 and stats["annotated"] == 4
    # one mask shape per stuff class per image, one per connected thing component
    has_dog = sum(bool((m == 2).any()) for m in masks)
    assert stats["shapes"] == {"mask": len(masks) + dataset.cats + has_dog}
    for cid, name in enumerate(["background", "cat", "dog"]):
        assert stats["classes"][name]["pixels"] == sum(int((m == cid).sum()) for m in masks), name
    assert stats["classes"]["cat"]["instances"] == dataset.cats
    assert stats["classes"]["background"]["instances"] == len(masks)
    assert stats["classes"]["dog"]["instances"] == has_dog
    assert stats["status"] == {"reviewed": 1, "done": 3}
    assert stats["splits"] == {"train": 2, "val": 2} and stats["unassigned"] == 0
    rc, text, _ = run(capsys, "stats", "--project", proj_dir, "-q")
    assert rc == 0
    assert "images      4" in text and f"mask {stats['shapes']['mask']}" in text
    assert any(ln.split()[:4] == ["cat", str(dataset.cats), str(dataset.cats),
                                  str(stats["classes"]["cat"]["pixels"])] for ln in text.splitlines())


def test_stats_counts_overlaps_once_by_z_order(capsys, tmp_path):
    from labeler.core.annotation import ImageAnnotation
    from labeler.core.schema import Schema
    from labeler.core.shapes import Shape

    Image.new("RGB", (20, 10)).save(tmp_path / "a.png")
    with Project.create(tmp_path / "p", Schema.from_names(["x", "y"]), image_roots=[]) as p:
        (key,) = p.add_images([tmp_path / "a.png"])
        p.save()
        under = Shape("rectangle", "x", [[0, 0], [10, 10]])
        over = Shape("rectangle", "y", [[5, 0], [10, 10]], z=1)
        point = Shape("point", "y", [[1, 1]])
        p.save_annotation(key, ImageAnnotation("a.png", 20, 10, [over, under, point]))
    rc, out, _ = run(capsys, "stats", "--project", tmp_path / "p", "--json", "-q")
    stats = json.loads(out)
    assert rc == 0
    # "coco" pixel edges: the 10 x 10 box covers 100 pixels, 50 of them under y
    assert stats["classes"]["x"]["pixels"] == 50 and stats["classes"]["y"]["pixels"] == 50
    assert stats["classes"]["y"] == {"shapes": 2, "instances": 1, "pixels": 50}
    assert stats["shapes"] == {"point": 1, "rectangle": 2}


# ----------------------------------------------------------------------------- validate


def _add_raw_shapes(ann_path, shapes):
    d = json.loads(ann_path.read_text("utf-8"))
    d["shapes"].extend(shapes)
    ann_path.write_text(json.dumps(d), encoding="utf-8")


def test_validate_finds_every_kind_of_problem(capsys, dataset, tmp_path):
    proj_dir = tmp_path / "proj"
    assert import_dataset(capsys, dataset, proj_dir)[0] == 0
    rc, out, err = run(capsys, "validate", "--project", proj_dir, "-q")
    assert rc == 0 and out == "", out
    with Project.open(proj_dir, read_only=True) as p:
        keys = p.image_keys()
        ann_paths = [p.annotation_path(k) for k in keys]
        images = [p.image_path(k) for k in keys]
    wrong_size = rle_encode(np.ones((10, 10), bool))
    _add_raw_shapes(ann_paths[0], [
        {"label": "cat", "points": [[1, 1], [5, 5]], "shape_type": "polygon"},  # 2 points
        {"label": "unicorn", "points": [[1, 1], [9, 1], [9, 9]], "shape_type": "polygon"},
        {"label": "cat", "points": [[0, 0], [10, 10], [10, 0], [0, 10]], "shape_type": "polygon"},  # bowtie
        {"label": "dog", "points": [[0, 0], [9, 9]], "shape_type": "mask", "labeler": {"rle": wrong_size}},
    ])
    images[1].unlink()
    ann_paths[2].write_text("{ not json", encoding="utf-8")
    images[3].write_bytes(images[3].read_bytes()[:60])  # truncated PNG
    rc, out, err = run(capsys, "validate", "--project", proj_dir, "-q")
    assert rc == 1
    lines = out.splitlines()
    assert len(lines) == 7, out
    a0 = str(ann_paths[0])
    assert any(a0 in ln and "at least 3 points" in ln for ln in lines)
    assert any(a0 in ln and "'unicorn' is not in the project's classes" in ln for ln in lines)
    assert any(a0 in ln and "polygon is invalid" in ln and "elf-intersection" in ln for ln in lines)
    assert any(a0 in ln and "mask is 10 x 10" in ln for ln in lines)
    assert any(str(images[1]) in ln and "not found" in ln for ln in lines)
    assert any(str(ann_paths[2]) in ln and "corrupt JSON" in ln for ln in lines)
    assert any(str(images[3]) in ln for ln in lines)
    assert "7 problems" in err
    # --strict: the first problem ends the job with one error line
    rc, out, err = run(capsys, "validate", "--project", proj_dir, "--strict", "-q")
    assert rc == 1 and len(error_lines(err)) == 1 and out == ""


def test_validate_quick_reads_headers_only(capsys, dataset, tmp_path):
    proj_dir = tmp_path / "proj"
    assert import_dataset(capsys, dataset, proj_dir)[0] == 0
    with Project.open(proj_dir, read_only=True) as p:
        img = p.image_path(p.image_keys()[0])
    data = img.read_bytes()
    img.write_bytes(data[: len(data) - 200])  # header intact, pixel data cut short
    assert run(capsys, "validate", "--project", proj_dir, "--quick", "-q")[0] == 0
    rc, out, _ = run(capsys, "validate", "--project", proj_dir, "-q")
    assert rc == 1 and str(img) in out


def test_masks_round_trip_through_rle(dataset):
    # guards the fixture: a mask survives rle_encode/decode, so pixel comparisons above are fair
    m = dataset.masks["img0"] == 1
    assert np.array_equal(rle_decode(rle_encode(m)), m)


# ------------------------------------------------------------------------- window commands


@pytest.fixture
def fake_gui(monkeypatch, tmp_path):
    calls = []
    gui = types.ModuleType("labeler.gui.app")
    gui.run = lambda path: calls.append(path) or 0
    demo = types.ModuleType("labeler.demo")
    demo.ensure_demo_project = lambda: tmp_path / "demo"
    monkeypatch.setitem(sys.modules, "labeler.gui.app", gui)
    monkeypatch.setitem(sys.modules, "labeler.demo", demo)
    return calls


def test_labeler_path_opens_the_window(capsys, fake_gui, tmp_path):
    assert run(capsys, tmp_path)[0] == 0
    assert run(capsys)[0] == 0
    assert run(capsys, "open", tmp_path)[0] == 0
    assert run(capsys, "demo")[0] == 0
    assert fake_gui == [str(tmp_path), None, str(tmp_path), str(tmp_path / "demo")]
    rc, _, err = run(capsys, tmp_path / "missing.png")
    assert rc == 1 and "missing.png: no such file or folder" in err
    rc, _, err = run(capsys, "frobnicate")
    assert rc == 2 and "invalid choice: 'frobnicate'" in err
    assert len(fake_gui) == 4


def test_parse_options():
    assert parse_options(["copy_images=true", "min-area=4", "name=abc", "x=none"]) == {
        "copy_images": True, "min_area": 4, "name": "abc", "x": None}
    with pytest.raises(Exception, match="KEY=VALUE"):
        parse_options(["nonsense"])


# ----------------------------------------------------------------------- installed script


def test_console_script_and_no_qt_for_data_commands(tmp_path):
    script = Path(sys.executable).parent / "labeler"
    if not script.exists():
        pytest.skip("the console script is not installed in this environment")
    res = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    for command in ("import", "export", "split", "stats", "validate", "demo", "pyramids"):
        assert command in res.stdout
    _labelme_folder(tmp_path / "lm")
    code = ("import sys; from labeler.cli import main; "
            "rcs = [main([c, '--project', sys.argv[1], '-q']) for c in ('stats', 'validate', 'pyramids')]; "
            "print('qt' if any(m.startswith('PySide6') for m in sys.modules) else 'no-qt', "
            "'torch' if 'torch' in sys.modules else 'no-torch', *rcs)")
    res = subprocess.run([sys.executable, "-c", code, str(tmp_path / "lm")], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    # data commands start fast: neither Qt nor torch (seconds to import) is loaded for them
    assert res.stdout.splitlines()[-1].split() == ["no-qt", "no-torch", "0", "0", "0"], res.stdout + res.stderr
    assert "images      3" in res.stdout


def test_window_without_a_display_is_a_one_line_error(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    rc, out, err = run(capsys, "open", tmp_path)
    assert rc != 0
    assert error_lines(err) and "no display" in error_lines(err)[0] and "xvfb-run" in error_lines(err)[0]
