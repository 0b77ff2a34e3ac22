"""Training and evaluating a model on a project, and the run folders that hold the results.

A run folder is ``<project>/.labeler/runs/<YYYYmmdd-HHMMSS>/`` with ``model.joblib`` (see
:mod:`labeler.train.pixel_classifier` on trusting such files) and ``run.json`` (architecture,
classes, training images, what training did).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import LabelerError
from ..core.fileio import write_json_atomic
from ..core.jobs import JobContext
from .dataset import LabelSpace, iter_samples, split_keys
from .metrics import ConfusionMatrix, Metrics, plot_confusion_matrix
from .pixel_classifier import FeatureSettings, PixelClassifier

MODEL_FILE = "model.joblib"
RUN_FILE = "run.json"
RUNS_DIR = ".labeler/runs"
ARCHITECTURES = ("pixel",)


def new_run_dir(project_root: str | Path) -> Path:
    """A fresh ``<project>/.labeler/runs/<YYYYmmdd-HHMMSS>[-n]`` folder."""
    base = Path(project_root) / RUNS_DIR
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        d = base / (stamp if n == 0 else f"{stamp}-{n}")
        try:
            d.mkdir(parents=True, exist_ok=False)
            return d
        except FileExistsError:
            continue
    raise LabelerError(f"{base}: cannot make a new run folder")


def load_model(run: str | Path) -> PixelClassifier:
    """A model from a run folder or a model file (trusted, local files only)."""
    run = Path(run)
    if not run.exists():
        raise LabelerError(f"{run}: no such run folder or model file")
    path = run / MODEL_FILE if run.is_dir() else run
    if run.is_dir() and (run / RUN_FILE).is_file():
        try:
            meta = json.loads((run / RUN_FILE).read_text("utf-8"))
        except (OSError, ValueError) as e:
            raise LabelerError(f"{run / RUN_FILE}: unreadable run file: {e}") from None
        if meta.get("arch", "pixel") not in ARCHITECTURES:
            raise LabelerError(f"{run / RUN_FILE}: architecture {meta.get('arch')!r} is not supported")
        path = run / Path(str(meta.get("model", MODEL_FILE))).name
    return PixelClassifier.load(path)


@dataclass
class TrainResult:
    run_dir: Path
    model: PixelClassifier
    keys: list[str]
    problems: list[str] = field(default_factory=list)


def train_pixel(project, *, split: str = "train", max_images: int | None = None,
                features: FeatureSettings | None = None, n_estimators: int = 50,
                max_samples_per_class: int = 20_000, seed: int = 0, ctx: JobContext | None = None) -> TrainResult:
    """Train the pixel classifier on the labelled images of ``split``; write a new run folder."""
    ctx = ctx or JobContext()
    space = LabelSpace.from_schema(project.schema)
    keys = split_keys(project, split)
    problems: list[str] = []
    used: list[str] = []

    def samples():
        for s in iter_samples(project, ctx.track(keys, len(keys), "train"), space, max_images=max_images,
                              problems=problems):
            used.append(s.key)
            yield s.image, s.target

    model = PixelClassifier(space.names, features or FeatureSettings(), n_estimators=n_estimators,
                            max_samples_per_class=max_samples_per_class, random_state=seed)
    try:
        model.fit(samples())
    except LabelerError as e:
        if not used:
            raise LabelerError(f"{project.root}: no labelled images in split {split!r} to train on") from None
        raise LabelerError(f"{project.root}: {e}") from None
    for p in problems:
        ctx.report.warn(p)
    run_dir = new_run_dir(project.root)
    model.save(run_dir / MODEL_FILE)
    write_json_atomic(run_dir / RUN_FILE, {
        "arch": "pixel", "model": MODEL_FILE, "classes": list(model.class_names), "split": split,
        "train_images": used, "training": model.info, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    return TrainResult(run_dir, model, used, problems)


@dataclass
class Evaluation:
    confusion: ConfusionMatrix
    class_names: list[str]
    keys: list[str]
    problems: list[str] = field(default_factory=list)

    @property
    def metrics(self) -> Metrics:
        return self.confusion.metrics()

    def to_dict(self) -> dict:
        d = self.metrics.to_dict(self.class_names)
        d["images"] = len(self.keys)
        d["classes"] = list(self.class_names)
        d["confusion_matrix"] = self.confusion.counts.tolist()
        return d

    def write(self, json_path: str | Path | None, png_path: str | Path) -> dict:
        """Write the confusion-matrix PNG and (if asked) the JSON report; returns the report."""
        png = plot_confusion_matrix(self.confusion, self.class_names, png_path)
        d = self.to_dict()
        d["confusion_matrix_png"] = str(png)
        if json_path is not None:
            write_json_atomic(json_path, d)
        return d


def evaluate_model(project, model: PixelClassifier, *, split: str = "val", max_images: int | None = None,
                   ctx: JobContext | None = None) -> Evaluation:
    """Predict the labelled images of ``split`` and compare with their targets.

    Dense images are compared on every pixel, sparse ones only where they are labelled.
    """
    ctx = ctx or JobContext()
    space = LabelSpace.from_names(model.class_names, project.schema)
    keys = split_keys(project, split)
    cm = ConfusionMatrix(space.num_classes, space.ignore_index)
    problems: list[str] = []
    used: list[str] = []
    for s in iter_samples(project, ctx.track(keys, len(keys), "evaluate"), space, max_images=max_images,
                          problems=problems):
        labels, _, _ = model.predict(s.image)
        cm.update(s.target, labels)
        used.append(s.key)
        ctx.report.done += 1
    if not used:
        raise LabelerError(f"{project.root}: no labelled images in split {split!r} to evaluate on")
    for p in problems:
        ctx.report.warn(p)
    return Evaluation(cm, list(space.names), used, problems)
