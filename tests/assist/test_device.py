"""Device choice: CUDA if present, else MPS, else the CPU; impossible requests refused in one line."""

import pytest
import torch

from labeler.assist.device import choose_device
from labeler.core.errors import LabelerError
from labeler.plugins.sam import SamEngine


def machine(monkeypatch, cuda: bool, mps: bool, gpus: int = 1):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus if cuda else 0)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)


@pytest.mark.parametrize("cuda, mps, expected", [(True, True, "cuda"), (True, False, "cuda"),
                                                 (False, True, "mps"), (False, False, "cpu")])
def test_auto_prefers_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, expected):
    machine(monkeypatch, cuda, mps)
    assert choose_device("auto") == expected
    assert choose_device(None) == expected
    assert SamEngine(device="auto").device == expected  # the engine asks the same function


def test_explicit_devices_are_checked_against_the_machine(monkeypatch):
    machine(monkeypatch, cuda=False, mps=False)
    assert choose_device("CPU") == "cpu"
    with pytest.raises(LabelerError, match="'cuda' asked for, but this machine has no CUDA GPU"):
        choose_device("cuda")
    with pytest.raises(LabelerError, match="MPS is not available"):
        choose_device("mps")
    with pytest.raises(LabelerError, match="unknown device 'gpu'"):
        choose_device("gpu")
    machine(monkeypatch, cuda=True, mps=False, gpus=2)
    assert choose_device("cuda:1") == "cuda:1"
    with pytest.raises(LabelerError, match="has 2 CUDA GPU"):
        choose_device("cuda:2")
