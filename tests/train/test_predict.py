import numpy as np
import pytest
from PIL import Image

from labeler.core import geometry
from labeler.core.annotation import ImageAnnotation
from labeler.core.jobs import JobContext
from labeler.core.shapes import Shape
from labeler.train.pixel_classifier import FeatureSettings
from labeler.train.predict import (index_png_path, predict_project, proposals_from_prediction, rank_unlabelled,
                                   with_proposals)
from labeler.train.trainer import load_model, train_pixel

from .conftest import SIZE, textured_image


@pytest.fixture
def trained(project):
    res = train_pixel(project, features=FeatureSettings(sigma_max=4), n_estimators=10, max_samples_per_class=2000)
    return res.model


def test_proposals_are_one_model_mask_per_class_with_mean_confidence():
    labels = np.zeros((10, 10), np.uint8)
    labels[2:6, 2:6] = 1
    labels[9, 9] = 2  # a one-pixel region: too small to propose
    conf = np.full((10, 10), 0.9, np.float32)
    conf[2:6, 2:6] = 0.6
    shapes = proposals_from_prediction(labels, conf, ["a", "b", "c"], min_pixels=4)
    assert [s.label for s in shapes] == ["a", "b"]
    assert [s.label for s in proposals_from_prediction(labels, conf, ["a", "b", "c"], 4, skip=["a"])] == ["b"]
    assert all(s.kind == "mask" and s.source == "model" and s.z < 0 for s in shapes)
    assert np.array_equal(geometry.rle_decode(shapes[1].rle), labels == 1)
    assert shapes[1].score == pytest.approx(0.6) and shapes[0].score == pytest.approx(0.9)


def test_with_proposals_replaces_only_model_shapes():
    manual = Shape(kind="rectangle", label="a", points=[[0, 0], [4, 4]])
    sam = Shape(kind="polygon", label="b", points=[[0, 0], [5, 0], [5, 5]], source="sam")
    old = Shape(kind="rectangle", label="b", points=[[1, 1], [3, 3]], source="model", score=0.5)
    new = Shape(kind="rectangle", label="a", points=[[2, 2], [3, 3]], source="model", score=0.8)
    ann = ImageAnnotation("x.png", 10, 10, [manual, old, sam])
    out = with_proposals(ann, [new])
    assert out.shapes == [manual, sam, new] and ann.shapes == [manual, old, sam]


def test_predict_never_touches_accepted_shapes_and_replaces_its_own(project, trained, tmp_path):
    key = project.splits["train"][0]
    ann = project.load(key)
    accepted = list(ann.shapes) + [Shape(kind="polygon", label="sand", points=[[1, 1], [9, 1], [9, 9]],
                                         source="sam", score=0.97)]
    ann.shapes = accepted + [Shape(kind="rectangle", label="sand", points=[[0, 0], [4, 4]], source="model")]
    project.save_annotation(key, ann)
    done_key = project.splits["val"][0]
    done_bytes = project.annotation_path(done_key).read_bytes()

    for _ in range(2):  # predicting again replaces the earlier proposals, never piles them up
        res = predict_project(project, trained, out_dir=tmp_path / "pred")
        after = project.load(key)
        kept = [s for s in after.shapes if s.source != "model"]
        assert len(kept) == len(accepted) and all(a.same_as(b) for a, b in zip(kept, accepted))
        model_shapes = [s for s in after.shapes if s.source == "model"]
        assert [s.label for s in model_shapes] == ["sand"]  # grass is the background: not proposed
        assert all(s.kind == "mask" and 0.5 <= s.score <= 1 for s in model_shapes)
    assert project.annotation_path(done_key).read_bytes() == done_bytes  # done images left alone
    assert done_key in res.skipped_done and key in res.written
    unlabelled = [k for k in project.image_keys() if k not in project.splits["train"] + project.splits["val"]]
    assert sorted(res.unlabelled) == unlabelled and all(project.has_annotation(k) for k in unlabelled)


def test_index_pngs_hold_schema_ids_in_schema_colours(project, trained, tmp_path):
    out = tmp_path / "pred"
    res = predict_project(project, trained, out_dir=out, write_proposals=False)
    assert res.written == [] and not any(project.has_annotation(k) for k in res.unlabelled)
    key = project.image_keys()[0]
    with Image.open(index_png_path(out, key)) as im:
        assert im.mode == "P" and im.size == (SIZE, SIZE)
        values = np.asarray(im)
        palette = im.getpalette()
    labels, _, _ = trained.predict(np.asarray(Image.open(project.image_path(key)).convert("RGB")))
    ids = [project.schema.by_name(n).id for n in trained.class_names]
    assert np.array_equal(values, np.asarray(ids)[labels])
    sand = project.schema.by_name("sand")
    assert tuple(palette[3 * sand.id:3 * sand.id + 3]) == sand.color
    assert index_png_path(out, "../outside/x.jpg").is_relative_to(out.resolve())


def test_active_learning_ranks_unlabelled_images_by_uncertainty(project, trained):
    ranking = rank_unlabelled(project, trained)
    keys = [k for k, _ in ranking]
    assert sorted(keys) == sorted(k for k in project.image_keys()
                                  if k not in project.splits["train"] + project.splits["val"])
    values = [u for _, u in ranking]
    assert values == sorted(values, reverse=True)
    for k, u in ranking:
        _, _, unc = trained.predict(np.asarray(Image.open(project.image_path(k)).convert("RGB")))
        assert u == pytest.approx(float(unc.mean()))


def test_a_broken_image_is_reported_and_the_rest_predicted(project, trained):
    bad = project.image_keys()[-1]
    project.image_path(bad).write_bytes(b"\x89PNG broken")
    ctx = JobContext()
    res = predict_project(project, trained, ctx=ctx)
    assert len(ctx.report.errors) == 1 and bad in ctx.report.errors[0]
    assert bad not in res.uncertainty and len(res.uncertainty) == len(project.image_keys()) - 1


def test_run_folder_round_trip(project, trained):
    runs = sorted((project.root / ".labeler" / "runs").iterdir())
    assert len(runs) == 1 and {p.name for p in runs[0].iterdir()} == {"model.joblib", "run.json"}
    loaded = load_model(runs[0])
    img, _, _ = textured_image(77)
    assert np.array_equal(loaded.predict(img)[0], trained.predict(img)[0])
