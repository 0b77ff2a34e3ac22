"""The output folder of an export: refuse to mix with other files, list what was written, and
clear what an earlier export of the same format left behind.

Every export (through :func:`labeler.formats.registry.export_project`, which ``labeler export``
and the Export dialog use) runs inside an :class:`ExportTarget`. It records each file the
exporter writes (every write goes through :mod:`labeler.core.fileio`) and at the end writes the
manifest ``OUT/.labeler-export.json``::

    {"tool": "labeler", "format": "voc", "split": null, "written": "2026-...Z",
     "files": ["VOCdevkit/VOC2012/Annotations/a.xml", ...]}      # relative to OUT

The rules, checked before anything is written:

- OUT missing or empty: export.
- OUT holds a manifest of the same format: export, then delete the files the old manifest lists
  that this export did not write again (the masks of images removed from the project since, the
  lists of a split that is gone) and folders that this leaves empty. Nothing the manifest does not
  list is ever deleted, nor anything inside the project folder or any of the project's images.
- OUT is not empty and has no manifest (the user's own files), or holds another format's export:
  refused with :class:`ExportTargetError`, unless ``overwrite``. With ``overwrite`` files of the
  same name are replaced and nothing else is touched: no file is deleted, and the other format's
  files stay (the new manifest lists only this export's files, so later exports leave them alone).

An export that fails or is cancelled deletes nothing; its manifest lists the old export's files
and the new ones together, so the next export clears both.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timezone
from pathlib import Path

from ..core.errors import LabelerError, UnsafePathError
from ..core.fileio import recording_writes, safe_join, write_json_atomic

MANIFEST = ".labeler-export.json"


class ExportTargetError(LabelerError):
    """The output folder cannot take this export without ``overwrite``."""


def read_manifest(out: str | os.PathLike) -> dict | None:
    """The manifest of an earlier export in ``out``, or None when there is none.

    Raises :class:`ExportTargetError` for a manifest that cannot be read."""
    path = Path(out) / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ExportTargetError(f"{path}: export manifest cannot be read ({e}); delete it, or give --overwrite "
                                "to write over the folder without removing anything") from None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("format"), str) or not isinstance(files, list) \
            or not all(isinstance(f, str) for f in files):
        raise ExportTargetError(f"{path}: not an export manifest (needs 'format' and a 'files' list); delete it, "
                                "or give --overwrite to write over the folder without removing anything")
    return data


def check_target(out: str | os.PathLike, fmt: str, overwrite: bool = False) -> dict | None:
    """Whether ``fmt`` may be exported into ``out``: the earlier manifest whose files this export
    replaces (None when there is none to clear). Raises :class:`ExportTargetError` when not."""
    out = Path(out)
    if not out.exists():
        return None
    if not out.is_dir():
        raise ExportTargetError(f"{out}: exists and is not a folder")
    try:
        manifest = read_manifest(out)
    except ExportTargetError:
        if overwrite:
            return None
        raise
    if manifest is None:
        if not overwrite and any(p.name != MANIFEST for p in out.iterdir()):
            raise ExportTargetError(
                f"{out}: folder is not empty and holds no earlier labeler export; choose an empty folder, or "
                "give --overwrite to write into it (files of the same name are replaced, nothing is deleted)")
        return None
    if manifest["format"] != fmt:
        if not overwrite:
            raise ExportTargetError(
                f"{out}: folder holds a {manifest['format']} export; exporting {fmt} there would mix two "
                f"formats: choose another folder, or give --overwrite (the {manifest['format']} files are kept)")
        return None
    return manifest


class ExportTarget:
    """``with ExportTarget(out, "voc", overwrite=..., project=...) as target: <export>``.

    After a successful export ``target.files`` are the files written (relative, '/'-separated)
    and ``target.removed`` the files of the earlier export it deleted."""

    def __init__(self, out: str | os.PathLike, fmt: str, *, overwrite: bool = False, project=None,
                 split: str | None = None, report=None) -> None:
        self.out = Path(out)
        self.fmt = fmt
        self.overwrite = overwrite
        self.project = project
        self.split = split
        self.report = report
        self.previous: dict | None = None
        self.files: list[str] = []
        self.removed: list[str] = []
        self._written: set[str] = set()
        self._thread = threading.get_ident()
        self._recording = None
        self._root = self._prefix = None

    # -- recording ---------------------------------------------------------------------
    def __enter__(self) -> "ExportTarget":
        self.previous = check_target(self.out, self.fmt, self.overwrite)
        self._root = self.out.resolve()
        self._prefix = os.path.join(str(self._root), "")
        self._recording = recording_writes(self._record)
        self._recording.__enter__()
        return self

    def _record(self, path: str) -> None:
        if threading.get_ident() != self._thread:
            return  # another thread's write (the window's autosave, a journal): not this export's
        if not path.startswith(self._prefix):  # the exporters join resolved paths: resolve only others
            path = str(Path(path).resolve())
            if not path.startswith(self._prefix):
                return
        rel = Path(path[len(self._prefix):]).as_posix()
        if rel != MANIFEST:
            self._written.add(rel)

    def __exit__(self, exc_type, exc, tb) -> bool:
        self._recording.__exit__(exc_type, exc, tb)
        old = list(self.previous["files"]) if self.previous else []
        if exc_type is None:
            self.removed = self._remove_stale([f for f in old if f not in self._written])
            self.files = sorted(self._written)
        else:  # failed or cancelled: delete nothing, remember both exports' files for the next one
            self.files = sorted(self._written | {f for f in old if self._is_file(f)})
        if self.files or self.previous is not None:
            self._write_manifest(complete=exc_type is None)
        if self.report is not None and exc_type is None:
            self.report.outputs["manifest"] = str(self.out / MANIFEST)
            if self.removed:
                self.report.outputs["removed"] = list(self.removed)
        return False

    # -- manifest and clean-up ---------------------------------------------------------
    def _write_manifest(self, complete: bool) -> None:
        data = {"tool": "labeler", "format": self.fmt, "split": self.split,
                "written": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "complete": complete, "files": self.files}
        write_json_atomic(self.out / MANIFEST, data)

    def _lexical(self, rel: str) -> Path | None:
        """``out/rel`` when it is a plain file reached through no link and inside ``out``."""
        try:
            resolved = safe_join(self.out, rel)
        except UnsafePathError:
            return None
        root = self.out.resolve()
        lexical = Path(os.path.normpath(root / rel))
        if resolved != lexical or lexical == root or lexical.name == MANIFEST:
            return None  # a link somewhere on the way, or the folder itself: not ours to delete
        return lexical

    def _is_file(self, rel: str) -> bool:
        p = self._lexical(rel)
        return p is not None and p.is_file()

    def _protected(self) -> tuple[Path | None, set[Path]]:
        if self.project is None:
            return None, set()
        images = set()
        for key in self.project.image_keys():
            try:
                images.add(Path(self.project.image_path(key)).resolve())
            except (LabelerError, OSError):
                continue
        return Path(self.project.root).resolve(), images

    def _remove_stale(self, stale: list[str]) -> list[str]:
        if not stale:
            return []
        project_root, images = self._protected()
        removed = []
        root = self.out.resolve()
        for rel in sorted(stale):
            p = self._lexical(rel)
            if p is None or not p.is_file() or p.is_symlink():
                continue
            if p in images or (project_root is not None and (p == project_root or project_root in p.parents)):
                self._warn(f"{p}: listed by the earlier export but part of the project; not deleted")
                continue
            try:
                p.unlink()
            except OSError as e:
                self._warn(f"{p}: left by the earlier export and could not be deleted: {e}")
                continue
            removed.append(rel)
            for parent in p.parents:  # folders this leaves empty go too, never ``out`` itself
                if parent == root or root not in parent.parents:
                    break
                try:
                    parent.rmdir()
                except OSError:
                    break
        return removed

    def _warn(self, message: str) -> None:
        if self.report is not None:
            self.report.warn(message)
