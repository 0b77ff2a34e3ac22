"""Trying to make a re-export delete what it must not: manifests edited by hand or by another
version, names that reach a file just written, files the user changed, folders that hold the
project, two exports at once, crashes and options that write more files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from labeler import cli
from labeler.core.fileio import write_bytes_atomic
from labeler.core.jobs import JobContext
from labeler.core.project import Project
from labeler.formats.export_target import MANIFEST, ExportTarget, ExportTargetError
from labeler.formats.registry import export_project

from .test_export_target import files_under, forget_image, manifest
from .voc_fixtures import voc_project


@pytest.fixture
def project(tmp_path):
    with voc_project(tmp_path / "proj", splits={"train": ["images/a.png", "images/b.png"],
                                                "val": ["images/c.jpg"]}) as p:
        yield p


def stamp(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


def forge(out: Path, entries: dict[str, Path | None], **fields) -> None:
    """Add entries to the manifest as a hand or another tool would, with stamps that match the
    files they name now (None: no stamp), and set other fields."""
    m = manifest(out)
    m.setdefault("stamps", {})
    for rel, target in entries.items():
        m["files"].append(rel)
        if target is not None:
            m["stamps"][rel] = stamp(target)
    m.update(fields)
    (out / MANIFEST).write_text(json.dumps(m), "utf-8")


def test_a_stale_file_the_user_edited_since_the_export_is_kept(project, tmp_path):
    out = tmp_path / "out"
    export_project("mask-png", project, out, JobContext())
    mine = out / "masks" / "b.png"
    mine.write_bytes(mine.read_bytes() + b"hand-corrected")  # edited in place, after the export
    forget_image(project, "images/b.png")
    ctx = JobContext()
    export_project("mask-png", project, out, ctx)
    assert mine.is_file() and mine.read_bytes().endswith(b"hand-corrected")
    assert any("changed since the earlier export wrote" in w and "masks/b.png" in w for w in ctx.report.warnings)
    assert "masks/b.png" not in manifest(out)["files"]  # now the user's: later exports leave it alone too


def test_entries_added_to_the_manifest_by_hand_delete_nothing(project, tmp_path):
    out = tmp_path / "out"
    export_project("mask-png", project, out, JobContext())
    (out / "NOTES.txt").write_text("mine", "utf-8")
    (out / "masks" / "keep.png").write_bytes(b"mine")
    forge(out, {"NOTES.txt": None, "masks/keep.png": None})
    ctx = JobContext()
    export_project("mask-png", project, out, ctx)
    assert (out / "NOTES.txt").read_text("utf-8") == "mine" and (out / "masks" / "keep.png").is_file()
    assert "removed" not in ctx.report.outputs


def test_a_name_that_reaches_a_file_just_written_never_deletes_it(tmp_path):
    """``./masks/a.png``, ``masks//a.png`` and, on a case-insensitive file system, ``masks/A.png``
    name the file the export has just written. The hard link stands in for the case-insensitive
    name, and the restored mtime for a file system too coarse to see the rewrite: the stamps match."""
    out = tmp_path / "out"
    a, e = out / "masks" / "a.png", out / "masks" / "\u00e9.png"  # é composed (NFC)
    aliases = {out / "masks" / "A.png": a, out / "masks" / "e\u0301.png": e}  # A, é decomposed (NFD)
    with ExportTarget(out, "mask-png"):
        write_bytes_atomic(a, b"mask")
        write_bytes_atomic(e, b"mask")
    for alias, target in aliases.items():
        os.link(target, alias)
    when = a.stat().st_mtime_ns
    forge(out, {"./masks/a.png": a, "masks//a.png": a, "masks/x/../a.png": a, "masks/A.png": a,
                "masks/e\u0301.png": e})
    with ExportTarget(out, "mask-png") as target:
        for path in (a, e):
            write_bytes_atomic(path, b"mask")
            os.utime(path, ns=(when, when))
        for alias, path in aliases.items():  # where case is ignored or names normalised: the new file
            alias.unlink()
            os.link(path, alias)
    assert a.read_bytes() == b"mask" and e.read_bytes() == b"mask" and all(p.is_file() for p in aliases)
    assert target.removed == []


def test_a_manifest_of_a_newer_or_an_older_labeler_deletes_nothing(project, tmp_path):
    out = tmp_path / "out"
    export_project("mask-png", project, out, JobContext())
    b = out / "masks" / "b.png"
    forget_image(project, "images/b.png")
    forge(out, {}, version=99)  # its stamps match, but a newer version may mean something else by them
    ctx = JobContext()
    export_project("mask-png", project, out, ctx)
    assert b.is_file() and any("newer labeler" in w for w in ctx.report.warnings)

    m = manifest(out)  # the first manifests had neither version nor stamps
    m.pop("version"), m.pop("stamps")
    m["files"].append("masks/b.png")
    (out / MANIFEST).write_text(json.dumps(m), "utf-8")
    ctx = JobContext()
    export_project("mask-png", project, out, ctx)
    assert b.is_file() and manifest(out)["version"] == 2


def test_the_project_is_safe_when_out_is_its_parent_or_its_images_folder(project, tmp_path):
    image = project.image_path("images/a.png")
    ann = project.annotation_path("images/a.png")
    for out, inside in ((tmp_path, 2), (Path(image).parent, 1)):  # both need overwrite: they hold other files
        export_project("mask-png", project, out, JobContext(), overwrite=True)
        forge(out, {os.path.relpath(image, out): Path(image), os.path.relpath(ann, out): Path(ann)})
        ctx = JobContext()
        export_project("mask-png", project, out, ctx)
        assert Path(image).is_file() and Path(ann).is_file()  # ../annotations is outside OUT: not even looked at
        assert sum("part of the project; not deleted" in w for w in ctx.report.warnings) == inside


def test_links_and_folders_named_by_a_stamped_entry_are_not_followed_or_removed(project, tmp_path):
    out = tmp_path / "out"
    export_project("mask-png", project, out, JobContext())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    precious = elsewhere / "precious.png"
    precious.write_bytes(b"keep")
    (out / "masks" / "linked").symlink_to(elsewhere, target_is_directory=True)
    (out / "adir").mkdir()
    forge(out, {"masks/linked/precious.png": precious, "adir": out / "adir",
                str(precious): precious, "../elsewhere/precious.png": precious})
    export_project("mask-png", project, out, JobContext())
    assert precious.read_bytes() == b"keep" and (out / "adir").is_dir() and (out / "masks" / "linked").is_symlink()


def test_two_exports_into_one_folder_at_once_the_second_is_refused(project, tmp_path, capsys):
    out = tmp_path / "out"
    with ExportTarget(out, "mask-png") as first:  # e.g. the window's export, still running
        write_bytes_atomic(out / "masks" / "a.png", b"1")
        with pytest.raises(ExportTargetError, match=r"out: another export is writing into this folder"):
            export_project("mask-png", project, out, JobContext())
        rc = cli.main(["export", "mask-png", "--project", str(project.root), "--out", str(out), "-q"])
        assert rc == 1 and "another export is writing into this folder" in capsys.readouterr().err
    assert first.files == ["masks/a.png"] and manifest(out)["files"] == ["masks/a.png"]
    export_project("mask-png", project, out, JobContext())  # once the first is done
    assert "masks/c.png" in manifest(out)["files"] and (out / "masks" / "c.png").is_file()


def test_a_crash_before_the_manifest_leaves_the_new_files_unlisted_and_never_deleted(project, tmp_path):
    out = tmp_path / "out"
    export_project("mask-png", project, out, JobContext(), split="val")
    old = (out / MANIFEST).read_bytes()
    export_project("mask-png", project, out, JobContext())   # ... and the process died before this
    (out / MANIFEST).write_bytes(old)                        # manifest replaced the old one
    forget_image(project, "images/a.png")
    export_project("mask-png", project, out, JobContext(), split="val")
    assert (out / "masks" / "a.png").is_file() and (out / "masks" / "b.png").is_file()


@pytest.mark.parametrize("fmt, options", [("coco", {"copy_images": True}), ("coco-panoptic", {"copy_images": True}),
                                          ("mask-png", {"color": True}), ("yolo", {"link_images": True}),
                                          ("cityscapes", {})])
def test_options_that_write_more_files_list_them_all(fmt, options, project, tmp_path):
    out = tmp_path / "out"
    export_project(fmt, project, out, JobContext(), **options)
    assert set(manifest(out)["files"]) == files_under(out) - {MANIFEST}
    assert set(manifest(out)["stamps"]) == set(manifest(out)["files"])
    forget_image(project, "images/b.png")
    export_project(fmt, project, out, JobContext(), **options)
    assert set(manifest(out)["files"]) == files_under(out) - {MANIFEST}  # b's files went: none unlisted


def test_exporting_one_split_keeps_another_splits_files_until_a_full_export(project, tmp_path):
    out = tmp_path / "out"
    voc = out / "VOCdevkit" / "VOC2012"
    export_project("voc", project, out, JobContext(), split="train")
    train_files = files_under(out) - {MANIFEST}
    ctx = JobContext()
    export_project("voc", project, out, ctx, split="val")  # into the same tree: train's files stay
    assert train_files <= files_under(out) and (voc / "SegmentationClass" / "c.png").is_file()
    assert "removed" not in ctx.report.outputs and manifest(out)["split"] == ["train", "val"]
    assert set(manifest(out)["files"]) == files_under(out) - {MANIFEST}
    forget_image(project, "images/b.png")
    export_project("voc", project, out, JobContext(), split="val")  # b's leftovers wait for a full export
    assert (voc / "SegmentationClass" / "b.png").is_file()
    export_project("voc", project, out, JobContext())
    assert not list(out.rglob("b.*")) and (voc / "SegmentationClass" / "a.png").is_file()
    assert manifest(out)["split"] is None and set(manifest(out)["files"]) == files_under(out) - {MANIFEST}


def test_an_export_inside_the_project_is_not_taken_for_project_images_and_is_cleaned(project):
    keys = project.image_keys()
    out = project.root / "export"
    export_project("voc", project, out, JobContext())
    project.refresh()
    assert project.image_keys() == keys  # the exported JPEGImages and masks are not new images to label
    forget_image(project, "images/b.png")
    ctx = JobContext()
    export_project("voc", project, out, ctx)
    assert ctx.report.ok and not ctx.report.warnings and not list(out.rglob("b.*"))
    assert len(ctx.report.outputs["removed"]) == 4

    export_project("mask-png", project, project.root, JobContext(), overwrite=True)  # into the project itself
    project.refresh()
    assert project.image_keys() == ["images/a.png", "images/c.jpg"] and (project.root / "masks" / "a.png").is_file()


def test_a_file_listed_by_hand_in_a_manifest_inside_the_project_stays_a_project_image(project):
    export_project("mask-png", project, project.root / "images", JobContext(), overwrite=True)
    forge(project.root / "images", {"a.png": None})  # no stamp: not the export's
    project.refresh()
    assert "images/a.png" in project.image_keys() and "images/masks/a.png" not in project.image_keys()
