import json

import numpy as np
import pytest

from labeler.core import geometry as g
from labeler.core.annotation import ImageAnnotation, from_labelme_dict, read_annotation, to_labelme_dict, write_annotation
from labeler.core.errors import AnnotationFileError
from labeler.core.shapes import Shape


def _ann():
    m = np.zeros((30, 40), bool)
    m[3:9, 4:15] = True
    m[5, 6] = False
    shapes = [
        Shape("polygon", "car", [[1, 1], [20, 1], [20, 20], [1, 20]], holes=[[[5, 5], [8, 5], [8, 8]]],
              instance_id=3, z=2, source="sam", score=0.9, links=("abc",)),
        Shape("rectangle", "bus", [[2, 2], [9, 9]], weak=True),
        Shape("circle", "sign", [[10, 10], [12, 12]]),
        Shape("point", "car", [[4, 4]]),
        Shape("line", "pole", [[0, 0], [5, 5]]),
        Shape("linestrip", "pole", [[0, 0], [5, 5], [9, 2]]),
        Shape("scribble", "road", [[0, 29], [39, 29]], width=3.5),
        Shape("mask", "tree", rle=g.rle_encode(m), description="leafy", flags={"occluded": True}),
    ]
    return ImageAnnotation("img.png", 40, 30, shapes, tags={"night": True}, status="done")


def test_labelme_dict_roundtrip_keeps_everything():
    ann = _ann()
    back, problems = from_labelme_dict(json.loads(json.dumps(to_labelme_dict(ann))))
    assert problems == []
    assert back.tags == {"night": True} and back.status == "done"
    assert len(back.shapes) == len(ann.shapes)
    for a, b in zip(ann.shapes, back.shapes):
        if a.kind == "mask":
            assert np.array_equal(g.rle_decode(a.rle), g.rle_decode(b.rle))
            assert b.same_as(a.replace(rle=b.rle))
        else:
            assert b.same_as(a), a.kind


def test_file_is_plain_labelme():
    d = to_labelme_dict(_ann())
    for key in ("version", "flags", "shapes", "imagePath", "imageData", "imageHeight", "imageWidth"):
        assert key in d
    types = [s["shape_type"] for s in d["shapes"]]
    assert types == ["polygon", "rectangle", "circle", "point", "line", "linestrip", "linestrip", "mask"]
    mask = d["shapes"][-1]
    assert len(mask["points"]) == 2 and isinstance(mask["mask"], str)


def test_unknown_keys_survive(tmp_path):
    d = to_labelme_dict(_ann())
    d["customTop"] = {"x": 1}
    d["shapes"][0]["customShape"] = [1, 2]
    d["shapes"][0]["labeler"]["future"] = "kept"
    d["labeler"]["futureTop"] = 7
    p = tmp_path / "a.json"
    p.write_text(json.dumps(d))
    ann, _ = read_annotation(p)
    write_annotation(p, ann)
    d2 = json.loads(p.read_text())
    assert d2["customTop"] == {"x": 1}
    assert d2["shapes"][0]["customShape"] == [1, 2]
    assert d2["shapes"][0]["labeler"]["future"] == "kept"
    assert d2["labeler"]["futureTop"] == 7


def test_corrupt_json_names_the_file(tmp_path):
    p = tmp_path / "broken.json"
    p.write_text('{"shapes": [')
    with pytest.raises(AnnotationFileError, match="broken.json.*corrupt JSON"):
        read_annotation(p)


def test_two_point_polygon_strict_and_lenient():
    d = to_labelme_dict(_ann())
    d["shapes"][0]["points"] = [[0, 0], [1, 1]]
    d["shapes"][0]["labeler"].pop("holes")
    with pytest.raises(AnnotationFileError, match="shape 0.*at least 3"):
        from_labelme_dict(d, source="x.json")
    ann, problems = from_labelme_dict(d, source="x.json", strict=False)
    assert len(ann.shapes) == 7 and len(problems) == 1 and "x.json" in problems[0]


def test_reads_labelme_file_without_our_extras():
    d = {"version": "5.2.1", "flags": {"blurry": False}, "imagePath": "a.jpg", "imageData": None,
         "imageHeight": 10, "imageWidth": 10,
         "shapes": [{"label": "dog", "points": [[1, 1], [5, 1], [5, 5]], "group_id": None,
                     "shape_type": "polygon", "flags": {}}]}
    ann, _ = from_labelme_dict(d)
    assert ann.shapes[0].label == "dog" and ann.status == "new" and ann.tags == {"blurry": False}
    assert to_labelme_dict(ann)["version"] == "5.2.1"
