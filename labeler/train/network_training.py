"""The training loop of a :class:`labeler.train.deep.DeepSegmenter`.

Per epoch: augmented batches (:mod:`labeler.train.augment`; crops of huge images drawn anew
and read as the batches need them, :mod:`labeler.train.epoch_crops`; prepared by ``settings.workers``
DataLoader processes, 0: in this one), loss = cross-entropy +
Dice on the labelled pixels only (:mod:`labeler.train.losses`; optional median-frequency class weights),
Adam; then batch-norm statistics recomputed exactly ("precise BN"), val mIoU, and in the run
folder (when there is one): ``checkpoint.pt`` (everything needed to resume, every epoch),
``model.pt`` (the best epoch so far: highest val mIoU, or lowest training loss without a val
set) and a line in ``metrics.jsonl``. All three are written atomically, by rank 0 only.

Stops after ``settings.epochs`` epochs in all, when ``settings.max_minutes`` of this call are
spent (checked every step, after at least one; the epoch in progress is scored and saved) or
when ``cancel()`` returns true; the model then holds the best epoch's weights.

CUDA (or MPS) runs under ``torch.autocast`` with a ``GradScaler``. Under ``torch.distributed``
(see :mod:`labeler.train.ddp`) the network is wrapped in ``DistributedDataParallel``, each
process trains on its ``DistributedSampler`` share, every process agrees at every step on
whether to stop, and only rank 0 validates and writes.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

from ..core.errors import LabelerError
from ..core.fileio import atomic_open
from .augment import Augment, AugmentedPairs
from .epoch_crops import EpochCrops
from .losses import median_frequency_weights, segmentation_loss
from .metrics import ConfusionMatrix

STATE_FILE = "checkpoint.pt"
BEST_FILE = "model.pt"
METRICS_FILE = "metrics.jsonl"
STATE_FORMAT = "labeler-deep-training-state"
STATE_VERSION = 1
#: training images whose exact batch-norm statistics are computed after each epoch
BN_IMAGES = 32


def _rank_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _agree(flag: bool, device: torch.device) -> bool:
    """True on every process when it is true on any (always the local flag without DDP)."""
    if _rank_world()[1] == 1:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def _bn_layers(net: torch.nn.Module):
    return [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]


@torch.no_grad()
def recalibrate_batchnorm(net: torch.nn.Module, images: Sequence[torch.Tensor], stride: int,
                          device: torch.device) -> None:
    """Recompute batch-norm statistics as exact averages over ``images`` ("precise BN").

    After a short run the running averages lag far behind the weights and eval-mode predictions
    suffer. Images of one size go through in pairs (pooling branches need two samples per
    batch); an image left alone goes with its mirror image.
    """
    bns = _bn_layers(net)
    if not bns or not images:
        return
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average
    was_training = net.training
    net.train()
    by_size: dict[tuple, list[torch.Tensor]] = {}
    for x in images:
        _, h, w = x.shape
        by_size.setdefault((h, w), []).append(F.pad(x, (0, (-w) % stride, 0, (-h) % stride)))
    with torch.no_grad():  # running statistics update in train mode without building a graph
        for group in by_size.values():
            for i in range(0, len(group), 2):
                pair = group[i:i + 2]
                net(torch.stack(pair if len(pair) == 2 else [pair[0], pair[0].flip(-1)]).to(device))
    for m, mom in zip(bns, saved):
        m.momentum = mom
    net.train(was_training)


def _append_jsonl(path: Path, record: dict) -> None:
    old = path.read_bytes() if path.is_file() else b""
    with atomic_open(path, "wb") as f:
        f.write(old + (json.dumps(record) + "\n").encode("utf-8"))


def load_training_state(run_dir: str | Path) -> dict:
    """The resumable state of a run folder (``checkpoint.pt``), read without running any code."""
    path = Path(run_dir) / STATE_FILE
    if not path.is_file():
        raise LabelerError(f"{path}: no training checkpoint to resume from")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise LabelerError(f"{path}: not a readable checkpoint ({type(e).__name__}: {e})") from None
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise LabelerError(f"{path}: not a labeler training checkpoint")
    if state.get("version", 0) > STATE_VERSION:
        raise LabelerError(f"{path}: checkpoint version {state['version']} is newer than this program")
    return state


def _autocast_and_scaler(device: torch.device, enabled: bool):
    if not enabled or device.type not in ("cuda", "mps"):
        return None, torch.amp.GradScaler("cpu", enabled=False)
    try:
        scaler = torch.amp.GradScaler(device.type)
    except (RuntimeError, ValueError):  # no scaler for this device in this torch
        scaler = torch.amp.GradScaler("cpu", enabled=False)
    return torch.float16, scaler


def train_network(model, train: Sequence[tuple[np.ndarray, np.ndarray]],
                  val: Sequence[tuple[np.ndarray, np.ndarray]] = (), *, device: torch.device,
                  run_dir: str | Path | None = None, resume: dict | None = None,
                  cancel: Callable[[], bool] | None = None,
                  on_epoch: Callable[[dict], None] | None = None) -> dict:
    """Train ``model.net`` in place; returns what training did (also ``model.info``)."""
    from .augment import to_tensor

    t0 = time.perf_counter()
    s = model.settings
    rank, world = _rank_world()
    k, ignore = model.num_classes, model.ignore_index
    lazy = isinstance(train, EpochCrops)  # crops of huge images: new each epoch, read when used
    if lazy:
        pairs = train

        def targets():  # epoch 0's, as a resumed run sees them too
            return train.targets(0)
    else:
        pairs = []
        for image, target in train:
            t = np.asarray(target).astype(np.int64)
            t[(t < 0) | (t >= k)] = ignore
            pairs.append((np.asarray(image), t))

        def targets():
            return (t for _, t in pairs)
    labelled = sum(int((t != ignore).sum()) for t in targets())
    if not labelled:
        raise LabelerError("no labelled pixels to train on")
    weights = None
    if s.class_weights:
        weights = torch.from_numpy(median_frequency_weights(targets(), k)).to(device)
    torch.manual_seed(s.seed)
    net = model.net.to(device)
    if world > 1 and device.type == "cuda":
        net = torch.nn.SyncBatchNorm.convert_sync_batchnorm(net)
        model.net = net
    stride = model.stride
    crop = max(stride, (s.crop // stride) * stride)
    dataset = AugmentedPairs(pairs, Augment(crop, s.scale_min, s.scale_max, s.flip, s.jitter), ignore, s.seed)
    sampler = torch.utils.data.DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True, seed=s.seed)
    loader = _loader(dataset, sampler, s.batch_size, int(getattr(s, "workers", 0) or 0), device)
    opt = torch.optim.Adam(net.parameters(), lr=s.lr)
    amp_dtype, scaler = _autocast_and_scaler(device, s.amp)
    start, best, best_epoch, history = 0, -math.inf, None, []
    if resume is not None:
        net.load_state_dict(resume["state_dict"])
        opt.load_state_dict(resume["optimizer"])
        if resume.get("scaler") and scaler.is_enabled():
            scaler.load_state_dict(resume["scaler"])
        start, best_epoch = int(resume["epoch"]) + 1, resume.get("best_epoch")
        best = float(resume.get("best_score", -math.inf))
    best_state = {n: v.detach().cpu().clone() for n, v in net.state_dict().items()}
    run_dir = Path(run_dir) if run_dir is not None and rank == 0 else None
    if resume is not None and run_dir is not None and (run_dir / BEST_FILE).is_file():
        best_state = torch.load(run_dir / BEST_FILE, map_location="cpu", weights_only=True)["state_dict"]
    trainer = net
    if world > 1:
        ids = [device.index] if device.type == "cuda" else None
        trainer = torch.nn.parallel.DistributedDataParallel(net, device_ids=ids,
                                                            find_unused_parameters=_has_unused_parameters(net, crop, device))
    val_x = [to_tensor(img) for img, _ in val]
    bn_images = [] if lazy else [to_tensor(img) for img, _ in pairs[:BN_IMAGES]]
    deadline = t0 + 60 * s.max_minutes if s.max_minutes else None
    steps, stopped = 0, None

    def should_stop() -> str | None:
        reason = "cancelled" if cancel is not None and cancel() else \
            "time budget" if deadline is not None and steps and time.perf_counter() > deadline else None
        return (reason or "stopped by another process") if _agree(reason is not None, device) else None

    for epoch in range(start, s.epochs):
        dataset.set_epoch(epoch)
        sampler.set_epoch(epoch)
        loader.generator.manual_seed(_epoch_seed(s.seed, epoch))  # workers' seeds: the same on resume
        trainer.train()
        losses = []
        for x, y in loader:
            stopped = should_stop()
            if stopped:
                break
            if x.shape[0] == 1:  # batch norm needs two samples: add the mirror image
                x, y = torch.cat([x, x.flip(-1)]), torch.cat([y, y.flip(-1)])
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                logits = trainer(x)
            loss = segmentation_loss(logits, y, ignore, weights, s.dice_weight)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            losses.append(float(loss.detach()))
            steps += 1
        if not losses:
            break
        if not stopped and epoch + 1 < s.epochs:  # so that this epoch's record says why it was the last
            stopped = should_stop()
        mean_loss = float(np.mean(losses))
        if world > 1:  # the mean over every process's batches
            t = torch.tensor([mean_loss / world], device=device)
            dist.all_reduce(t)
            mean_loss = float(t.item())
        record = {"epoch": epoch + 1, "train_loss": mean_loss, "steps": len(losses),
                  "seconds": round(time.perf_counter() - t0, 3)}
        if rank == 0:
            if lazy:  # this epoch's crops, read again
                bn_images = [to_tensor(pairs[i][0]) for i in range(min(BN_IMAGES, len(pairs)))]
            recalibrate_batchnorm(net, bn_images, stride, device)
            bn_images = [] if lazy else bn_images
            record["val_mIoU"] = _val_miou(model, val_x, val, device) if val else None
            score = record["val_mIoU"] if val else -record["train_loss"]
            record["best"] = score > best
            if record["best"]:
                best, best_epoch = score, epoch + 1
                best_state = {n: v.detach().cpu().clone() for n, v in net.state_dict().items()}
            if stopped:
                record["stopped"] = stopped
            history.append(record)
            if run_dir is not None:
                model.info = _info(history, labelled, len(pairs), device, best_epoch, steps, t0)
                if record["best"]:
                    model.save(run_dir / BEST_FILE)
                _save_state(run_dir / STATE_FILE, model, net, opt, scaler, epoch, best, best_epoch)
                _append_jsonl(run_dir / METRICS_FILE, record)
            if on_epoch is not None:
                on_epoch(record)
        if stopped:
            break
    net.load_state_dict(best_state)
    net.eval()
    model.info = _info(history, labelled, len(pairs), device, best_epoch, steps, t0, stopped)
    return model.info


def _epoch_seed(seed: int, epoch: int) -> int:
    return int(np.random.SeedSequence((int(seed) & 0xFFFFFFFF, int(epoch), 0x6C6F6164)).generate_state(1)[0])


def _seed_worker(worker_id: int) -> None:
    """A DataLoader worker's random state, from the seed the loader's generator gave it (the
    batches' augmentations are seeded per sample already; this covers anything else), and one
    thread: the workers share the cores with the training process."""
    import random

    seed = torch.initial_seed() % 2 ** 32
    np.random.seed(seed)
    random.seed(seed)
    torch.set_num_threads(1)


def _loader(dataset, sampler, batch_size: int, workers: int, device: torch.device):
    """The training batches, prepared by ``workers`` processes (0: in this one).

    Workers are started afresh each epoch (not persistent), so that each sees the epoch's
    ``set_epoch`` (augmentations, crops of huge images); the batches come back in the sampler's
    order, and every draw depends on ``(seed, epoch, index)`` only: the same weights with or
    without workers, and on resume. A loader generator (re-seeded per epoch) keeps the loader
    from drawing on the global torch random state."""
    if workers < 0:
        raise LabelerError("the number of data loader workers must not be negative")
    extra = {"worker_init_fn": _seed_worker, "prefetch_factor": 2} if workers else {}
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=workers,
                                       generator=torch.Generator(), pin_memory=workers > 0 and device.type == "cuda",
                                       persistent_workers=False, **extra)


def _has_unused_parameters(net: torch.nn.Module, size: int, device: torch.device) -> bool:
    """Whether a forward pass leaves parameters out (smp keeps the encoder stages an
    ``encoder_depth`` below 5 does not use); DDP must then look for them at every step."""
    net.train()
    net(torch.zeros(2, 3, size, size, device=device)).float().sum().backward()
    unused = any(p.requires_grad and p.grad is None for p in net.parameters())
    net.zero_grad(set_to_none=True)
    return unused


@torch.no_grad()
def _val_miou(model, val_x: Sequence[torch.Tensor], val, device) -> float:
    cm = ConfusionMatrix(model.num_classes, model.ignore_index)
    for x, (_, target) in zip(val_x, val):
        t = np.asarray(target).astype(np.int64)
        t[(t < 0) | (t >= model.num_classes)] = model.ignore_index
        cm.update(t, model.predict_tensor(x).argmax(0).cpu().numpy())
    miou = cm.metrics().mIoU
    return 0.0 if math.isnan(miou) else float(miou)


def _info(history, labelled, images, device, best_epoch, steps, t0, stopped=None) -> dict:
    return {"images": images, "labelled_pixels": labelled, "steps": steps, "epochs_run": len(history),
            "first_loss": history[0]["train_loss"] if history else None,
            "last_loss": history[-1]["train_loss"] if history else None,
            "best_epoch": best_epoch, "val_mIoU": max((r["val_mIoU"] for r in history if r.get("val_mIoU") is not None),
                                                      default=None),
            "stopped": stopped, "device": str(device), "seconds": round(time.perf_counter() - t0, 3)}


def _save_state(path: Path, model, net, opt, scaler, epoch: int, best: float, best_epoch) -> None:
    from dataclasses import asdict

    payload = {"format": STATE_FORMAT, "version": STATE_VERSION, "class_names": list(model.class_names),
               "settings": asdict(model.settings), "epoch": epoch, "best_score": best, "best_epoch": best_epoch,
               "state_dict": {n: v.detach().cpu() for n, v in net.state_dict().items()},
               "optimizer": opt.state_dict(), "scaler": scaler.state_dict() if scaler.is_enabled() else None,
               "info": model.info}
    with atomic_open(path, "wb") as f:
        torch.save(payload, f)
