"""Model commands: train, predict, evaluate.

    labeler train --project DIR --arch pixel [--max-images N] [--split train] [--scale S] [--position]
    labeler train --project DIR --arch unet [--encoder resnet18] [--epochs N] [--max-minutes M] ...
    labeler train --project DIR --resume RUN --arch unet [--epochs N]
    labeler train --project DIR --arch deeplabv3 --ddp 4 ...     (DistributedDataParallel)
    labeler predict --project DIR --model RUN [--out DIR] [--split NAME] [--top N] [--huge-level K]
    labeler evaluate --project DIR --model RUN [--split val] [--json FILE]
    labeler compare  --project DIR --other DIR [--split S] [--json FILE]

``train`` prints the run folder it writes (``DIR/.labeler/runs/<timestamp>``). ``predict`` writes
model proposals into images not yet done (never touching accepted shapes), optionally one index
PNG per image under ``--out``, and lists the unlabelled images the model is least sure about
(also written to the run folder as ``ranking.json``, which the window reads for "next image").
Run folders hold pickled models: use only runs you made or trust.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..core.errors import LabelerError
from ..core.fileio import write_json_atomic
from . import add_job_options, job_context, open_project, print_report


def register(subparsers) -> None:
    from ..train.architectures import ARCHITECTURES

    p = subparsers.add_parser("train", help="train a model on the project's labelled images",
                              description="Train a model on the labelled images (dense masks, scribbles, points, "
                                          "weak boxes through GrabCut) of the train split; prints the run folder "
                                          "it writes.")
    p.add_argument("--project", required=True, metavar="DIR")
    p.add_argument("--arch", default="pixel", choices=["pixel", *ARCHITECTURES],
                   help="pixel: random forest on multiscale pixel features (default); "
                        + ", ".join(f"{a.name}: {a.description}" for a in ARCHITECTURES.values()))
    p.add_argument("--max-images", type=int, metavar="N",
                   help="train on at most N labelled images, spread evenly over the split (not the first N "
                        "by name: those are often consecutive video frames)")
    p.add_argument("--split", default="train", help="the split to train on (default train)")
    p.add_argument("--seed", type=int, default=0)
    huge = p.add_argument_group("huge images (tiled: trained from crops, never decoded whole)")
    huge.add_argument("--huge-crop", type=int, default=512, metavar="N", help="crop side in pixels (default 512)")
    huge.add_argument("--huge-crops", type=int, default=8, metavar="N", help="crops per huge image (default 8)")
    huge.add_argument("--huge-level", type=int, default=0, metavar="K",
                      help="pyramid level crops are read at: downscaled by 2**K (default 0, full size)")
    pixel = p.add_argument_group("pixel classifier options (--arch pixel)")
    pixel.add_argument("--scale", type=float, default=0.5, help="compute features at this image scale (default 0.5)")
    pixel.add_argument("--sigma-max", type=float, default=16.0,
                       help="largest feature scale in pixels, at --scale (default 16)")
    pixel.add_argument("--position", action="store_true",
                       help="use pixel position as a feature (fixed cameras, e.g. street scenes)")
    pixel.add_argument("--trees", type=int, default=50, help="trees in the forest (default 50)")
    pixel.add_argument("--samples-per-class", type=int, default=20_000, metavar="N",
                       help="training pixels kept per class (default 20000)")
    deep = p.add_argument_group("network options (every other --arch)")
    deep.add_argument("--encoder", help="smp encoder name (default resnet18), or for fcn/deeplabv3/lraspp the "
                                        "torchvision backbone (resnet50, resnet101, mobilenet_v3_large)")
    deep.add_argument("--encoder-weights", metavar="NAME",
                      help="pretrained encoder weights, e.g. imagenet (downloaded on first use)")
    deep.add_argument("--weights", metavar="NAME",
                      help="pretrained weights of a whole torchvision network, e.g. DEFAULT (classifier replaced)")
    deep.add_argument("--encoder-depth", type=int, default=5, choices=range(3, 6), metavar="3-5")
    deep.add_argument("--decoder-width", type=int, default=256, metavar="C")
    deep.add_argument("--epochs", type=int, default=30, help="epochs in all, counting those of a resumed run")
    deep.add_argument("--max-minutes", type=float, metavar="M",
                      help="stop after M minutes of training, keeping the best epoch")
    deep.add_argument("--resume", metavar="RUN",
                      help="go on training the network of run folder RUN (its checkpoint.pt and settings)")
    deep.add_argument("--val-split", default="val", help="split scored each epoch (default val; 'none' for none)")
    deep.add_argument("--batch-size", type=int, default=4)
    deep.add_argument("--lr", type=float, default=1e-3)
    deep.add_argument("--crop", type=int, default=256, help="training crop size in pixels (default 256)")
    deep.add_argument("--scale-range", type=float, nargs=2, default=(0.75, 1.25), metavar=("MIN", "MAX"),
                      help="random rescaling of training images (default 0.75 1.25)")
    deep.add_argument("--jitter", type=float, default=0.2, help="colour jitter strength (default 0.2; 0 for none)")
    deep.add_argument("--class-weights", action="store_true",
                      help="weigh classes by median frequency balancing over the training targets")
    deep.add_argument("--dice-weight", type=float, default=1.0, help="weight of the Dice loss (default 1)")
    deep.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA / MPS")
    deep.add_argument("--device", default="auto", help="auto (CUDA or MPS when present), cpu, cuda, cuda:1, mps")
    deep.add_argument("--workers", type=int, default=0, metavar="N",
                      help="prepare (decode, crop, augment) training batches in N worker processes (default 0: "
                           "in the training process; on a CPU-only machine with few cores 0 is usually fastest)")
    deep.add_argument("--ddp", type=int, metavar="N",
                      help="train on N processes (one per GPU) with DistributedDataParallel, through torchrun")
    p.add_argument("--distributed", action="store_true", help=argparse.SUPPRESS)  # set by labeler.train.ddp
    add_job_options(p)
    p.set_defaults(func=train_command, parser=p)

    p = _model_command(subparsers, "predict", "write model proposals into the project",
                       "Predict images; write proposals (source=model) into images not marked done/reviewed, "
                       "replacing earlier proposals only; rank the unlabelled images (ranking.json in the run).")
    p.add_argument("--out", metavar="DIR", help="also write one index PNG per image here")
    p.add_argument("--split", help="predict only this split (default: every image)")
    p.add_argument("--no-proposals", action="store_true", help="write no proposals (only --out and the ranking)")
    p.add_argument("--top", type=int, default=10, metavar="N",
                   help="list the N most uncertain unlabelled images (default 10)")
    p.add_argument("--huge-level", type=int, default=0, metavar="K",
                   help="predict huge (tiled) images at this pyramid level: downscaled by 2**K (default 0)")
    add_job_options(p)
    p.set_defaults(func=predict_command)

    p = _model_command(subparsers, "evaluate", "score a model on labelled images",
                       "Predict the labelled images of a split and print PA, mPA, per-class IoU, mIoU, FWIoU and "
                       "Dice; write a confusion-matrix PNG.")
    p.add_argument("--split", default="val", help="the split to evaluate on (default val)")
    p.add_argument("--json", metavar="FILE", help="write the figures here (the PNG goes beside it)")
    p.add_argument("--max-images", type=int, metavar="N")
    add_job_options(p)
    p.set_defaults(func=evaluate_command)

    p = subparsers.add_parser("compare", help="agreement of two sets of labels (e.g. two annotators)",
                              description="Compare the labels of project DIR (the reference) with those of "
                                          "--other on the same images: PA, mPA, per-class IoU, mIoU, FWIoU, Dice.")
    p.add_argument("--project", required=True, metavar="DIR", help="the reference labels")
    p.add_argument("--other", required=True, metavar="DIR", help="the labels to compare with them")
    p.add_argument("--split", help="compare only this split of DIR (default: every labelled image)")
    p.add_argument("--json", metavar="FILE", help="write the figures here (the PNG goes beside it)")
    add_job_options(p)
    p.set_defaults(func=compare_command)


def _model_command(subparsers, name: str, help: str, description: str) -> argparse.ArgumentParser:
    """A command that applies a trained model to a project: ``--project DIR --model RUN``."""
    p = subparsers.add_parser(name, help=help, description=description)
    p.add_argument("--project", required=True, metavar="DIR")
    p.add_argument("--model", required=True, metavar="RUN", help="a run folder (or its model file)")
    return p


def train_command(args: argparse.Namespace) -> int:
    if args.max_images is not None and args.max_images < 1:
        raise LabelerError("--max-images must be at least 1")
    if args.arch == "pixel" and args.resume is None:
        if not 0 < args.scale <= 4:
            raise LabelerError("--scale must be in (0, 4]")
        if not args.sigma_max >= 1:
            raise LabelerError("--sigma-max must be at least 1")
    elif args.ddp:
        return _launch_ddp(args)
    ctx = job_context(args)
    train = _train_deep if args.arch != "pixel" or args.resume is not None else _train_pixel
    res = train(args, ctx)
    if res is None:  # a DDP process other than rank 0
        return 0
    ctx.report.done = len(res.keys)
    print_report(ctx.report, "train")
    print(res.run_dir)
    return 0


def _train_pixel(args: argparse.Namespace, ctx):
    from ..train.pixel_classifier import FeatureSettings
    from ..train.trainer import train_pixel

    with open_project(args.project, write=True) as project:
        return train_pixel(project, split=args.split, max_images=args.max_images,
                           features=FeatureSettings(scale=args.scale, position=args.position,
                                                    sigma_max=args.sigma_max),
                           n_estimators=args.trees, max_samples_per_class=args.samples_per_class,
                           seed=args.seed, ctx=ctx, crops=crop_sampling(args))


def crop_sampling(args: argparse.Namespace):
    """The crops of huge images the command-line options ask for (checked)."""
    from ..train.tiling import CropSampling

    if args.huge_crop < 32 or args.huge_crops < 1 or args.huge_level < 0:
        raise LabelerError("--huge-crop must be at least 32, --huge-crops at least 1, --huge-level not negative")
    return CropSampling(size=args.huge_crop, level=args.huge_level, per_image=args.huge_crops, seed=args.seed)


def deep_settings(args: argparse.Namespace):
    """The :class:`DeepSettings` the command-line options ask for (checked)."""
    from ..train.deep import DeepSettings

    if args.epochs < 1 or args.batch_size < 1 or args.crop < 32 or not args.lr > 0:
        raise LabelerError("--epochs and --batch-size must be at least 1, --crop at least 32, --lr above 0")
    lo, hi = args.scale_range
    if not 0 < lo <= hi or args.jitter < 0 or args.dice_weight < 0:
        raise LabelerError("--scale-range needs 0 < MIN <= MAX; --jitter and --dice-weight must not be negative")
    if args.max_minutes is not None and not args.max_minutes > 0:
        raise LabelerError("--max-minutes must be above 0")
    if args.workers < 0:
        raise LabelerError("--workers must not be negative")
    return DeepSettings(arch=args.arch, encoder=args.encoder, encoder_weights=args.encoder_weights,
                        weights=args.weights, encoder_depth=args.encoder_depth, decoder_width=args.decoder_width,
                        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, crop=args.crop,
                        scale_min=lo, scale_max=hi, jitter=args.jitter, class_weights=args.class_weights,
                        dice_weight=args.dice_weight, max_minutes=args.max_minutes, amp=not args.no_amp,
                        seed=args.seed, device=args.device, workers=args.workers)


def _train_deep(args: argparse.Namespace, ctx):
    from ..train import ddp
    from ..train.trainer import train_deep

    settings = deep_settings(args)
    val_split = None if args.val_split.lower() == "none" else args.val_split
    with ddp.process_group(args.distributed, settings.device) as (rank, device):
        with open_project(args.project, write=rank == 0) as project:
            res = train_deep(project, settings, split=args.split, val_split=val_split, max_images=args.max_images,
                             resume=args.resume, ctx=ctx, device=device, crops=crop_sampling(args))
    return res if rank == 0 else None


def _launch_ddp(args: argparse.Namespace) -> int:
    """``labeler train --ddp N ...``: the same command on N processes through torchrun."""
    import subprocess
    import sys

    if args.ddp < 1:
        raise LabelerError("--ddp needs at least 1 process")
    argv = []
    for action in args.parser._actions:
        value = getattr(args, action.dest, None)
        if not action.option_strings or action.dest in ("help", "ddp", "distributed") or value == action.default:
            continue
        if isinstance(action, argparse._StoreTrueAction):
            argv.append(action.option_strings[0])
        elif isinstance(value, (list, tuple)):
            argv += [action.option_strings[0], *map(str, value)]
        else:
            argv += [action.option_strings[0], str(value)]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={args.ddp}",
           "-m", "labeler.train.ddp", *argv]
    return subprocess.run(cmd).returncode


def predict_command(args: argparse.Namespace) -> int:
    from ..train.predict import predict_project, write_ranking
    from ..train.trainer import load_model

    model = load_model(args.model)
    ctx = job_context(args)
    with open_project(args.project, write=not args.no_proposals) as project:
        keys = project.keys_in_split(args.split) if args.split else None
        res = predict_project(project, model, keys, out_dir=args.out, write_proposals=not args.no_proposals,
                              ctx=ctx, huge_level=max(0, args.huge_level))
    print_report(ctx.report, "predict")
    print(f"proposals written to {len(res.written)} images; {len(res.skipped_done)} done/reviewed images left alone")
    ranking = res.ranking()
    rows = [{"image": k, "mean_uncertainty": round(u, 5)} for k, u in ranking]
    write_ranking(args.model, ranking)
    if args.out:
        write_json_atomic(Path(args.out) / "uncertainty.json", rows)
    if ranking and args.top > 0:
        print("most uncertain unlabelled images (label these next):")
        for k, u in ranking[:args.top]:
            print(f"  {u:.3f}  {k}")
    return 1 if ctx.report.errors else 0


def evaluate_command(args: argparse.Namespace) -> int:
    from ..train.trainer import evaluate_model, load_model

    model = load_model(args.model)
    ctx = job_context(args)
    with open_project(args.project, write=False) as project:
        ev = evaluate_model(project, model, split=args.split, max_images=args.max_images, ctx=ctx)
    run = Path(args.model)
    default_png = (run if run.is_dir() else run.parent) / f"confusion_{args.split}.png"
    return _write_and_print(ev, args.json, default_png, ctx, "evaluate",
                            f"{len(ev.keys)} images of split {args.split!r}")


def _write_and_print(ev, json_arg: str | None, default_png: Path, ctx, what: str, headline: str) -> int:
    """Write an evaluation's confusion PNG (beside --json when given) and JSON; print the figures."""
    json_path = Path(json_arg) if json_arg else None
    png = json_path.with_name(json_path.stem + "_confusion.png") if json_path else default_png
    ev.write(json_path, png)
    print_report(ctx.report, what)
    print(headline)
    print(ev.metrics.format(ev.class_names))
    if json_path is not None:
        print(f"wrote {json_path}")
    print(f"wrote {png}")
    return 0


def compare_command(args: argparse.Namespace) -> int:
    from ..train.metrics import compare_projects
    from ..train.trainer import Evaluation

    ctx = job_context(args)
    with open_project(args.project, write=False) as a, open_project(args.other, write=False) as b:
        keys = [k for k in a.keys_in_split(args.split) if a.has_annotation(k)]
        cm, names, problems = compare_projects(a, b, keys)
    for line in problems:
        ctx.report.warn(line)
    ctx.report.done = len(keys) - len(problems)
    ev = Evaluation(cm, names, keys, problems)
    return _write_and_print(ev, args.json, Path(args.project) / ".labeler" / "compare_confusion.png", ctx,
                            "compare", f"{len(keys) - len(problems)} images compared")
