"""Label schemas: classes with id, name, colour and thing/stuff, plus presets from resources/.

A schema file is JSON::

    {"name": "camvid", "ignore_index": 255,
     "classes": [{"id": 0, "name": "Sky", "color": [128, 128, 128], "is_thing": false}, ...]}

Optional per-class keys: ``train_id``, ``ignore_in_eval``, ``supercategory``, ``has_instances``
(defaults to ``is_thing``), and anything else, which is kept in ``extra``. A plain text file
with one class name per line is accepted too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .errors import SchemaError


@dataclass(frozen=True)
class LabelClass:
    id: int
    name: str
    color: tuple[int, int, int]
    is_thing: bool = True
    train_id: int | None = None
    ignore_in_eval: bool = False
    supercategory: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def has_instances(self) -> bool:
        return bool(self.extra.get("has_instances", self.is_thing))

    def to_dict(self) -> dict:
        d = {"id": self.id, "name": self.name, "color": list(self.color), "is_thing": self.is_thing}
        if self.train_id is not None:
            d["train_id"] = self.train_id
        if self.ignore_in_eval:
            d["ignore_in_eval"] = True
        if self.supercategory:
            d["supercategory"] = self.supercategory
        d.update(self.extra)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "LabelClass":
        known = {"id", "name", "color", "is_thing", "train_id", "ignore_in_eval", "supercategory"}
        try:
            color = tuple(int(c) for c in d.get("color") or default_color(int(d["id"])))
            return cls(id=int(d["id"]), name=str(d["name"]), color=color,  # type: ignore[arg-type]
                       is_thing=bool(d.get("is_thing", True)), train_id=d.get("train_id"),
                       ignore_in_eval=bool(d.get("ignore_in_eval", False)),
                       supercategory=str(d.get("supercategory", "")),
                       extra={k: v for k, v in d.items() if k not in known})
        except (AttributeError, KeyError, TypeError, ValueError) as e:  # AttributeError: not a JSON object
            raise SchemaError(f"malformed class entry {d!r}: {e}") from None


def default_color(index: int) -> tuple[int, int, int]:
    """The Pascal VOC colour map: distinct, stable colours for class indices."""
    r = g = b = 0
    c = index
    for j in range(8):
        r |= ((c >> 0) & 1) << (7 - j)
        g |= ((c >> 1) & 1) << (7 - j)
        b |= ((c >> 2) & 1) << (7 - j)
        c >>= 3
    return (r, g, b)


def voc_palette() -> list[int]:
    """Flat 768-entry palette (256 RGB triples) in the VOC colour map, for 'P' PNGs."""
    pal = []
    for i in range(256):
        pal.extend(default_color(i))
    return pal


@dataclass
class Schema:
    classes: list[LabelClass]
    name: str = "custom"
    ignore_index: int = 255
    background: str | None = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        names, ids = set(), set()
        for c in self.classes:
            if c.name in names:
                raise SchemaError(f"schema {self.name!r}: class name {c.name!r} appears twice")
            if c.id in ids:
                raise SchemaError(f"schema {self.name!r}: class id {c.id} appears twice")
            names.add(c.name)
            ids.add(c.id)

    # -- lookup --------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.classes)

    def __iter__(self):
        return iter(self.classes)

    def __contains__(self, name: str) -> bool:
        return any(c.name == name for c in self.classes)

    def get(self, name: str) -> LabelClass | None:
        for c in self.classes:
            if c.name == name:
                return c
        return None

    def by_name(self, name: str) -> LabelClass:
        c = self.get(name)
        if c is None:
            raise SchemaError(f"class {name!r} is not in schema {self.name!r}")
        return c

    def by_id(self, class_id: int) -> LabelClass:
        for c in self.classes:
            if c.id == class_id:
                return c
        raise SchemaError(f"class id {class_id} is not in schema {self.name!r}")

    def names(self) -> list[str]:
        return [c.name for c in self.classes]

    def add(self, name: str, is_thing: bool = True, color=None) -> LabelClass:
        """Append a class with the next free id (used when a dataset brings unknown classes)."""
        if name in self:
            return self.by_name(name)
        new_id = max((c.id for c in self.classes if c.id != self.ignore_index), default=-1) + 1
        if new_id == self.ignore_index:
            new_id += 1
        c = LabelClass(new_id, name, tuple(color or default_color(new_id)), is_thing)
        self.classes.append(c)
        return c

    # -- (de)serialising ------------------------------------------------------------------
    def to_dict(self) -> dict:
        d = {"name": self.name, "ignore_index": self.ignore_index, "classes": [c.to_dict() for c in self.classes]}
        if self.background:
            d["background"] = self.background
        d.update(self.extra)
        return d

    @classmethod
    def from_dict(cls, d: dict, source: str = "schema") -> "Schema":
        if not isinstance(d, dict) or not isinstance(d.get("classes"), list):
            raise SchemaError(f"{source}: a schema needs a 'classes' list")
        known = {"name", "ignore_index", "classes", "background"}
        try:
            return cls(classes=[LabelClass.from_dict(c) for c in d["classes"]], name=str(d.get("name", "custom")),
                       ignore_index=int(d.get("ignore_index", 255)), background=d.get("background"),
                       extra={k: v for k, v in d.items() if k not in known})
        except (SchemaError, TypeError, ValueError) as e:  # say which file holds the bad entry
            raise SchemaError(f"{source}: {e}") from None

    @classmethod
    def from_names(cls, names: list[str], name: str = "custom", things: bool = True) -> "Schema":
        return cls([LabelClass(i, n, default_color(i), things) for i, n in enumerate(names)], name=name)


def preset_names() -> list[str]:
    folder = resources.files("labeler.resources") / "presets"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))


def load_preset(name: str) -> Schema:
    folder = resources.files("labeler.resources") / "presets"
    f = folder / f"{name}.json"
    if not f.is_file():
        raise SchemaError(f"no preset named {name!r}; presets: {', '.join(preset_names())}")
    return Schema.from_dict(json.loads(f.read_text("utf-8")), source=f"preset {name}")


def load_schema(spec: str | Path) -> Schema:
    """A preset name, or a path to a schema JSON, or a text file of class names."""
    p = Path(spec)
    if not p.exists() or (p.is_dir() and str(spec) in preset_names()):
        # a folder is never a schema file: `--classes camvid` beside a `camvid/` dataset folder
        return load_preset(str(spec))
    try:
        text = p.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SchemaError(f"{p}: cannot read schema: {e}") from None
    if p.suffix.lower() == ".json":
        try:
            return Schema.from_dict(json.loads(text), source=str(p))
        except json.JSONDecodeError as e:
            raise SchemaError(f"{p}: not valid JSON: {e}") from None
    names = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    if not names:
        raise SchemaError(f"{p}: no class names in the file")
    return Schema.from_names(names, name=p.stem)
