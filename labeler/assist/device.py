"""Which torch device the assist engines run on: CUDA if present, else Apple's MPS, else the CPU."""

from __future__ import annotations

from ..core.errors import LabelerError

DEVICE_CHOICES = "auto, cpu, cuda, cuda:N or mps"


def choose_device(requested: str | None = "auto") -> str:
    """``"auto"`` (or None) -> ``"cuda"``, else ``"mps"``, else ``"cpu"``; anything else is checked.

    Asking for a device this machine lacks is a one-line :class:`LabelerError`, not a crash later.
    """
    import torch

    name = (requested or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "mps"
        return "cpu"
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise LabelerError(f"unknown device {requested!r}; use {DEVICE_CHOICES}") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise LabelerError(f"device {requested!r} asked for, but this machine has no CUDA GPU")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise LabelerError(f"device {requested!r} asked for, but this machine has "
                               f"{torch.cuda.device_count()} CUDA GPU(s)")
    elif device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise LabelerError(f"device {requested!r} asked for, but MPS is not available here")
    elif device.type != "cpu":
        raise LabelerError(f"unknown device {requested!r}; use {DEVICE_CHOICES}")
    return str(device)
