"""The keyboard shortcut table in docs/USER_GUIDE.md is the window's action table, row for row.

The table sits between the markers ``<!-- shortcuts:begin -->`` and ``<!-- shortcuts:end -->``.
When an action, its menu, its text or its shortcut changes in ``labeler/gui/actions.py`` (or in
a table it appends), this test fails until the guide is regenerated::

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m tests.gui.test_user_guide --write
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "USER_GUIDE.md"
BEGIN, END = "<!-- shortcuts:begin -->", "<!-- shortcuts:end -->"
HEADER = ["| Menu | Action | Keys |", "|---|---|---|"]


def plain(text: str) -> str:
    """A menu text without its mnemonic ampersand ("&Save" -> "Save"), as the dialog shows it."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


def shortcut_table() -> list[str]:
    """The Markdown rows the guide must hold: one per action, in the table's order."""
    from labeler.gui.actions import ACTIONS

    rows = list(HEADER)
    for spec in ACTIONS:
        keys = f"`{spec.shortcut}`" if spec.shortcut else ""
        rows.append(f"| {plain(spec.menu)} | {plain(spec.text)} | {keys} |")
    return rows


def guide_table(text: str) -> list[str]:
    if BEGIN not in text or END not in text:
        raise AssertionError(f"{GUIDE}: the shortcut table markers {BEGIN} / {END} are missing")
    block = text.split(BEGIN, 1)[1].split(END, 1)[0]
    return [line.strip() for line in block.splitlines() if line.strip()]


def test_guide_shortcut_table_matches_the_action_table():
    from labeler.gui.actions import ACTIONS

    ours = guide_table(GUIDE.read_text("utf-8"))
    expected = shortcut_table()
    missing = [r for r in expected if r not in ours]
    stale = [r for r in ours if r not in expected]
    assert not missing and not stale, (
        f"docs/USER_GUIDE.md's shortcut table is out of date: missing {missing[:5]}, stale {stale[:5]}; "
        "regenerate it with `python -m tests.gui.test_user_guide --write`")
    assert ours == expected  # same rows in the same order as the menus list them
    assert len(ours) == len(ACTIONS) + len(HEADER)


def test_every_shortcut_in_the_table_is_a_key_qt_understands_and_none_is_taken_twice():
    from PySide6.QtGui import QKeySequence

    keys = [m.group(1) for row in guide_table(GUIDE.read_text("utf-8"))[2:]
            for m in [re.search(r"`([^`]+)`", row)] if m]
    assert len(keys) > 40  # the table is not empty: most actions have a key
    normal = []
    for k in keys:
        seq = QKeySequence(k)
        assert seq.count() == 1 and not seq.isEmpty() and seq[0].key() != 0, k
        normal.append(seq.toString())  # "Delete" and "Del" are one key
    assert len(normal) == len(set(normal)), sorted(k for k in normal if normal.count(k) > 1)


def test_keys_the_guide_names_in_prose_are_the_actions_keys():
    """A sentence such as "Accept All and Next (Ctrl+Shift+Return)" names the key of that action."""
    from labeler.gui.actions import ACTIONS

    text = GUIDE.read_text("utf-8").split(BEGIN, 1)[0]
    checked = 0
    for spec in ACTIONS:
        if not spec.shortcut:
            continue
        name = plain(spec.text).replace("...", "")
        for m in re.finditer(re.escape(f"**{name}**") + r" \(`([^`]+)`\)", text):
            assert m.group(1) == spec.shortcut, f"the guide gives {name} the key {m.group(1)}, the window {spec.shortcut}"
            checked += 1
    assert checked >= 10  # the guide's prose names actions that way, and this test reads them


def _write() -> None:
    text = GUIDE.read_text("utf-8")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    GUIDE.write_text(head + BEGIN + "\n" + "\n".join(shortcut_table()) + "\n" + END + tail, "utf-8")


if __name__ == "__main__":  # pragma: no cover
    if "--write" in sys.argv[1:]:
        _write()
    else:
        print("\n".join(shortcut_table()))
