"""docs/USER_GUIDE.md stays true: its command lines parse, its CLI reference names every option,
its folder names are the code's, and README links it. (The shortcut table is checked against the
window's action table in tests/gui/test_user_guide.py, which needs Qt.)"""

from __future__ import annotations

import argparse
import inspect
import re
import shlex
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from labeler import cli

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "USER_GUIDE.md"
README = ROOT / "README.md"


def guide() -> str:
    return GUIDE.read_text("utf-8")


def section(title: str) -> str:
    """The text of the ``## title`` section, up to the next ``## `` heading."""
    parts = re.split(r"^## ", guide(), flags=re.M)
    for part in parts:
        if part.startswith(title + "\n"):
            return part
    raise AssertionError(f"{GUIDE}: no section '## {title}'")


def command_lines(text: str) -> list[str]:
    """Every `labeler ...` line of the guide's fenced code blocks, and every inline code span that
    is a whole command (it names a project with --project)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        if fenced and line.strip().startswith("labeler ") or fenced and line.strip() == "labeler":
            lines.append(line.strip())
    lines += [span for span in re.findall(r"`(labeler [^`]+)`", text) if "--project" in span]
    return lines


def parse(line: str):
    """``line`` through the real parser, as ``labeler`` would run it (None for --help/--version)."""
    words = shlex.split(line, comments=True)
    assert words[0] == "labeler", line
    parser, commands = cli.build_parser()
    argv = cli._with_default_command(words[1:], commands)
    if "--help" in argv or "-h" in argv or argv == ["--version"]:
        assert not argv[0].startswith("-") or argv[0] in ("--help", "-h", "--version"), line
        assert argv[0].startswith("-") or argv[0] in commands, line
        return None
    try:
        return parser.parse_args(argv)
    except SystemExit as e:  # argparse has printed why
        raise AssertionError(f"the guide's command does not parse: {line}") from e


def test_every_command_line_in_the_guide_parses_and_names_real_formats_and_options():
    from labeler.formats.registry import FORMATS, get_format

    lines = command_lines(guide())
    assert len(lines) >= 50, len(lines)
    used = set()
    for line in lines:
        args = parse(line)
        if args is None:
            continue
        used.add(args.command)
        if args.command in ("import", "export"):
            assert args.format in FORMATS, line
            func = getattr(get_format(args.format), f"{args.command}_dataset", None)
            assert func is not None, f"{args.format} cannot {args.command}: {line}"
            params = set(inspect.signature(func).parameters) - {"src", "project", "out", "ctx", "split"}
            if args.command == "export":
                params.add("include_proposals")  # taken by every export (formats/reviewed.py)
            for pair in args.option:
                key = pair.partition("=")[0].replace("-", "_")
                assert key in params, f"{line}: {args.format} {args.command} has no option {key!r}"
    parser, commands = cli.build_parser()
    assert set(commands) - used == set(), f"subcommands with no example in the guide: {set(commands) - used}"


def test_the_command_line_check_catches_a_wrong_line():
    with pytest.raises(AssertionError):
        parse("labeler export coco --out somewhere")  # --project is required
    with pytest.raises(AssertionError):
        parse("labeler train --project P --arch resnet")  # no such architecture
    assert parse("labeler path/to/folder").command == "open"
    assert command_lines("```\nlabeler stats --project P   # counts\n```\nsee `labeler split --project P "
                         "--ratios 0.8,0.2` and `labeler train`") == [
        "labeler stats --project P   # counts", "labeler split --project P --ratios 0.8,0.2"]


def test_cli_reference_covers_every_subcommand_and_option():
    text = section("CLI reference")
    parser, commands = cli.build_parser()
    for name, sub in commands.items():
        assert re.search(rf"^### .*labeler {re.escape(name)}\b|^### .*, {re.escape(name)}\b", text, re.M), \
            f"no heading for labeler {name} in the CLI reference"
        for action in sub._actions:
            if not action.option_strings or action.help == argparse.SUPPRESS:
                continue  # hidden options (e.g. the one torchrun passes to its workers)
            longest = max(action.option_strings, key=len)
            assert f"`{longest}" in text, f"labeler {name} {longest} is not in the guide's CLI reference"
    # every format's keyword options are listed in the options table
    from labeler.formats.registry import FORMATS, get_format

    for fmt in FORMATS:
        for op in ("import_dataset", "export_dataset"):
            func = getattr(get_format(fmt), op)
            for p in inspect.signature(func).parameters.values():
                if p.kind is p.KEYWORD_ONLY or (p.default is not p.empty and p.name not in ("ctx", "split")):
                    if p.name in ("schema", "splits", "label_map", "images", "masks"):
                        continue  # given through --classes, --split-lists, --images, --masks
                    assert re.search(rf"^\| {re.escape(fmt)} \|.*`{p.name}", text, re.M), f"{fmt} {op}: {p.name}"


def test_folders_and_files_the_guide_names_are_the_codes():
    from labeler.assist.embed import EMBEDDINGS_FOLDER
    from labeler.core.export_manifest import MANIFEST
    from labeler.core.project import LOCK_FILE, PROJECT_FILE
    from labeler.core.pyramid_cache import PYRAMIDS_FOLDER
    from labeler.core.status_index import INDEX_FILE
    from labeler.train.trainer import RUNS_DIR

    text = section("Projects and files")
    for name in (PROJECT_FILE, LOCK_FILE, Path(INDEX_FILE).name):
        assert name in text, name
    for folder in (EMBEDDINGS_FOLDER, PYRAMIDS_FOLDER, RUNS_DIR):
        parts = Path(folder).parts
        assert parts[0] == ".labeler" and f"{parts[-1]}/" in text, folder
    assert MANIFEST in guide()
    # the folders the window writes (gui modules: read as text, no Qt import here)
    gui = ROOT / "labeler" / "gui"
    for module, constant in (("recovery.py", "RECOVERY_DIR"), ("save_queue.py", "CONFLICTS_DIR")):
        value = re.search(rf'^{constant} = "([^"]+)"', (gui / module).read_text("utf-8"), re.M).group(1)
        assert f"P/{value}/" in guide(), value


def test_readme_keeps_its_first_lines_and_links_the_guide():
    text = README.read_text("utf-8")
    assert "make run     # installs into .venv and opens the app on its bundled demo project" in text.splitlines()[6]
    assert "make test    # installs with test extras" in text.splitlines()[7]
    assert "docs/USER_GUIDE.md" in text
    assert 300 <= len(guide().splitlines()) <= 900


def test_the_guides_camvid_import_runs_from_the_folder_holding_camvid(tmp_path, monkeypatch, capsys):
    """`--classes camvid` is the preset even beside a `camvid/` dataset folder (it used to be read
    as a schema file and failed with "Is a directory")."""
    for sub in ("train", "trainannot"):
        (tmp_path / "camvid" / sub).mkdir(parents=True)
    rgb = np.zeros((12, 16, 3), np.uint8)
    mask = np.full((12, 16), 3, np.uint8)  # Road
    mask[:4] = 0  # Sky
    Image.fromarray(rgb).save(tmp_path / "camvid" / "train" / "a.png")
    Image.fromarray(mask).save(tmp_path / "camvid" / "trainannot" / "a.png")
    monkeypatch.chdir(tmp_path)
    line = next(c for c in command_lines(guide()) if c.startswith("labeler import mask-png --images camvid/train"))
    assert cli.main(shlex.split(line, comments=True)[1:] + ["-q"]) == 0, capsys.readouterr().err
    from labeler.core.project import Project

    with Project.open(tmp_path / "P", read_only=True) as project:
        assert project.schema.names()[:4] == ["Sky", "Building", "Pole", "Road"]
        ann = project.load("camvid/train/a.png") if "camvid/train/a.png" in project.image_keys() \
            else project.load(project.image_keys()[0])
        assert sorted({s.label for s in ann.shapes}) == ["Road", "Sky"]
