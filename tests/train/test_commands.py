"""`labeler train / predict / evaluate`, run in-process through the real command line."""

import json
from pathlib import Path

import pytest

from labeler.cli import main
from labeler.core.images import read_image
from labeler.core.project import Project
from labeler.train.dataset import LabelSpace, target_for
from labeler.train.metrics import ConfusionMatrix
from labeler.train.trainer import load_model

from .conftest import make_project

FAST = ["--scale", "1", "--sigma-max", "4", "--trees", "10", "--samples-per-class", "2000", "-q"]


@pytest.fixture
def project_dir(tmp_path):
    make_project(tmp_path / "proj").close()
    return tmp_path / "proj"


def _train(project_dir, capsys, *extra) -> Path:
    assert main(["train", "--project", str(project_dir), "--arch", "pixel", *FAST, *extra]) == 0
    run = Path(capsys.readouterr().out.strip().splitlines()[-1])
    assert run.parent == project_dir.resolve() / ".labeler" / "runs"
    return run


def test_train_prints_the_run_folder_it_writes(project_dir, capsys):
    run = _train(project_dir, capsys, "--max-images", "1")
    meta = json.loads((run / "run.json").read_text())
    assert meta["arch"] == "pixel" and meta["classes"] == ["grass", "sand"]
    assert len(meta["train_images"]) == 1 and (run / "model.joblib").is_file()


def test_evaluate_json_matches_metrics_computed_directly(project_dir, tmp_path, capsys):
    run = _train(project_dir, capsys)
    out = tmp_path / "report" / "eval.json"
    assert main(["evaluate", "--project", str(project_dir), "--model", str(run), "--json", str(out), "-q"]) == 0
    printed = capsys.readouterr().out
    report = json.loads(out.read_text())
    for key in ("PA", "mPA", "mIoU", "FWIoU", "Dice", "per_class_IoU"):
        assert key in report
    assert Path(report["confusion_matrix_png"]).is_file()

    model = load_model(run)
    with Project.open(project_dir, read_only=True) as proj:
        space = LabelSpace.from_schema(proj.schema)
        cm = ConfusionMatrix(space.num_classes, space.ignore_index)
        for key in proj.splits["val"]:
            target, _ = target_for(proj.load(key), space)
            cm.update(target, model.predict(read_image(proj.image_path(key)))[0])
    m = cm.metrics()
    assert report["images"] == 2 and report["confusion_matrix"] == cm.counts.tolist()
    for key in ("PA", "mPA", "mIoU", "FWIoU", "Dice"):
        assert report[key] == pytest.approx(getattr(m, key))
        assert 0 <= report[key] <= 1
    assert report["per_class_IoU"] == pytest.approx(dict(zip(space.names, m.per_class_IoU.tolist())))
    assert f"mIoU {100 * m.mIoU:.1f}" in printed and "sand" in printed


def test_predict_writes_proposals_pngs_and_a_ranking(project_dir, tmp_path, capsys):
    run = _train(project_dir, capsys)
    out = tmp_path / "pred"
    assert main(["predict", "--project", str(project_dir), "--model", str(run), "--out", str(out), "-q"]) == 0
    printed = capsys.readouterr().out
    with Project.open(project_dir, read_only=True) as proj:
        keys = proj.image_keys()
        pngs = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
        assert pngs == sorted(k[:-4] + ".png" for k in keys)
        unlabelled = [k for k in keys if k not in proj.splits["train"] + proj.splits["val"]]
        for k in unlabelled:
            assert {s.source for s in proj.load(k).shapes} == {"model"}
    ranking = json.loads((out / "uncertainty.json").read_text())
    assert sorted(r["image"] for r in ranking) == sorted(unlabelled)
    assert "label these next" in printed and unlabelled[0] in printed


def test_errors_are_one_line(project_dir, tmp_path, capsys):
    assert main(["evaluate", "--project", str(project_dir), "--model", str(tmp_path / "nope")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("labeler: error:") and "nope" in err[0]

    bare = tmp_path / "bare"
    make_project(bare, n_train=0, n_val=0, n_unlabelled=2).close()
    assert main(["train", "--project", str(bare), *FAST]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("labeler: error:") and "no labelled images" in err[-1]
    assert not (bare / ".labeler" / "runs").exists() or not any((bare / ".labeler" / "runs").iterdir())
