"""The first image key of a project without scanning every folder.

``Project.image_keys()`` walks every image folder and sorts what it finds; the window only needs
its first key to show an image, and that one is found by a depth-first walk that visits each
folder's entries in key order and stops at the first image (a few folders of a 50,000-image
tree instead of all of them). The walk applies the scan's own rules (skipped and hidden folders,
the annotation folder, files an export manifest lists) so its answer is ``image_keys()[0]``.
"""

from __future__ import annotations

import os
from pathlib import Path

from .export_manifest import MANIFEST as EXPORT_MANIFEST, exported_files
from .images import IMAGE_EXTENSIONS
from .project import _SKIP_DIRS, Project, _posix_rel

MAX_FOLDERS = 200  # a walk that has read this many folders gives up: the full scan answers instead


class _GiveUp(Exception):
    pass


def first_image_key(project: Project, max_folders: int = MAX_FOLDERS) -> str | None:
    """``project.image_keys()[0]`` (None when there are no images), or None when finding it would
    read more than ``max_folders`` folders."""
    ann_dir = (project.root / project.annotation_dir).resolve() if project.annotation_dir else None
    budget = [max_folders]
    found = list(project._explicit_images or [])
    try:
        for r in project.image_roots:
            folder = project.root / r
            if folder.is_dir():
                key = _first_in(folder, project.root, ann_dir, frozenset(), budget)
                if key is not None:
                    found.append(key)
    except (_GiveUp, OSError):
        return None
    return min(found) if found else None


def _first_in(folder: Path, root: Path, ann_dir: Path | None, exported: frozenset, budget: list) -> str | None:
    budget[0] -= 1
    if budget[0] < 0:
        raise _GiveUp
    if ann_dir is not None and folder.resolve() == ann_dir:
        return None  # the scan never lists the annotation folder's files nor walks below it
    with os.scandir(folder) as it:
        entries = list(it)
    names = {e.name for e in entries}
    if EXPORT_MANIFEST in names:
        exported = exported | exported_files(folder)
    # a folder sorts by its name and '/', so that entries come in the order of the keys below them
    order = sorted(((e.name + "/" if e.is_dir() else e.name), e) for e in entries)
    rel_dir = None
    for sort_name, e in order:
        if sort_name.endswith("/"):
            if e.name in _SKIP_DIRS or e.name.startswith(".") or e.is_symlink():
                continue  # os.walk lists a linked folder but does not walk into it
            key = _first_in(Path(e.path), root, ann_dir, exported, budget)
            if key is not None:
                return key
        elif e.name.lower().endswith(IMAGE_EXTENSIONS) and not e.name.startswith("."):
            if exported and Path(os.path.normpath(Path(folder, e.name).absolute())) in exported:
                continue
            rel_dir = rel_dir or _posix_rel(folder, root)
            return e.name if rel_dir == "." else f"{rel_dir}/{e.name}"
    return None
