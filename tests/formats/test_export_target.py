"""Exporting into a folder that is not empty: the manifest, stale files of an earlier export, the
user's own files, and ``--overwrite`` (through the registry and through ``labeler export``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labeler import cli
from labeler.core.jobs import JobContext
from labeler.core.project import Project
from labeler.demo import ensure_demo_project
from labeler.formats.export_target import MANIFEST, ExportTarget, ExportTargetError
from labeler.formats.registry import FORMATS, can_export, export_project

from .voc_fixtures import voc_project


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def manifest(folder: Path) -> dict:
    return json.loads((folder / MANIFEST).read_text("utf-8"))


@pytest.fixture
def project(tmp_path):
    with voc_project(tmp_path / "proj", splits={"train": ["images/a.png", "images/b.png"],
                                                "val": ["images/c.jpg"]}) as p:
        yield p


def forget_image(project: Project, key: str) -> None:
    """Take an image out of the project, as the user does by deleting its file and annotation."""
    project.annotation_path(key).unlink(missing_ok=True)
    project.image_path(key).unlink()
    project.splits = {k: [x for x in v if x != key] for k, v in project.splits.items()}
    project.save()
    project.refresh()


@pytest.mark.parametrize("fmt", [f for f in FORMATS if can_export(f)])
def test_every_exporter_lists_exactly_the_files_it_wrote(fmt, project, tmp_path):
    out = tmp_path / "out"
    export_project(fmt, project, out, JobContext())
    listed = manifest(out)
    assert listed["format"] == fmt and listed["tool"] == "labeler"
    assert set(listed["files"]) == files_under(out) - {MANIFEST} != set()


def test_reexport_after_removing_an_image_leaves_no_stale_mask_and_keeps_user_files(project, tmp_path):
    out = tmp_path / "out"
    export_project("voc", project, out, JobContext())
    voc = out / "VOCdevkit" / "VOC2012"
    assert (voc / "SegmentationClass" / "b.png").is_file()
    (out / "NOTES.txt").write_text("mine", "utf-8")            # the user's own files beside the export
    (voc / "SegmentationClass" / "mine.png").write_bytes(b"x")
    forget_image(project, "images/b.png")
    ctx = JobContext()
    export_project("voc", project, out, ctx)
    assert ctx.report.ok and ctx.report.done == 2
    for sub, ext in (("SegmentationClass", "png"), ("SegmentationObject", "png"), ("Annotations", "xml"),
                     ("JPEGImages", "jpg")):
        assert not (voc / sub / f"b.{ext}").exists()
        assert (voc / sub / f"a.{ext}").is_file()
    assert (voc / "ImageSets" / "Segmentation" / "train.txt").read_text() == "a\n"
    assert (out / "NOTES.txt").read_text("utf-8") == "mine" and (voc / "SegmentationClass" / "mine.png").is_file()
    assert sorted(ctx.report.outputs["removed"]) == [f"VOCdevkit/VOC2012/{s}/b.{e}" for s, e in (
        ("Annotations", "xml"), ("JPEGImages", "jpg"), ("SegmentationClass", "png"), ("SegmentationObject", "png"))]
    assert set(manifest(out)["files"]) == files_under(out) - {MANIFEST, "NOTES.txt",
                                                              "VOCdevkit/VOC2012/SegmentationClass/mine.png"}


def test_folders_left_empty_go_and_a_tampered_manifest_deletes_nothing_outside(project, tmp_path):
    out = tmp_path / "out"
    export_project("mask-png", project, out, JobContext(), split="val", color=True)
    assert (out / "masks" / "c.png").is_file() and (out / "color" / "c.png").is_file()
    outside = tmp_path / "precious.txt"
    outside.write_text("keep", "utf-8")
    (out / "link.png").symlink_to(outside)
    m = manifest(out)
    m["files"] += ["../precious.txt", str(outside), "link.png", ".", "masks"]
    (out / MANIFEST).write_text(json.dumps(m), "utf-8")
    export_project("mask-png", project, out, JobContext(), split="val")  # the same split, without colour
    assert outside.read_text("utf-8") == "keep" and (out / "link.png").is_symlink()
    assert (out / "masks" / "c.png").is_file()
    assert not (out / "color").exists()  # the folder it left empty went too


def test_the_project_and_its_images_are_never_deleted_even_when_a_manifest_lists_them(project, tmp_path):
    out = project.root  # exported into the project folder itself (needs --overwrite)
    export_project("mask-png", project, out, JobContext(), overwrite=True)
    m = manifest(out)
    m["files"] += ["images/a.png", "annotations/images/a.json", "labeler-project.json"]
    (out / MANIFEST).write_text(json.dumps(m), "utf-8")
    ctx = JobContext()
    export_project("mask-png", project, out, ctx)
    assert (out / "images" / "a.png").is_file() and project.annotation_path("images/a.png").is_file()
    assert (out / "labeler-project.json").is_file()
    assert sum("part of the project; not deleted" in w for w in ctx.report.warnings) == 3


def test_a_folder_of_other_files_is_refused_unless_overwrite(project, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "holiday.jpg").write_bytes(b"photo")
    (out / "SegmentationClass.txt").write_text("notes", "utf-8")
    with pytest.raises(ExportTargetError, match=r"mine: folder is not empty and holds no earlier labeler export"):
        export_project("voc", project, out, JobContext())
    assert files_under(out) == {"holiday.jpg", "SegmentationClass.txt"}  # nothing written
    export_project("voc", project, out, JobContext(), overwrite=True)
    assert (out / "holiday.jpg").read_bytes() == b"photo" and (out / "SegmentationClass.txt").is_file()
    assert "holiday.jpg" not in manifest(out)["files"]
    forget_image(project, "images/a.png")
    export_project("voc", project, out, JobContext())  # now an export of its own: no --overwrite needed
    assert (out / "holiday.jpg").is_file() and not list(out.rglob("a.png"))


def test_another_format_in_the_folder_is_refused_unless_overwrite_and_then_kept(project, tmp_path):
    out = tmp_path / "out"
    export_project("voc", project, out, JobContext())
    voc_files = files_under(out) - {MANIFEST}
    with pytest.raises(ExportTargetError, match="holds a voc export; exporting mask-png there would mix two formats"):
        export_project("mask-png", project, out, JobContext())
    export_project("mask-png", project, out, JobContext(), overwrite=True)
    assert voc_files <= files_under(out)
    assert manifest(out)["format"] == "mask-png" and not voc_files & set(manifest(out)["files"])


def test_a_failed_export_deletes_nothing_and_the_next_one_clears_both(project, tmp_path):
    out = tmp_path / "out"
    export_project("voc", project, out, JobContext())
    before = files_under(out)
    forget_image(project, "images/b.png")

    class Boom(Exception):
        pass

    def failing_progress(items, total, desc):
        for i, item in enumerate(items):
            if i == 1:
                raise Boom()
            yield item

    with pytest.raises(Boom):
        export_project("voc", project, out, JobContext(progress=failing_progress))
    assert before <= files_under(out)  # b's files are still there
    assert not manifest(out)["complete"] and set(manifest(out)["files"]) >= before - {MANIFEST}
    export_project("voc", project, out, JobContext())
    assert not list(out.rglob("b.*")) and manifest(out)["complete"]


def test_files_written_by_other_threads_are_not_the_exports(tmp_path):
    import threading

    from labeler.core.fileio import write_bytes_atomic

    out = tmp_path / "out"
    with ExportTarget(out, "mask-png") as target:
        write_bytes_atomic(out / "mine.txt", b"1")
        t = threading.Thread(target=write_bytes_atomic, args=(out / "autosave.json", b"{}"))
        t.start()
        t.join()
    assert target.files == ["mine.txt"] and manifest(out)["files"] == ["mine.txt"]


# ------------------------------------------------------------------------------------- CLI


def run(capsys, *argv) -> tuple[int, str, str]:
    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_cli_refuses_a_folder_of_other_files_and_overwrite_writes_into_it(capsys, tmp_path):
    demo = ensure_demo_project(tmp_path / "demo")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine", "utf-8")
    rc, stdout, err = run(capsys, "export", "mask-png", "--project", demo, "--out", out, "-q")
    assert rc == 1 and stdout == ""
    assert err.strip().splitlines() == [f"labeler: error: {out}: folder is not empty and holds no earlier labeler "
                                        "export; choose an empty folder, or give --overwrite to write into it "
                                        "(files of the same name are replaced, nothing is deleted)"]
    assert files_under(out) == {"keep.txt"}
    rc, stdout, err = run(capsys, "export", "mask-png", "--project", demo, "--out", out, "-q", "--overwrite")
    assert rc == 0, err
    assert (out / "keep.txt").read_text("utf-8") == "mine" and (out / "schema.json").is_file()
    rc, _, err = run(capsys, "export", "labelme", "--project", demo, "--out", out, "-q")
    assert rc == 1 and "holds a mask-png export; exporting labelme there would mix two formats" in err


def test_cli_reexport_reports_what_it_removed(capsys, tmp_path):
    demo = ensure_demo_project(tmp_path / "demo")
    out = tmp_path / "out"
    assert run(capsys, "export", "mask-png", "--project", demo, "--out", out, "-q")[0] == 0
    masks = sorted(p for p in (out / "masks").rglob("*.png"))
    with Project.open(demo) as p:
        key = next(k for k in p.image_keys() if Path(k).stem == masks[0].stem)
        forget_image(p, key)
    rc, stdout, err = run(capsys, "export", "mask-png", "--project", demo, "--out", out, "-q")
    assert rc == 0, err
    assert "removed 1 files the previous mask-png export left behind" in stdout
    assert not masks[0].exists() and all(m.exists() for m in masks[1:])
