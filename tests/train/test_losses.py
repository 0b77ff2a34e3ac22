"""CE + Dice on labelled pixels only, median-frequency class weights, and the augmentations."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import ndimage

from labeler.train.augment import Augment, AugmentedPairs, augment_pair
from labeler.train.dataset import LabelSpace, iter_samples
from labeler.train.deep import DeepSegmenter, DeepSettings
from labeler.train.losses import dice_loss, median_frequency_weights, segmentation_loss

IGNORE = 255


def test_median_frequency_weights_follow_the_definition():
    a = np.array([[0, 0, 0, 1]], np.uint8)  # class 1 in a: 1 of 4 labelled pixels
    b = np.array([[0, 0, IGNORE, IGNORE, 0, 0]], np.uint8)  # 4 labelled pixels, all class 0
    w = median_frequency_weights([a, b], 3)
    f0, f1 = 7 / 8, 1 / 4  # class pixels / labelled pixels of the images holding the class
    med = np.median([f0, f1])
    assert w == pytest.approx([med / f0, med / f1, 1.0])  # class 2 never appears: weight 1
    assert w[1] > 1 > w[0]  # the rare class weighs more


def test_dice_is_zero_for_a_perfect_prediction_and_high_for_a_wrong_one():
    target = torch.tensor([[[0, 1], [1, IGNORE]]])
    right = F.one_hot(torch.tensor([[[0, 1], [1, 0]]]), 2).permute(0, 3, 1, 2).float() * 50
    assert dice_loss(right, target, IGNORE).item() == pytest.approx(0, abs=1e-3)
    assert dice_loss(-right, target, IGNORE).item() > 0.5
    assert segmentation_loss(right, torch.full_like(target, IGNORE), IGNORE).item() == 0


def _scribble_logits_and_target(project):
    """A real network's logits on a scribble-labelled project image, and its sparse target."""
    space = LabelSpace.from_schema(project.schema)
    sample = next(iter_samples(project, project.splits["train"], space))
    assert not sample.dense and (sample.target == space.ignore_index).mean() > 0.5  # mostly unlabelled
    model = DeepSegmenter(space.names, DeepSettings(encoder_depth=3, decoder_width=16, device="cpu"))
    from labeler.train.augment import to_tensor

    logits = model.net.train()(to_tensor(sample.image)[None]).detach().requires_grad_(True)
    return logits, torch.from_numpy(sample.target.astype(np.int64))[None], space


@pytest.mark.parametrize("weighted", [False, True])
def test_pixels_outside_the_scribbles_get_no_gradient(project, weighted):
    logits, target, space = _scribble_logits_and_target(project)
    weights = torch.tensor([0.3, 2.0]) if weighted else None
    loss = segmentation_loss(logits, target, space.ignore_index, weights)
    loss.backward()
    grad = logits.grad.abs().sum(1)[0]
    unlabelled = target[0] == space.ignore_index
    assert grad[unlabelled].max().item() == 0  # exactly nothing flows to unlabelled pixels
    assert (grad[~unlabelled] > 0).float().mean().item() > 0.99  # and something to every labelled one
    # whatever the network says off the scribbles, the loss is the same
    changed = logits.detach().clone()
    changed[0][:, unlabelled] = torch.randn_like(changed[0][:, unlabelled]) * 10
    assert segmentation_loss(changed, target, space.ignore_index, weights).item() == pytest.approx(loss.item())


def test_class_weights_change_the_loss():
    logits = torch.randn(1, 2, 8, 8)
    target = torch.zeros(1, 8, 8, dtype=torch.long)
    target[0, :2] = 1
    plain = segmentation_loss(logits, target, IGNORE, dice_weight=0)
    weighted = segmentation_loss(logits, target, IGNORE, torch.tensor([1.0, 5.0]), dice_weight=0)
    expected = F.cross_entropy(logits, target, weight=torch.tensor([1.0, 5.0]))
    assert weighted.item() == pytest.approx(expected.item()) and weighted.item() != pytest.approx(plain.item())


def _colour_coded(size=40):
    """An image whose colour says its label: red where 1, green where 0 (so alignment is checkable)."""
    target = np.zeros((size, size + 10), np.uint8)
    target[8:30, 12:40] = 1
    image = np.zeros((*target.shape, 3), np.uint8)
    image[target == 1] = (230, 20, 20)
    image[target == 0] = (20, 230, 20)
    return image, target


def test_augmentation_keeps_image_and_target_aligned():
    image, target = _colour_coded()
    aug = Augment(crop=48, scale_min=0.6, scale_max=1.4, flip=True, jitter=0.0)
    flips = 0
    for seed in range(12):
        img, tgt = augment_pair(image, target, aug, IGNORE, np.random.default_rng(seed))
        assert img.shape == (48, 48, 3) and tgt.shape == (48, 48)
        assert set(np.unique(tgt)) <= {0, 1, IGNORE}  # nearest resampling: no invented classes
        labelled = tgt != IGNORE
        red = img[..., 0] > img[..., 1]
        # away from class borders (where resampling blends colours) colour and label agree exactly
        inner = labelled & (ndimage.minimum_filter(tgt, 3) == ndimage.maximum_filter(tgt, 3))
        assert inner.sum() > 0.5 * labelled.sum()
        assert np.array_equal(red[inner], tgt[inner] == 1)
        padded = ~labelled
        assert np.all(img[padded] == 0)  # padding is unlabelled
        flips += int(tgt[labelled].size and (tgt[:, :5] == 1).any())
    assert flips  # the box, 10 px from the right edge, lands on the left after some flips


def test_colour_jitter_changes_the_image_not_the_target():
    image, target = _colour_coded()
    image, target = image[:, :40], target[:, :40]  # square: the crop is the whole image
    aug = Augment(crop=40, scale_min=1, scale_max=1, flip=False, jitter=0.4)
    img, tgt = augment_pair(image, target, aug, IGNORE, np.random.default_rng(1))
    assert np.array_equal(tgt, target)
    assert np.abs(img - image).max() > 5 and img.min() >= 0 and img.max() <= 255
    assert np.array_equal(img[..., 0] > img[..., 1], target == 1)


def test_augmentations_depend_only_on_seed_epoch_and_index():
    image, target = _colour_coded()
    ds = AugmentedPairs([(image, target)] * 3, Augment(crop=32), IGNORE, seed=7)
    x0, y0 = ds[1]
    again = AugmentedPairs([(image, target)] * 3, Augment(crop=32), IGNORE, seed=7)
    assert torch.equal(again[1][0], x0) and torch.equal(again[1][1], y0)
    ds.set_epoch(1)
    assert not torch.equal(ds[1][0], x0)
