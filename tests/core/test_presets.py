"""The bundled label presets: COCO, COCO panoptic and ADE20K, plus load_schema on files."""

import json

import pytest

from labeler.core.errors import SchemaError
from labeler.core.schema import load_preset, load_schema, preset_names

# The ids COCO skips in its 1..90 range (categories that were dropped before release).
COCO_MISSING_IDS = {12, 26, 29, 30, 45, 66, 68, 69, 71, 83}


def _check_unique(schema):
    assert len({c.id for c in schema}) == len(schema)
    assert len({c.name for c in schema}) == len(schema)
    assert all(len(c.color) == 3 and all(0 <= v <= 255 for v in c.color) for c in schema)


def test_presets_are_listed():
    assert {"coco", "coco-panoptic", "ade20k", "voc", "camvid"} <= set(preset_names())


def test_coco_things_with_official_ids():
    s = load_preset("coco")
    assert len(s) == 80
    _check_unique(s)
    assert all(c.is_thing for c in s)
    assert {c.id for c in s} == set(range(1, 91)) - COCO_MISSING_IDS
    assert s.by_id(1).name == "person" and s.by_id(1).supercategory == "person"
    assert s.by_id(90).name == "toothbrush" and s.by_id(90).supercategory == "indoor"
    assert s.by_name("traffic light").id == 10
    assert s.by_name("stop sign").id == 13  # 12 is one of the gaps
    assert s.by_name("dining table").id == 67 and s.by_name("dining table").supercategory == "furniture"
    assert {c.supercategory for c in s} == {
        "person", "vehicle", "outdoor", "animal", "accessory", "sports", "kitchen", "food", "furniture",
        "electronic", "appliance", "indoor"}
    # nothing may be assigned the ignore value
    assert s.ignore_index not in {c.id for c in s}


def test_coco_panoptic_133_categories():
    s = load_preset("coco-panoptic")
    assert len(s) == 133
    _check_unique(s)
    things = [c for c in s if c.is_thing]
    stuff = [c for c in s if not c.is_thing]
    assert len(things) == 80 and len(stuff) == 53
    # the thing part is exactly the COCO instance categories, same ids and names
    coco = load_preset("coco")
    assert {(c.id, c.name) for c in things} == {(c.id, c.name) for c in coco}
    assert all(c.id > 90 for c in stuff)
    assert s.by_id(199).name == "wall-other-merged" and not s.by_id(199).is_thing
    assert s.by_id(200).name == "rug-merged" and s.by_id(200).supercategory == "textile"
    assert s.by_id(92).name == "banner"
    assert s.by_name("sky-other-merged").id == 187
    assert s.by_id(1).color == (220, 20, 60)
    assert all(c.supercategory for c in s)


def test_ade20k_150_classes():
    s = load_preset("ade20k")
    assert len(s) == 150
    _check_unique(s)
    assert [c.id for c in s] == list(range(1, 151))
    assert s.ignore_index == 0 and 0 not in {c.id for c in s}
    assert s.by_id(1).name == "wall" and s.by_id(1).color == (120, 120, 120)
    assert s.by_id(13).name == "person" and s.by_id(13).is_thing
    assert s.by_id(150).name == "flag"
    assert not s.by_name("sky").is_thing and not s.by_name("road").is_thing
    assert s.by_name("car").is_thing and s.by_name("chair").is_thing
    assert sum(c.is_thing for c in s) == 100  # the ADE20K panoptic split: 100 things, 50 stuff


def test_adding_a_class_to_a_preset_avoids_ignore_and_used_ids():
    s = load_preset("ade20k")
    c = s.add("my new class")
    assert c.id == 151
    coco = load_preset("coco")
    assert coco.add("extra").id == 91


def test_load_schema_from_a_json_path(tmp_path):
    p = tmp_path / "mine.json"
    p.write_text(json.dumps(load_preset("coco").to_dict()), encoding="utf-8")
    s = load_schema(p)
    assert len(s) == 80 and s.by_id(90).name == "toothbrush"
    assert load_schema(str(p)).names() == s.names()


def test_load_schema_from_a_text_file_of_names(tmp_path):
    p = tmp_path / "classes.txt"
    p.write_text("# my classes\nbackground\ncat\n\ndog\n", encoding="utf-8")
    s = load_schema(p)
    assert s.names() == ["background", "cat", "dog"]
    assert [c.id for c in s] == [0, 1, 2]
    assert s.name == "classes"


def test_load_schema_by_preset_name_and_bad_name():
    assert len(load_schema("coco-panoptic")) == 133
    with pytest.raises(SchemaError, match="no preset named 'coco-stuff-xyz'"):
        load_schema("coco-stuff-xyz")
