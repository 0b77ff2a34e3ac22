"""Training and evaluating a model on a project, and the run folders that hold the results.

A run folder is ``<project>/.labeler/runs/<YYYYmmdd-HHMMSS>/`` with the model, either
``model.joblib`` (the pixel classifier; a pickle: see :mod:`labeler.train.pixel_classifier` on
trusting such files) or ``model.pt`` (a deep network, :mod:`labeler.train.deep`; plain tensors;
the best epoch), and ``run.json`` (architecture, classes, training images, what training did).
A deep run also holds ``checkpoint.pt`` (the last epoch, to resume from) and ``metrics.jsonl``
(one line per epoch: train loss, val mIoU), written as training goes.

Both model kinds offer ``class_names`` and ``predict(image) -> (labels, confidence,
uncertainty)``; evaluation and prediction need nothing else.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import LabelerError
from ..core.fileio import write_json_atomic
from ..core.jobs import JobContext
from .architectures import ARCHITECTURES as _NETWORKS
from .box_labels import BoxPseudoLabels
from .dataset import LabelSpace, iter_samples, split_keys, spread_first
from .metrics import ConfusionMatrix, Metrics, plot_confusion_matrix
from .pixel_classifier import FeatureSettings, PixelClassifier

MODEL_FILE = "model.joblib"
DEEP_MODEL_FILE = "model.pt"
RUN_FILE = "run.json"
RUNS_DIR = ".labeler/runs"
DEEP_ARCHITECTURES = tuple(_NETWORKS)
ARCHITECTURES = ("pixel", *DEEP_ARCHITECTURES)


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


def load_model(run: str | Path):
    """A model from a run folder or a model file (trusted, local files only)."""
    run = Path(run)
    if not run.exists():
        raise LabelerError(f"{run}: no such run folder or model file")
    arch = "pixel"
    if run.is_dir():
        path = run / MODEL_FILE
        if (run / RUN_FILE).is_file():
            try:
                meta = json.loads((run / RUN_FILE).read_text("utf-8"))
            except (OSError, ValueError) as e:
                raise LabelerError(f"{run / RUN_FILE}: unreadable run file: {e}") from None
            arch = str(meta.get("arch", "pixel"))
            if arch not in ARCHITECTURES:
                raise LabelerError(f"{run / RUN_FILE}: architecture {arch!r} is not supported")
            default = DEEP_MODEL_FILE if arch in DEEP_ARCHITECTURES else MODEL_FILE
            path = run / Path(str(meta.get("model", default))).name
    else:
        path = run
        arch = "unet" if run.suffix.lower() in (".pt", ".pth") else "pixel"
    if arch in DEEP_ARCHITECTURES:
        from .deep import DeepSegmenter

        return DeepSegmenter.load(path)
    return PixelClassifier.load(path)


@dataclass
class TrainResult:
    run_dir: Path
    model: object  # PixelClassifier or DeepSegmenter
    keys: list[str]
    problems: list[str] = field(default_factory=list)


def train_model(project, model, *, split: str = "train", max_images: int | None = None,
                ctx: JobContext | None = None, crops=None) -> TrainResult:
    """Train ``model`` (a PixelClassifier or a DeepSegmenter over the project's label space) on
    the labelled images of ``split``; write a new run folder. Huge images train from crops
    (``crops``: a :class:`labeler.train.tiling.CropSampling`; default settings without it)."""
    ctx = ctx or JobContext()
    space = LabelSpace.from_schema(project.schema)
    if list(model.class_names) != list(space.names):
        raise LabelerError(f"{project.root}: the model's classes do not match the project's schema")
    keys = spread_first(split_keys(project, split), max_images)  # --max-images: spread, not the first N
    problems: list[str] = []
    used: list[str] = []

    boxes = BoxPseudoLabels.from_plugins()

    def samples():
        for s in iter_samples(project, ctx.track(keys, len(keys), "train"), space, max_images=max_images,
                              problems=problems, boxes=boxes, crops=crops):
            if not used or used[-1] != s.key:  # a huge image gives several crops
                used.append(s.key)
            yield s.image, s.target

    try:
        model.fit(samples())
    except LabelerError as e:
        if not used:
            raise LabelerError(f"{project.root}: no labelled images in split {split!r} to train on") from None
        raise LabelerError(f"{project.root}: {e}") from None
    for p in problems:
        ctx.report.warn(p)
    deep = not isinstance(model, PixelClassifier)
    arch = model.settings.arch if deep else "pixel"
    model_file = DEEP_MODEL_FILE if deep else MODEL_FILE
    run_dir = new_run_dir(project.root)
    model.save(run_dir / model_file)
    write_json_atomic(run_dir / RUN_FILE, {
        "arch": arch, "model": model_file, "classes": list(model.class_names), "split": split,
        "train_images": used, "training": model.info, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    return TrainResult(run_dir, model, used, problems)


def train_pixel(project, *, split: str = "train", max_images: int | None = None,
                features: FeatureSettings | None = None, n_estimators: int = 50,
                max_samples_per_class: int = 20_000, seed: int = 0, ctx: JobContext | None = None,
                crops=None) -> TrainResult:
    """Train the pixel classifier on the labelled images of ``split``; write a new run folder."""
    model = PixelClassifier(LabelSpace.from_schema(project.schema).names, features or FeatureSettings(),
                            n_estimators=n_estimators, max_samples_per_class=max_samples_per_class,
                            random_state=seed)
    return train_model(project, model, split=split, max_images=max_images, ctx=ctx, crops=crops)


def _load_split(project, split: str, space: LabelSpace, ctx: JobContext, max_images: int | None,
                problems: list[str], boxes=None, crops=None, defer_huge: list | None = None
                ) -> tuple[list[str], list[tuple]]:
    try:
        keys = split_keys(project, split)
    except LabelerError:
        if split == "val":  # a project without splits has nothing to validate on
            return [], []
        raise
    used, pairs = [], []
    for s in iter_samples(project, ctx.track(spread_first(keys, max_images), len(keys), split), space,
                          max_images=max_images,
                          problems=problems, boxes=boxes, crops=crops, defer_huge=defer_huge):
        if not used or used[-1] != s.key:  # a huge image gives several crops
            used.append(s.key)
        pairs.append((s.image, s.target))
    if defer_huge:  # huge images whose crops are drawn later, in the order read with the others
        taken = set(used) | {h.key for h in defer_huge}
        used = [k for k in spread_first(keys, max_images) if k in taken]
    return used, pairs


def train_deep(project, settings, *, split: str = "train", val_split: str | None = "val",
               max_images: int | None = None, resume: str | Path | None = None,
               ctx: JobContext | None = None, on_epoch=None, device=None, crops=None) -> TrainResult:
    """Train a segmentation network (:class:`labeler.train.deep.DeepSettings`) on ``split``,
    scored on ``val_split`` each epoch, into a new run folder, or on from the run folder
    ``resume`` (its settings, with ``settings.epochs`` / ``max_minutes`` / ``device`` / ``workers``
    as given now).

    ``ctx.cancelled`` stops training after the current step, keeping the best epoch. Under
    ``torch.distributed`` only rank 0 makes and writes the run folder."""
    from .deep import DeepSegmenter, DeepSettings
    from .network_training import _rank_world, load_training_state

    ctx = ctx or JobContext()
    rank = _rank_world()[0]
    state = None
    if resume is not None:
        state = load_training_state(resume)
        settings = DeepSettings.from_dict({**state["settings"], "epochs": settings.epochs,
                                           "max_minutes": settings.max_minutes, "device": settings.device,
                                           "workers": settings.workers})
    space = LabelSpace.from_schema(project.schema)
    model = DeepSegmenter(list(state["class_names"]) if state else space.names, settings)
    if list(model.class_names) != list(space.names):
        raise LabelerError(f"{project.root}: the model's classes do not match the project's schema")
    problems: list[str] = []
    huge: list = []  # huge training images: fresh crops every epoch (labeler.train.epoch_crops)
    used, train = _load_split(project, split, space, ctx, max_images, problems, BoxPseudoLabels.from_plugins(),
                              crops, defer_huge=huge)
    if huge:
        from .epoch_crops import EpochCrops

        train = EpochCrops(train, huge, space, crops, seed=settings.seed)
    if not used:
        raise LabelerError(f"{project.root}: no labelled images in split {split!r} to train on")
    val_keys, val = _load_split(project, val_split, space, ctx, None, problems, crops=crops) if val_split \
        else ([], [])
    for p in problems:
        ctx.report.warn(p)
    run_dir = None if rank != 0 else Path(resume) if resume is not None else new_run_dir(project.root)
    meta = {"arch": settings.arch, "model": DEEP_MODEL_FILE, "classes": list(model.class_names), "split": split,
            "val_split": val_split if val_keys else None, "train_images": used, "val_images": val_keys,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    if run_dir is not None and resume is None:
        write_json_atomic(run_dir / RUN_FILE, {**meta, "status": "training"})
    elif run_dir is not None and (run_dir / RUN_FILE).is_file():
        meta["created"] = json.loads((run_dir / RUN_FILE).read_text("utf-8")).get("created", meta["created"])
    try:
        model.fit(train, val, run_dir=run_dir, resume=state, cancel=ctx.cancelled, on_epoch=on_epoch,
                  device=device)
    except BaseException as e:
        if run_dir is not None and resume is None:  # take away the run folder this call made
            shutil.rmtree(run_dir, ignore_errors=True)
        if isinstance(e, LabelerError):
            raise LabelerError(f"{project.root}: {e}") from None
        raise
    if run_dir is not None:
        if not (run_dir / DEEP_MODEL_FILE).is_file():  # stopped before one epoch ended
            model.save(run_dir / DEEP_MODEL_FILE)
        write_json_atomic(run_dir / RUN_FILE, {**meta, "status": "done", "training": model.info})
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


def evaluate_model(project, model, *, split: str = "val", max_images: int | None = None,
                   ctx: JobContext | None = None) -> Evaluation:
    """Predict the labelled images of ``split`` and compare with their targets.

    Dense images are compared on every pixel, sparse ones only where they are labelled.
    """
    ctx = ctx or JobContext()
    space = LabelSpace.from_names(model.class_names, project.schema)
    keys = spread_first(split_keys(project, split), max_images)
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
