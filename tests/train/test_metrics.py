import math

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from labeler.core.annotation import ImageAnnotation
from labeler.core.project import Project
from labeler.core.schema import Schema
from labeler.core.shapes import Shape
from labeler.train.metrics import ConfusionMatrix, compare_projects, evaluate_maps, plot_confusion_matrix

IGN = 255


def test_confusion_matrix_by_hand_with_ignore_in_gt_and_in_prediction():
    gt = np.array([[0, 0, 1], [1, 2, IGN]])
    pred = np.array([[0, 1, 1], [1, IGN, 0]])
    cm = ConfusionMatrix(3, IGN).update(gt, pred)
    # rows: gt 0, 1, 2; columns: pred 0, 1, 2, "no valid prediction". The gt-ignore pixel is gone.
    assert cm.counts.tolist() == [[1, 1, 0, 0],
                                  [0, 2, 0, 0],
                                  [0, 0, 0, 1]]
    m = cm.metrics()
    # t = [2, 2, 1], p = [1, 3, 0], tp = [1, 2, 0]
    assert m.PA == pytest.approx(3 / 5)
    assert m.per_class_accuracy.tolist() == pytest.approx([1 / 2, 1, 0])
    assert m.mPA == pytest.approx(1 / 2)
    assert m.per_class_IoU.tolist() == pytest.approx([1 / 2, 2 / 3, 0])
    assert m.mIoU == pytest.approx((1 / 2 + 2 / 3) / 3)
    assert m.FWIoU == pytest.approx((2 * 1 / 2 + 2 * 2 / 3 + 1 * 0) / 5)
    assert m.per_class_Dice.tolist() == pytest.approx([2 / 3, 4 / 5, 0])
    assert m.Dice == pytest.approx((2 / 3 + 4 / 5) / 3)


def test_class_absent_from_ground_truth_and_class_absent_everywhere():
    gt = np.array([0, 0, 1, 1])
    pred = np.array([0, 0, 1, 2])  # class 2 predicted but never true; class 3 nowhere
    m = ConfusionMatrix(4, IGN).update(gt, pred).metrics()
    assert m.per_class_IoU[2] == 0.0  # a false positive class scores 0
    assert math.isnan(m.per_class_IoU[3]) and math.isnan(m.per_class_Dice[3])
    assert math.isnan(m.per_class_accuracy[2])  # no true pixels: no accuracy, left out of mPA
    assert m.mIoU == pytest.approx((1 + 1 / 2 + 0) / 3)
    assert m.mPA == pytest.approx((1 + 1 / 2) / 2)
    assert m.Dice == pytest.approx((1 + 2 / 3 + 0) / 3)
    d = m.to_dict(["a", "b", "c", "d"])
    assert d["per_class_IoU"] == {"a": 1.0, "b": 0.5, "c": 0.0, "d": None}


def test_accumulating_images_matches_sklearn_on_the_pooled_pixels():
    rng = np.random.default_rng(3)
    pairs = [(rng.integers(0, 5, (7, 9)), rng.integers(0, 5, (7, 9))) for _ in range(4)]
    cm = evaluate_maps(pairs, 5, IGN)
    gt = np.concatenate([g.ravel() for g, _ in pairs])
    pred = np.concatenate([p.ravel() for _, p in pairs])
    assert np.array_equal(cm.matrix, sk_confusion_matrix(gt, pred, labels=range(5)))
    assert cm.counts[:, -1].sum() == 0
    assert cm.metrics().PA == pytest.approx((gt == pred).mean())
    other = ConfusionMatrix(5, IGN).update(*pairs[0])
    other += ConfusionMatrix(5, IGN).update(*pairs[1])
    assert np.array_equal(other.counts, evaluate_maps(pairs[:2], 5, IGN).counts)


def test_bad_ground_truth_value_and_shape_mismatch_are_clear_errors():
    with pytest.raises(ValueError, match="value 7"):
        ConfusionMatrix(3, IGN).update(np.array([0, 7]), np.array([0, 1]))
    with pytest.raises(ValueError, match="shape"):
        ConfusionMatrix(3, IGN).update(np.zeros((2, 2)), np.zeros((2, 3)))


def test_empty_matrix_gives_nan_not_a_crash():
    m = ConfusionMatrix(2, IGN).update(np.full((3, 3), IGN), np.zeros((3, 3))).metrics()
    assert math.isnan(m.PA) and math.isnan(m.mIoU)


def test_confusion_matrix_png(tmp_path):
    cm = ConfusionMatrix(3, IGN).update(np.array([0, 1, 2, 2]), np.array([0, 1, 1, IGN]))
    out = plot_confusion_matrix(cm, ["sky", "road", "car"], tmp_path / "plots" / "cm.png")
    with Image.open(out) as im:
        assert im.format == "PNG" and im.width > 100 and im.height > 100
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["cm.png"]  # no temp files left


def _annotator_project(root, x0, x1, status="done"):
    schema = Schema.from_names(["bg", "car"])
    schema.background = "bg"
    proj = Project.create(root, schema)
    Image.new("RGB", (20, 10)).save(root / "a.png")
    proj.refresh()
    rect = Shape(kind="rectangle", label="car", points=[[x0, 0], [x1, 10]])
    proj.save_annotation("a.png", ImageAnnotation("a.png", 20, 10, [rect], status=status))
    return proj


def test_compare_two_annotators(tmp_path):
    a = _annotator_project(tmp_path / "a", 0, 10)
    b = _annotator_project(tmp_path / "b", 5, 15)
    cm, names, problems = compare_projects(a, b)
    assert names == ["bg", "car"] and problems == []
    # car by A: columns 0-9; by B: columns 5-14; 10 rows each
    assert cm.counts.tolist() == [[50, 50, 0],  # bg by A: cols 10-19 -> B says car on 10-14
                                  [50, 50, 0]]  # car by A: B says bg on 0-4, car on 5-9
    assert cm.metrics().per_class_IoU[1] == pytest.approx(50 / 150)
    a.close()
    b.close()


def test_compare_counts_pixels_the_second_annotator_left_unlabelled(tmp_path):
    a = _annotator_project(tmp_path / "a", 0, 10)
    b = _annotator_project(tmp_path / "b", 0, 5, status="in_progress")  # sparse: only the car it drew
    cm, _, _ = compare_projects(a, b)
    assert cm.counts.tolist() == [[0, 0, 100], [0, 50, 50]]
    a.close()
    b.close()
