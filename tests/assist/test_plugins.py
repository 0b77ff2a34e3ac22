import importlib.metadata
import textwrap

import numpy as np
import pytest

from labeler.assist.engine import Prompts
from labeler.assist.plugins import ENTRY_POINT_GROUP, PLUGIN_DIR_ENV, load_plugins, user_plugin_dir
from labeler.cli import main as cli_main

GOOD_PLUGIN = """
    import numpy as np
    from labeler.assist.engine import POSITIVE_POINTS, Proposal

    class Threshold:
        name = "threshold"
        accepts = frozenset({POSITIVE_POINTS})
        cache_key = "threshold:128"

        def prepare(self, image):
            return np.asarray(image)[..., 0] > 128

        def propose(self, state, prompts):
            return [Proposal(mask=state, score=1.0, engine=self.name)]

    plugin = Threshold
"""


def write(folder, name, text):
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_first_party_plugins_load_through_the_installed_entry_points(tmp_path):
    eps = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    assert {"grabcut", "superpixels", "sam"} <= {ep.name for ep in eps}
    loaded = load_plugins(plugin_dir=tmp_path / "none")
    assert loaded.failures == []
    assert {"grabcut", "superpixel", "felzenszwalb", "wand", "sam"} <= set(loaded.engines)
    assert loaded.origins["wand"].startswith("entry point superpixels = labeler.plugins.superpixels")


def test_entry_points_given_explicitly_and_a_broken_one_is_reported():
    eps = [importlib.metadata.EntryPoint("grabcut", "labeler.plugins.grabcut:plugin", ENTRY_POINT_GROUP),
           importlib.metadata.EntryPoint("ghost", "labeler.plugins.no_such_module:plugin", ENTRY_POINT_GROUP),
           importlib.metadata.EntryPoint("notengine", "labeler.plugins.grabcut:FALLBACK_SCORE", ENTRY_POINT_GROUP)]
    loaded = load_plugins(eps, user=False)
    assert list(loaded.engines) == ["grabcut"]
    errors = {f.origin.split()[2]: f.error for f in loaded.failures}
    assert "ModuleNotFoundError" in errors["ghost"] and "no_such_module" in errors["ghost"]
    assert "not a proposal engine" in errors["notengine"] and "'name'" in errors["notengine"]


def test_user_folder_plugin_is_loaded_and_works(tmp_path, monkeypatch):
    write(tmp_path, "threshold.py", GOOD_PLUGIN)
    write(tmp_path, "_private.py", "raise RuntimeError('must not be imported')")
    write(tmp_path, "notes.txt", "not python")
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub", "nested.py", "raise RuntimeError('must not be imported')")
    monkeypatch.setenv(PLUGIN_DIR_ENV, str(tmp_path))
    assert user_plugin_dir() == tmp_path
    loaded = load_plugins(entry_points=[])
    assert loaded.failures == []
    engine = loaded.get("threshold")
    assert loaded.origins["threshold"] == str(tmp_path / "threshold.py")
    image = np.zeros((4, 4, 3), np.uint8)
    image[1:3, 1:3] = 200
    [p] = engine.propose(engine.prepare(image), Prompts(positive=[(1, 1)]))
    assert p.mask.sum() == 4 and p.engine == "threshold"
    with pytest.raises(KeyError, match="no proposal engine named 'sam'"):
        loaded.get("sam")


def test_failing_user_plugins_are_reported_with_their_error(tmp_path):
    write(tmp_path, "a_syntax.py", "def plugin(:\n")
    write(tmp_path, "b_raises.py", "raise ImportError('needs the libfoo package')\n")
    write(tmp_path, "c_noplugin.py", "x = 1\n")
    write(tmp_path, "d_factory_fails.py", "def plugin():\n    raise RuntimeError('no GPU')\n")
    write(tmp_path, "e_bad_engine.py", "class E:\n    name = 'e'\n    accepts = {'telepathy'}\n"
                                       "    cache_key = 'e'\n    def prepare(self, i): pass\n"
                                       "    def propose(self, s, p): pass\nplugin = E()\n")
    write(tmp_path, "f_dup.py", "from labeler.plugins.grabcut import GrabCutEngine\nplugin = GrabCutEngine\n")
    write(tmp_path, "threshold.py", GOOD_PLUGIN)
    loaded = load_plugins(plugin_dir=tmp_path)
    assert "threshold" in loaded.engines and "grabcut" in loaded.engines
    failures = {f.origin.rsplit("/", 1)[-1]: f.error for f in loaded.failures}
    assert set(failures) == {"a_syntax.py", "b_raises.py", "c_noplugin.py", "d_factory_fails.py",
                             "e_bad_engine.py", "f_dup.py"}
    assert failures["a_syntax.py"].startswith("SyntaxError")
    assert failures["b_raises.py"] == "ImportError: needs the libfoo package"
    assert "defines no 'plugin'" in failures["c_noplugin.py"]
    assert failures["d_factory_fails.py"] == "RuntimeError: no GPU"
    assert "telepathy" in failures["e_bad_engine.py"]
    assert "'grabcut' is already taken by entry point grabcut" in failures["f_dup.py"]
    assert all("\n" not in str(f) for f in loaded.failures)


def test_plugins_command_lists_engines_and_failures(tmp_path, capsys):
    write(tmp_path, "threshold.py", GOOD_PLUGIN)
    assert cli_main(["plugins", "--plugin-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in ("grabcut", "superpixel", "felzenszwalb", "wand", "sam", "threshold"):
        assert f"  {name} " in out
    write(tmp_path, "broken.py", "import not_a_real_module_xyz\n")
    assert cli_main(["plugins", "--plugin-dir", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "threshold" in captured.out
    assert f"failed: {tmp_path / 'broken.py'}: ModuleNotFoundError: No module named 'not_a_real_module_xyz'" \
        in captured.err
