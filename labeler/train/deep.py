"""Deep segmentation networks trained from a project's targets.

Same interface as the pixel classifier (``class_names``, ``fit``, ``predict_proba``, ``predict``,
``save``, ``load``), so prediction, proposals and evaluation work with either. The network is
any of :data:`labeler.train.architectures.ARCHITECTURES` (smp and torchvision); training is
:func:`labeler.train.network_training.train_network` (augmentation, CE + Dice on labelled pixels
only, so dense masks, scribbles and points all train it; val mIoU, checkpoints, resume, time
budget, mixed precision, DDP). Weights start random unless ``encoder_weights`` / ``weights``
name pretrained ones (downloaded by smp or torchvision on first use: a user's choice, never
done by tests).

Checkpoints are plain tensors and settings, written with ``torch.save`` and read with
``torch.load(..., map_location=..., weights_only=True)``: loading one runs no code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..core.errors import LabelerError
from ..core.fileio import atomic_open
from .architectures import ARCHITECTURES as _REGISTRY, architecture
from .augment import to_tensor as _to_tensor
from .predict import labels_from_probabilities

CHECKPOINT_FORMAT = "labeler-deep-segmenter"
CHECKPOINT_VERSION = 1
ARCHITECTURES = tuple(_REGISTRY)


@dataclass
class DeepSettings:
    arch: str = "unet"
    #: smp encoder name, or a torchvision backbone; None: the architecture's default
    encoder: str | None = None
    #: pretrained encoder (backbone) weights, e.g. "imagenet"
    encoder_weights: str | None = None
    #: pretrained weights of a whole torchvision network (its classifier is replaced)
    weights: str | None = None
    encoder_depth: int = 5
    #: channels of the decoder (U-Net: of its first, coarsest stage; halved at each finer stage)
    decoder_width: int = 256
    epochs: int = 30
    batch_size: int = 4
    lr: float = 1e-3
    #: training crops are this many pixels square (smaller images are padded with ignore)
    crop: int = 256
    scale_min: float = 0.75
    scale_max: float = 1.25
    flip: bool = True
    #: colour jitter strength (brightness, contrast, saturation factors in 1 +- jitter)
    jitter: float = 0.2
    #: weigh cross-entropy by median frequency balancing over the training targets
    class_weights: bool = False
    dice_weight: float = 1.0
    #: stop after this many minutes of training (None: no limit)
    max_minutes: float | None = None
    #: mixed precision on CUDA / MPS
    amp: bool = True
    seed: int = 0
    #: "auto" (CUDA, else MPS, when there is one), "cpu", "cuda", "mps", ...
    device: str = "auto"
    #: DataLoader worker processes preparing the training batches (0: in the training process);
    #: a run-time choice, not part of the model: a resumed run takes the value given now
    workers: int = 0

    @classmethod
    def from_dict(cls, d: dict) -> "DeepSettings":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        return torch.device("mps" if mps is not None and mps.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise LabelerError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise LabelerError(f"device {name!r} asked for, but this machine has no CUDA GPU")
    return device


@dataclass
class DeepSegmenter:
    class_names: Sequence[str]
    settings: DeepSettings = field(default_factory=DeepSettings)
    net: torch.nn.Module | None = None
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.class_names = list(self.class_names)
        self.arch = architecture(self.settings.arch)
        if self.net is None:
            torch.manual_seed(self.settings.seed)  # the same settings give the same initial weights
            self.net = self.arch.build(self.settings, self.num_classes)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def ignore_index(self) -> int:
        return 255 if self.num_classes < 255 else 65535

    @property
    def stride(self) -> int:
        return self.arch.stride(self.settings)

    # -- training --------------------------------------------------------------------------
    def fit(self, samples: Iterable[tuple[np.ndarray, np.ndarray]],
            val: Iterable[tuple[np.ndarray, np.ndarray]] = (), *, run_dir: str | Path | None = None,
            resume: dict | None = None, cancel: Callable[[], bool] | None = None,
            on_epoch: Callable[[dict], None] | None = None, device: torch.device | None = None) -> "DeepSegmenter":
        """Train on ``(image, target)`` pairs (held in memory); target values outside 0..K-1 are
        unlabelled. ``val`` pairs are scored each epoch; ``run_dir`` gets checkpoints and
        ``metrics.jsonl``; ``resume`` is a state from :func:`network_training.load_training_state`."""
        from .epoch_crops import EpochCrops
        from .network_training import train_network

        device = device or resolve_device(self.settings.device)
        samples = samples if isinstance(samples, EpochCrops) else list(samples)  # crops read as needed
        train_network(self, samples, list(val), device=device, run_dir=run_dir, resume=resume,
                      cancel=cancel, on_epoch=on_epoch)
        return self

    # -- prediction ------------------------------------------------------------------------
    @torch.no_grad()
    def predict_tensor(self, x: torch.Tensor) -> torch.Tensor:
        """(K, H, W) probabilities of one normalised (3, H, W) image tensor, on the net's device."""
        device = next(self.net.parameters()).device
        _, h, w = x.shape
        st = self.stride
        x = F.pad(x[None], (0, (-w) % st, 0, (-h) % st), mode="reflect" if min(h, w) > st else "constant")
        self.net.eval()
        return torch.softmax(self.net(x.to(device)).float(), dim=1)[0, :, :h, :w]

    def predict_proba(self, image: np.ndarray) -> np.ndarray:
        """(H, W, K) float32 class probabilities."""
        return self.predict_tensor(_to_tensor(image)).permute(1, 2, 0).cpu().numpy()

    def predict(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(labels, confidence, uncertainty)``: argmax class, its probability, and ``1 - max p``."""
        return labels_from_probabilities(self.predict_proba(image))

    # -- persistence -----------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        state = {k: v.detach().cpu() for k, v in self.net.state_dict().items()}
        payload = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "class_names": list(self.class_names),
                   "settings": asdict(self.settings), "info": self.info, "state_dict": state}
        path = Path(path)
        with atomic_open(path, "wb") as f:
            torch.save(payload, f)
        return path

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> "DeepSegmenter":
        path = Path(path)
        if not path.is_file():
            raise LabelerError(f"{path}: model file not found")
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # a damaged or foreign file
            raise LabelerError(f"{path}: not a readable checkpoint ({type(e).__name__}: {e})") from None
        if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
            raise LabelerError(f"{path}: not a labeler deep-segmenter checkpoint")
        if payload.get("version", 0) > CHECKPOINT_VERSION:
            raise LabelerError(f"{path}: checkpoint version {payload['version']} is newer than this program")
        return cls.from_state(payload, path, device)

    @classmethod
    def from_state(cls, payload: dict, path: Path, device: str = "auto") -> "DeepSegmenter":
        """A model from a checkpoint's settings and weights (pretrained weights never fetched)."""
        settings = DeepSettings.from_dict({**payload["settings"], "encoder_weights": None, "weights": None})
        model = cls(payload["class_names"], settings)
        try:
            model.net.load_state_dict(payload["state_dict"])
        except RuntimeError as e:
            raise LabelerError(f"{path}: weights do not fit the network: {str(e).splitlines()[0]}") from None
        model.settings.encoder_weights = payload["settings"].get("encoder_weights")
        model.settings.weights = payload["settings"].get("weights")
        model.net.to(resolve_device(device)).eval()
        model.info = dict(payload.get("info") or {})
        return model
