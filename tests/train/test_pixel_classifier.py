import numpy as np
import pytest
from PIL import Image

from labeler.core.annotation import ImageAnnotation
from labeler.core.errors import LabelerError
from labeler.train.dataset import LabelSpace, scribbles_from_labels, target_for
from labeler.train.metrics import ConfusionMatrix
from labeler.train.pixel_classifier import FeatureSettings, PixelClassifier, pixel_features

from .conftest import CLASSES, SIZE, scribble_shapes, textured_image

IGN = 255


def _scribble_training_set(seeds):
    """Images with the scribbles a person would draw, turned into sparse targets."""
    space = LabelSpace.from_names(CLASSES)
    out = []
    for seed in seeds:
        img, _, disc = textured_image(seed)
        target, _ = target_for(ImageAnnotation("x.png", SIZE, SIZE, scribble_shapes(disc), status="in_progress"),
                               space)
        assert (target != IGN).mean() < 0.25  # sparse: most pixels are unlabelled
        out.append((img, target))
    return out


@pytest.fixture(scope="module")
def trained():
    model = PixelClassifier(CLASSES, FeatureSettings(sigma_max=4), n_estimators=20, max_samples_per_class=3000)
    return model.fit(_scribble_training_set([1, 2]))


def test_features_have_one_row_per_pixel_and_follow_the_scale():
    img, _, _ = textured_image(0)
    f = pixel_features(img, FeatureSettings(sigma_max=8))
    assert f.shape[:2] == (SIZE, SIZE) and f.dtype == np.float32 and f.shape[2] > 3
    half = pixel_features(img, FeatureSettings(sigma_max=8, scale=0.5, position=True))
    assert half.shape == (SIZE // 2, SIZE // 2, f.shape[2] + 2)
    assert half[0, 0, -2] == 0 and half[-1, 0, -2] == 1  # relative row as the position feature


def test_trained_from_scribbles_it_segments_unseen_images(trained):
    cm = ConfusionMatrix(2, IGN)
    for seed in (50, 51, 52):
        img, gt, _ = textured_image(seed)
        labels, confidence, uncertainty = trained.predict(img)
        assert labels.shape == gt.shape and labels.dtype == np.uint8
        assert np.allclose(uncertainty, 1 - confidence)
        assert (uncertainty >= 0).all() and (uncertainty <= 0.5 + 1e-6).all()  # two classes: max p >= 1/2
        cm.update(gt, labels)
    assert cm.metrics().mIoU > 0.9
    assert trained.info["images"] == 2 and all(n > 0 for n in trained.info["pixels_per_class"].values())


def test_uncertainty_is_higher_on_the_boundary_than_inside_the_regions(trained):
    img, gt, _ = textured_image(60)
    _, _, unc = trained.predict(img)
    from scipy import ndimage

    edge = ndimage.binary_dilation(gt, iterations=2) & ~ndimage.binary_erosion(gt, iterations=2)
    interior = ~ndimage.binary_dilation(edge, iterations=4)
    assert unc[edge].mean() > unc[interior].mean()


def test_balanced_capped_sampling():
    img, gt, _ = textured_image(3)
    model = PixelClassifier(CLASSES, FeatureSettings(sigma_max=4), n_estimators=5, max_samples_per_class=100)
    model.fit([(img, gt), (img, gt)])
    assert model.info["pixels_per_class"] == {"grass": 100, "sand": 100}


def test_save_and_load_give_the_same_predictions(trained, tmp_path):
    path = trained.save(tmp_path / "run" / "model.joblib")
    loaded = PixelClassifier.load(path)
    img, _, _ = textured_image(70)
    assert loaded.class_names == CLASSES and loaded.features == trained.features
    assert np.array_equal(loaded.predict(img)[0], trained.predict(img)[0])
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["model.joblib"]


def test_loading_something_else_is_a_clear_error(tmp_path):
    bad = tmp_path / "model.joblib"
    bad.write_bytes(b"not a pickle")
    with pytest.raises(LabelerError, match="model.joblib"):
        PixelClassifier.load(bad)
    with pytest.raises(LabelerError, match="not found"):
        PixelClassifier.load(tmp_path / "missing.joblib")
    import joblib

    joblib.dump({"some": "dict"}, tmp_path / "other.joblib")
    with pytest.raises(LabelerError, match="not a labeler pixel-classifier"):
        PixelClassifier.load(tmp_path / "other.joblib")


def test_training_needs_two_classes():
    img, _, _ = textured_image(4)
    only_grass = np.full((SIZE, SIZE), IGN, np.uint8)
    only_grass[:5] = 0
    with pytest.raises(LabelerError, match="two classes"):
        PixelClassifier(CLASSES, n_estimators=2).fit([(img, only_grass)])
    with pytest.raises(LabelerError, match="not been trained"):
        PixelClassifier(CLASSES).predict(img)


@pytest.mark.camvid
def test_camvid_from_scribble_like_samples_beats_chance(camvid):
    def load(split, stem):
        img = np.asarray(Image.open(camvid / split / f"{stem}.png").convert("RGB"))
        return img, np.asarray(Image.open(camvid / f"{split}annot" / f"{stem}.png"))

    void = 11
    train = (camvid / "train.txt").read_text().split()
    val = (camvid / "val.txt").read_text().split()
    samples = []
    for stem in (train[0], train[len(train) // 2]):
        img, gt = load("train", stem)
        strokes = scribbles_from_labels(gt, void)
        assert 0 < (strokes != void).mean() < 0.15
        samples.append((img, strokes))
    model = PixelClassifier([str(i) for i in range(11)], FeatureSettings(scale=0.5, position=True),
                            n_estimators=30, max_samples_per_class=3000)
    model.fit(samples)
    img, gt = load("val", val[len(val) // 2])
    labels, _, _ = model.predict(img)
    miou = ConfusionMatrix(11, void).update(gt, labels).metrics().mIoU
    rng = np.random.default_rng(0)
    chance = ConfusionMatrix(11, void).update(gt, rng.integers(0, 11, gt.shape)).metrics().mIoU
    assert miou > 3 * chance and miou > 0.12
