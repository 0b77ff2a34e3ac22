"""The click simulation on cases whose clicks are known in advance, and on real engines."""

import numpy as np
import pytest

from labeler.assist.click_simulation import (ClickRun, engine_predictor, next_click, region_centre, simulate,
                                             summarize)
from labeler.plugins.grabcut import GrabCutEngine
from labeler.plugins.superpixels import SuperpixelEngine

from .synthetic import scene

H, W = 60, 80


def square(top, left, size):
    m = np.zeros((H, W), bool)
    m[top:top + size, left:left + size] = True
    return m


def test_region_centre_is_the_point_farthest_from_the_boundary_image_edge_included():
    assert region_centre(square(10, 20, 21)) == (30.0, 20.0)
    # a square in the corner: the image border is a boundary too, so the centre stays inside
    assert region_centre(square(0, 0, 11)) == (5.0, 5.0)
    with pytest.raises(ValueError):
        region_centre(np.zeros((H, W), bool))


def test_next_click_goes_to_the_largest_error_region_with_its_sign():
    truth = square(10, 10, 31)
    missed = truth.copy()
    missed[10:41, 30:41] = False  # an 11 x 31 strip of the object missed
    assert next_click(missed, truth) == ((35.0, 25.0), True)
    spilled = truth | square(45, 50, 13)  # a 13 x 13 false positive, larger than the 5 x 5 miss
    spilled[12:17, 12:17] = False
    assert next_click(spilled, truth) == ((56.0, 51.0), False)
    assert next_click(truth, truth) is None


def test_simulate_clicks_where_expected_and_records_iou_after_each():
    truth = square(10, 10, 31)
    left = truth.copy()
    left[:, 30:] = False
    blob = square(45, 50, 13)
    answers = [left, truth | blob, truth]
    seen = []

    def predict(pos, neg, previous):
        seen.append((pos.tolist(), neg.tolist(), previous))
        return answers[len(seen) - 1], len(seen)

    run = simulate(predict, truth)
    assert run.clicks == [(25.0, 25.0, True), (35.0, 25.0, True), (56.0, 51.0, False)]
    assert seen[2] == ([[25.0, 25.0], [35.0, 25.0]], [[56.0, 51.0]], 2)  # every click so far, and the carry
    assert run.ious == pytest.approx([620 / 961, 961 / (961 + 169), 1.0])
    assert run.noc(0.85) == 2 and run.noc(0.9) == 3 and run.iou_at(1) == pytest.approx(620 / 961)
    assert run.iou_at(5) == 1.0  # stopped exact after 3 clicks


def test_noc_is_the_budget_when_never_reached_and_summary_averages():
    stuck = ClickRun(clicks=[(0, 0, True)] * 20, ious=[0.5] * 20)
    quick = ClickRun(clicks=[(0, 0, True)], ious=[0.95])
    assert stuck.noc(0.85) == 20
    s = summarize([stuck, quick])
    assert s["NoC@85"] == 10.5 and s["NoC@90"] == 10.5 and s["IoU@1"] == pytest.approx(0.725)


@pytest.mark.parametrize("engine", [SuperpixelEngine("felzenszwalb"), GrabCutEngine()], ids=["felzenszwalb", "grabcut"])
def test_engines_reach_a_good_mask_within_a_few_clicks_on_a_synthetic_object(engine):
    img, truth, _ = scene("ellipse")
    run = simulate(engine_predictor(engine, engine.prepare(img)), truth, max_clicks=8)
    assert run.clicks[0][2] is True and run.noc(0.8, max_clicks=8) <= 5


def test_small_superpixels_grow_one_region_per_positive_click():
    img, truth, _ = scene("ellipse")
    engine = SuperpixelEngine("slic", region_size=10, grow=False, fine=0)  # one superpixel per click
    run = simulate(engine_predictor(engine, engine.prepare(img)), truth, max_clicks=6)
    assert all(c[2] for c in run.clicks)  # far from covering the object: every click is positive
    assert all(b > a for a, b in zip(run.ious, run.ious[1:]))


def test_stop_at_ends_early_only_after_min_clicks():
    truth = square(10, 10, 31)
    almost = truth.copy()
    almost[10:13, 10:13] = False

    def predict(pos, neg, previous):
        return almost, None

    assert len(simulate(predict, truth, stop_at=0.9).ious) == 1
    run = simulate(predict, truth, stop_at=0.9, min_clicks=4)
    assert len(run.ious) == 4 and run.noc(0.9) == 1
    assert len(simulate(predict, truth, max_clicks=7).ious) == 7  # the same miss is clicked again and again


def test_engine_predictor_feeds_back_the_previous_mask_when_asked():
    class Recorder:
        name, cache_key = "recorder", "recorder"
        accepts = frozenset({"positive_points", "negative_points", "mask"})

        def __init__(self):
            self.masks = []

        def propose(self, state, prompts):
            from labeler.assist.engine import Proposal

            self.masks.append(prompts.mask)
            return [Proposal(mask=square(0, 0, 5 * len(self.masks)), score=1.0, engine=self.name)]

    for feed, expect_mask in ((False, False), (True, True)):
        engine = Recorder()
        simulate(engine_predictor(engine, None, feed_mask=feed), square(0, 0, 30), max_clicks=3)
        assert engine.masks[0] is None and (engine.masks[2] is not None) == expect_mask
        if expect_mask:
            assert engine.masks[2].sum() == 100  # the second prediction, 10 x 10
