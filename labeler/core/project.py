"""A project is a folder: a project file plus one labelme-compatible annotation JSON per image.

``labeler-project.json`` holds the schema, settings, where the images are (folders scanned for
images, and/or an explicit list), where the annotations go, and the splits. Images are referenced
by paths relative to the project folder and are never copied.

Annotations live either in ``annotations/`` under the project (the default for imported
datasets) or, labelme-style, next to each image (``annotation_dir: null``). Opening a plain image
folder, or a folder of labelme JSONs beside images, gives a project of the second kind.

Annotations are read when asked for, so a project of 10,000 images opens without parsing them.
A second process that opens the same project gets it read-only, with a warning.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Iterable

from filelock import FileLock, Timeout

from .annotation import ImageAnnotation, read_annotation, write_annotation
from .errors import ProjectError, ProjectLockedError
from .export_manifest import MANIFEST as EXPORT_MANIFEST, exported_files
from .fileio import write_json_atomic
from .images import IMAGE_EXTENSIONS, image_size
from .schema import Schema

PROJECT_FILE = "labeler-project.json"
LOCK_FILE = ".labeler.lock"
FORMAT_VERSION = 1
_SKIP_DIRS = {".git", ".labeler", "__pycache__", ".venv", "node_modules"}


def _posix_rel(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path, start)).as_posix()


def _plain_json_name(key: str) -> str | None:
    """``key`` with its suffix made ``.json``, when the key is plain ('a/b.png': no '..', '.',
    '//', backslash or leading '/', and a suffix), so that string joins give the same path as
    pathlib; None otherwise."""
    head, sep, name = key.rpartition("/")
    dot = name.rfind(".")
    if 0 < dot < len(name) - 1 and not key.startswith(("/", "./")) and ".." not in key and "//" not in key \
            and "/./" not in key and "\\" not in key:
        return f"{head}{sep}{name[:dot]}.json"
    return None


class Project:
    def __init__(self, root: str | Path, schema: Schema | None = None, *, image_roots: Iterable[str] = (".",),
                 images: Iterable[str] | None = None, annotation_dir: str | None = "annotations",
                 splits: dict | None = None, settings: dict | None = None, extra: dict | None = None) -> None:
        self.root = Path(root).resolve()
        self.schema = schema or Schema([], name="custom")
        self.image_roots = list(image_roots)
        self._explicit_images = list(images) if images is not None else None
        self.annotation_dir = annotation_dir
        self.splits: dict[str, list[str]] = {k: list(v) for k, v in (splits or {}).items()}
        self.settings = dict(settings or {})
        self.extra = dict(extra or {})
        self.read_only = False
        self.lock_warning = ""
        self._lock: FileLock | None = None
        self._keys: list[str] | None = None
        #: held by whoever reads-modifies-writes or writes an annotation file from a background
        #: thread (the window's writer, a class rename), so that two such writes never interleave
        self.write_lock = threading.RLock()

    # -- create / open / save -----------------------------------------------------------
    @classmethod
    def create(cls, root: str | Path, schema: Schema | None = None, **kwargs) -> "Project":
        root = Path(root)
        if (root / PROJECT_FILE).exists():
            raise ProjectError(f"{root / PROJECT_FILE} already exists; open it instead")
        root.mkdir(parents=True, exist_ok=True)
        proj = cls(root, schema, **kwargs)
        proj._acquire_lock()
        proj.save()
        return proj

    @classmethod
    def open(cls, root: str | Path, read_only: bool = False) -> "Project":
        """Open a project folder, a plain image folder, or a folder of labelme JSONs."""
        root = Path(root)
        if root.is_file() and root.name == PROJECT_FILE:
            root = root.parent
        if not root.is_dir():
            raise ProjectError(f"{root}: no such folder")
        pf = root / PROJECT_FILE
        if pf.exists():
            try:
                d = json.loads(pf.read_text("utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                raise ProjectError(f"{pf}: corrupt project file: {e}") from None
            if not isinstance(d, dict):
                raise ProjectError(f"{pf}: project file must be a JSON object")
            proj = cls._from_dict(root, d)
        else:
            proj = cls(root, None, image_roots=["."], annotation_dir=None)
            proj._adopt_labelme_classes()
        if read_only:
            proj.read_only = True
        else:
            proj._acquire_lock()
        return proj

    @classmethod
    def _from_dict(cls, root: Path, d: dict) -> "Project":
        known = {"format_version", "schema", "image_roots", "images", "annotation_dir", "splits", "settings"}
        try:
            schema = Schema.from_dict(d["schema"], source=str(root / PROJECT_FILE)) if "schema" in d else None
        except Exception as e:
            raise ProjectError(f"{root / PROJECT_FILE}: bad schema: {e}") from None
        return cls(root, schema, image_roots=d.get("image_roots", ["."]), images=d.get("images"),
                   annotation_dir=d.get("annotation_dir", "annotations"), splits=d.get("splits"),
                   settings=d.get("settings"), extra={k: v for k, v in d.items() if k not in known})

    def to_dict(self) -> dict:
        d = dict(self.extra)
        d.update({"format_version": FORMAT_VERSION, "schema": self.schema.to_dict(),
                  "image_roots": self.image_roots, "annotation_dir": self.annotation_dir,
                  "splits": self.splits, "settings": self.settings})
        if self._explicit_images is not None:
            d["images"] = self._explicit_images
        return d

    def save(self) -> None:
        self._check_writable()
        write_json_atomic(self.root / PROJECT_FILE, self.to_dict())

    def close(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> "Project":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _acquire_lock(self) -> None:
        lock = FileLock(str(self.root / LOCK_FILE))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            self.read_only = True
            self.lock_warning = (f"{self.root} is open in another labeler process; "
                                 "opened read-only so the two cannot overwrite each other")
            return
        except OSError:
            self.read_only = True  # a read-only folder (a DVD, a mounted share): read, never write
            self.lock_warning = f"{self.root} is not writable; opened read-only"
            return
        self._lock = lock

    def _check_writable(self) -> None:
        if self.read_only:
            raise ProjectLockedError(self.lock_warning or f"{self.root} is open read-only")

    # -- images ---------------------------------------------------------------------------
    def image_keys(self) -> list[str]:
        """Every image's key (its path relative to the project, with '/'), sorted; cached."""
        if self._keys is None:
            keys: set[str] = set(self._explicit_images or [])
            for r in self.image_roots:
                keys.update(self._scan(self.root / r))
            self._keys = sorted(keys)
        return self._keys

    def refresh(self) -> None:
        self._keys = None

    def _scan(self, folder: Path) -> Iterable[str]:
        if not folder.is_dir():
            return
        ann_dir = (self.root / self.annotation_dir).resolve() if self.annotation_dir else None
        exported: set[Path] = set()  # what an export in these folders wrote is not an image to label
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
            if ann_dir is not None and Path(dirpath).resolve() == ann_dir:
                dirnames[:] = []
                continue
            if EXPORT_MANIFEST in filenames:
                exported |= exported_files(dirpath)
            rel_dir = _posix_rel(Path(dirpath), self.root)  # once per folder: 50,000 images scan fast
            for fn in filenames:
                if fn.lower().endswith(IMAGE_EXTENSIONS) and not fn.startswith("."):
                    if exported and Path(os.path.normpath(Path(dirpath, fn).absolute())) in exported:
                        continue
                    yield fn if rel_dir == "." else f"{rel_dir}/{fn}"

    def add_images(self, paths: Iterable[str | Path]) -> list[str]:
        """Register images by path (kept where they are); returns their keys."""
        if self._explicit_images is None:
            self._explicit_images = []
        known = set(self._explicit_images)
        keys = []
        for p in paths:
            p = Path(p)
            key = _posix_rel(p if p.is_absolute() else (self.root / p), self.root)
            if key not in known:
                self._explicit_images.append(key)
                known.add(key)
            keys.append(key)
        self._keys = None
        return keys

    def image_path(self, key: str) -> Path:
        return self.root / key

    def image_size(self, key: str) -> tuple[int, int]:
        return image_size(self.image_path(key))

    # -- annotations ----------------------------------------------------------------------
    def annotation_file(self, key: str) -> str:
        """``annotation_path(key)`` as a string, made without pathlib for a plain key (opening a
        project of 50,000 images stats every annotation file)."""
        rel = _plain_json_name(key)
        if rel is None:
            return str(self.annotation_path(key))
        return os.path.join(str(self.root) if self.annotation_dir is None
                            else os.path.join(self.root, self.annotation_dir), rel)

    def annotation_path(self, key: str) -> Path:
        if _plain_json_name(key) is not None:
            return Path(self.annotation_file(key))  # one path parse instead of four
        img = Path(key)
        if self.annotation_dir is None:
            return (self.root / img).with_suffix(".json")
        parts = ["_up_" if p == ".." else p for p in img.with_suffix(".json").parts]
        return self.root / self.annotation_dir / Path(*parts)

    def has_annotation(self, key: str) -> bool:
        return self.annotation_path(key).is_file()

    def load(self, key: str, strict: bool = False) -> ImageAnnotation:
        """The image's annotation; a fresh empty one (sized from the image header) if none yet."""
        ann, _ = self.load_with_problems(key, strict=strict)
        return ann

    def load_with_problems(self, key: str, strict: bool = False) -> tuple[ImageAnnotation, list[str]]:
        path = self.annotation_path(key)
        if path.is_file():
            return read_annotation(path, strict=strict)
        w, h = self.image_size(key)
        return ImageAnnotation(image_path=self._image_path_from_json(key), width=w, height=h), []

    def save_annotation(self, key: str, ann: ImageAnnotation) -> Path:
        self._check_writable()
        path = self.annotation_path(key)
        ann.image_path = self._image_path_from_json(key)
        write_annotation(path, ann)
        return path

    def _image_path_from_json(self, key: str) -> str:
        return _posix_rel(self.image_path(key), self.annotation_path(key).parent)

    def iter_annotations(self, keys: Iterable[str] | None = None, strict: bool = False):
        """Yield ``(key, annotation, problems)``; unreadable files yield ``(key, None, [reason])``."""
        from .errors import LabelerError

        for key in (self.image_keys() if keys is None else keys):
            try:
                ann, problems = self.load_with_problems(key, strict=strict)
            except LabelerError as e:
                yield key, None, [str(e)]
                continue
            yield key, ann, problems

    def split_of(self, key: str) -> str | None:
        for name, keys in self.splits.items():
            if key in keys:
                return name
        return None

    def keys_in_split(self, split: str | None) -> list[str]:
        if split is None:
            return self.image_keys()
        if split == "trainval" and "trainval" not in self.splits:
            return sorted(set(self.splits.get("train", [])) | set(self.splits.get("val", [])))
        if split not in self.splits:
            raise ProjectError(f"project has no split {split!r}; it has {sorted(self.splits) or 'none'}")
        return list(self.splits[split])

    # -- labelme folders ------------------------------------------------------------------
    def _adopt_labelme_classes(self) -> None:
        """For a plain folder, build a schema from the labels its labelme JSONs use (read lazily
        only when the folder has no project file: labelme folders carry no class list)."""
        labels: list[str] = []
        seen = set()
        for key in self.image_keys():
            p = self.annotation_path(key)
            if not p.is_file():
                continue
            try:
                d = json.loads(p.read_text("utf-8"))
            except (OSError, ValueError):
                continue
            for s in d.get("shapes") or []:
                lab = s.get("label") if isinstance(s, dict) else None
                if isinstance(lab, str) and lab and lab not in seen:
                    seen.add(lab)
                    labels.append(lab)
        for lab in labels:
            self.schema.add(lab)
