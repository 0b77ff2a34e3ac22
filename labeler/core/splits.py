"""Train / val / test splits: by ratio with a seed, or from lists of names."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Sequence

from .errors import ProjectError


def split_by_ratio(keys: Sequence[str], ratios: dict[str, float], seed: int = 0) -> dict[str, list[str]]:
    """Shuffle with ``seed`` and cut by ratio. Ratios are normalised; every image lands in
    exactly one split; the same keys and seed always give the same splits."""
    if not ratios or any(r < 0 for r in ratios.values()) or sum(ratios.values()) <= 0:
        raise ValueError(f"ratios must be non-negative and sum to more than 0, got {ratios}")
    order = sorted(keys)
    random.Random(seed).shuffle(order)
    total = sum(ratios.values())
    names = list(ratios)
    out: dict[str, list[str]] = {}
    start = 0
    for i, name in enumerate(names):
        if i == len(names) - 1:
            end = len(order)
        else:
            end = start + int(round(len(order) * ratios[name] / total))
        out[name] = sorted(order[start:end])
        start = end
    return out


def parse_ratios(text: str) -> dict[str, float]:
    """'train=0.8,val=0.2' or '0.8,0.2' (train, val[, test])."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if all("=" in p for p in parts):
        return {k.strip(): float(v) for k, v in (p.split("=", 1) for p in parts)}
    defaults = ["train", "val", "test"]
    if len(parts) > 3:
        raise ValueError(f"give at most three ratios (train, val, test): {text!r}")
    return {defaults[i]: float(p) for i, p in enumerate(parts)}


def split_from_lists(keys: Sequence[str], lists: dict[str, str | Path | Sequence[str]]) -> dict[str, list[str]]:
    """Splits from lists of image names: a list, or a text file with one name per line. A name
    matches a key by full key, by file name, or by stem (as VOC's ImageSets and CamVid's
    train.txt list stems)."""
    by_name: dict[str, list[str]] = {}
    for k in keys:
        p = Path(k)
        for alias in {k, p.name, p.stem}:
            by_name.setdefault(alias, []).append(k)
    out = {}
    for split, src in lists.items():
        if isinstance(src, (str, Path)) and Path(src).is_file():
            names = [ln.strip() for ln in Path(src).read_text("utf-8").splitlines() if ln.strip()]
        elif isinstance(src, (str, Path)):
            raise ProjectError(f"split list {src} not found")
        else:
            names = list(src)
        chosen = []
        for n in names:
            n = n.split()[0]
            chosen.extend(by_name.get(n, by_name.get(Path(n).stem, [])))
        out[split] = sorted(set(chosen))
    return out
