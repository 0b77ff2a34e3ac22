"""Adapters that make torchvision's segmentation models fit the trainer (imported when one is built)."""

from __future__ import annotations

import torch


class OutputOnly(torch.nn.Module):
    """A torchvision segmentation model returning its ``out`` logits instead of a dict."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)["out"]


def replace_heads(arch: str, model: torch.nn.Module, num_classes: int) -> None:
    """Swap the last classifier convolutions of a pretrained torchvision model for K classes."""
    def fresh(conv: torch.nn.Conv2d) -> torch.nn.Conv2d:
        return torch.nn.Conv2d(conv.in_channels, num_classes, conv.kernel_size)

    if arch == "lraspp":
        model.classifier.low_classifier = fresh(model.classifier.low_classifier)
        model.classifier.high_classifier = fresh(model.classifier.high_classifier)
    else:
        model.classifier[-1] = fresh(model.classifier[-1])
    model.aux_classifier = None
