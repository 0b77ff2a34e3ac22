"""Long sessions must not abort the interpreter.

PySide6 6.12.0 on CPython 3.11 releases a reference to ``None`` on every wrapped call that returns
None and to ``True`` on every Python-side ``Signal.emit()``; after a few thousand calls (minutes of
ordinary use) the process aborts with "deallocating None". pyproject.toml pins PySide6 below
6.12 for that reason; this test catches a dependency that brings the bug back.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_STRESS = textwrap.dedent("""
    import os, sys
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QObject, Signal
    from PySide6.QtWidgets import QApplication, QGraphicsRectItem

    class Emitter(QObject):
        moved = Signal(float, float)

    app = QApplication([])
    e, item, got = Emitter(), QGraphicsRectItem(), []
    e.moved.connect(lambda x, y: got.append(x))
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for i in range(100_000):
        e.moved.emit(float(i), 0.0)
        item.scene()
        QApplication.activeWindow()
    print(len(got), none_before - sys.getrefcount(None), true_before - sys.getrefcount(True))
""")


def test_hundred_thousand_emits_and_none_results_keep_references():
    r = subprocess.run([sys.executable, "-c", _STRESS], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    count, lost_none, lost_true = (int(v) for v in r.stdout.split()[-3:])
    assert count == 100_000
    assert lost_none < 1000 and lost_true < 1000, (lost_none, lost_true)
