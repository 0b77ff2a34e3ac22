"""Active learning: `labeler predict` leaves ranking.json in the run folder, and the window's
"next most useful image" reads it (or ranks afresh), skipping images labelled since."""

import json
from pathlib import Path

import pytest

from labeler.cli import main
from labeler.core.annotation import ImageAnnotation
from labeler.core.project import Project
from labeler.core.shapes import Shape
from labeler.train.predict import RANKING_FILE, next_image_to_label, rank_unlabelled, read_ranking
from labeler.train.trainer import load_model

from .conftest import SIZE, make_project

FAST = ["--scale", "1", "--sigma-max", "4", "--trees", "10", "--samples-per-class", "2000", "-q"]


@pytest.fixture
def trained(tmp_path, capsys):
    root = tmp_path / "proj"
    make_project(root, n_unlabelled=3).close()
    assert main(["train", "--project", str(root), "--arch", "pixel", *FAST]) == 0
    return root, Path(capsys.readouterr().out.strip().splitlines()[-1])


def _label(project: Project, key: str) -> None:
    project.save_annotation(key, ImageAnnotation(key, SIZE, SIZE, [Shape(kind="point", label="grass",
                                                                          points=[[2, 2]])]))


def test_predict_writes_the_ranking_into_the_run_folder(trained, tmp_path, capsys):
    root, run = trained
    out = tmp_path / "pred"
    assert main(["predict", "--project", str(root), "--model", str(run), "--out", str(out), "-q",
                 "--no-proposals"]) == 0
    ranking = read_ranking(run)
    with Project.open(root, read_only=True) as proj:
        unlabelled = [k for k in proj.image_keys() if k not in proj.splits["train"] + proj.splits["val"]]
        expected = rank_unlabelled(proj, load_model(run))
    assert sorted(k for k, _ in ranking) == sorted(unlabelled)
    assert [k for k, _ in ranking] == [k for k, _ in expected]  # most uncertain first
    assert [u for _, u in ranking] == sorted((u for _, u in ranking), reverse=True)
    listed = json.loads((out / "uncertainty.json").read_text())
    assert [r["image"] for r in listed] == [k for k, _ in ranking]


def test_next_image_follows_the_ranking_and_skips_labelled_ones(trained, capsys):
    root, run = trained
    assert main(["predict", "--project", str(root), "--model", str(run), "-q", "--no-proposals"]) == 0
    order = [k for k, _ in read_ranking(run)]
    with Project.open(root) as proj:
        assert next_image_to_label(proj, run) == order[0]
        assert next_image_to_label(proj, run, skip=[order[0]]) == order[1]
        _label(proj, order[0])
        assert next_image_to_label(proj, run) == order[1]
        for key in order[1:]:
            _label(proj, key)
        assert next_image_to_label(proj, run) is None


def test_next_image_ranks_afresh_without_a_ranking(trained):
    root, run = trained
    assert not (run / RANKING_FILE).exists()
    with Project.open(root) as proj:
        first = next_image_to_label(proj, run)
        expected = rank_unlabelled(proj, load_model(run))
    saved = read_ranking(run)
    assert first == expected[0][0] and [k for k, _ in saved] == [k for k, _ in expected]
    assert [u for _, u in saved] == pytest.approx([u for _, u in expected], abs=1e-5)
