"""Training a network on a project: run folder, val mIoU per epoch, best checkpoint, resume, time
budget, cancel, class weights; through the API and the command line. Tiny networks on CPU."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from labeler.cli import main
from labeler.core.jobs import JobContext
from labeler.train import network_training
from labeler.train.dataset import LabelSpace, iter_samples
from labeler.train.deep import DeepSegmenter, DeepSettings
from labeler.train.losses import median_frequency_weights
from labeler.train.trainer import load_model, train_deep

from .conftest import make_project, textured_image


def tiny(**kw) -> DeepSettings:
    return DeepSettings(**{"encoder_depth": 3, "decoder_width": 16, "epochs": 2, "batch_size": 2, "crop": 32,
                           "lr": 3e-3, "device": "cpu", **kw})


def _metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def _state(run: Path) -> dict:
    return torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=True)


@pytest.mark.slow
def test_a_run_logs_every_epoch_and_keeps_the_best(project):
    res = train_deep(project, tiny(epochs=3))
    run = res.run_dir
    lines = _metrics(run)
    assert [r["epoch"] for r in lines] == [1, 2, 3]
    assert all(np.isfinite(r["train_loss"]) and 0 <= r["val_mIoU"] <= 1 for r in lines)
    best = max(range(3), key=lambda i: lines[i]["val_mIoU"])  # first of the highest
    assert res.model.info["best_epoch"] == best + 1 and lines[best]["best"]
    assert _state(run)["epoch"] == 2  # the resumable checkpoint is the last epoch
    meta = json.loads((run / "run.json").read_text())
    assert meta["status"] == "done" and meta["val_images"] == project.splits["val"]
    saved = load_model(run)  # model.pt: the best epoch, the same weights training ended with
    img = textured_image(40)[0]
    assert np.allclose(saved.predict_proba(img), res.model.predict_proba(img), atol=1e-5)


@pytest.mark.slow
def test_resuming_gives_the_same_weights_as_not_stopping(tmp_path):
    a, b = make_project(tmp_path / "a"), make_project(tmp_path / "b")
    try:
        whole = train_deep(a, tiny(epochs=2)).run_dir
        first = train_deep(b, tiny(epochs=1)).run_dir
        assert [r["epoch"] for r in _metrics(first)] == [1]
        again = train_deep(b, tiny(epochs=2, lr=1.0), resume=first).run_dir  # settings come from the run
    finally:
        a.close()
        b.close()
    assert again == first
    assert [r["epoch"] for r in _metrics(first)] == [1, 2]
    assert [r["train_loss"] for r in _metrics(first)] == pytest.approx([r["train_loss"] for r in _metrics(whole)])
    sa, sb = _state(whole)["state_dict"], _state(first)["state_dict"]
    assert all(torch.allclose(sa[k].float(), sb[k].float(), atol=1e-5) for k in sa)


def test_the_time_budget_stops_cleanly_with_a_usable_model(project):
    res = train_deep(project, tiny(epochs=1000, max_minutes=1e-4))
    info = res.model.info
    assert info["stopped"] == "time budget" and info["epochs_run"] == 1 and info["steps"] == 1
    assert _metrics(res.run_dir)[-1]["stopped"] == "time budget"
    assert json.loads((res.run_dir / "run.json").read_text())["status"] == "done"
    assert load_model(res.run_dir).predict(textured_image(41)[0])[0].shape == (64, 64)


def test_cancel_stops_after_the_current_step(project):
    cancelled = []
    ctx = JobContext(cancelled=lambda: bool(cancelled))
    res = train_deep(project, tiny(epochs=50), ctx=ctx, on_epoch=cancelled.append)
    assert res.model.info["stopped"] == "cancelled" and res.model.info["epochs_run"] == 1
    assert len(_metrics(res.run_dir)) == 1 and (res.run_dir / "model.pt").is_file()


def test_class_weights_are_median_frequency_of_the_training_targets(project, monkeypatch):
    seen = []
    real = network_training.segmentation_loss
    monkeypatch.setattr(network_training, "segmentation_loss",
                        lambda logits, y, ignore, weights, dice: seen.append(weights) or real(logits, y, ignore,
                                                                                            weights, dice))
    train_deep(project, tiny(epochs=1, class_weights=True), val_split=None)
    space = LabelSpace.from_schema(project.schema)
    targets = [s.target for s in iter_samples(project, project.splits["train"], space)]
    assert seen and torch.allclose(seen[0].cpu(), torch.from_numpy(median_frequency_weights(targets, 2)))
    seen.clear()
    train_deep(project, tiny(epochs=1), val_split=None)
    assert seen[0] is None  # off unless asked for


def test_training_in_memory_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = DeepSegmenter(["grass", "sand"], tiny(epochs=1)).fit([textured_image(s)[:2] for s in (1, 2)])
    assert model.info["epochs_run"] == 1 and not any(tmp_path.iterdir())


@pytest.mark.slow
def test_train_and_resume_through_the_command_line(tmp_path, capsys):
    root = tmp_path / "proj"
    make_project(root).close()
    args = ["train", "--project", str(root), "--arch", "lraspp", "--crop", "32", "--batch-size", "2",
            "--device", "cpu", "--class-weights", "--max-minutes", "5", "-q"]
    assert main([*args, "--epochs", "1"]) == 0
    run = Path(capsys.readouterr().out.strip().splitlines()[-1])
    assert json.loads((run / "run.json").read_text())["arch"] == "lraspp" and len(_metrics(run)) == 1
    resume = [a for a in args if a not in ("--arch", "lraspp")]  # the run knows its architecture
    assert main([*resume, "--epochs", "2", "--resume", str(run)]) == 0
    assert Path(capsys.readouterr().out.strip().splitlines()[-1]) == run
    assert [r["epoch"] for r in _metrics(run)] == [1, 2]
    assert main([*args, "--resume", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("labeler: error:") and "checkpoint.pt" in err[-1]
    runs = list((root / ".labeler" / "runs").iterdir())
    assert runs == [run]  # the failed resume made no folder
