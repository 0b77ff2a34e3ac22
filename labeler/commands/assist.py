"""Assist commands: ``labeler plugins`` lists the proposal engines and the plugins that failed.

    labeler plugins [--plugin-dir DIR]

Exits with 1 when any plugin failed to load (each failure is one line naming where it came from).
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "plugins", help="list the proposal engines and any plugin that failed to load",
        description="List the proposal engines from the 'labeler.plugins' entry points and the user "
                    "plugin folder ($LABELER_PLUGIN_DIR or ~/.local/share/labeler/plugins), "
                    "and every plugin that failed to load, with its error.")
    p.add_argument("--plugin-dir", metavar="DIR", help="the user plugin folder to read instead")
    p.set_defaults(func=plugins_command)


def plugins_command(args: argparse.Namespace) -> int:
    from ..assist.plugins import load_plugins, user_plugin_dir

    folder = args.plugin_dir or user_plugin_dir()
    loaded = load_plugins(plugin_dir=folder)
    print(f"proposal engines ({len(loaded.engines)}; user plugin folder: {folder}):")
    for name, engine in sorted(loaded.engines.items()):
        accepts = ", ".join(sorted(engine.accepts))
        print(f"  {name:<14} accepts {accepts}  [{loaded.origins[name]}]")
    for failure in loaded.failures:
        print(f"failed: {failure}", file=sys.stderr)
    return 1 if loaded.failures else 0
