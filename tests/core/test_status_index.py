"""The status index: statuses from .labeler/status.json, annotation files parsed only when changed."""

from __future__ import annotations

import json
import os

from PIL import Image

from labeler.core.annotation import ImageAnnotation
from labeler.core.project import Project
from labeler.core.status_index import INDEX_FILE, UNKNOWN, StatusIndex


def _project(tmp_path, n=12):
    proj = Project.create(tmp_path / "p")
    img = tmp_path / "p" / "img"
    img.mkdir()
    for i in range(n):
        Image.new("RGB", (8, 6)).save(img / f"{i:03d}.png")
    proj.refresh()
    for i, key in enumerate(proj.image_keys()):
        if i % 3:  # a third have no annotation yet
            proj.save_annotation(key, ImageAnnotation(key, 8, 6, status=("done", "in_progress")[i % 2]))
    return proj


def test_first_open_reads_each_annotation_once_then_the_index_answers(tmp_path):
    proj = _project(tmp_path)
    keys = proj.image_keys()
    idx = StatusIndex(proj)
    statuses, stale = idx.lookup(keys)
    assert len(stale) == 8 and all(statuses[k] == UNKNOWN for k in stale)
    assert [statuses[k] for k in keys[::3]] == ["new"] * 4 and idx.reads == 0  # no file: no read
    statuses.update(idx.refresh(stale))
    assert idx.reads == 8 and idx.save() and (proj.root / INDEX_FILE).is_file()
    expected = {k: "new" if i % 3 == 0 else ("done", "in_progress")[i % 2] for i, k in enumerate(keys)}
    assert statuses == expected

    again = StatusIndex(proj)
    assert again.lookup(keys) == (expected, []) and again.reads == 0
    assert not again.save()  # nothing changed: nothing written


def test_changed_files_are_stale_and_a_save_records_its_status(tmp_path):
    proj = _project(tmp_path)
    keys = proj.image_keys()
    idx = StatusIndex(proj)
    idx.refresh(idx.lookup(keys)[1])
    idx.save()
    # another program rewrites one annotation; a new one is created for an image that had none
    path = proj.annotation_path(keys[1])
    d = json.loads(path.read_text("utf-8"))
    d["labeler"]["status"] = "reviewed"
    path.write_text(json.dumps(d), "utf-8")
    os.utime(path, ns=(1, 1))
    proj.save_annotation(keys[0], ImageAnnotation(keys[0], 8, 6, status="done"))
    idx = StatusIndex(proj)
    statuses, stale = idx.lookup(keys)
    assert sorted(stale) == [keys[0], keys[1]]
    assert idx.refresh(stale) == {keys[0]: "done", keys[1]: "reviewed"} and idx.reads == 2
    # what the session does after saving: record the status it wrote, no read needed
    proj.save_annotation(keys[2], ImageAnnotation(keys[2], 8, 6, status="reviewed"))
    idx.record(keys[2], "reviewed")
    assert idx.reads == 2
    idx.save()
    fresh = StatusIndex(proj)
    statuses, stale = fresh.lookup(keys)
    assert stale == [] and statuses[keys[2]] == "reviewed" and statuses[keys[1]] == "reviewed"


def test_deleted_annotation_is_new_and_bad_files_are_unreadable(tmp_path):
    proj = _project(tmp_path, n=3)
    keys = proj.image_keys()
    idx = StatusIndex(proj)
    idx.refresh(idx.lookup(keys)[1])
    proj.annotation_path(keys[1]).unlink()
    proj.annotation_path(keys[2]).write_text("{ not json", "utf-8")
    statuses, stale = idx.lookup(keys)
    assert statuses[keys[1]] == "new" and stale == [keys[2]]
    assert idx.refresh(stale) == {keys[2]: "unreadable"}


def test_damaged_index_is_rebuilt_and_read_only_projects_write_none(tmp_path):
    proj = _project(tmp_path, n=3)
    (proj.root / INDEX_FILE).parent.mkdir(exist_ok=True)
    (proj.root / INDEX_FILE).write_text("[1, 2", "utf-8")
    idx = StatusIndex(proj)
    statuses, stale = idx.lookup(proj.image_keys())
    assert len(stale) == 2
    idx.refresh(stale)
    assert idx.save() and json.loads((proj.root / INDEX_FILE).read_text("utf-8"))["version"] == 1
    (proj.root / INDEX_FILE).unlink()
    ro = Project.open(proj.root, read_only=True)
    idx = StatusIndex(ro)
    idx.refresh(idx.lookup(ro.image_keys())[1])
    assert not idx.save() and not (proj.root / INDEX_FILE).exists()


def test_proposal_counts_are_indexed_with_the_status_and_old_entries_are_read_again(tmp_path):
    from labeler.core.shapes import Shape

    proj = _project(tmp_path, n=3)
    keys = proj.image_keys()
    sq = [[1, 1], [5, 1], [5, 4]]
    shapes = [Shape(kind="polygon", label="a", points=sq),  # drawn by hand
              Shape(kind="polygon", label="a", points=sq, source="sam", flags={"proposal": True}),
              Shape(kind="polygon", label="a", points=sq, source="model"),  # a pre-label not yet accepted
              Shape(kind="polygon", label="a", points=sq, source="model", flags={"proposal": False})]  # accepted
    proj.save_annotation(keys[1], ImageAnnotation(keys[1], 8, 6, shapes=shapes, status="in_progress"))
    idx = StatusIndex(proj)
    idx.refresh(idx.lookup(keys)[1])
    assert idx.proposal_counts(keys) == {keys[0]: 0, keys[1]: 2, keys[2]: 0}
    assert sum(s.is_proposal for s in shapes) == 2  # the same rule as the shapes'
    # what the window's saver does: the count of the snapshot it wrote, no read
    proj.save_annotation(keys[2], ImageAnnotation(keys[2], 8, 6, shapes=shapes[1:2], status="in_progress"))
    reads = idx.reads
    idx.record(keys[2], "in_progress", 1)
    assert idx.reads == reads and idx.proposal_counts([keys[2]]) == {keys[2]: 1}
    idx.save()
    fresh = StatusIndex(proj)
    assert fresh.lookup(keys)[1] == [] and fresh.proposal_counts(keys)[keys[1]] == 2 and fresh.reads == 0
    # an index written before counts were kept: its entries are read once more
    d = json.loads((proj.root / INDEX_FILE).read_text("utf-8"))
    for e in d["entries"].values():
        e.pop("proposals")
    (proj.root / INDEX_FILE).write_text(json.dumps(d), "utf-8")
    old = StatusIndex(proj)
    stale = old.lookup(keys)[1]
    assert sorted(stale) == [keys[1], keys[2]]
    old.refresh(stale)
    assert old.proposal_counts(keys) == {keys[0]: 0, keys[1]: 2, keys[2]: 1}
