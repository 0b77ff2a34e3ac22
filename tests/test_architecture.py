"""The arrows point one way: nothing under core, formats, assist or train imports Qt."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QT_FREE = ("labeler.core", "labeler.formats", "labeler.assist", "labeler.train")

_SCRIPT = textwrap.dedent("""
    import importlib, pkgutil, sys
    for name in ("PySide6", "PyQt5", "PyQt6", "PySide2", "shiboken6"):
        sys.modules[name] = None  # any `import PySide6...` now raises ImportError
    try:
        import PySide6.QtCore
    except ImportError:
        pass
    else:
        raise SystemExit("the PySide6 block did not work")
    failures = []
    count = 0
    for pkg_name in sys.argv[1:]:
        pkg = importlib.import_module(pkg_name)
        for info in pkgutil.walk_packages(pkg.__path__, pkg_name + "."):
            try:
                importlib.import_module(info.name)
                count += 1
            except Exception as e:
                failures.append(f"{info.name}: {type(e).__name__}: {e}")
    importlib.import_module("labeler.demo")
    print(f"imported {count} modules")
    if failures:
        raise SystemExit("\\n".join(failures))
    leaked = sorted(m for m in sys.modules if m.startswith("labeler.gui"))
    if leaked:
        raise SystemExit(f"Qt-free packages imported the GUI: {leaked}")
""")


def _run(*packages: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _SCRIPT, *packages], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_qt_free_packages_import_with_pyside6_blocked():
    r = _run(*QT_FREE)
    assert r.returncode == 0, r.stderr + r.stdout
    assert int(r.stdout.split()[1]) >= 10  # the walk really found the modules


def test_the_check_catches_a_qt_import():
    r = _run("labeler.gui")
    assert r.returncode != 0
    assert "PySide6" in r.stderr or "labeler.gui" in r.stderr
