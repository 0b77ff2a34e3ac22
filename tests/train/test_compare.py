"""`labeler compare`: agreement of two annotators on the same images, in the field's metrics."""

import json

import numpy as np
import pytest
from PIL import Image

from labeler import cli
from labeler.core.project import Project
from labeler.core.schema import Schema
from labeler.core.shapes import Shape


def _project(root, images, rect_right):
    """One annotator: class 'road' on the left, 'car' on x in [10, rect_right), all done."""
    proj = Project.create(root, Schema.from_names(["road", "car"]), image_roots=[])
    key = proj.add_images([images / "a.png"])[0]
    ann = proj.load(key)
    ann.shapes = [Shape("rectangle", "road", [[0, 0], [10, 10]]),
                  Shape("rectangle", "car", [[10, 0], [rect_right, 10]])]
    ann.status = "done"
    proj.save_annotation(key, ann)
    proj.save()
    proj.close()
    return root


@pytest.fixture
def annotators(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    Image.fromarray(np.zeros((10, 20, 3), np.uint8)).save(images / "a.png")
    # A and B live at different depths, so the image's key differs between them
    a = _project(tmp_path / "a", images, 20)
    b = _project(tmp_path / "deeper" / "b", images, 15)  # B leaves x in [15, 20) unlabelled
    return a, b


def test_compare_two_annotators(capsys, annotators, tmp_path):
    a, b = annotators
    out = tmp_path / "agreement.json"
    rc = cli.main(["compare", "--project", str(a), "--other", str(b), "--json", str(out), "-q"])
    captured = capsys.readouterr()
    printed = captured.out
    assert rc == 0 and "1 images compared" in printed and "compare: 1 done" in captured.err
    m = json.loads(out.read_text())
    # 200 pixels: road 100 agree; car 100 in A, of which B labels 50 car and 50 nothing
    assert m["PA"] == pytest.approx(150 / 200)
    assert m["per_class_IoU"]["road"] == pytest.approx(1.0)
    assert m["per_class_IoU"]["car"] == pytest.approx(50 / 100)
    assert m["mIoU"] == pytest.approx(0.75)
    assert (tmp_path / "agreement_confusion.png").is_file()


def test_compare_reports_images_the_other_lacks(capsys, annotators, tmp_path):
    a, _ = annotators
    empty = Project.create(tmp_path / "empty", Schema.from_names(["road", "car"]), image_roots=[])
    empty.close()
    rc = cli.main(["compare", "--project", str(a), "--other", str(tmp_path / "empty"), "-q"])
    captured = capsys.readouterr()
    assert rc == 0 and "0 images compared" in captured.out
    assert "not in" in captured.err
