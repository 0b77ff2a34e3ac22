"""Training on several processes (GPUs) with ``DistributedDataParallel``.

    torchrun --nproc_per_node N -m labeler.train.ddp --project DIR --arch unet [train options]
    labeler train --ddp N --project DIR --arch unet [train options]      (launches the above)

Every process runs ``labeler train`` with the same options: each opens the project (rank 0 for
writing, the others read-only), reads the samples, and trains on its share of every epoch
(``DistributedSampler``) with gradients averaged across processes. Rank 0 alone validates,
writes the run folder and prints it. The backend is NCCL on CUDA, gloo on the CPU.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator

import torch
import torch.distributed as dist


@contextlib.contextmanager
def process_group(enabled: bool, device_name: str = "auto") -> Iterator[tuple[int, torch.device | None]]:
    """``(rank, device)`` inside a process group set up from torchrun's environment; without
    ``enabled``: ``(0, None)`` (the settings choose the device) and nothing set up."""
    if not enabled:
        yield 0, None
        return
    from .deep import resolve_device

    if "RANK" not in os.environ:
        from ..core.errors import LabelerError

        raise LabelerError("--distributed needs the environment torchrun sets (RANK, WORLD_SIZE, ...)")
    local = int(os.environ.get("LOCAL_RANK", 0))
    device = resolve_device(device_name)
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    try:
        yield dist.get_rank(), device
    finally:
        dist.destroy_process_group()


def main(argv: list[str] | None = None) -> int:
    from ..cli import main as cli_main

    argv = list(sys.argv[1:] if argv is None else argv)
    if int(os.environ.get("RANK", 0)) != 0 and "-q" not in argv and "--quiet" not in argv:
        argv.append("--quiet")  # one progress bar is enough
    return cli_main(["train", *argv, "--distributed"])


if __name__ == "__main__":
    sys.exit(main())
