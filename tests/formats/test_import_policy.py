"""One import policy for every format (labeler/formats/common.py), exercised through mask-png."""

import numpy as np
from PIL import Image

from labeler.core.jobs import JobContext
from labeler.core.project import Project
from labeler.core.schema import Schema
from labeler.core.shapes import Shape
from labeler.formats import mask_png


def _dataset(tmp_path):
    (tmp_path / "images").mkdir(parents=True)
    (tmp_path / "masks").mkdir()
    for i in range(2):
        Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(tmp_path / "images" / f"{i}.png")
        m = np.zeros((20, 30), np.uint8)
        m[5:10, 5:10] = 1
        Image.fromarray(m).save(tmp_path / "masks" / f"{i}.png")
    return tmp_path


def test_reimport_keeps_user_shapes_and_does_not_duplicate(tmp_path):
    src = _dataset(tmp_path / "src")
    schema = Schema.from_names(["bg", "cell"])
    proj = Project.create(tmp_path / "proj", schema)
    mask_png.import_dataset(src, proj, JobContext(), images=src / "images", masks=src / "masks", schema=schema)
    key = proj.image_keys()[0]
    first = proj.load(key)
    assert first.status == "done"
    assert first.shapes and {s.source for s in first.shapes} == {"import"}
    mine = Shape("polygon", "cell", [[1, 1], [4, 1], [4, 4]])
    first.shapes.append(mine)
    first.status = "reviewed"
    proj.save_annotation(key, first)

    mask_png.import_dataset(src, proj, JobContext(), images=src / "images", masks=src / "masks", schema=schema)
    again = proj.load(key)
    assert len(again.shapes) == len(first.shapes)  # the import replaced its own shapes only
    assert any(s.id == mine.id and s.source == "manual" for s in again.shapes)
    assert again.status == "reviewed"  # a status the user set is kept
