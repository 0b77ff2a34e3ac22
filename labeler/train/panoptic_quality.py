"""Panoptic quality (Kirillov et al. 2019), computed the way panopticapi's ``pq_compute`` does.

Plain numpy. A sample is a segment-id map (0 = void) plus its segments, each a dict with
``id``, ``category_id`` and optionally ``iscrowd`` (the ``segments_info`` of COCO panoptic):

* a ground-truth and a predicted segment of the same category match when IoU > 0.5, where the
  union leaves out the predicted pixels that fall on ground-truth void;
* crowd ground-truth segments never match and are never false negatives;
* an unmatched prediction is not a false positive when more than half of it lies on void or on a
  crowd region of its own category;
* per category ``PQ = SQ * RQ`` with ``SQ = sum IoU / TP`` and ``RQ = TP / (TP + FP/2 + FN/2)``;
  the overall figures average the categories that have any TP, FP or FN.

All results are fractions in [0, 1] (panopticapi prints them times 100).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np

VOID = 0
_OFFSET = np.uint64(1 << 32)


@dataclass
class CategoryStat:
    iou: float = 0.0
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def quality(self) -> dict:
        denom = self.tp + 0.5 * self.fp + 0.5 * self.fn
        sq = self.iou / self.tp if self.tp else 0.0
        rq = self.tp / denom if denom else 0.0
        return {"pq": sq * rq, "sq": sq, "rq": rq, "tp": self.tp, "fp": self.fp, "fn": self.fn}


class PQStat:
    """Accumulates matches over images; ``update`` per image, ``result`` at the end."""

    def __init__(self) -> None:
        self.per_category: dict[int, CategoryStat] = {}

    def _cat(self, category_id: int) -> CategoryStat:
        return self.per_category.setdefault(int(category_id), CategoryStat())

    def update(self, gt_map: np.ndarray, gt_segments: Sequence[Mapping], pred_map: np.ndarray,
               pred_segments: Sequence[Mapping]) -> None:
        gt_map, pred_map = np.asarray(gt_map), np.asarray(pred_map)
        if gt_map.shape != pred_map.shape:
            raise ValueError(f"ground truth {gt_map.shape} and prediction {pred_map.shape} differ in size")
        gt = {int(s["id"]): s for s in gt_segments}
        pred = {int(s["id"]): s for s in pred_segments}
        gt_area = _areas(gt_map, gt, "ground truth")
        pred_area = _areas(pred_map, pred, "prediction")
        missing = [i for i in pred if pred_area.get(i, 0) == 0]
        if missing:
            raise ValueError(f"predicted segments {missing} are listed but have no pixels")
        pairs = gt_map.astype(np.uint64) * _OFFSET + pred_map.astype(np.uint64)
        labels, counts = np.unique(pairs, return_counts=True)
        inter = {(int(lab // _OFFSET), int(lab % _OFFSET)): int(c) for lab, c in zip(labels, counts)}

        gt_matched, pred_matched = set(), set()
        for (g, p), n in inter.items():
            if g not in gt or p not in pred or gt[g].get("iscrowd"):
                continue
            if gt[g]["category_id"] != pred[p]["category_id"]:
                continue
            union = pred_area[p] + gt_area[g] - n - inter.get((VOID, p), 0)
            iou = n / union
            if iou > 0.5:
                stat = self._cat(gt[g]["category_id"])
                stat.tp += 1
                stat.iou += iou
                gt_matched.add(g)
                pred_matched.add(p)

        crowd_of = {s["category_id"]: i for i, s in gt.items() if s.get("iscrowd")}
        for g, s in gt.items():
            if g not in gt_matched and not s.get("iscrowd"):
                self._cat(s["category_id"]).fn += 1
        for p, s in pred.items():
            if p in pred_matched:
                continue
            ignored = inter.get((VOID, p), 0)
            if s["category_id"] in crowd_of:
                ignored += inter.get((crowd_of[s["category_id"]], p), 0)
            if ignored / pred_area[p] > 0.5:
                continue
            self._cat(s["category_id"]).fp += 1

    def result(self, isthing: Mapping[int, bool] | None = None) -> dict:
        """``{"pq", "sq", "rq", "n", "per_category"}``, plus ``"things"`` and ``"stuff"``
        averages when ``isthing`` (category id -> bool) is given."""
        per = {c: s.quality() for c, s in sorted(self.per_category.items())}
        out = _average(per, lambda c: True)
        out["per_category"] = per
        if isthing is not None:
            out["things"] = _average(per, lambda c: bool(isthing.get(c, False)))
            out["stuff"] = _average(per, lambda c: not isthing.get(c, False))
        return out


def _areas(id_map: np.ndarray, segments: dict, what: str) -> dict[int, int]:
    labels, counts = np.unique(id_map, return_counts=True)
    areas = {}
    for lab, c in zip(labels.tolist(), counts.tolist()):
        if lab == VOID:
            continue
        if lab not in segments:
            raise ValueError(f"{what}: segment id {lab} is in the map but not in the segment list")
        areas[lab] = c
    for i in segments:
        areas.setdefault(i, 0)
    return areas


def _average(per: dict, keep) -> dict:
    used = [q for c, q in per.items() if keep(c) and q["tp"] + q["fp"] + q["fn"] > 0]
    if not used:
        return {"pq": 0.0, "sq": 0.0, "rq": 0.0, "n": 0}
    return {k: float(np.mean([q[k] for q in used])) for k in ("pq", "sq", "rq")} | {"n": len(used)}


def panoptic_quality(samples: Iterable[tuple], isthing: Mapping[int, bool] | None = None) -> dict:
    """PQ over ``(gt_map, gt_segments, pred_map, pred_segments)`` samples (see the module doc)."""
    stat = PQStat()
    for gt_map, gt_segments, pred_map, pred_segments in samples:
        stat.update(gt_map, gt_segments, pred_map, pred_segments)
    return stat.result(isthing)
