"""``labeler train --workers N``: training batches prepared in N DataLoader processes give the
same weights as in the training process, run after run and across a resume."""

import json
from pathlib import Path

import pytest
import torch

from labeler.cli import main
from labeler.train import network_training

from .conftest import make_project

ARGS = ["--arch", "unet", "--encoder-depth", "3", "--decoder-width", "16", "--crop", "32", "--batch-size", "2",
        "--lr", "3e-3", "--device", "cpu", "--val-split", "none", "-q"]


def _train(root: Path, capsys, *extra: str) -> Path:
    assert main(["train", "--project", str(root), *ARGS, *extra]) == 0
    return Path(capsys.readouterr().out.strip().splitlines()[-1])


def _weights(run: Path) -> dict:
    return torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=True)["state_dict"]


def _losses(run: Path) -> list[float]:
    return [json.loads(line)["train_loss"] for line in (run / "metrics.jsonl").read_text().splitlines()]


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_workers_train_reproducibly_and_resume_to_the_same_weights(tmp_path, capsys, monkeypatch):
    used = []
    real = network_training._loader

    def spy(*args, **kw):
        loader = real(*args, **kw)
        used.append(loader.num_workers)
        return loader

    monkeypatch.setattr(network_training, "_loader", spy)
    roots = []
    for name in "abcd":
        roots.append(tmp_path / name)
        make_project(roots[-1]).close()
    first = _train(roots[0], capsys, "--epochs", "2", "--workers", "2")
    second = _train(roots[1], capsys, "--epochs", "2", "--workers", "2")
    in_process = _train(roots[2], capsys, "--epochs", "2")
    part = _train(roots[3], capsys, "--epochs", "1", "--workers", "2")
    resumed = _train(roots[3], capsys, "--epochs", "2", "--workers", "2", "--resume", str(part))
    assert used == [2, 2, 0, 2, 2]  # the batches really came from worker processes
    assert resumed == part and len(_losses(part)) == 2
    weights = _weights(first)
    assert _losses(first)[0] != _losses(first)[1]  # it trained
    for other in (second, in_process, part):
        assert _same(weights, _weights(other)), other
        assert _losses(other) == pytest.approx(_losses(first), abs=1e-6)


def test_negative_workers_is_a_one_line_error(tmp_path, capsys):
    make_project(tmp_path / "p").close()
    assert main(["train", "--project", str(tmp_path / "p"), *ARGS, "--workers", "-1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["labeler: error: --workers must not be negative"]
    assert not (tmp_path / "p" / ".labeler" / "runs").exists() or \
        not any((tmp_path / "p" / ".labeler" / "runs").iterdir())
