"""A per-pixel random forest on multiscale features, trainable from a few scribbles or clicks.

The approach of ilastik's pixel classification: scikit-image's
``multiscale_basic_features`` (Gaussian-smoothed intensity, edge and texture features at several
scales, per colour channel) feed a scikit-learn ``RandomForestClassifier``. Training pixels are
sampled per class, balanced and capped, from any target map (dense masks, scribbles, points);
unlabelled (ignore) pixels are never used. Features may be computed on a downscaled image
(``scale``) for speed; predictions are brought back to full size.

Saved models are joblib (pickle) files: loading one runs code from the file, so load only models
you trained yourself or otherwise trust (the local run folders this program writes).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import cv2
import numpy as np
from skimage.feature import multiscale_basic_features
from sklearn.ensemble import RandomForestClassifier

from ..core.errors import LabelerError
from ..core.fileio import atomic_open
from .predict import labels_from_probabilities

MODEL_FORMAT = "labeler-pixel-classifier"
MODEL_VERSION = 1


@dataclass
class FeatureSettings:
    sigma_min: float = 1.0
    sigma_max: float = 16.0
    intensity: bool = True
    edges: bool = True
    texture: bool = True
    #: features are computed on the image resized by this factor (1.0 = full size)
    scale: float = 1.0
    #: add each pixel's relative row and column (0..1) as features: strong where the camera
    #: is fixed (street scenes, microscopy stages), misleading where objects go anywhere
    position: bool = False
    #: and further down when the longer side would still exceed this (bounds memory and time)
    max_side: int | None = 1024


def _resize(array: np.ndarray, size_wh: tuple[int, int], nearest: bool) -> np.ndarray:
    if (array.shape[1], array.shape[0]) == size_wh:
        return array
    interp = cv2.INTER_NEAREST if nearest else cv2.INTER_AREA if size_wh[0] < array.shape[1] else cv2.INTER_LINEAR
    return cv2.resize(array, size_wh, interpolation=interp)


def scaled_size(height: int, width: int, scale: float, max_side: int | None = None) -> tuple[int, int]:
    """(width, height) after scaling (and capping the longer side), at least 1 x 1."""
    if max_side and max(height, width) * scale > max_side:
        scale = max_side / max(height, width)
    return max(1, int(round(width * scale))), max(1, int(round(height * scale)))


def pixel_features(image: np.ndarray, settings: FeatureSettings | None = None) -> np.ndarray:
    """(h, w, F) float32 features of an RGB or grey image, at ``settings.scale`` of its size."""
    settings = settings or FeatureSettings()
    img = np.asarray(image)
    if img.ndim == 2:
        img = img[..., None]
    if img.ndim != 3:
        raise ValueError(f"expected an (H, W) or (H, W, C) image, got shape {img.shape}")
    img = _resize(img, scaled_size(img.shape[0], img.shape[1], settings.scale, settings.max_side), nearest=False)
    if img.ndim == 2:  # cv2 drops a single channel axis
        img = img[..., None]
    feats = multiscale_basic_features(img.astype(np.float32) / (255.0 if img.dtype == np.uint8 else 1.0),
                                      intensity=settings.intensity, edges=settings.edges,
                                      texture=settings.texture, sigma_min=settings.sigma_min,
                                      sigma_max=settings.sigma_max, channel_axis=-1)
    if settings.position:
        h, w = feats.shape[:2]
        rows, cols = np.meshgrid(np.linspace(0, 1, h, dtype=np.float32), np.linspace(0, 1, w, dtype=np.float32),
                                 indexing="ij")
        feats = np.concatenate([feats, rows[..., None], cols[..., None]], axis=-1)
    return np.ascontiguousarray(feats, dtype=np.float32)


@dataclass
class PixelClassifier:
    class_names: Sequence[str]
    features: FeatureSettings = field(default_factory=FeatureSettings)
    n_estimators: int = 50
    max_depth: int | None = 16
    #: training pixels kept per class over all images (balanced sampling)
    max_samples_per_class: int = 20_000
    random_state: int = 0
    n_jobs: int | None = None
    forest: RandomForestClassifier | None = None
    #: what training did: pixels per class, images, seconds
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.class_names = list(self.class_names)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    # -- training --------------------------------------------------------------------------
    def fit(self, samples: Iterable[tuple[np.ndarray, np.ndarray]]) -> "PixelClassifier":
        """Train from ``(image, target)`` pairs; target values outside 0..K-1 are unlabelled."""
        t0 = time.perf_counter()
        rng = np.random.default_rng(self.random_state)
        k = self.num_classes
        xs: list[list[np.ndarray]] = [[] for _ in range(k)]
        n_images = 0
        for image, target in samples:
            target = np.asarray(target)
            if target.shape != np.asarray(image).shape[:2]:
                raise ValueError(f"target {target.shape} does not match image {np.asarray(image).shape[:2]}")
            feats = pixel_features(image, self.features)
            h, w = feats.shape[:2]
            tgt = _resize(target, (w, h), nearest=True).reshape(-1)
            flat = feats.reshape(h * w, -1)
            n_images += 1
            for c in range(k):
                idx = np.flatnonzero(tgt == c)
                if idx.size > self.max_samples_per_class:
                    idx = rng.choice(idx, self.max_samples_per_class, replace=False)
                if idx.size:
                    xs[c].append(flat[idx])
        per_class = []
        X, y = [], []
        for c in range(k):
            if not xs[c]:
                per_class.append(0)
                continue
            xc = np.concatenate(xs[c])
            if len(xc) > self.max_samples_per_class:
                xc = xc[rng.choice(len(xc), self.max_samples_per_class, replace=False)]
            per_class.append(len(xc))
            X.append(xc)
            y.append(np.full(len(xc), c, np.int32))
        if sum(1 for n in per_class if n) < 2:
            raise LabelerError(f"need labelled pixels of at least two classes to train; got "
                               f"{dict((n, p) for n, p in zip(self.class_names, per_class) if p) or 'none'}")
        self.forest = RandomForestClassifier(n_estimators=self.n_estimators, max_depth=self.max_depth,
                                             n_jobs=self.n_jobs, random_state=self.random_state)
        self.forest.fit(np.concatenate(X), np.concatenate(y))
        self.info = {"images": n_images, "pixels_per_class": dict(zip(self.class_names, per_class)),
                     "seconds": round(time.perf_counter() - t0, 3)}
        return self

    # -- prediction ------------------------------------------------------------------------
    def _check_trained(self) -> RandomForestClassifier:
        if self.forest is None:
            raise LabelerError("the pixel classifier has not been trained")
        return self.forest

    def predict_proba(self, image: np.ndarray) -> np.ndarray:
        """(H, W, K) float32 class probabilities at the image's full size."""
        forest = self._check_trained()
        h0, w0 = np.asarray(image).shape[:2]
        feats = pixel_features(image, self.features)
        h, w = feats.shape[:2]
        flat = feats.reshape(h * w, -1)
        probs = np.zeros((h * w, self.num_classes), np.float32)
        step = 200_000  # rows per call: bounds the memory of the per-tree probability arrays
        for i in range(0, len(flat), step):
            probs[i:i + step][:, forest.classes_] = forest.predict_proba(flat[i:i + step])
        probs = probs.reshape(h, w, self.num_classes)
        if (h, w) != (h0, w0):
            probs = np.stack([_resize(probs[..., c], (w0, h0), nearest=False) for c in range(self.num_classes)],
                             axis=-1)
        return probs

    def predict(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(labels, confidence, uncertainty)``: argmax class, its probability, and ``1 - max p``."""
        return labels_from_probabilities(self.predict_proba(image))

    # -- persistence -----------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the model with joblib (pickle): trusted, local use only."""
        import joblib

        forest = self._check_trained()
        payload = {"format": MODEL_FORMAT, "version": MODEL_VERSION, "class_names": list(self.class_names),
                   "features": asdict(self.features), "params": {
                       "n_estimators": self.n_estimators, "max_depth": self.max_depth,
                       "max_samples_per_class": self.max_samples_per_class, "random_state": self.random_state},
                   "info": self.info, "forest": forest}
        path = Path(path)
        with atomic_open(path, "wb") as f:
            joblib.dump(payload, f, compress=3)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "PixelClassifier":
        """Load a model written by :meth:`save`. Unpickling runs code: trusted files only."""
        import joblib

        path = Path(path)
        if not path.is_file():
            raise LabelerError(f"{path}: model file not found")
        try:
            payload = joblib.load(path)
        except Exception as e:  # pickle raises many kinds on a damaged file
            raise LabelerError(f"{path}: not a readable model file ({type(e).__name__}: {e})") from None
        if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
            raise LabelerError(f"{path}: not a labeler pixel-classifier model")
        if payload.get("version", 0) > MODEL_VERSION:
            raise LabelerError(f"{path}: model format version {payload['version']} is newer than this "
                               f"program understands ({MODEL_VERSION})")
        model = cls(payload["class_names"], FeatureSettings(**payload["features"]), **payload["params"])
        model.forest = payload["forest"]
        model.info = dict(payload.get("info") or {})
        return model
