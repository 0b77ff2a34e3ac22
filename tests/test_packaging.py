"""The wheel ships resources/ and plugins/ inside the package, never as top-level modules."""

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _declared_packages():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return set(cfg["packages"]), cfg["package-dir"]


def test_every_package_folder_is_declared():
    declared, mapping = _declared_packages()
    found = set()
    for top, name in (("labeler", "labeler"), ("resources", "labeler.resources"), ("plugins", "labeler.plugins")):
        for init in (ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / top).parts
            found.add(".".join((name, *rel)))
    assert found <= declared, f"packages missing from pyproject.toml: {sorted(found - declared)}"
    assert mapping["labeler.resources"] == "resources" and mapping["labeler.plugins"] == "plugins"


@pytest.mark.slow
def test_wheel_contents(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(ROOT)], check=True, timeout=300,
                   cwd=tmp_path)
    wheel = next(tmp_path.glob("labeler-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "labeler/resources/presets/voc.json" in names
    assert "labeler/plugins/__init__.py" in names
    assert not any(n.startswith(("resources/", "plugins/")) for n in names)
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry).decode()
    assert "labeler = labeler.cli:main" in text
