"""``--max-images N`` takes N labelled images spread over the split, not the first N in key order.

Image keys sort by file name, and datasets cut from videos (CamVid, Cityscapes sequences) name
frames by sequence and time: the first 8 CamVid train keys are 8 consecutive frames of the one
dusk sequence, which scored 8.5 % val mIoU where 8 frames spread over the list scored 28.5 %
(tests/bench/bench_pixel_classifier.py).
"""

import json
from pathlib import Path

from labeler.cli import main
from labeler.train.dataset import spread_first
from labeler.train.trainer import evaluate_model, train_pixel

from .conftest import make_project
from .test_commands import FAST


def test_spread_first_puts_an_evenly_spread_subset_first_and_keeps_every_key_once():
    keys = [f"k{i:02d}" for i in range(10)]
    order = spread_first(keys, 4)
    assert order[:4] == ["k00", "k03", "k06", "k09"]
    assert sorted(order) == keys
    assert spread_first(keys, 1)[0] == "k00"
    assert spread_first(keys, 20) == keys and spread_first(keys, None) == keys
    # after the subset come keys that fill its gaps, so skipped (unlabelled) picks get spread stand-ins
    assert set(order[4:8]) & {"k01", "k02"} and set(order[4:8]) & {"k07", "k08"}


def test_train_max_images_uses_images_from_the_whole_split(tmp_path, capsys):
    make_project(tmp_path / "proj", n_train=9, n_val=2, n_unlabelled=0).close()
    assert main(["train", "--project", str(tmp_path / "proj"), "--arch", "pixel", *FAST, "--max-images", "3"]) == 0
    run = Path(capsys.readouterr().out.strip().splitlines()[-1])
    used = json.loads((run / "run.json").read_text())["train_images"]
    assert sorted(used) == ["images/img00.png", "images/img04.png", "images/img08.png"]


def test_max_images_still_counts_labelled_images_only_when_some_are_unlabelled(tmp_path):
    # train split: img00..img05 scribbled, then img08..img13 in no split and unlabelled
    proj = make_project(tmp_path / "proj", n_train=6, n_val=2, n_unlabelled=6)
    try:
        res = train_pixel(proj, max_images=3, n_estimators=5, max_samples_per_class=500)
        assert len(res.keys) == 3 and len(set(res.keys)) == 3
        assert all(k in proj.keys_in_split("train") for k in res.keys)
        assert max(res.keys) > "images/img02.png"  # not simply the first three
    finally:
        proj.close()


def test_evaluate_max_images_spreads_over_the_val_split(tmp_path):
    proj = make_project(tmp_path / "proj", n_train=2, n_val=5, n_unlabelled=0)
    try:
        model = train_pixel(proj, n_estimators=5, max_samples_per_class=500).model
        ev = evaluate_model(proj, model, max_images=2)
        assert sorted(ev.keys) == ["images/img02.png", "images/img06.png"]  # first and last val image
    finally:
        proj.close()
