"""SAM commands: fetch an official checkpoint, precompute a project's embeddings.

    labeler sam-download [vit_b|vit_l|vit_h ...] [--dir DIR] [--url URL] [--verify] [-q]
    labeler embed --project DIR [--model vit_b|vit_l|vit_h|PATH] [--device auto|cpu|cuda|mps] [-q]

``sam-download`` with no name lists the models and whether each is in the user cache. ``embed``
writes ``DIR/.labeler/embeddings/<model id>/`` and skips the images already there; a model name
must have been downloaded (``--download`` fetches it first), a path is used as it is.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import add_job_options, job_context, open_project, print_report


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sam-download", help="download official segment-anything checkpoints into the user cache",
        description="Download Meta's SAM checkpoints (resuming a partial download, checking the "
                    "SHA-256) into $LABELER_CACHE_DIR/checkpoints or ~/.cache/labeler/checkpoints. "
                    "With no model named, list the models and which are downloaded.")
    p.add_argument("models", nargs="*", metavar="MODEL", help="vit_b, vit_l or vit_h")
    p.add_argument("--dir", metavar="DIR", help="download into DIR instead of the user cache")
    p.add_argument("--url", metavar="URL", help="fetch from this mirror (the file must still match the "
                                                "official checksum); only with one model")
    p.add_argument("--verify", action="store_true",
                   help="check the SHA-256 of a file already downloaded (a bad one is deleted and fetched again)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=download_command)

    e = subparsers.add_parser(
        "embed", help="precompute SAM image embeddings for a whole project",
        description="Run the SAM image encoder on every image of a project and keep the results in "
                    "DIR/.labeler/embeddings/<model id>/ (CPU tensors: the folder can be copied from "
                    "a GPU machine). Images already embedded are skipped.")
    e.add_argument("--project", required=True, metavar="DIR", help="the project (or image folder)")
    e.add_argument("--model", default=None, metavar="NAME_OR_PATH",
                   help="vit_b, vit_l, vit_h or a checkpoint file (default: $LABELER_SAM_CHECKPOINT, "
                        "else vit_b)")
    e.add_argument("--device", default="auto", help="auto (CUDA, else MPS, else CPU), cpu, cuda, cuda:N, mps")
    e.add_argument("--download", action="store_true", help="download the named model first if missing")
    add_job_options(e)
    e.set_defaults(func=embed_command)


def _byte_bar(quiet: bool, desc: str):
    """A ``progress(done, total)`` callback drawing a tqdm bar in bytes; and a closer."""
    from tqdm import tqdm

    bar = tqdm(total=None, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr,
               disable=quiet, dynamic_ncols=True, leave=False)

    def progress(done: int, total: int | None) -> None:
        if total is not None and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    return progress, bar.close


def download_command(args: argparse.Namespace) -> int:
    from ..assist.download import CHECKPOINTS, checkpoint_path, download_checkpoint, official, sha256_of
    from ..core.errors import LabelerError

    if not args.models:
        for name, ckpt in CHECKPOINTS.items():
            path = checkpoint_path(name)
            state = "downloaded" if path.is_file() and path.stat().st_size == ckpt.size else "not downloaded"
            print(f"{name:<6} {ckpt.size / 2**20:8.0f} MiB  {state:<14} {path}")
        return 0
    if args.url and len(args.models) > 1:
        raise LabelerError("--url names one file: give only one model with it")
    for name in args.models:
        official(name)  # an unknown name fails before anything is fetched
    for name in args.models:
        ckpt = official(name)
        present = Path(args.dir).expanduser() / ckpt.filename if args.dir else checkpoint_path(name)
        if args.verify and present.is_file() and sha256_of(present) != ckpt.sha256:
            print(f"{present}: SHA-256 does not match the official one; fetching it again", file=sys.stderr)
            present.unlink()
        progress, close = _byte_bar(args.quiet, name)
        try:
            path = download_checkpoint(name, folder=args.dir, url=args.url, progress=progress)
        finally:
            close()
        print(path)
    return 0


def embed_command(args: argparse.Namespace) -> int:
    from ..assist.cache import EmbeddingCache
    from ..assist.device import choose_device
    from ..assist.download import resolve_checkpoint
    from ..assist.embed import embed_project, embedding_dir
    from ..plugins.sam import CHECKPOINT_ENV, SamEngine, checkpoint_identity

    model = args.model or os.environ.get(CHECKPOINT_ENV) or "vit_b"
    device = choose_device(args.device)
    if args.download:
        progress, close = _byte_bar(args.quiet, model)
        try:
            checkpoint = resolve_checkpoint(model, download_missing=True, progress=progress)
        finally:
            close()
    else:
        checkpoint = resolve_checkpoint(model)
    project = open_project(args.project, write=False)
    try:
        engine = SamEngine(checkpoint, device=device, memory_items=1)
        folder = embedding_dir(project.root, f"sam:{checkpoint_identity(checkpoint)}")
        engine.cache = EmbeddingCache(memory_items=1, folder=folder)
        ctx = job_context(args)
        report = embed_project(project, engine, engine.cache, ctx)
    finally:
        project.close()
    print_report(report, f"embed ({model} on {device})")
    print(f"{report.outputs['cached']} already embedded; embeddings in {folder}")
    return 0 if report.ok else 1
