"""The output folder of an export: refuse to mix with other files, list what was written, and
clear what an earlier export of the same format left behind.

Every export (through :func:`labeler.formats.registry.export_project`, which ``labeler export``
and the Export dialog use) runs inside an :class:`ExportTarget`. It records each file the
exporter writes (every write goes through :mod:`labeler.core.fileio`) and at the end writes the
manifest ``OUT/.labeler-export.json``::

    {"tool": "labeler", "version": 2, "format": "voc", "split": null, "written": "2026-...Z",
     "complete": true, "files": ["VOCdevkit/VOC2012/Annotations/a.xml", ...],   # relative to OUT
     "stamps": {"VOCdevkit/VOC2012/Annotations/a.xml": [812, 1795000000123456789], ...}}
                                                                   # [size, mtime_ns] when written

The rules, checked before anything is written:

- OUT missing or empty: export.
- OUT holds a manifest of the same format and the same split (or this export is of every
  image): export, then delete the files the old manifest lists that this export did not write
  again (the masks of images removed from the project since, the lists of a split that is gone)
  and folders that this leaves empty. Nothing the manifest does not
  list is ever deleted, nor the project's own files (images, annotations, project file,
  ``.labeler``; anything inside the project when OUT is the project folder or above it), nor
  a listed file whose size or modification time is no longer the one the manifest stamped when the
  export wrote it (the user edited or replaced it, or the entry was added by hand: kept, with a
  warning), nor a name that reaches a file this export has just written (``./a.png``, or
  ``A.png`` on a case-insensitive file system). A manifest of an older labeler (no stamps) or of a
  newer one (a higher ``version``) gets nothing deleted.
- OUT is not empty and has no manifest (the user's own files), or holds another format's export:
  refused with :class:`ExportTargetError`, unless ``overwrite``. With ``overwrite`` files of the
  same name are replaced and nothing else is touched: no file is deleted, and the other format's
  files stay (the new manifest lists only this export's files, so later exports leave them alone).

The files an export lists (with matching stamps) are not images of the project either, when OUT is
inside one of its image folders (:mod:`labeler.core.export_manifest`).

An export of one split into a folder that holds another split's export (``--split val`` after
``--split train``) deletes nothing either: the manifest lists both (``"split": ["train", "val"]``)
and the next export of every image clears what is stale.

An export that fails or is cancelled deletes nothing; its manifest lists the old export's files
and the new ones together, so the next export clears both. A crash before the manifest is written
leaves the old manifest: the new files it does not list are never deleted.

One export at a time per folder: a second one (the window and ``labeler export`` at once) is
refused while the first holds the folder's lock (``flock`` on the folder itself: no file is made;
where the platform has no ``flock`` exports are not locked).
"""

from __future__ import annotations

import json
import os
import threading
import unicodedata
from datetime import datetime, timezone
from pathlib import Path

from ..core.errors import LabelerError, UnsafePathError
from ..core.export_manifest import MANIFEST
from ..core.fileio import recording_writes, safe_join, write_json_atomic
from ..core.project import LOCK_FILE, PROJECT_FILE

VERSION = 2  # 2: "version" and "stamps" (a manifest without them deletes nothing)


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


def _lock_folder(out: Path) -> int | None:
    """Hold ``out``'s export lock (an exclusive ``flock`` on the folder): the open descriptor, or
    None where the platform or file system has none. Raises :class:`ExportTargetError` when
    another export (another thread or process) holds it."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return None
    try:
        fd = os.open(out, os.O_RDONLY)
    except OSError:  # pragma: no cover - a folder that cannot be opened for reading
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ExportTargetError(f"{out}: another export is writing into this folder (the window or "
                                "`labeler export`); wait for it to finish, or choose another folder") from None
    except OSError:  # pragma: no cover - a file system without flock
        os.close(fd)
        return None
    return fd


def _splits_of(manifest: dict | None) -> set[str] | None:
    """The splits an earlier export holds: None for every image (or a manifest that does not say)."""
    split = (manifest or {}).get("split")
    if isinstance(split, str):
        return {split}
    if isinstance(split, list) and split and all(isinstance(s, str) for s in split):
        return set(split)
    return None


def _merge_splits(previous: set[str] | None, split: str | None) -> str | list[str] | None:
    if previous is None or split is None:
        return None
    merged = sorted(previous | {split})
    return merged[0] if len(merged) == 1 else merged


def _name_key(rel: str) -> str:
    """A name as a case-insensitive, normalising file system compares it."""
    return unicodedata.normalize("NFC", rel).casefold()


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
        self._written: dict[str, list[int]] = {}  # relative path -> [size, mtime_ns] when written
        self._thread = threading.get_ident()
        self._recording = None
        self._lock: int | None = None
        self._root = self._prefix = None

    # -- recording ---------------------------------------------------------------------
    def __enter__(self) -> "ExportTarget":
        if not self.out.is_dir():
            check_target(self.out, self.fmt, self.overwrite)  # not a folder: refused before making one
            self.out.mkdir(parents=True, exist_ok=True)
        self._lock = _lock_folder(self.out)
        try:
            self.previous = check_target(self.out, self.fmt, self.overwrite)  # again, under the lock
            self._root = self.out.resolve()
            self._prefix = os.path.join(str(self._root), "")
            self._recording = recording_writes(self._record)
            self._recording.__enter__()
        except BaseException:
            self._unlock()
            raise
        return self

    def _unlock(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # closing the descriptor releases the flock
            self._lock = None

    def _record(self, path: str) -> None:
        if threading.get_ident() != self._thread:
            return  # another thread's write (the window's autosave, a journal): not this export's
        if not path.startswith(self._prefix):  # the exporters join resolved paths: resolve only others
            path = str(Path(path).resolve())
            if not path.startswith(self._prefix):
                return
        rel = Path(path[len(self._prefix):]).as_posix()
        if rel != MANIFEST:
            try:
                st = os.stat(path)
            except OSError:
                return
            self._written[rel] = [st.st_size, st.st_mtime_ns]

    def __exit__(self, exc_type, exc, tb) -> bool:
        try:
            self._recording.__exit__(exc_type, exc, tb)
            old = list(self.previous["files"]) if self.previous else []
            old_stamps = self._trusted_stamps()
            prev_splits = _splits_of(self.previous)
            if exc_type is None and (self.split is None or prev_splits == {self.split}):
                self.removed = self._remove_stale([f for f in old if f not in self._written], old_stamps)
                self.files = sorted(self._written)
                stamps, split = dict(self._written), self.split
            else:  # failed or cancelled, or one split after another: delete nothing, list both exports' files
                kept = {f for f in old if f not in self._written and self._is_file(f)}
                self.files = sorted(set(self._written) | kept)
                stamps = {f: old_stamps[f] for f in kept if f in old_stamps} | self._written
                split = self.split if self.previous is None else _merge_splits(prev_splits, self.split)
            if self.files or self.previous is not None:
                self._write_manifest(complete=exc_type is None, stamps=stamps, split=split)
        finally:
            self._unlock()
        if self.report is not None and exc_type is None:
            self.report.outputs["manifest"] = str(self.out / MANIFEST)
            if self.removed:
                self.report.outputs["removed"] = list(self.removed)
        return False

    # -- manifest and clean-up ---------------------------------------------------------
    def _write_manifest(self, complete: bool, stamps: dict, split) -> None:
        data = {"tool": "labeler", "version": VERSION, "format": self.fmt, "split": split,
                "written": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "complete": complete, "files": self.files,
                "stamps": {f: stamps[f] for f in self.files if f in stamps}}
        write_json_atomic(self.out / MANIFEST, data)

    def _trusted_stamps(self) -> dict[str, tuple[int, int]]:
        """The earlier manifest's stamps, when it is of a version that wrote them as this one does."""
        prev = self.previous
        if not prev:
            return {}
        version, stamps = prev.get("version"), prev.get("stamps")
        if not isinstance(version, int) or version > VERSION or prev.get("tool", "labeler") != "labeler":
            if version is not None and prev["files"]:
                self._warn(f"{self.out / MANIFEST}: written by a newer labeler (version {version}) or another "
                           f"tool; the {len(prev['files'])} files it lists were not deleted")
            return {}
        if not isinstance(stamps, dict):
            return {}
        return {f: (s[0], s[1]) for f, s in stamps.items()
                if isinstance(s, list) and len(s) == 2 and all(type(x) is int for x in s)}

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

    def _protected(self) -> tuple[list[Path], set[Path]]:
        """The folders whose whole content is the project's and the files that are the project's
        (its images, annotations, project file and lock). An export inside the project folder
        (``PROJECT/export``) may clear its own files there; one into the project folder itself or
        into a folder above it deletes nothing inside the project."""
        if self.project is None:
            return [], set()
        root = Path(self.project.root).resolve()
        files = {root / PROJECT_FILE, root / LOCK_FILE}
        for key in self.project.image_keys():
            for where in (self.project.image_path, self.project.annotation_path):
                try:
                    files.add(Path(where(key)).resolve())
                except (LabelerError, OSError):
                    continue
        folders = [root / ".labeler"]
        if getattr(self.project, "annotation_dir", None):
            folders.append((root / self.project.annotation_dir).resolve())
        out = self.out.resolve()
        if root not in out.parents:
            folders.append(root)
        return folders, files

    def _just_written(self, p: Path, root: Path, written_keys: dict[str, list[str]]) -> bool:
        """Whether ``p`` is another name of a file this export wrote (``./a.png``, ``A.png`` for
        ``a.png`` where the file system ignores case or normalises unicode)."""
        for rel in written_keys.get(_name_key(p.relative_to(root).as_posix()), ()):
            try:
                if os.path.samefile(p, root / rel):
                    return True
            except OSError:
                continue
        return False

    def _remove_stale(self, stale: list[str], stamps: dict[str, tuple[int, int]]) -> list[str]:
        if not stale:
            return []
        folders, project_files = self._protected()
        written_keys: dict[str, list[str]] = {}
        for rel in self._written:
            written_keys.setdefault(_name_key(rel), []).append(rel)
        removed, changed = [], []
        root = self.out.resolve()
        for rel in sorted(stale):
            p = self._lexical(rel)
            if p is None or not p.is_file() or p.is_symlink() or self._just_written(p, root, written_keys):
                continue
            if p in project_files or any(f == p or f in p.parents for f in folders):
                self._warn(f"{p}: listed by the earlier export but part of the project; not deleted")
                continue
            st = p.stat()
            if stamps.get(rel) != (st.st_size, st.st_mtime_ns):
                changed.append(rel)
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
        if changed:
            self._warn(f"{self.out}: {len(changed)} files listed by the earlier export were changed since the "
                       f"earlier export wrote them, or it has no record of writing them; not deleted: "
                       + ", ".join(changed[:5]) + (", ..." if len(changed) > 5 else ""))
        return removed

    def _warn(self, message: str) -> None:
        if self.report is not None:
            self.report.warn(message)
