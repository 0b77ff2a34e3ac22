import numpy as np
import pytest

from labeler.core.annotation import ImageAnnotation
from labeler.core.errors import ProjectError
from labeler.core.schema import Schema, load_preset
from labeler.core.shapes import Shape
from labeler.train.dataset import (LabelSpace, iter_samples, scribbles_from_labels, split_keys, target_for)

from .conftest import SIZE, make_project

IGN = 255


def _space(background=None):
    schema = Schema.from_names(["bg", "car", "road"])
    schema.background = background
    return LabelSpace.from_schema(schema)


def _rect(label, x0, y0, x1, y1, **kw):
    return Shape(kind="rectangle", label=label, points=[[x0, y0], [x1, y1]], **kw)


def test_label_space_leaves_out_the_void_class():
    space = LabelSpace.from_schema(load_preset("camvid"))
    assert space.num_classes == 11 and "Unlabelled" not in space.names
    assert space.ignore_index == 255 and space.background is None
    voc = LabelSpace.from_schema(load_preset("voc"))
    assert voc.background == 0 and voc.names[0] == "background"


def test_dense_image_fills_background_and_respects_z_order():
    space = _space(background="bg")
    road = _rect("road", 0, 0, 6, 4, z=0)
    car = _rect("car", 2, 1, 4, 3, z=1)
    ann = ImageAnnotation("x.png", 8, 5, [car, road], status="done")  # car listed first, yet on top
    target, unknown = target_for(ann, space)
    expected = np.zeros((5, 8), np.uint8)
    expected[0:4, 0:6] = 2
    expected[1:3, 2:4] = 1
    assert np.array_equal(target, expected) and unknown == []


def test_dense_image_without_background_class_leaves_the_rest_ignored():
    ann = ImageAnnotation("x.png", 8, 5, [_rect("car", 0, 0, 2, 2)], status="reviewed")
    target, _ = target_for(ann, _space())
    assert (target[:2, :2] == 1).all() and (target == 1).sum() == 4
    assert (target[target != 1] == IGN).all()


def test_sparse_image_paints_scribbles_with_their_width_and_points_as_discs():
    scribble = Shape(kind="scribble", label="road", points=[[2, 10.5], [30, 10.5]], width=5)
    point = Shape(kind="point", label="car", points=[[20.5, 30.5]])
    ann = ImageAnnotation("x.png", 40, 40, [scribble, point], status="in_progress")
    target, _ = target_for(ann, _space(background="bg"), point_radius=3)
    rows = np.nonzero((target == 2).any(axis=1))[0]
    assert rows.tolist() == [8, 9, 10, 11, 12]  # 5 px wide around row 10
    assert (target[10, 0:33] == 2).all() and (target[10, 33:] == IGN).all()  # round ends: 2.5 px past 2 and 30
    ys, xs = np.nonzero(target == 1)
    dist = np.hypot(xs + 0.5 - 20.5, ys + 0.5 - 30.5)
    assert dist.max() <= 3 + 1 and abs(len(ys) - np.pi * 3 ** 2) < 0.2 * np.pi * 3 ** 2  # a disc of radius 3
    assert (target == IGN).sum() == target.size - (target == 1).sum() - (target == 2).sum()  # no background


def test_model_proposals_count_only_once_the_image_is_done():
    proposal = _rect("car", 0, 0, 4, 4, source="model", score=0.7)
    ann = ImageAnnotation("x.png", 6, 6, [proposal], status="in_progress")
    target, _ = target_for(ann, _space(background="bg"))
    assert (target == IGN).all()
    ann.status = "done"
    target, _ = target_for(ann, _space(background="bg"))
    assert (target == 1).sum() == 16 and (target == 0).sum() == 20


def test_autolabel_and_sam_proposals_are_not_labels_until_accepted():
    sam = Shape(kind="rectangle", label="car", points=[[0, 0], [4, 4]], source="sam", score=0.9,
                flags={"proposal": True})
    ann = ImageAnnotation("x.png", 6, 6, [sam], status="in_progress")
    assert sam.is_proposal
    target, _ = target_for(ann, _space(background="bg"))
    assert (target == IGN).all()  # unreviewed: no pixel is a label
    ann.shapes = [sam.replace(flags={"proposal": False})]  # accepted in the window
    assert not ann.shapes[0].is_proposal
    target, _ = target_for(ann, _space(background="bg"))
    assert (target == 1).sum() == 16


def test_unknown_classes_and_weak_boxes_are_skipped():
    weak_box = _rect("car", 0, 0, 4, 4, weak=True)
    alien = _rect("ufo", 0, 0, 2, 2)
    target, unknown = target_for(ImageAnnotation("x.png", 6, 6, [weak_box, alien], status="in_progress"), _space())
    assert (target == IGN).all() and unknown == ["ufo"]


def test_iter_samples_uses_the_split_and_skips_unlabelled_and_broken_files(project):
    space = LabelSpace.from_schema(project.schema)
    train = project.keys_in_split("train")
    assert len(train) == 2
    samples = list(iter_samples(project, project.image_keys(), space))
    assert [s.key for s in samples] == train + split_keys(project, "val")  # unlabelled images skipped
    assert [s.dense for s in samples] == [False, False, True, True]
    assert samples[0].image.shape == (SIZE, SIZE, 3) and samples[0].target.shape == (SIZE, SIZE)
    assert set(np.unique(samples[0].target)) == {0, 1, IGN}
    assert set(np.unique(samples[2].target)) == {0, 1}  # dense: background fills the rest
    assert len(list(iter_samples(project, project.image_keys(), space, max_images=1))) == 1

    project.annotation_path(train[0]).write_text("{broken", "utf-8")
    problems = []
    keys = [s.key for s in iter_samples(project, train, space, problems=problems)]
    assert keys == train[1:]
    assert len(problems) == 1 and str(project.annotation_path(train[0])) in problems[0]


def test_project_without_splits_trains_on_everything(tmp_path):
    proj = make_project(tmp_path / "p", n_val=0, n_unlabelled=1)
    proj.splits = {}
    assert split_keys(proj, "train") == proj.image_keys()
    with pytest.raises(ProjectError, match="no splits"):
        split_keys(proj, "val")
    proj.close()


def test_simulated_scribbles_stay_inside_their_regions():
    labels = np.zeros((60, 60), np.uint8)
    labels[:, 30:] = 1
    labels[0:5, 0:5] = IGN
    s = scribbles_from_labels(labels, IGN, erode=4, width=3)
    for c in (0, 1):
        drawn = s == c
        assert drawn.any() and (labels[drawn] == c).all()
        assert drawn.sum() < 0.3 * (labels == c).sum()  # strokes, not the whole region
    assert ((s == IGN) | (s == labels)).all()


def test_train_split_takes_images_in_no_split_but_never_held_out_ones(project):
    """An image labelled after the split was made (in no split) feeds the next run; val never does."""
    assigned = {k for ks in project.splits.values() for k in ks}
    loose = [k for k in project.image_keys() if k not in assigned]
    assert loose, "the fixture has images in no split"
    train = split_keys(project, "train")
    assert set(project.keys_in_split("train")) | set(loose) == set(train)
    assert not set(train) & set(split_keys(project, "val"))
