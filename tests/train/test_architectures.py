"""The registry of networks: every architecture builds, predicts any size, saves and loads; random
weights unless asked; `labeler train --arch` offers exactly the registry."""

import numpy as np
import pytest
import torch

from labeler.cli import build_parser
from labeler.core.errors import LabelerError
from labeler.train.architectures import ARCHITECTURES
from labeler.train.deep import DeepSegmenter, DeepSettings

from .conftest import CLASSES, textured_image

#: the lightest backbone each torchvision architecture takes (FCN has only ResNets)
LIGHT = {"deeplabv3": "mobilenet_v3_large"}


def tiny(arch: str, **kw) -> DeepSettings:
    return DeepSettings(**{"arch": arch, "encoder": LIGHT.get(arch), "encoder_depth": 3, "decoder_width": 32,
                           "epochs": 1, "batch_size": 2, "crop": 32, "device": "cpu", **kw})


@pytest.fixture(autouse=True)
def no_downloads(monkeypatch):
    """Building a network must never fetch weights unless the user names them."""
    def refuse(*a, **k):
        raise AssertionError("tried to download weights")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)


def test_the_registry_holds_smp_and_torchvision_networks():
    assert set(ARCHITECTURES) == {"unet", "fpn", "deeplabv3plus", "pspnet", "fcn", "deeplabv3", "lraspp"}
    assert {a.family for a in ARCHITECTURES.values()} == {"smp", "torchvision"}


HEAVY = {"fcn", "deeplabv3"}  # ResNet-50 / MobileNetV3 backbones: several seconds on a busy CPU


@pytest.mark.parametrize("arch", [pytest.param(a, marks=pytest.mark.slow) if a in HEAVY else a
                                  for a in sorted(ARCHITECTURES)])
def test_every_architecture_predicts_probabilities_at_any_size_and_round_trips(arch, tmp_path):
    model = DeepSegmenter(CLASSES, tiny(arch))
    img, _, _ = textured_image(3, size=37)
    probs = model.predict_proba(img)
    assert probs.shape == (37, 37, 2) and np.allclose(probs.sum(-1), 1, atol=1e-4)
    labels, confidence, uncertainty = model.predict(img)
    assert labels.shape == (37, 37) and np.allclose(confidence + uncertainty, 1)
    loaded = DeepSegmenter.load(model.save(tmp_path / "model.pt"), device="cpu")
    assert loaded.settings.arch == arch
    assert np.allclose(loaded.predict_proba(img), probs, atol=1e-5)


def test_wrong_encoders_are_clear_errors():
    with pytest.raises(LabelerError, match="lraspp takes encoder mobilenet_v3_large"):
        DeepSegmenter(CLASSES, DeepSettings(arch="lraspp", encoder="resnet50"))
    with pytest.raises(LabelerError, match="cannot build unet with encoder 'no-such-encoder'"):
        DeepSegmenter(CLASSES, DeepSettings(arch="unet", encoder="no-such-encoder"))
    with pytest.raises(LabelerError, match="unknown architecture 'segformer'.*lraspp"):
        DeepSegmenter(CLASSES, DeepSettings(arch="segformer"))


def test_the_command_line_offers_exactly_the_registry():
    parser, commands = build_parser()
    arch = next(a for a in commands["train"]._actions if a.dest == "arch")
    assert list(arch.choices) == ["pixel", *ARCHITECTURES]
