"""SAM latency: click-to-mask with a cached embedding, cache hits, the one-off encoder run.

* the image encoder once (``SamEngine.prepare`` on a cache miss), vit_b;
* one click -> three ranked masks through our engine's ``propose`` next to a bare
  ``SamPredictor.predict`` on the same model, features and points, interleaved in one run;
* a refining step (two positive clicks, one negative, the previous low-res logits) the same way;
* a cache hit from memory (``prepare`` again: hashing the pixels + lookup) and from disk
  (``torch.load`` of one entry, weights_only).

Random weights (``sam_model_registry["vit_b"](checkpoint=None)``, saved and read back through our
weights-only loader) cost the same time as trained ones; ``$LABELER_SAM_CHECKPOINT`` (a path or a
downloaded model name) uses a real checkpoint instead. The image is the first CamVid val frame
(480 x 360 in the copy beside this project) when the dataset is there, else a synthetic 960 x 720 scene.

Run: ``python -m tests.bench.bench_sam [CLICKS] [THREADS] [WIDTH]`` (THREADS: torch's intra-op
threads; on a busy machine one thread can be several times faster than an oversubscribed two;
WIDTH: resize the image to this width first, to see how the full-size masks' cost grows).

Measured (vit_b random weights, quiet 2-core machine, 40 clicks), one click -> 3 ranked masks,
p50 / p95, engine vs bare ``SamPredictor.predict`` in the same run:

* CamVid 480 x 360, 2 threads: **19.0 / 19.9 ms** vs 47.7 / 50.4 ms; refine (3 points + the
  previous logits, 1 mask) 26.5 vs 47.8 ms; CPU time of a click 38.9 vs 95.3 ms.
* the same, 1 thread: 30.2 vs 85.3 ms.
* resized to 1920 x 1080, 2 threads: 23.4 / 24.8 ms vs 53.2 / 56.6 ms; refine 31.4 vs 50.2 ms.

Before :mod:`labeler.assist.sam_decoder` (the decoder's own ``forward``; only the mask upsampling
was ours) the engine took 43.2 ms at 480 x 360 on 2 threads. Where the time went: the decoder is
about 1.3 GMAC a click as segment-anything runs it; ours runs about 0.8 GMAC (image-only
projections once per image, projections moved onto the few prompt tokens, the transposed
convolutions as matrix products), and PyTorch's CPU softmax over a last dimension of 7 (3.4 ms a
call) is avoided. Only the best candidate is upsampled to full size before it is looked at.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

CAMVID = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "camvid"


def bench_image() -> tuple[np.ndarray, str]:
    from labeler.core.images import read_image

    listing = CAMVID / "val.txt"
    if listing.is_file():
        stem = listing.read_text().split()[0]
        for ext in (".png", ".jpg"):
            path = CAMVID / "val" / f"{stem}{ext}"
            if path.is_file():
                return read_image(path), f"CamVid val/{path.name}"
    from tests.assist.synthetic import scene

    image, _, _ = scene("ellipse", h=180, w=240)
    return cv2.resize(image, (960, 720), interpolation=cv2.INTER_LINEAR), "synthetic 960x720"


def checkpoint(folder: Path) -> tuple[Path, str]:
    import torch
    from segment_anything import sam_model_registry

    from labeler.assist.download import resolve_checkpoint
    from labeler.plugins.sam import CHECKPOINT_ENV

    if os.environ.get(CHECKPOINT_ENV):
        path = resolve_checkpoint(os.environ[CHECKPOINT_ENV])
        return path, path.name
    torch.manual_seed(0)
    sam = sam_model_registry["vit_b"](checkpoint=None)
    path = folder / "sam_vit_b_random.pth"
    torch.save(sam.state_dict(), path)
    return path, "vit_b, random weights"


def percentiles(times: list[float]) -> tuple[float, float]:
    ms = np.asarray(times) * 1000.0
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


def main(argv: list[str] | None = None) -> dict:
    import torch
    from segment_anything import SamPredictor

    from labeler.assist.cache import EmbeddingCache
    from labeler.assist.engine import Prompts
    from labeler.plugins.sam import SamEngine

    argv = sys.argv[1:] if argv is None else argv
    clicks = int(argv[0]) if argv else 40
    if len(argv) > 1:
        torch.set_num_threads(int(argv[1]))
    image, image_name = bench_image()
    if len(argv) > 2:
        width = int(argv[2])
        image = cv2.resize(image, (width, round(image.shape[0] * width / image.shape[1])))
        image_name += f" resized to {width} wide"
    h, w = image.shape[:2]
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="bench_sam_") as tmp:
        tmp = Path(tmp)
        path, model_name = checkpoint(tmp)
        engine = SamEngine(path, device="cpu", cache_dir=tmp / "cache")
        t0 = time.perf_counter()
        engine.predictor()
        load_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        state = engine.prepare(image)
        encoder_s = time.perf_counter() - t0

        bare = SamPredictor(engine.predictor().model)  # the same weights, features set directly
        bare.features, bare.original_size, bare.input_size = state.features, state.original_size, state.input_size
        bare.is_image_set = True

        def bare_predict(points, labels, logits=None, multimask=True):
            with torch.no_grad():
                return bare.predict(points, labels, None, None if logits is None else logits[None],
                                    multimask_output=multimask)

        ours, theirs, ours_refine, theirs_refine, ours_cpu, theirs_cpu = [], [], [], [], [], []
        for i in range(clicks + 3):  # the first three are warm-up
            p = rng.uniform((0, 0), (w, h), size=(1, 2))
            c0, t0 = time.process_time(), time.perf_counter()
            proposals = engine.propose(state, Prompts(positive=p))
            t1, c1 = time.perf_counter(), time.process_time()
            bare_predict(p, np.ones(1, np.int64))
            t2, c2 = time.perf_counter(), time.process_time()
            pos, neg = np.concatenate([p, rng.uniform((0, 0), (w, h), (1, 2))]), rng.uniform((0, 0), (w, h), (1, 2))
            logits = proposals[0].logits
            t3 = time.perf_counter()
            engine.propose(state, Prompts(positive=pos, negative=neg, logits=logits))
            t4 = time.perf_counter()
            bare_predict(np.concatenate([pos, neg]), np.array([1, 1, 0]), logits, multimask=False)
            t5 = time.perf_counter()
            if i >= 3:
                ours.append(t1 - t0), theirs.append(t2 - t1), ours_cpu.append(c1 - c0)
                theirs_cpu.append(c2 - c1)
                ours_refine.append(t4 - t3), theirs_refine.append(t5 - t4)
            assert len(proposals) == 3 and proposals[0].mask.shape == (h, w)

        memory = []
        for _ in range(10):
            t0 = time.perf_counter()
            again = engine.prepare(image)
            memory.append(time.perf_counter() - t0)
            assert again is state
        key = EmbeddingCache.key(engine, image)
        disk = []
        for _ in range(10):
            fresh = EmbeddingCache(1, tmp / "cache")  # nothing in memory: read from disk
            t0 = time.perf_counter()
            loaded = fresh.get(engine, key)
            disk.append(time.perf_counter() - t0)
            assert loaded is not None and torch.equal(loaded.features, state.features)
        entry_mib = sum(f.stat().st_size for f in (tmp / "cache").glob("*.pt")) / 2**20
        assert engine.encoder_runs == 1

    o50, o95 = percentiles(ours)
    b50, b95 = percentiles(theirs)
    r50, r95 = percentiles(ours_refine)
    rb50, rb95 = percentiles(theirs_refine)
    m50, _ = percentiles(memory)
    cpu50, _ = percentiles(ours_cpu)  # CPU seconds of all threads: what a click costs, busy or idle
    bare_cpu50, _ = percentiles(theirs_cpu)
    d50, d95 = percentiles(disk)
    try:
        load_avg = os.getloadavg()[0]
    except OSError:  # pragma: no cover
        load_avg = float("nan")
    print(f"model: {model_name}; image: {image_name} ({w}x{h}); CPU, torch threads "
          f"{torch.get_num_threads()}, {os.cpu_count()} cores, load average {load_avg:.1f}")
    print(f"checkpoint load {load_s:.2f} s; image encoder (one-off per image) {encoder_s:.2f} s")
    print(f"one click -> 3 masks, {clicks} clicks:  engine.propose p50 {o50:.1f} ms, p95 {o95:.1f} ms"
          f"  |  bare SamPredictor.predict p50 {b50:.1f} ms, p95 {b95:.1f} ms  (overhead {o50 - b50:+.1f} ms)")
    print(f"CPU time of one click (all threads) p50: engine {cpu50:.1f} ms, bare {bare_cpu50:.1f} ms")
    print(f"refine (3 points + logits) -> 1 mask:  engine p50 {r50:.1f} ms, p95 {r95:.1f} ms"
          f"  |  bare p50 {rb50:.1f} ms, p95 {rb95:.1f} ms")
    print(f"cache hit: memory p50 {m50:.2f} ms (pixel hash + lookup); disk p50 {d50:.1f} ms, "
          f"p95 {d95:.1f} ms ({entry_mib:.1f} MiB entry)")
    return {"encoder_s": encoder_s, "click_p50_ms": o50, "click_p95_ms": o95, "bare_p50_ms": b50,
            "bare_p95_ms": b95, "click_cpu_ms": cpu50, "bare_cpu_ms": bare_cpu50, "refine_p50_ms": r50, "memory_hit_ms": m50, "disk_hit_p50_ms": d50,
            "load_average": load_avg}


if __name__ == "__main__":
    main()
