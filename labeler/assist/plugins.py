"""Loading proposal engines from plugins, first-party and third-party alike.

Two places, and nothing else is imported:

* the Python entry-point group ``labeler.plugins`` (installed packages; the first-party plugins
  in the repository's ``plugins/`` folder, shipped as ``labeler.plugins``, are declared there in
  pyproject.toml exactly as a third-party package would declare its own);
* a user plugin folder, ``$LABELER_PLUGIN_DIR`` or ``~/.local/share/labeler/plugins``: every
  ``*.py`` file directly in it (not in sub-folders, not starting with ``_``).

Each defines ``plugin``: an engine, a list of engines, or a callable (a class or a function)
returning either. A plugin that fails to import, to build its engines, or whose engines do not
follow :class:`labeler.assist.engine.Engine` is recorded as a :class:`PluginFailure` with its
error, never dropped silently.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from .engine import PROMPT_KINDS, Engine

ENTRY_POINT_GROUP = "labeler.plugins"
PLUGIN_DIR_ENV = "LABELER_PLUGIN_DIR"
_USER_MODULE_PREFIX = "labeler_user_plugins"


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that did not load: where it came from and why, in one line."""

    origin: str
    error: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.error}"


@dataclass
class LoadedPlugins:
    """The engines by name, where each came from, and every plugin that failed."""

    engines: dict[str, Engine] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    failures: list[PluginFailure] = field(default_factory=list)

    def get(self, name: str) -> Engine:
        if name not in self.engines:
            known = ", ".join(sorted(self.engines)) or "none"
            raise KeyError(f"no proposal engine named {name!r} (loaded: {known})")
        return self.engines[name]


def user_plugin_dir() -> Path:
    env = os.environ.get(PLUGIN_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".local" / "share" / "labeler" / "plugins"


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def check_engine(engine: Any) -> None:
    """Raise TypeError naming what is missing when ``engine`` does not follow the protocol."""
    problems = []
    name = getattr(engine, "name", None)
    if not isinstance(name, str) or not name:
        problems.append("'name' must be a non-empty string")
    accepts = getattr(engine, "accepts", None)
    if not isinstance(accepts, (set, frozenset, tuple, list)) or not accepts:
        problems.append("'accepts' must be a non-empty set of prompt kinds")
    elif set(accepts) - PROMPT_KINDS:
        problems.append(f"'accepts' has unknown prompt kinds {sorted(set(accepts) - PROMPT_KINDS)}")
    if not isinstance(getattr(engine, "cache_key", None), str):
        problems.append("'cache_key' must be a string")
    for method in ("prepare", "propose"):
        if not callable(getattr(engine, method, None)):
            problems.append(f"'{method}' must be a method")
    if problems:
        raise TypeError(f"{type(engine).__name__} is not a proposal engine: {'; '.join(problems)}")


def engines_from(plugin: Any) -> list[Engine]:
    """The engines a ``plugin`` object stands for (see the module docstring)."""
    if not _looks_like_engine(plugin) and callable(plugin):
        plugin = plugin()
    items = list(plugin) if isinstance(plugin, (list, tuple)) else [plugin]
    if not items:
        raise TypeError("the plugin provides no engines")
    for item in items:
        check_engine(item)
    return items


def _looks_like_engine(obj: Any) -> bool:
    return not isinstance(obj, type) and callable(getattr(obj, "propose", None))


def _add(result: LoadedPlugins, origin: str, loader) -> None:
    try:
        engines = engines_from(loader())
    except Exception as e:  # any error in third-party code: recorded, never raised
        result.failures.append(PluginFailure(origin, _one_line(e)))
        return
    for engine in engines:
        if engine.name in result.engines:
            result.failures.append(PluginFailure(
                origin, f"engine name {engine.name!r} is already taken by {result.origins[engine.name]}"))
            continue
        result.engines[engine.name] = engine
        result.origins[engine.name] = origin


def _load_file(path: Path) -> Any:
    module_name = f"{_USER_MODULE_PREFIX}.{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    if not hasattr(module, "plugin"):
        raise AttributeError("the file defines no 'plugin'")
    return module.plugin


def load_plugins(entry_points: Iterable[importlib.metadata.EntryPoint] | None = None,
                 plugin_dir: str | os.PathLike | None = None, *, user: bool = True) -> LoadedPlugins:
    """Load every plugin: entry points first (sorted by name), then the user folder's files.

    ``entry_points`` defaults to the installed ``labeler.plugins`` group; ``plugin_dir`` to
    :func:`user_plugin_dir`; ``user=False`` skips the user folder.
    """
    result = LoadedPlugins()
    eps = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP) if entry_points is None else entry_points
    for ep in sorted(eps, key=lambda e: e.name):
        _add(result, f"entry point {ep.name} = {ep.value}", ep.load)
    if user:
        folder = Path(plugin_dir) if plugin_dir is not None else user_plugin_dir()
        if folder.is_dir():
            for path in sorted(folder.glob("*.py")):
                if path.is_file() and not path.name.startswith("_"):
                    _add(result, str(path), lambda p=path: _load_file(p))
        elif folder.exists():
            result.failures.append(PluginFailure(str(folder), "the plugin folder is not a folder"))
    return result
