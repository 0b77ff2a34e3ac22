import json

import pytest

from labeler.core.errors import SchemaError
from labeler.core.schema import LabelClass, Schema, default_color, load_preset, load_schema, voc_palette


def test_voc_preset():
    s = load_preset("voc")
    assert len(s) == 21 and s.ignore_index == 255
    assert s.by_id(15).name == "person" and s.by_name("background").is_thing is False
    assert s.by_name("aeroplane").color == (128, 0, 0)


def test_camvid_preset_matches_dataset_readme():
    s = load_preset("camvid")
    assert len(s) == 11 and s.ignore_index == 11
    assert s.by_id(8).name == "Car" and s.by_id(8).color == (64, 0, 128) and s.by_id(8).is_thing
    assert not s.by_name("Road").is_thing


def test_voc_colormap():
    assert default_color(0) == (0, 0, 0) and default_color(1) == (128, 0, 0) and default_color(255) == (224, 224, 192)
    pal = voc_palette()
    assert len(pal) == 768 and pal[3:6] == [128, 0, 0]


def test_unknown_preset_lists_presets():
    with pytest.raises(SchemaError, match="no preset named 'nope'.*voc"):
        load_preset("nope")


def test_custom_schema_from_json_and_text(tmp_path):
    p = tmp_path / "mine.json"
    p.write_text(json.dumps({"name": "mine", "classes": [
        {"id": 0, "name": "bg", "is_thing": False}, {"id": 7, "name": "cell", "color": [1, 2, 3], "custom": "x"}]}))
    s = load_schema(p)
    assert s.name == "mine" and s.by_id(7).color == (1, 2, 3) and s.by_id(7).extra == {"custom": "x"}
    assert Schema.from_dict(s.to_dict()).by_id(7).extra == {"custom": "x"}
    t = tmp_path / "names.txt"
    t.write_text("cat\n# comment\ndog\n\n")
    s2 = load_schema(t)
    assert s2.names() == ["cat", "dog"] and s2.by_name("dog").id == 1


def test_bad_schemas_are_clear_errors(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text("{oops")
    with pytest.raises(SchemaError, match="bad.json"):
        load_schema(p)
    with pytest.raises(SchemaError, match="appears twice"):
        Schema([LabelClass(0, "a", (0, 0, 0)), LabelClass(1, "a", (0, 0, 0))])
    with pytest.raises(SchemaError, match="not in schema"):
        Schema.from_names(["a"]).by_name("b")


def test_add_skips_ignore_index():
    s = Schema.from_names([f"c{i}" for i in range(255)])
    c = s.add("new")
    assert c.id == 256 and s.by_name("new") is c
    assert s.add("new") is c
