"""labelme: a folder of labelme JSON files, beside their images or not.

Import reads every ``*.json`` under a folder (recursively), finds each image through its
``imagePath`` (relative to the JSON; Windows separators and stale absolute paths are tolerated by
falling back to the file name beside the JSON), and registers it in the project by path, without
copying. A JSON whose image is missing but which embeds it (``imageData``) gets the decoded image
written *inside the project* under ``images/``. Every labelme shape type is read; labels the
schema lacks are added to it. A corrupt file or a broken shape is reported naming the file and
skipped; the rest of the folder goes on.

Export writes one labelme JSON per image next to a copy of the image (or, with
``copy_images=False``, a JSON whose ``imagePath`` points at the original). The JSON is the one
labelme's ``LabelFile`` reads; what labelme lacks rides along under ``"labeler"`` keys, which
labelme keeps as ``other_data``.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
from pathlib import Path, PurePosixPath
from typing import Iterable

from PIL import Image, UnidentifiedImageError

from .common import far_outside, save_imported
from ..core.annotation import from_labelme_dict, read_annotation, to_labelme_dict
from ..core.errors import LabelerError
from ..core.fileio import atomic_open, safe_join, write_json_atomic
from ..core.images import IMAGE_EXTENSIONS, image_size
from ..core.jobs import JobContext
from ..core.project import PROJECT_FILE, Project

#: where images embedded in labelme JSONs (``imageData``) are written, under the project
EMBEDDED_IMAGE_DIR = "images"
_SKIP_DIRS = {".git", ".labeler", "__pycache__", ".venv", "node_modules"}
_PIL_EXT = {"PNG": ".png", "JPEG": ".jpg", "BMP": ".bmp", "TIFF": ".tif", "WEBP": ".webp"}


# ----------------------------------------------------------------------------- detect


def _json_files(folder: Path, max_depth: int | None = None) -> Iterable[Path]:
    base = len(folder.parts)
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        if max_depth is not None and len(Path(dirpath).parts) - base >= max_depth:
            dirnames[:] = []
        for fn in sorted(filenames):
            if fn.lower().endswith(".json") and fn != PROJECT_FILE and not fn.startswith("."):
                yield Path(dirpath) / fn


def _looks_like_labelme(path: Path) -> bool:
    try:
        if path.stat().st_size > 200_000_000:
            return False
        d = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(d, dict) and isinstance(d.get("shapes"), list) and "imagePath" in d


def detect(path) -> bool:
    """A labelme JSON file, or a folder whose first JSON files are labelme files."""
    path = Path(path)
    if path.is_file():
        return path.suffix.lower() == ".json" and _looks_like_labelme(path)
    if not path.is_dir():
        return False
    for i, f in enumerate(_json_files(path, max_depth=2)):
        if i >= 5:
            break
        if _looks_like_labelme(f):
            return True
    return False


# ----------------------------------------------------------------------------- import


def _find_image(json_path: Path, image_path: str) -> Path | None:
    """The image a labelme JSON refers to: ``imagePath`` relative to the JSON, else the same
    file name beside the JSON, else an image with the JSON's stem beside it."""
    rel = (image_path or "").replace("\\", "/")
    candidates = []
    if rel:
        p = Path(rel)
        candidates.append(p if p.is_absolute() else json_path.parent / p)
        candidates.append(json_path.parent / PurePosixPath(rel).name)
    candidates.extend(json_path.with_suffix(ext) for ext in IMAGE_EXTENSIONS)
    for c in candidates:
        if c.is_file() and c.suffix.lower() in IMAGE_EXTENSIONS:
            return c
    return None


def _write_embedded_image(raw: dict, json_path: Path, src: Path, project: Project) -> Path:
    """Decode ``imageData`` and write it under the project's ``images/`` folder."""
    try:
        data = base64.b64decode(raw["imageData"], validate=False)
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            fmt = im.format or "PNG"
    except (ValueError, TypeError, UnidentifiedImageError, OSError) as e:
        raise LabelerError(f"{json_path}: imageData does not decode to an image: {e}") from None
    rel = json_path.relative_to(src) if json_path.is_relative_to(src) else Path(json_path.name)
    rel = rel.with_suffix(_PIL_EXT.get(fmt, ".png"))
    target = safe_join(project.root, f"{EMBEDDED_IMAGE_DIR}/{rel.as_posix()}")
    if fmt in _PIL_EXT:
        with atomic_open(target, "wb") as f:
            f.write(data)
    else:  # a format we do not keep as is (GIF, ...): store it as PNG
        with Image.open(io.BytesIO(data)) as im, atomic_open(target, "wb") as f:
            im.save(f, format="PNG")
    return target


def _import_one(json_path: Path, src: Path, project: Project, ctx: JobContext, seen: dict) -> None:
    ann, problems = read_annotation(json_path, strict=False)
    for p in problems:
        ctx.problem(p)
    raw = None
    image = _find_image(json_path, ann.image_path)
    if image is None:
        raw = json.loads(json_path.read_text("utf-8"))
        if not raw.get("imageData"):
            ctx.problem(f"{json_path}: image {ann.image_path!r} not found and the file embeds no imageData")
            return
        image = _write_embedded_image(raw, json_path, src, project)
    w, h = image_size(image)
    if (w, h) != (ann.width, ann.height):
        ctx.report.warn(f"{json_path}: imageWidth x imageHeight {ann.width} x {ann.height} does not match "
                        f"the image {image} ({w} x {h}); using the image's size")
        raw = raw if raw is not None else json.loads(json_path.read_text("utf-8"))
        raw["imageWidth"], raw["imageHeight"] = w, h
        ann, _ = from_labelme_dict(raw, source=str(json_path), strict=False)
    for s in [s for s in ann.shapes if far_outside(s, ann.width, ann.height)]:
        ctx.problem(f"{json_path}: {s.label} {s.kind} skipped: {far_outside(s, ann.width, ann.height)}")
        ann.shapes.remove(s)
    for s in ann.shapes:
        if s.label not in project.schema:
            project.schema.add(s.label)
    key = project.add_images([Path(os.path.abspath(image))])[0]
    if key in seen:
        ctx.report.warn(f"{json_path}: image {key} is also annotated by {seen[key]}; the later file wins")
    seen[key] = json_path
    save_imported(project, key, ann.width, ann.height, ann.shapes, status=ann.status if ann.status != "new" else "done",
                  tags=ann.tags, extra=ann.extra)
    ctx.report.done += 1


def import_dataset(src, project: Project, ctx: JobContext | None = None, **options) -> None:
    """Read a folder (or one file) of labelme JSONs into ``project``."""
    ctx = ctx or JobContext()
    src = Path(os.path.abspath(src))
    if options:
        raise TypeError(f"labelme import takes no options {sorted(options)}")
    files = [src] if src.is_file() else list(_json_files(src))
    if src.is_file():
        src = src.parent
    seen: dict[str, Path] = {}
    for json_path in ctx.track(files, len(files), "labelme import"):
        try:
            _import_one(json_path, src, project, ctx, seen)
        except (LabelerError, OSError, ValueError) as e:
            msg = str(e)
            ctx.problem(msg if str(json_path) in msg else f"{json_path}: {msg}")
    project.save()


# ----------------------------------------------------------------------------- export


def export_names(keys: list[str]) -> dict[str, str]:
    """Output relative paths for image keys: the keys relative to their deepest common folder,
    so ``../data/cam/train/a.png`` and ``../data/cam/val/b.png`` become ``train/a.png`` and
    ``val/b.png`` (and never climb out of the output folder)."""
    if not keys:
        return {}
    parents = [PurePosixPath(k).parent.parts for k in keys]
    common = 0
    for parts in zip(*parents):
        if all(p == parts[0] for p in parts):
            common += 1
        else:
            break
    out = {}
    for k in keys:
        parts = PurePosixPath(k).parts[common:]
        out[k] = "/".join("_up_" if p == ".." else p for p in parts)
    return out


def _copy_atomic(src: Path, dst: Path) -> None:
    with open(src, "rb") as fin, atomic_open(dst, "wb") as fout:
        shutil.copyfileobj(fin, fout)


def export_dataset(project: Project, out, ctx: JobContext | None = None, split: str | None = None, *,
                   copy_images: bool = True, image_data: bool = False, **options) -> None:
    """One labelme JSON per image under ``out``.

    ``copy_images``: copy each image next to its JSON (else ``imagePath`` points at the original).
    ``image_data``: also embed the image bytes as base64 ``imageData``.
    Images without an annotation file are skipped (labelme shows them unlabelled anyway).
    """
    ctx = ctx or JobContext()
    if options:
        raise TypeError(f"labelme export takes no options {sorted(options)}")
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    keys = [k for k in project.keys_in_split(split) if project.has_annotation(k)]
    names = export_names(sorted(set(project.image_keys()) | set(keys)))  # same layout for any split
    for key in ctx.track(keys, len(keys), "labelme export"):
        src_image = project.image_path(key)
        try:
            ann, problems = project.load_with_problems(key)
            for p in problems:
                ctx.report.warn(p)
            if not src_image.is_file():
                raise LabelerError(f"{src_image}: image not found")
            json_path = safe_join(out, names[key]).with_suffix(".json")
            if copy_images:
                target = safe_join(out, names[key])
                _copy_atomic(src_image, target)
                image_ref = target.name
            else:
                try:
                    image_ref = Path(os.path.relpath(src_image, json_path.parent)).as_posix()
                except ValueError:  # another drive on Windows
                    image_ref = src_image.as_posix()
            ann = ann.copy()
            ann.image_path = image_ref
            d = to_labelme_dict(ann)
            if image_data:
                d["imageData"] = base64.b64encode(src_image.read_bytes()).decode("ascii")
            write_json_atomic(json_path, d)
        except (LabelerError, OSError) as e:
            msg = str(e)
            ctx.problem(msg if key in msg or str(src_image) in msg else f"{key}: {msg}")
            continue
        ctx.report.done += 1
    ctx.report.outputs["folder"] = str(out)
