"""Deep networks (smp) behind the same interface as the pixel classifier; tiny and on CPU here."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from labeler.cli import main
from labeler.core.errors import LabelerError
from labeler.core.project import Project
from labeler.train.deep import DeepSegmenter, DeepSettings
from labeler.train.metrics import ConfusionMatrix

from .conftest import CLASSES, make_project, textured_image

TINY = DeepSettings(encoder="resnet18", encoder_depth=3, decoder_width=32, epochs=4, batch_size=2, crop=64,
                    lr=3e-3, device="cpu")


@pytest.fixture(scope="module")
def trained():
    return DeepSegmenter(CLASSES, TINY).fit([textured_image(s)[:2] for s in (1, 2, 3, 4)])


@pytest.mark.slow
def test_a_small_unet_learns_the_textures_from_dense_masks(trained):
    assert trained.info["last_loss"] < 0.5 * trained.info["first_loss"]
    cm = ConfusionMatrix(2, 255)
    for seed in (50, 51, 52):
        img, gt, _ = textured_image(seed)
        labels, confidence, uncertainty = trained.predict(img)
        assert labels.shape == gt.shape and np.allclose(confidence + uncertainty, 1)
        cm.update(gt, labels)
    assert cm.metrics().mIoU > 0.85


def test_probabilities_cover_odd_sizes(trained):
    img, _, _ = textured_image(5, size=45)
    probs = trained.predict_proba(img)
    assert probs.shape == (45, 45, 2) and np.allclose(probs.sum(-1), 1, atol=1e-5)


def test_checkpoint_is_plain_tensors_and_round_trips(trained, tmp_path):
    path = trained.save(tmp_path / "model.pt")
    payload = torch.load(path, map_location="cpu", weights_only=True)  # no pickled code inside
    assert payload["class_names"] == CLASSES and payload["settings"]["arch"] == "unet"
    loaded = DeepSegmenter.load(path, device="cpu")
    img, _, _ = textured_image(9)
    assert np.allclose(loaded.predict_proba(img), trained.predict_proba(img), atol=1e-5)


def test_bad_checkpoints_and_devices_are_clear_errors(tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(LabelerError, match="junk.pt"):
        DeepSegmenter.load(tmp_path / "junk.pt")
    torch.save({"format": "something else"}, tmp_path / "other.pt")
    with pytest.raises(LabelerError, match="not a labeler deep-segmenter"):
        DeepSegmenter.load(tmp_path / "other.pt")
    with pytest.raises(LabelerError, match="architecture"):
        DeepSegmenter(CLASSES, DeepSettings(arch="transformer-of-doom"))
    with pytest.raises(LabelerError, match="device"):
        DeepSegmenter(CLASSES, DeepSettings(**{**TINY.__dict__, "device": "tpu-ish", "epochs": 1})).fit(
            [textured_image(1)[:2]])


@pytest.mark.slow
def test_unet_through_the_command_line(tmp_path, capsys):
    root = tmp_path / "proj"
    make_project(root).close()
    args = ["--arch", "unet", "--encoder-depth", "3", "--decoder-width", "16", "--epochs", "1", "--crop", "64",
            "--device", "cpu", "-q"]
    assert main(["train", "--project", str(root), *args]) == 0
    run = Path(capsys.readouterr().out.strip().splitlines()[-1])
    assert json.loads((run / "run.json").read_text())["arch"] == "unet" and (run / "model.pt").is_file()
    out = tmp_path / "eval.json"
    assert main(["evaluate", "--project", str(root), "--model", str(run), "--json", str(out), "-q"]) == 0
    assert 0 <= json.loads(out.read_text())["mIoU"] <= 1
    assert main(["predict", "--project", str(root), "--model", str(run), "-q"]) == 0
    with Project.open(root, read_only=True) as proj:
        unlabelled = [k for k in proj.image_keys() if k not in proj.splits["train"] + proj.splits["val"]]
        assert all(s.source == "model" for k in unlabelled for s in proj.load(k).shapes)
    assert main(["train", "--project", str(root), *args[:-3], "--device", "nonsense", "-q"]) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("labeler: error:")
