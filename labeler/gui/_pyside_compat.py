"""Keep PySide6 from crashing the interpreter on CPython 3.11.

shiboken6 6.12 treats ``None``, ``True`` and ``False`` as immortal, as they are from CPython 3.12
on, and so releases references to them that it never took: every wrapped call that returns
``None`` (``item.scene()``, ``widget.parent()``, ``QApplication.activeWindow()``, ...) and every
Python-side ``Signal.emit()`` drops one. On 3.11 the count reaches zero after a few thousand
such calls (minutes of ordinary use) and the process aborts with "deallocating None".

When that bug is present we give the three singletons the huge reference count CPython 3.12
gives them, so the stray releases can never bring it to zero. Nothing happens on 3.12+ or with
a shiboken that does not have the bug.
"""

from __future__ import annotations

import ctypes
import sys

_IMMORTAL = 1 << 40


def _pyside_drops_references() -> bool:
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(16):
        probe.parent()  # returns None
    return sys.getrefcount(None) < before - 8


def make_singletons_immortal() -> bool:
    """Apply the work-around where it is needed; True when it was applied."""
    if sys.version_info >= (3, 12) or hasattr(sys, "gettotalrefcount"):
        return False  # immortal already, or a debug build with another object layout
    if not _pyside_drops_references():
        return False
    for obj in (None, True, False):
        refcount = ctypes.c_ssize_t.from_address(id(obj))  # ob_refcnt is an object's first field
        if refcount.value < _IMMORTAL:
            refcount.value += _IMMORTAL
    return True


APPLIED = make_singletons_immortal()
