"""The one registry of segmentation networks ``labeler train --arch`` can build.

Two families behind one builder signature, ``build(settings, num_classes) -> nn.Module`` whose
forward returns ``(N, K, H, W)`` logits at the input's size:

* segmentation-models-pytorch: ``unet``, ``fpn``, ``deeplabv3plus``, ``pspnet``, with any smp
  encoder (``settings.encoder``, default resnet18), ``encoder_depth`` and a decoder width;
* torchvision: ``fcn`` (ResNet-50/101), ``deeplabv3`` (ResNet-50/101, MobileNetV3-Large) and
  ``lraspp`` (MobileNetV3-Large), built with ``weights=None, weights_backbone=None`` unless the
  user names pretrained ones (``encoder_weights`` for the backbone, ``weights`` for the whole
  network, whose classifier is then replaced for the project's classes).

Random weights are the default everywhere: pretrained weights are downloaded by smp or
torchvision on first use, a user's explicit choice and never done by tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from ..core.errors import LabelerError

if TYPE_CHECKING:  # torch is imported when a network is built, not when the registry is read
    import torch


@dataclass(frozen=True)
class Architecture:
    name: str
    family: str  # "smp" or "torchvision"
    default_encoder: str
    #: encoders it takes (None: any smp encoder)
    encoders: tuple[str, ...] | None
    build: Callable[..., torch.nn.Module]
    description: str

    def stride(self, settings) -> int:
        """Inputs are padded to a multiple of this."""
        return 2 ** settings.encoder_depth if self.family == "smp" else 32


def _smp(arch: str):
    def build(settings, num_classes: int) -> torch.nn.Module:
        import segmentation_models_pytorch as smp

        depth, width = settings.encoder_depth, settings.decoder_width
        kwargs: dict = {"encoder_depth": depth}
        if arch == "unet":
            kwargs["decoder_channels"] = tuple(max(8, width >> i) for i in range(depth))
        elif arch == "fpn":  # its segmentation head uses GroupNorm(32): channels a multiple of 32
            kwargs.update(decoder_pyramid_channels=width, upsampling=2 ** (depth - 3),  # back to input size
                          decoder_segmentation_channels=max(32, (width // 2) // 32 * 32))
        elif arch == "deeplabv3plus":
            kwargs["decoder_channels"] = width
        elif arch == "pspnet":
            kwargs.update(psp_out_channels=width, upsampling=2 ** depth)
        try:
            return smp.create_model(arch, encoder_name=settings.encoder or "resnet18",
                                    encoder_weights=settings.encoder_weights, in_channels=3,
                                    classes=num_classes, **kwargs)
        except (KeyError, ValueError, TypeError, AssertionError) as e:
            raise LabelerError(f"cannot build {arch} with encoder {settings.encoder!r}: {e}") from None

    return build


def _torchvision(arch: str):
    def build(settings, num_classes: int) -> torch.nn.Module:
        from torchvision.models import segmentation as tvs

        from .torchvision_models import OutputOnly, replace_heads

        encoder = settings.encoder or ARCHITECTURES[arch].default_encoder
        if encoder not in ARCHITECTURES[arch].encoders:
            raise LabelerError(f"{arch} takes encoder {' or '.join(ARCHITECTURES[arch].encoders)}, "
                               f"not {encoder!r}")
        factory = getattr(tvs, f"{arch}_{encoder}")
        backbone = settings.encoder_weights
        backbone = "DEFAULT" if backbone in ("imagenet", "default") else backbone
        try:
            if getattr(settings, "weights", None):
                model = factory(weights=settings.weights, weights_backbone=None)
                replace_heads(arch, model, num_classes)
            else:
                model = factory(weights=None, weights_backbone=backbone, num_classes=num_classes,
                                aux_loss=False if arch != "lraspp" else None)
        except (KeyError, ValueError, TypeError) as e:
            raise LabelerError(f"cannot build {arch} with encoder {encoder!r}: {e}") from None
        return OutputOnly(model)

    return build


_RESNETS = ("resnet50", "resnet101")
ARCHITECTURES: dict[str, Architecture] = {a.name: a for a in (
    Architecture("unet", "smp", "resnet18", None, _smp("unet"), "U-Net (smp)"),
    Architecture("fpn", "smp", "resnet18", None, _smp("fpn"), "Feature Pyramid Network (smp)"),
    Architecture("deeplabv3plus", "smp", "resnet18", None, _smp("deeplabv3plus"), "DeepLabV3+ (smp)"),
    Architecture("pspnet", "smp", "resnet18", None, _smp("pspnet"), "PSPNet (smp)"),
    Architecture("fcn", "torchvision", "resnet50", _RESNETS, _torchvision("fcn"), "FCN (torchvision)"),
    Architecture("deeplabv3", "torchvision", "resnet50", (*_RESNETS, "mobilenet_v3_large"),
                 _torchvision("deeplabv3"), "DeepLabV3 (torchvision)"),
    Architecture("lraspp", "torchvision", "mobilenet_v3_large", ("mobilenet_v3_large",),
                 _torchvision("lraspp"), "Lite R-ASPP (torchvision)"),
)}


def architecture(name: str) -> Architecture:
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise LabelerError(f"unknown architecture {name!r}; expected one of {', '.join(ARCHITECTURES)}") from None
