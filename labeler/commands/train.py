"""Model commands: train, predict, evaluate.

    labeler train --project DIR --arch pixel [--max-images N] [--split train] [--scale S] [--position]
    labeler train --project DIR --arch unet [--encoder resnet18] [--epochs N] [--device cuda] ...
    labeler predict --project DIR --model RUN [--out DIR] [--split NAME] [--top N]
    labeler evaluate --project DIR --model RUN [--split val] [--json FILE]

``train`` prints the run folder it writes (``DIR/.labeler/runs/<timestamp>``). ``predict`` writes
model proposals into images not yet done (never touching accepted shapes), optionally one index
PNG per image under ``--out``, and lists the unlabelled images the model is least sure about.
Run folders hold pickled models: use only runs you made or trust.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..core.errors import LabelerError
from ..core.fileio import write_json_atomic
from . import add_job_options, job_context, open_project, print_report


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="train a model on the project's labelled images",
                              description="Train a model on the labelled images (dense masks, scribbles, points) "
                                          "of the train split; prints the run folder it writes.")
    p.add_argument("--project", required=True, metavar="DIR")
    p.add_argument("--arch", default="pixel", choices=["pixel", "unet", "fpn", "deeplabv3plus"],
                   help="pixel: random forest on multiscale pixel features (default); unet, fpn, "
                        "deeplabv3plus: a segmentation network (segmentation-models-pytorch)")
    p.add_argument("--max-images", type=int, metavar="N", help="train on at most N labelled images")
    p.add_argument("--split", default="train", help="the split to train on (default train)")
    p.add_argument("--scale", type=float, default=0.5, help="compute features at this image scale (default 0.5)")
    p.add_argument("--sigma-max", type=float, default=16.0,
                   help="largest feature scale in pixels, at --scale (default 16)")
    p.add_argument("--position", action="store_true",
                   help="use pixel position as a feature (fixed cameras, e.g. street scenes)")
    p.add_argument("--trees", type=int, default=50, help="trees in the forest (default 50)")
    p.add_argument("--samples-per-class", type=int, default=20_000, metavar="N",
                   help="training pixels kept per class (default 20000)")
    p.add_argument("--seed", type=int, default=0)
    deep = p.add_argument_group("network options (--arch unet, fpn, deeplabv3plus)")
    deep.add_argument("--encoder", default="resnet18", help="encoder name in segmentation-models-pytorch")
    deep.add_argument("--encoder-weights", metavar="NAME",
                      help="pretrained encoder weights, e.g. imagenet (downloaded by smp on first use)")
    deep.add_argument("--encoder-depth", type=int, default=5, choices=range(3, 6), metavar="3-5")
    deep.add_argument("--decoder-width", type=int, default=256, metavar="C")
    deep.add_argument("--epochs", type=int, default=30)
    deep.add_argument("--batch-size", type=int, default=4)
    deep.add_argument("--lr", type=float, default=1e-3)
    deep.add_argument("--crop", type=int, default=256, help="training crop size in pixels (default 256)")
    deep.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:1, ...")
    add_job_options(p)
    p.set_defaults(func=train_command)

    p = subparsers.add_parser("predict", help="write model proposals into the project",
                              description="Predict images; write proposals (source=model) into images not marked "
                                          "done/reviewed, replacing earlier proposals only.")
    p.add_argument("--project", required=True, metavar="DIR")
    p.add_argument("--model", required=True, metavar="RUN", help="a run folder (or its model file)")
    p.add_argument("--out", metavar="DIR", help="also write one index PNG per image here")
    p.add_argument("--split", help="predict only this split (default: every image)")
    p.add_argument("--no-proposals", action="store_true", help="write no proposals (only --out and the ranking)")
    p.add_argument("--top", type=int, default=10, metavar="N",
                   help="list the N most uncertain unlabelled images (default 10)")
    add_job_options(p)
    p.set_defaults(func=predict_command)

    p = subparsers.add_parser("evaluate", help="score a model on labelled images",
                              description="Predict the labelled images of a split and print PA, mPA, per-class IoU, "
                                          "mIoU, FWIoU and Dice; write a confusion-matrix PNG.")
    p.add_argument("--project", required=True, metavar="DIR")
    p.add_argument("--model", required=True, metavar="RUN", help="a run folder (or its model file)")
    p.add_argument("--split", default="val", help="the split to evaluate on (default val)")
    p.add_argument("--json", metavar="FILE", help="write the figures here (the PNG goes beside it)")
    p.add_argument("--max-images", type=int, metavar="N")
    add_job_options(p)
    p.set_defaults(func=evaluate_command)


def train_command(args: argparse.Namespace) -> int:
    from ..train.pixel_classifier import FeatureSettings
    from ..train.trainer import train_deep, train_pixel

    if args.max_images is not None and args.max_images < 1:
        raise LabelerError("--max-images must be at least 1")
    if not 0 < args.scale <= 4:
        raise LabelerError("--scale must be in (0, 4]")
    if not args.sigma_max >= 1:
        raise LabelerError("--sigma-max must be at least 1")
    ctx = job_context(args)
    if args.arch != "pixel":
        return _train_deep(args, ctx, train_deep)
    with open_project(args.project, write=True) as project:
        res = train_pixel(project, split=args.split, max_images=args.max_images,
                          features=FeatureSettings(scale=args.scale, position=args.position,
                                                   sigma_max=args.sigma_max),
                          n_estimators=args.trees, max_samples_per_class=args.samples_per_class,
                          seed=args.seed, ctx=ctx)
    ctx.report.done = len(res.keys)
    print_report(ctx.report, "train")
    print(res.run_dir)
    return 0


def _train_deep(args: argparse.Namespace, ctx, train_deep) -> int:
    from ..train.deep import DeepSettings

    if args.epochs < 1 or args.batch_size < 1 or args.crop < 32 or not args.lr > 0:
        raise LabelerError("--epochs and --batch-size must be at least 1, --crop at least 32, --lr above 0")
    settings = DeepSettings(arch=args.arch, encoder=args.encoder, encoder_weights=args.encoder_weights,
                            encoder_depth=args.encoder_depth, decoder_width=args.decoder_width,
                            epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, crop=args.crop,
                            seed=args.seed, device=args.device)
    with open_project(args.project, write=True) as project:
        res = train_deep(project, settings, split=args.split, max_images=args.max_images, ctx=ctx)
    ctx.report.done = len(res.keys)
    print_report(ctx.report, "train")
    print(res.run_dir)
    return 0


def predict_command(args: argparse.Namespace) -> int:
    from ..train.predict import predict_project
    from ..train.trainer import load_model

    model = load_model(args.model)
    ctx = job_context(args)
    with open_project(args.project, write=not args.no_proposals) as project:
        keys = project.keys_in_split(args.split) if args.split else None
        res = predict_project(project, model, keys, out_dir=args.out, write_proposals=not args.no_proposals,
                              ctx=ctx)
    print_report(ctx.report, "predict")
    print(f"proposals written to {len(res.written)} images; {len(res.skipped_done)} done/reviewed images left alone")
    ranking = res.ranking()
    if args.out:
        write_json_atomic(Path(args.out) / "uncertainty.json",
                          [{"image": k, "mean_uncertainty": round(u, 5)} for k, u in ranking])
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
    if args.json:
        json_path = Path(args.json)
        png = json_path.with_name(json_path.stem + "_confusion.png")
    else:
        json_path = None
        run = Path(args.model)
        png = (run if run.is_dir() else run.parent) / f"confusion_{args.split}.png"
    ev.write(json_path, png)
    print_report(ctx.report, "evaluate")
    print(f"{len(ev.keys)} images of split {args.split!r}")
    print(ev.metrics.format(ev.class_names))
    if json_path is not None:
        print(f"wrote {json_path}")
    print(f"wrote {png}")
    return 0

