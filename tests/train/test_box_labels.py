"""Weak boxes become GrabCut pseudo-masks for training (through the assist plugin), or are skipped
with a message naming the file when there is no GrabCut engine."""

import numpy as np
import pytest

from labeler.core.annotation import ImageAnnotation
from labeler.core.shapes import Shape
from labeler.train.box_labels import BoxPseudoLabels
from labeler.train.dataset import LabelSpace, iter_samples

from .conftest import SIZE, textured_image


@pytest.fixture
def boxed(project):
    """The first training image labelled only by a weak box around its sand disc."""
    key = project.splits["train"][0]
    _, truth, (cx, cy, r) = textured_image(100)  # make_project draws image i from seed 100 + i
    box = Shape(kind="rectangle", label="sand", points=[[cx - r - 2, cy - r - 2], [cx + r + 2, cy + r + 2]],
                weak=True)
    project.save_annotation(key, ImageAnnotation(key, SIZE, SIZE, [box], status="in_progress"))
    return project, key, truth.astype(bool)


def test_a_weak_box_becomes_a_grabcut_mask_of_its_class(boxed):
    project, key, truth = boxed
    boxes = BoxPseudoLabels.from_plugins()
    assert boxes.engine is not None, boxes.missing
    space = LabelSpace.from_schema(project.schema)
    problems = []
    sample = next(iter_samples(project, [key], space, boxes=boxes, problems=problems))
    sand = sample.target == space.index("sand")
    assert not problems and sand.any()
    assert (sand & truth).sum() / (sand | truth).sum() > 0.7  # GrabCut found the disc, not the box
    assert np.all((sample.target == space.ignore_index) | sand)  # the rest of the image stays unlabelled


def test_without_grabcut_boxes_are_skipped_and_said_so(boxed):
    project, key, _ = boxed
    space = LabelSpace.from_schema(project.schema)
    problems = []
    sample = next(iter_samples(project, [key], space, problems=problems,
                               boxes=BoxPseudoLabels(None, "no grabcut proposal engine (not installed)")))
    assert np.all(sample.target == space.ignore_index)
    assert len(problems) == 1 and str(project.annotation_path(key)) in problems[0]
    assert "1 weak box(es) skipped: no grabcut" in problems[0]
    # evaluation and other callers that do not ask for boxes see an unlabelled image
    assert list(iter_samples(project, [key], space)) == []
