"""Model predictions as proposals in the project, index PNGs, and active-learning ranking.

A prediction becomes one ``mask`` shape per predicted class (all of that class's pixels in the
image), with ``source="model"``, ``score`` = the mean probability of the class over its pixels,
and ``z = -1`` so that accepted shapes paint over it. The schema's background class is not
proposed (it is what no shape covers). Writing proposals never touches an accepted
shape (any shape whose source is not ``"model"``); predicting again replaces only the earlier
model proposals. Images marked done or reviewed are finished work and get no proposals.
Huge images are predicted tile by tile and proposed as one polygon per connected region
(:mod:`labeler.train.tiled_predict`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
from PIL import Image

from ..core import geometry
from ..core.annotation import ImageAnnotation
from ..core.errors import LabelerError
from ..core.fileio import safe_join, save_image_atomic, write_json_atomic
from ..core.images import image_size, read_image
from ..core.jobs import Cancelled, JobContext
from ..core.shapes import MASK, Shape
from .dataset import DENSE_STATUSES, has_labels

#: a predicted class region smaller than this many pixels is not proposed
MIN_PROPOSAL_PIXELS = 16


def labels_from_probabilities(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(labels, confidence, uncertainty)`` from (H, W, K) probabilities: the argmax class, its
    probability, and ``1 - max p``. Every model's ``predict`` is this over its ``predict_proba``."""
    labels = probs.argmax(axis=-1).astype(np.uint8 if probs.shape[-1] < 255 else np.uint16)
    confidence = probs.max(axis=-1)
    return labels, confidence, 1.0 - confidence


# ------------------------------------------------------------------------------- proposals


def proposals_from_prediction(labels: np.ndarray, confidence: np.ndarray, class_names: list[str],
                              min_pixels: int = MIN_PROPOSAL_PIXELS, skip: Iterable[str] = ()) -> list[Shape]:
    """One model mask per predicted class with at least ``min_pixels`` pixels (except ``skip``)."""
    out = []
    skip = set(skip)
    counts = np.bincount(labels.reshape(-1).astype(np.int64), minlength=len(class_names))
    for c, n in enumerate(counts[:len(class_names)]):
        if n < max(1, min_pixels) or class_names[c] in skip:
            continue
        m = labels == c
        out.append(Shape(kind=MASK, label=class_names[c], rle=geometry.rle_encode(m), source="model",
                         score=round(float(confidence[m].mean()), 4), z=-1))
    return out


def with_proposals(ann: ImageAnnotation, proposals: list[Shape]) -> ImageAnnotation:
    """A copy whose earlier model proposals are replaced by ``proposals``; other shapes (accepted
    proposals among them) untouched."""
    new = ann.copy()
    new.shapes = [s for s in ann.shapes if not s.is_proposal] + list(proposals)
    return new


def index_png_path(out_dir: str | Path, key: str) -> Path:
    """``out_dir/<key with .png>``; '..' parts become '_up_' so nothing lands outside out_dir."""
    parts = ["_up_" if p == ".." else p for p in Path(key).with_suffix(".png").parts]
    return safe_join(out_dir, Path(*parts).as_posix())


def write_index_png(path: Path, labels: np.ndarray, class_ids: list[int], colors: list[tuple[int, int, int]]) -> None:
    """Class ids as pixel values; a palette PNG in the schema's colours when ids fit in 8 bits."""
    lut = np.asarray(class_ids, dtype=np.int64)
    ids = lut[labels]
    if lut.max(initial=0) < 256:
        img = Image.fromarray(ids.astype(np.uint8), mode="P")
        pal = [0] * 768
        for cid, col in zip(class_ids, colors):
            pal[3 * cid:3 * cid + 3] = list(col)
        img.putpalette(pal)
    else:
        img = Image.fromarray(ids.astype(np.uint16))
    save_image_atomic(path, img)


# ------------------------------------------------------------------------------- the job


@dataclass
class PredictResult:
    written: list[str] = field(default_factory=list)  # annotations that got proposals
    skipped_done: list[str] = field(default_factory=list)  # done/reviewed: left alone
    uncertainty: dict[str, float] = field(default_factory=dict)  # mean 1 - max p per image
    unlabelled: list[str] = field(default_factory=list)  # images with no accepted labels

    def ranking(self) -> list[tuple[str, float]]:
        """Active learning: unlabelled images, most uncertain first (label these next)."""
        return sorted(((k, self.uncertainty[k]) for k in self.unlabelled if k in self.uncertainty),
                      key=lambda kv: (-kv[1], kv[0]))


def predict_project(project, model, keys: Iterable[str] | None = None, *,
                    out_dir: str | Path | None = None, write_proposals: bool = True,
                    min_pixels: int = MIN_PROPOSAL_PIXELS, ctx: JobContext | None = None,
                    huge_level: int = 0) -> PredictResult:
    """Predict every image in ``keys`` (all images by default) with ``model`` (anything with
    ``class_names`` and ``predict(image) -> (labels, confidence, uncertainty)``).

    Proposals go into the annotations of images not marked done/reviewed; with ``out_dir`` one
    index PNG per image is written there. Bad images are reported through ``ctx`` and skipped.
    Huge images are predicted tile by tile into polygon proposals (:mod:`.tiled_predict`; no
    index PNG for them), at pyramid level ``huge_level`` (k: downscaled by 2**k, faster, coarser).
    """
    from .tiled_predict import predict_tiled, proposals_from_tiles
    from .tiling import is_huge, open_source

    ctx = ctx or JobContext()
    keys = list(project.image_keys() if keys is None else keys)
    for name in model.class_names:
        if name not in project.schema:
            raise LabelerError(f"{project.root}: the model's class {name!r} is not in the project's schema")
    class_ids = [project.schema.by_name(n).id for n in model.class_names]
    colors = [project.schema.by_name(n).color for n in model.class_names]
    background = [project.schema.background] if project.schema.background else []
    result = PredictResult()
    for key in ctx.track(keys, len(keys), "predict"):
        try:
            ann = project.load(key)
            if is_huge(*image_size(project.image_path(key))):  # tile by tile: labeler.train.tiled_predict
                pred = predict_tiled(model, open_source(project, key, ann, huge_level), level=huge_level,
                                     skip=background, ctx=ctx, desc=f"predict {key}")
                mean_uncertainty = pred.mean_uncertainty
                proposals = lambda: proposals_from_tiles(  # noqa: E731
                    pred, level=huge_level, min_pixels=min_pixels)
                if out_dir is not None:
                    ctx.report.warn(f"{project.image_path(key)}: huge image: no index PNG written "
                                    "(its proposals are polygons in the annotation)")
            else:
                image = read_image(project.image_path(key))
                if image.shape[:2] != (ann.height, ann.width):
                    ctx.problem(f"{project.image_path(key)}: image size does not match its annotation; skipped")
                    continue
                labels, confidence, uncertainty = model.predict(image)
                mean_uncertainty = float(uncertainty.mean())
                proposals = lambda: proposals_from_prediction(  # noqa: E731
                    labels, confidence, list(model.class_names), min_pixels, skip=background)
                if out_dir is not None:
                    write_index_png(index_png_path(out_dir, key), labels, class_ids, colors)
        except Cancelled:
            raise
        except LabelerError as e:
            ctx.problem(str(e))
            continue
        result.uncertainty[key] = mean_uncertainty
        if not has_labels(ann):
            result.unlabelled.append(key)
        if write_proposals:
            if ann.status in DENSE_STATUSES:
                result.skipped_done.append(key)
            else:
                project.save_annotation(key, with_proposals(ann, proposals()))
                result.written.append(key)
        ctx.report.done += 1
    return result


def rank_unlabelled(project, model, keys: Iterable[str] | None = None,
                    ctx: JobContext | None = None) -> list[tuple[str, float]]:
    """Unlabelled images by mean uncertainty, most uncertain first; writes nothing."""
    keys = [k for k in (project.image_keys() if keys is None else keys)]
    res = predict_project(project, model, keys, write_proposals=False, ctx=ctx)
    return res.ranking()



# ------------------------------------------------------------------------------- active learning

RANKING_FILE = "ranking.json"


def run_folder(run: str | Path) -> Path:
    """The run folder of a run folder or of a model file inside one."""
    run = Path(run)
    return run if run.is_dir() else run.parent


def write_ranking(run: str | Path, ranking: list[tuple[str, float]]) -> Path:
    """``<run>/ranking.json``: unlabelled images, most uncertain (most useful to label) first."""
    path = run_folder(run) / RANKING_FILE
    write_json_atomic(path, {"measure": "mean over pixels of 1 - max class probability",
                             "images": [{"image": k, "mean_uncertainty": round(u, 5)} for k, u in ranking]})
    return path


def read_ranking(run: str | Path) -> list[tuple[str, float]] | None:
    """The ranking a run folder holds, or None when it has none (or an unreadable one)."""
    path = run_folder(run) / RANKING_FILE
    try:
        rows = json.loads(path.read_text("utf-8"))["images"]
        return [(str(r["image"]), float(r["mean_uncertainty"])) for r in rows]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _unlabelled_now(project, key: str, known: set[str] | None = None) -> bool:
    if key not in (known if known is not None else set(project.image_keys())):
        return False
    if not project.has_annotation(key):
        return True
    try:
        return not has_labels(project.load(key))
    except LabelerError:
        return False


def next_image_to_label(project, run: str | Path, skip: Iterable[str] = (),
                        ctx: JobContext | None = None) -> str | None:
    """Active learning for the window's "next most useful image": the unlabelled image the run's
    model is least sure about, other than ``skip``; None when every image is labelled.

    Uses the run's ``ranking.json`` (written by ``labeler predict``) while it is newer than the
    model, skipping images labelled since; otherwise ranks the unlabelled images now (the model
    predicts each once) and writes ``ranking.json`` for the next call.
    """
    from .trainer import load_model

    skip = set(skip)
    folder = run_folder(run)
    ranking = read_ranking(folder)
    models = [p for p in folder.glob("model.*") if p.is_file()]
    stale = ranking is None or any(p.stat().st_mtime > (folder / RANKING_FILE).stat().st_mtime for p in models)
    known = set(project.image_keys())
    if not stale:
        for key, _ in ranking:
            if key not in skip and _unlabelled_now(project, key, known):
                return key
        ranked = {k for k, _ in ranking}
        if not any(_unlabelled_now(project, k, known) for k in known - ranked - skip):
            return None
    ranking = rank_unlabelled(project, load_model(run), ctx=ctx)
    write_ranking(folder, ranking)
    return next((k for k, _ in ranking if k not in skip), None)
