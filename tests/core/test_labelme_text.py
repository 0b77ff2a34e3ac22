"""Annotation files: indented labelme JSON with one shape a line, read back exactly."""

from __future__ import annotations

import json

from labeler.core.annotation import ImageAnnotation, labelme_text, read_annotation, to_labelme_dict, \
    write_annotation
from labeler.core.shapes import Shape


def test_labelme_text_is_the_same_json_with_one_shape_a_line(tmp_path):
    shapes = [Shape("polygon", 'a "quoted" label', [(1, 2), (3, 4), (5, 9)], instance_id=2),
              Shape("point", "狗", [(1.5, 1)])]
    ann = ImageAnnotation("a.png", 20, 10, shapes, tags={"shapes": True}, status="done")
    d = to_labelme_dict(ann)
    text = labelme_text(d)
    assert json.loads(text) == json.loads(json.dumps(d))
    lines = text.splitlines()
    assert sum(1 for ln in lines if ln.startswith('    {"label"')) == 2  # one line per shape
    assert "狗" in text  # not escaped
    write_annotation(tmp_path / "a.json", ann)
    back, problems = read_annotation(tmp_path / "a.json")
    assert problems == [] and [s.label for s in back.shapes] == [s.label for s in shapes]
    assert back.tags == {"shapes": True} and back.status == "done"
    empty = to_labelme_dict(ImageAnnotation("b.png", 5, 5))
    assert json.loads(labelme_text(empty)) == empty
