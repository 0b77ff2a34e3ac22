"""Splits: by ratio with a seed, and from list files of names or stems."""

from __future__ import annotations

import pytest

from labeler.core.errors import ProjectError
from labeler.core.splits import parse_ratios, split_by_ratio, split_from_lists

KEYS = [f"images/img_{i:03d}.png" for i in range(100)]


def test_ratio_split_is_reproducible_with_a_seed_and_changes_with_it():
    a = split_by_ratio(KEYS, {"train": 0.7, "val": 0.2, "test": 0.1}, seed=7)
    b = split_by_ratio(list(reversed(KEYS)), {"train": 0.7, "val": 0.2, "test": 0.1}, seed=7)
    c = split_by_ratio(KEYS, {"train": 0.7, "val": 0.2, "test": 0.1}, seed=8)
    assert a == b  # the input order does not matter, only the keys and the seed
    assert a != c
    assert a["val"] != sorted(KEYS)[70:90]  # shuffled, not cut in name order


def test_ratio_split_puts_every_key_in_exactly_one_split():
    out = split_by_ratio(KEYS, {"train": 0.8, "val": 0.15, "test": 0.05}, seed=1)
    assert {k: len(v) for k, v in out.items()} == {"train": 80, "val": 15, "test": 5}
    flat = [k for v in out.values() for k in v]
    assert sorted(flat) == sorted(KEYS) and len(flat) == len(set(flat))


def test_ratios_are_normalised_and_the_last_split_takes_the_rest():
    out = split_by_ratio(KEYS[:7], {"train": 2, "val": 1}, seed=0)
    assert len(out["train"]) == 5 and len(out["val"]) == 2
    assert split_by_ratio([], {"train": 1.0}) == {"train": []}


@pytest.mark.parametrize("ratios", [{}, {"train": -0.5, "val": 1.0}, {"train": 0.0}])
def test_bad_ratios_are_refused(ratios):
    with pytest.raises(ValueError, match="ratios"):
        split_by_ratio(KEYS, ratios)


def test_parse_ratios():
    assert parse_ratios("train=0.8, val=0.2") == {"train": 0.8, "val": 0.2}
    assert parse_ratios("0.7,0.2,0.1") == {"train": 0.7, "val": 0.2, "test": 0.1}
    with pytest.raises(ValueError):
        parse_ratios("0.5,0.2,0.2,0.1")


def test_split_from_list_files_of_stems_names_and_keys(tmp_path):
    keys = ["cam/train/0001TP_006690.png", "cam/train/0001TP_006720.png", "cam/val/0016E5_07959.png",
            "other/x.jpg"]
    (tmp_path / "train.txt").write_text("0001TP_006690\n0001TP_006720.png\n\nmissing_stem\n", "utf-8")
    (tmp_path / "val.txt").write_text("cam/val/0016E5_07959.png some trailing column\n", "utf-8")
    out = split_from_lists(keys, {"train": tmp_path / "train.txt", "val": str(tmp_path / "val.txt"),
                                  "test": ["x"]})
    assert out == {"train": ["cam/train/0001TP_006690.png", "cam/train/0001TP_006720.png"],
                   "val": ["cam/val/0016E5_07959.png"], "test": ["other/x.jpg"]}


def test_split_list_file_that_does_not_exist_names_it(tmp_path):
    with pytest.raises(ProjectError, match="nope.txt"):
        split_from_lists(KEYS, {"train": tmp_path / "nope.txt"})


def test_camvid_list_files_cover_its_folders(camvid):
    keys = [f"train/{p.name}" for p in (camvid / "train").glob("*.png")]
    keys += [f"val/{p.name}" for p in (camvid / "val").glob("*.png")]
    out = split_from_lists(keys, {"train": camvid / "train.txt", "val": camvid / "val.txt"})
    assert len(out["train"]) == 367 and len(out["val"]) == 101
    assert all(k.startswith("train/") for k in out["train"]) and all(k.startswith("val/") for k in out["val"])
