"""Precompute a whole project's image embeddings into the project's own cache folder.

The folder is ``PROJECT/.labeler/embeddings/<model id>/``, one file per image, named by the hash
of the image's pixels and the model (see :mod:`labeler.assist.cache`). Entries hold CPU tensors,
so a folder computed on a GPU machine can be copied next to the project on a laptop and is used
there as it is. Images already in the folder are skipped without loading the model.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..core.errors import LabelerError
from ..core.images import read_image
from ..core.jobs import JobContext, Report
from .cache import EmbeddingCache
from .engine import as_rgb

EMBEDDINGS_FOLDER = Path(".labeler") / "embeddings"


def model_id(cache_key: str) -> str:
    """A folder name for an engine's ``cache_key`` (``sam:1f2e...`` -> ``sam-1f2e...``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", cache_key).strip("-.") or "model"


def embedding_dir(project_root: str | Path, cache_key: str) -> Path:
    """``PROJECT/.labeler/embeddings/<model id>``: where a project keeps one model's embeddings."""
    return Path(project_root) / EMBEDDINGS_FOLDER / model_id(cache_key)


def use_project_cache(engine, project_root: str | Path) -> Path | None:
    """Point an engine's own cache (the SAM engine has one) at the project's folder for its model,
    so the window uses what ``labeler embed`` computed and keeps what it computes itself.

    Returns the folder, or None for an engine that has no cache or cannot store its states.
    """
    cache = getattr(engine, "cache", None)
    if not isinstance(cache, EmbeddingCache) or not hasattr(engine, "state_to_dict"):
        return None
    cache.folder = embedding_dir(project_root, engine.cache_key)
    return cache.folder


def embed_project(project, engine, cache: EmbeddingCache, ctx: JobContext | None = None,
                  keys: list[str] | None = None) -> Report:
    """Prepare every image of ``project`` (or ``keys``) into ``cache``'s disk folder.

    ``report.done`` counts the images encoded now, ``report.outputs["cached"]`` those that were
    there already; an unreadable image is one error line naming its file (or stops the job under
    the strict policy).
    """
    if cache.folder is None:
        raise LabelerError("embedding a project needs a cache with a disk folder")
    ctx = ctx or JobContext()
    report = ctx.report
    report.outputs.setdefault("cached", 0)
    keys = project.image_keys() if keys is None else keys
    own = getattr(engine, "cache", None) is cache
    for key in ctx.track(keys, total=len(keys), desc="embedding"):
        path = project.image_path(key)
        try:
            image = as_rgb(read_image(path))
        except LabelerError as e:
            ctx.problem(str(e))
            continue
        if cache.on_disk(cache.key(engine, image)):
            report.outputs["cached"] += 1
            continue
        if own:
            engine.prepare(image)
        else:
            cache.get_or_prepare(engine, image)
        report.done += 1
    report.outputs["folder"] = str(cache.folder)
    return report
