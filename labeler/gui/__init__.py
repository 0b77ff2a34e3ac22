"""The desktop application (the only package that imports PySide6)."""

from . import _pyside_compat  # noqa: F401  (first: guards against a PySide6 crash on CPython 3.11)
