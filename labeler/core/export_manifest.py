"""The manifest an export leaves in its folder, as the project reads it.

``OUT/.labeler-export.json`` (written by :mod:`labeler.formats.export_target`) lists the files the
export wrote, each with the ``[size, mtime_ns]`` it had then. A project whose image folders hold
an export (``PROJECT/export``, or the project folder itself) must not take the exported images and
masks for images to label: :func:`exported_files` says which files are the export's. A listed file
without a matching stamp (edited since, or added to the list by hand) is not the export's.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

MANIFEST = ".labeler-export.json"


def exported_files(folder: str | os.PathLike) -> set[Path]:
    """The files under ``folder`` that its export manifest lists and that are still as the export
    wrote them (absolute, not resolved); empty when there is no readable manifest."""
    folder = Path(folder).absolute()
    try:
        data = json.loads((folder / MANIFEST).read_text("utf-8"))
        stamps = data["stamps"]
        files = data["files"]
    except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError):
        return set()
    if not isinstance(stamps, dict) or not isinstance(files, list):
        return set()
    found = set()
    for rel in files:
        stamp = stamps.get(rel) if isinstance(rel, str) else None
        if not isinstance(stamp, list) or len(stamp) != 2:
            continue
        path = Path(os.path.normpath(folder / rel))
        if folder not in path.parents:
            continue
        try:
            st = path.stat()
        except OSError:
            continue
        if [st.st_size, st.st_mtime_ns] == stamp:
            found.add(path)
    return found
