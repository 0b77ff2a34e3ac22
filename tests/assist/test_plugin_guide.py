"""docs/PLUGINS.md and its example engine (docs/examples/threshold_plugin.py), used as a plugin
author would: the example loads from the user plugin folder and segments, and the guide's code
compiles, shows the example file verbatim, and its caching and testing recipes work."""

import importlib.metadata
import inspect
import re
import shutil
import tomllib
from pathlib import Path

import cv2
import numpy as np
import pytest

from labeler.assist.click_simulation import mask_iou, region_centre
from labeler.assist.download import CACHE_ENV
from labeler.assist.engine import BOX, Prompts, check_prompts
from labeler.assist.plugins import ENTRY_POINT_GROUP, PLUGIN_DIR_ENV, load_plugins, user_plugin_dir
from labeler.cli import main as cli_main

from .synthetic import textured_background

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "PLUGINS.md"
EXAMPLE = ROOT / "docs" / "examples" / "threshold_plugin.py"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```[ \t]*$", re.S | re.M)
CACHING_MARK = "# added at the end of threshold_plugin.py"


def code_blocks(language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(GUIDE.read_text(encoding="utf-8")) if lang == language]


def one_block(marker: str) -> str:
    [block] = [b for b in code_blocks("python") if marker in b]
    return block


def two_discs(h: int = 140, w: int = 220):
    """A textured background with two separate reddish discs: (image, left disc, right disc)."""
    image = textured_background(h, w, seed=3)
    yy, xx = np.mgrid[:h, :w]
    left = (xx - 60) ** 2 + (yy - 70) ** 2 < 35 ** 2
    right = (xx - 160) ** 2 + (yy - 70) ** 2 < 30 ** 2
    noise = np.random.default_rng(4).normal(0, 6, (h, w, 3))
    image[left | right] = (np.array([205, 55, 45]) + noise)[left | right]
    return np.clip(image, 0, 255).astype(np.uint8), left, right


def plugin_folder(tmp_path: Path, text: str | None = None, name: str = "threshold_plugin.py") -> Path:
    folder = tmp_path / "plugins"
    folder.mkdir(exist_ok=True)
    if text is None:
        shutil.copy(EXAMPLE, folder / name)
    else:
        (folder / name).write_text(text, encoding="utf-8")
    return folder


# ------------------------------------------------------------------------- the example engine


def test_example_loads_from_the_user_plugin_folder_and_fills_what_is_clicked(tmp_path, monkeypatch):
    folder = plugin_folder(tmp_path)
    monkeypatch.setenv(PLUGIN_DIR_ENV, str(folder))
    assert user_plugin_dir() == folder
    loaded = load_plugins(entry_points=[])  # the folder comes from the environment, as in the window
    assert loaded.failures == []
    engine = loaded.get("colour_fill")
    assert loaded.origins["colour_fill"] == str(folder / "threshold_plugin.py")

    image, left, right = two_discs()
    state = engine.prepare(image)
    a, b = region_centre(left), region_centre(right)
    [one] = engine.propose(state, Prompts(positive=[a]))
    assert one.engine == "colour_fill" and one.mask.shape == left.shape
    assert mask_iou(one.mask, left) > 0.95  # the clicked disc, not the other one of the same colour
    assert 0.0 < one.score <= 1.0
    [both] = engine.propose(state, Prompts(positive=[a, b]))
    assert mask_iou(both.mask, left | right) > 0.95
    [minus] = engine.propose(state, Prompts(positive=[a, b], negative=[b]))
    assert mask_iou(minus.mask, left) > 0.95
    [tight] = engine.propose(state, Prompts(positive=[a], options={"tolerance": 1.0}))
    assert tight.mask[int(a[1]), int(a[0])] and tight.mask.sum() < 0.5 * left.sum()
    assert 0.0 <= tight.score <= 1.0
    [off] = engine.propose(state, Prompts(positive=[(-5, -5)]))
    assert not off.mask.any() and off.score == 0.0

    grey = engine.prepare(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))  # (H, W) images work too
    assert engine.propose(grey, Prompts(positive=[a]))[0].mask[left].mean() > 0.9
    with pytest.raises(ValueError, match="needs at least one positive click"):
        engine.propose(state, Prompts(negative=[a]))
    with pytest.raises(ValueError, match=f"engine 'colour_fill' does not accept {BOX}"):
        check_prompts(engine, Prompts(positive=[a], box=(0, 0, 50, 50)))


def test_example_through_labeler_plugins_and_as_an_entry_point(tmp_path, monkeypatch, capsys):
    folder = plugin_folder(tmp_path)
    monkeypatch.setenv(PLUGIN_DIR_ENV, str(folder))
    assert cli_main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert f"user plugin folder: {folder}" in out
    assert f"  colour_fill    accepts negative_points, positive_points  [{folder / 'threshold_plugin.py'}]" in out

    # the same file as an installed package's entry point (the guide's pyproject.toml route)
    monkeypatch.syspath_prepend(str(EXAMPLE.parent))
    ep = importlib.metadata.EntryPoint("colour_fill", "threshold_plugin:plugin", ENTRY_POINT_GROUP)
    loaded = load_plugins([ep])  # and the copy in the user folder, loaded after it
    assert loaded.origins["colour_fill"] == "entry point colour_fill = threshold_plugin:plugin"
    [dup] = loaded.failures
    assert dup.origin == str(folder / "threshold_plugin.py")
    assert dup.error == ("engine name 'colour_fill' is already taken by "
                         "entry point colour_fill = threshold_plugin:plugin")


# ------------------------------------------------------------------------------- the guide


def test_every_python_block_in_the_guide_compiles():
    blocks = code_blocks("python")
    assert len(blocks) >= 3
    for i, block in enumerate(blocks):
        compile(block, f"{GUIDE}: python block {i + 1}", "exec")


def test_the_guide_shows_the_example_file_verbatim():
    assert EXAMPLE.read_text(encoding="utf-8") in code_blocks("python")


def test_the_guide_names_the_real_folder_group_and_variable(monkeypatch):
    text = GUIDE.read_text(encoding="utf-8")
    monkeypatch.delenv(PLUGIN_DIR_ENV, raising=False)
    assert f"~/{user_plugin_dir().relative_to(Path.home()).as_posix()}`" in text
    assert f"`${PLUGIN_DIR_ENV}`" in text
    [toml] = code_blocks("toml")
    entry_points = tomllib.loads(toml)["project"]["entry-points"]
    assert list(entry_points) == [ENTRY_POINT_GROUP]
    assert entry_points[ENTRY_POINT_GROUP] == {"colour_fill": "labeler_colour_fill:plugin"}


def test_the_guides_caching_recipe_keeps_states_across_runs(tmp_path, monkeypatch):
    recipe = one_block(CACHING_MARK)
    folder = plugin_folder(tmp_path, EXAMPLE.read_text(encoding="utf-8") + "\n\n" + recipe)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    image, left, _ = two_discs()
    click = Prompts(positive=[region_centre(left)])

    first = load_plugins(entry_points=[], plugin_dir=folder).get("colour_fill")
    assert type(first).__name__ == "CachedColourFillEngine"
    state = first.prepare(image)
    assert first.cache.misses == 1
    assert len(list((tmp_path / "cache" / "colour_fill").glob("*.pt"))) == 1

    again = load_plugins(entry_points=[], plugin_dir=folder).get("colour_fill")  # a restart
    restored = again.prepare(image)
    assert (again.cache.disk_hits, again.cache.misses) == (1, 0)
    assert np.array_equal(restored.lab, state.lab)
    assert np.array_equal(again.propose(restored, click)[0].mask, first.propose(state, click)[0].mask)
    other = image.copy()
    other[0, 0] = 0
    again.prepare(other)  # other pixels: prepared, not taken from the cache
    assert again.cache.misses == 1


def test_the_guides_testing_recipe_passes(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE.parent))
    namespace = {"__name__": "plugin_guide_recipe"}
    exec(compile(one_block("def test_"), f"{GUIDE}: testing recipe", "exec"), namespace)
    tests = {name: fn for name, fn in namespace.items() if name.startswith("test_") and callable(fn)}
    assert len(tests) >= 3
    for fn in tests.values():
        fn(**({"tmp_path": tmp_path} if "tmp_path" in inspect.signature(fn).parameters else {}))
