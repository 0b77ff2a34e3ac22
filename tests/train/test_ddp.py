"""DistributedDataParallel through `labeler train --ddp 2` (torchrun, gloo on the CPU): two
processes share every epoch's images, rank 0 alone writes the run folder and prints it."""

import json

import pytest
import torch

from labeler.cli import main
from labeler.train.trainer import load_model

from .conftest import make_project, textured_image


@pytest.mark.slow
def test_two_cpu_processes_train_one_run(tmp_path, capfd):
    root = tmp_path / "proj"
    make_project(root, n_train=3).close()
    args = ["train", "--project", str(root), "--arch", "unet", "--encoder-depth", "3", "--decoder-width", "16",
            "--crop", "32", "--batch-size", "1", "--epochs", "2", "--device", "cpu", "-q"]
    assert main([*args, "--ddp", "2"]) == 0
    out = capfd.readouterr().out.strip().splitlines()
    runs = list((root / ".labeler" / "runs").iterdir())
    assert len(runs) == 1 and [line for line in out if line.startswith(str(root))] == [str(runs[0])]
    run = runs[0]
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == [1, 2]
    # 3 images over 2 processes: each takes 2 (DistributedSampler pads), one image per step
    assert [r["steps"] for r in lines] == [2, 2]
    assert all(0 <= r["val_mIoU"] <= 1 for r in lines)
    meta = json.loads((run / "run.json").read_text())
    assert meta["status"] == "done" and len(meta["train_images"]) == 3
    state = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert state["epoch"] == 1
    assert load_model(run).predict(textured_image(7)[0])[0].shape == (64, 64)


def test_distributed_needs_torchrun(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    root = tmp_path / "proj"
    make_project(root).close()
    assert main(["train", "--project", str(root), "--arch", "unet", "--distributed", "-q"]) == 1
    assert "torchrun" in capsys.readouterr().err
