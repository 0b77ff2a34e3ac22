"""Deep segmentation networks (segmentation-models-pytorch) trained from a project's targets.

Same interface as the pixel classifier (``class_names``, ``fit``, ``predict_proba``, ``predict``,
``save``, ``load``), so prediction, proposals and evaluation work with either. Training uses
cross-entropy with the target's ignore value masked out, so dense masks, scribbles and points all
train it; random crops and horizontal flips; Adam. Encoders start from random weights unless
``encoder_weights`` names pretrained ones (smp downloads those on first use: a user's choice,
never done by tests).

Checkpoints are plain tensors and settings, written with ``torch.save`` and read with
``torch.load(..., map_location=..., weights_only=True)``: loading one runs no code.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..core.errors import LabelerError
from ..core.fileio import atomic_open

CHECKPOINT_FORMAT = "labeler-deep-segmenter"
CHECKPOINT_VERSION = 1
ARCHITECTURES = ("unet", "fpn", "deeplabv3plus")
_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
_STD = np.array([0.229, 0.224, 0.225], np.float32)


@dataclass
class DeepSettings:
    arch: str = "unet"
    encoder: str = "resnet18"
    encoder_weights: str | None = None
    encoder_depth: int = 5
    #: channels of the U-Net decoder's first (coarsest) stage; halved at each finer stage
    decoder_width: int = 256
    epochs: int = 30
    batch_size: int = 4
    lr: float = 1e-3
    #: training crops are this many pixels square (smaller images are padded with ignore)
    crop: int = 256
    seed: int = 0
    #: "auto" (CUDA when there is one), "cpu", "cuda", ...
    device: str = "auto"


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise LabelerError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise LabelerError(f"device {name!r} asked for, but this machine has no CUDA GPU")
    return device


def _to_tensor(image: np.ndarray) -> torch.Tensor:
    img = np.asarray(image)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    img = (img[..., :3].astype(np.float32) / 255.0 - _MEAN) / _STD
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))


@dataclass
class DeepSegmenter:
    class_names: Sequence[str]
    settings: DeepSettings = field(default_factory=DeepSettings)
    net: torch.nn.Module | None = None
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.class_names = list(self.class_names)
        if self.settings.arch not in ARCHITECTURES:
            raise LabelerError(f"unknown architecture {self.settings.arch!r}; expected one of {ARCHITECTURES}")
        if self.net is None:
            torch.manual_seed(self.settings.seed)  # the same settings give the same initial weights
            self.net = self._build(self.settings.encoder_weights)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def ignore_index(self) -> int:
        return 255 if self.num_classes < 255 else 65535

    def _build(self, encoder_weights: str | None) -> torch.nn.Module:
        import segmentation_models_pytorch as smp

        s = self.settings
        kwargs = {"encoder_depth": s.encoder_depth}
        if s.arch == "unet":
            kwargs["decoder_channels"] = tuple(max(8, s.decoder_width >> i) for i in range(s.encoder_depth))
        try:
            return smp.create_model(s.arch, encoder_name=s.encoder, encoder_weights=encoder_weights,
                                    in_channels=3, classes=self.num_classes, **kwargs)
        except (KeyError, ValueError, TypeError) as e:
            raise LabelerError(f"cannot build {s.arch} with encoder {s.encoder!r}: {e}") from None

    @property
    def _stride(self) -> int:
        return 2 ** self.settings.encoder_depth

    # -- training --------------------------------------------------------------------------
    def fit(self, samples: Iterable[tuple[np.ndarray, np.ndarray]]) -> "DeepSegmenter":
        """Train on ``(image, target)`` pairs (held in memory); target values outside 0..K-1 are unlabelled."""
        t0 = time.perf_counter()
        s = self.settings
        data = []
        for image, target in samples:
            t = np.asarray(target).astype(np.int64)
            t[(t < 0) | (t >= self.num_classes)] = -1
            data.append((_to_tensor(image), torch.from_numpy(t)))
        labelled = sum(int((t >= 0).sum()) for _, t in data)
        if not labelled:
            raise LabelerError("no labelled pixels to train on")
        torch.manual_seed(s.seed)
        rng = np.random.default_rng(s.seed)
        device = _device(s.device)
        net = self.net.to(device).train()
        opt = torch.optim.Adam(net.parameters(), lr=s.lr)
        crop = max(self._stride, (s.crop // self._stride) * self._stride)
        losses = []
        for _ in range(s.epochs):
            order = rng.permutation(len(data))
            for b in range(0, len(order), s.batch_size):
                xs, ys = zip(*(self._random_crop(*data[i], crop, rng) for i in order[b:b + s.batch_size]))
                x, y = torch.stack(xs).to(device), torch.stack(ys).to(device)
                if not (y >= 0).any():
                    continue
                loss = F.cross_entropy(net(x), y, ignore_index=-1)
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(float(loss.detach()))
        self._recalibrate_batchnorm(data, device)
        net.eval()
        self.info = {"images": len(data), "labelled_pixels": labelled, "steps": len(losses),
                     "first_loss": losses[0] if losses else None, "last_loss": losses[-1] if losses else None,
                     "device": str(device), "seconds": round(time.perf_counter() - t0, 3)}
        return self

    @torch.no_grad()
    def _recalibrate_batchnorm(self, data, device) -> None:
        """Recompute batch-norm statistics as exact averages over the training images.

        After a short training run the running averages still lag far behind the weights (their
        momentum forgets slowly), and predictions in eval mode suffer; one pass over the data
        with cumulative averaging fixes that ("precise BN").
        """
        bns = [m for m in self.net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
        if not bns:
            return
        saved = [m.momentum for m in bns]
        for m in bns:
            m.reset_running_stats()
            m.momentum = None  # cumulative moving average
        self.net.train()
        st = self._stride
        for x, _ in data:
            _, h, w = x.shape
            x = F.pad(x, (0, (-w) % st, 0, (-h) % st))
            self.net(x[None].to(device))
        for m, mom in zip(bns, saved):
            m.momentum = mom

    @staticmethod
    def _random_crop(x: torch.Tensor, y: torch.Tensor, crop: int, rng) -> tuple[torch.Tensor, torch.Tensor]:
        _, h, w = x.shape
        ph, pw = max(0, crop - h), max(0, crop - w)
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph))
            y = F.pad(y, (0, pw, 0, ph), value=-1)
            h, w = h + ph, w + pw
        top, left = int(rng.integers(0, h - crop + 1)), int(rng.integers(0, w - crop + 1))
        x, y = x[:, top:top + crop, left:left + crop], y[top:top + crop, left:left + crop]
        if rng.random() < 0.5:
            x, y = x.flip(-1), y.flip(-1)
        return x, y

    # -- prediction ------------------------------------------------------------------------
    @torch.no_grad()
    def predict_proba(self, image: np.ndarray) -> np.ndarray:
        """(H, W, K) float32 class probabilities."""
        if self.net is None:
            raise LabelerError("the network has not been built")
        device = next(self.net.parameters()).device
        x = _to_tensor(image)[None]
        _, _, h, w = x.shape
        st = self._stride
        x = F.pad(x, (0, (-w) % st, 0, (-h) % st), mode="reflect" if min(h, w) > st else "constant")
        self.net.eval()
        probs = torch.softmax(self.net(x.to(device)), dim=1)[0, :, :h, :w]
        return probs.permute(1, 2, 0).float().cpu().numpy()

    def predict(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(labels, confidence, uncertainty)``: argmax class, its probability, and ``1 - max p``."""
        probs = self.predict_proba(image)
        labels = probs.argmax(axis=-1).astype(np.uint8 if self.num_classes < 255 else np.uint16)
        confidence = probs.max(axis=-1)
        return labels, confidence, 1.0 - confidence

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
        settings = DeepSettings(**{**payload["settings"], "encoder_weights": None})
        model = cls(payload["class_names"], settings)
        try:
            model.net.load_state_dict(payload["state_dict"])
        except RuntimeError as e:
            raise LabelerError(f"{path}: weights do not fit the network: {str(e).splitlines()[0]}") from None
        model.settings.encoder_weights = payload["settings"].get("encoder_weights")
        model.net.to(_device(device)).eval()
        model.info = dict(payload.get("info") or {})
        return model
