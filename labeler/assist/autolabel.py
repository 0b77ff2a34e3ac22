"""Masks from weak labels, in bulk: the job behind ``labeler autolabel`` and the window's command.

For each image, the weak labels of one kind (``boxes``: weak rectangles, ``points``, or
``scribbles``) are grouped by instance: shapes sharing a class and an ``instance_id`` form one
group; otherwise each box and each scribble is a group of its own, and points of one class that
lie within ``cluster_distance`` pixels of each other (chained) form one group. The weak labels
of the same kind in the *other* groups are the group's background prompts (negative points,
background scribbles) when the engine accepts them.

Each group's best proposal is written as a **proposal**: a mask shape with ``source`` = the
engine, its ``score``, ``links`` = the ids of the weak labels it came from, the group's class and
instance id, and ``flags["proposal"] = True`` (awaiting review; accepting it in the window clears
the flag). Accepted shapes are never changed or removed. Running again replaces only earlier
proposals whose links overlap the group's, so a re-run with another engine swaps them.
:func:`regenerate` does the same for one shape, from its links.

The job is Qt-free: progress and cancel go through :class:`~labeler.core.jobs.JobContext`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from ..core.annotation import ImageAnnotation
from ..core.errors import LabelerError
from ..core.jobs import JobContext
from ..core.shapes import POINT, PROPOSAL_FLAG, RECTANGLE, SCRIBBLE, Shape
from .engine import BACKGROUND_SCRIBBLES, NEGATIVE_POINTS, Engine, check_prompts, prompts_from_shapes
from .large_image import LargeImage, LargeImageAdapter, load_for_engine, to_shapes

SOURCES = ("boxes", "points", "scribbles")
#: what users type for an engine -> the engine's registered name
ENGINE_ALIASES = {"superpixels": "superpixel", "slic": "superpixel"}


def weak_kind_of(shape: Shape) -> str | None:
    """``"boxes"``, ``"points"`` or ``"scribbles"`` for a weak label, else None."""
    if shape.kind == RECTANGLE and shape.weak:
        return "boxes"
    if shape.kind == POINT:
        return "points"
    if shape.kind == SCRIBBLE:
        return "scribbles"
    return None


@dataclass
class WeakGroup:
    """The weak labels of one instance: its class, instance id, and shapes."""

    label: str
    instance_id: int | None
    shapes: list[Shape]

    @property
    def links(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.shapes)


def _point_clusters(points: list[Shape], distance: float) -> list[list[Shape]]:
    """Single-linkage clusters: points chained by gaps of at most ``distance`` pixels."""
    parent = list(range(len(points)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    xy = np.array([p.points[0] for p in points]).reshape(-1, 2)
    for i in range(len(points)):
        for j in range(i + 1, len(points)):
            if np.hypot(*(xy[i] - xy[j])) <= distance:
                parent[find(j)] = find(i)
    clusters: dict[int, list[Shape]] = {}
    for i, p in enumerate(points):
        clusters.setdefault(find(i), []).append(p)
    return list(clusters.values())


def group_weak_labels(shapes: Iterable[Shape], source: str, cluster_distance: float = 40.0) -> list[WeakGroup]:
    """The instances of one kind of weak label, in the order their first shape appears."""
    if source not in SOURCES:
        raise LabelerError(f"unknown weak-label kind {source!r}; expected one of {', '.join(SOURCES)}")
    chosen = [s for s in shapes if weak_kind_of(s) == source]
    groups: list[WeakGroup] = []
    by_instance: dict[tuple, WeakGroup] = {}
    loose_points: dict[str, list[Shape]] = {}
    for s in chosen:
        if s.instance_id is not None:
            key = (s.label, s.instance_id)
            if key not in by_instance:
                by_instance[key] = WeakGroup(s.label, s.instance_id, [])
                groups.append(by_instance[key])
            by_instance[key].shapes.append(s)
        elif source == "points":
            loose_points.setdefault(s.label, []).append(s)
        else:
            groups.append(WeakGroup(s.label, None, [s]))
    for label, points in loose_points.items():
        groups.extend(WeakGroup(label, None, c) for c in _point_clusters(points, cluster_distance))
    order = {s.id: i for i, s in enumerate(chosen)}
    return sorted(groups, key=lambda g: min(order[s.id] for s in g.shapes))


def _background(group: WeakGroup, groups: Sequence[WeakGroup], engine: Engine) -> list[Shape]:
    """Other instances' points or scribbles, as negatives, where the engine takes them."""
    out = []
    for other in groups:
        if other is group:
            continue
        for s in other.shapes:
            if (s.kind == POINT and NEGATIVE_POINTS in engine.accepts) or (
                    s.kind == SCRIBBLE and BACKGROUND_SCRIBBLES in engine.accepts):
                out.append(s)
    return out


def propose_for_group(engine: Engine, state, group: WeakGroup, groups: Sequence[WeakGroup] = (),
                      polygons: bool = False) -> list[Shape]:
    """The group's best proposal as shapes marked as proposals (``[]`` when it is empty)."""
    prompts = prompts_from_shapes(group.shapes, _background(group, groups, engine))
    check_prompts(engine, prompts)
    proposals = engine.propose(state, prompts)
    if not proposals:
        return []
    best = max(proposals, key=lambda p: p.score)
    return to_shapes(best, group.label, links=group.links, polygons=polygons,
                              instance_id=group.instance_id, flags={PROPOSAL_FLAG: True})


def replace_proposals(ann: ImageAnnotation, links: Iterable[str], new: list[Shape],
                      also_remove: Iterable[str] = ()) -> None:
    """Swap in ``new`` for the proposals that came from any of ``links`` (accepted shapes stay)."""
    links, drop = set(links), set(also_remove)
    kept = [s for s in ann.shapes if s.id not in drop and not (s.is_proposal and links & set(s.links))]
    ann.shapes = kept + new


def resolve_engine(name: str, model: str | None = None, engines: dict | None = None) -> Engine:
    """The engine called ``name`` (aliases allowed) from the plugins; ``model`` builds SAM on it."""
    typed, name = name, ENGINE_ALIASES.get(name, name)
    if model is not None:
        if name != "sam":
            raise LabelerError(f"--model is for the sam engine, not {name!r}")
        from ..plugins.sam import SamEngine

        return SamEngine(checkpoint=model)
    if engines is None:
        engines = _load_engines(name, typed)
    if name not in engines:
        raise LabelerError(f"no proposal engine named {name!r} (loaded: {', '.join(sorted(engines)) or 'none'})")
    return engines[name]


def _load_engines(*names: str) -> dict:
    """Engines from the plugin whose entry point bears one of ``names`` (no need to import them
    all, SAM's torch included, to run GrabCut), else from every plugin."""
    import importlib.metadata

    from .plugins import ENTRY_POINT_GROUP, load_plugins

    eps = [ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP) if ep.name in names]
    if eps:
        engines = load_plugins(entry_points=eps, user=False).engines
        if names[0] in engines:
            return engines
    return load_plugins().engines


def _check_ready(engine: Engine) -> None:
    """An engine whose model file is missing says so once, before any image is read."""
    if isinstance(getattr(type(engine), "checkpoint", None), property):
        engine.checkpoint  # raises a one-line LabelerError naming what is missing


def _prepare(engine: Engine, path, cache=None):
    """``(engine to propose with, state)`` for an image file. An image too large to decode whole
    goes through :class:`~labeler.assist.large_image.LargeImageAdapter` (a downscaled copy or crops)."""
    image = load_for_engine(path)
    if isinstance(image, LargeImage):
        adapter = LargeImageAdapter(engine)
        return adapter, adapter.prepare(image)
    return engine, cache.get_or_prepare(engine, image) if cache is not None else engine.prepare(image)


def autolabel(project, engine: Engine, source: str, ctx: JobContext | None = None,
              keys: Sequence[str] | None = None, cache=None, cluster_distance: float = 40.0,
              polygons: bool = False) -> JobContext:
    """Proposals from the ``source`` weak labels of every image (or of ``keys``); see the module.

    ``cache`` is an :class:`~labeler.assist.cache.EmbeddingCache` (so the window's prepared
    states are reused); without one each image is prepared once. Returns ``ctx`` with its report:
    ``done`` images written, one warning per empty proposal, one problem per unreadable image.
    """
    ctx = ctx or JobContext()
    if source not in SOURCES:
        raise LabelerError(f"unknown weak-label kind {source!r}; expected one of {', '.join(SOURCES)}")
    _check_ready(engine)
    keys = list(project.image_keys() if keys is None else keys)
    known = set(project.image_keys())
    made = 0
    for key in ctx.track(keys, total=len(keys), desc=f"autolabel ({engine.name} from {source})"):
        if key not in known:
            ctx.problem(f"{project.root}: no image {key!r} in the project")
            continue
        try:
            ann, problems = project.load_with_problems(key)
        except LabelerError as e:
            ctx.problem(f"{project.annotation_path(key)}: {e}; skipped")
            continue
        for p in problems:
            ctx.report.warn(p)
        groups = group_weak_labels(ann.shapes, source, cluster_distance)
        if not groups:
            ctx.report.skipped += 1
            continue
        try:
            runner, state = _prepare(engine, project.image_path(key), cache)
        except LabelerError as e:
            ctx.problem(f"{e}; skipped")
            continue
        for group in groups:
            if ctx.cancelled():  # stop between instances too: a slow engine stays responsive
                break
            try:
                shapes = propose_for_group(runner, state, group, groups, polygons)
            except (LabelerError, ValueError) as e:
                ctx.problem(f"{project.image_path(key)}: {group.label} from {len(group.shapes)} {source}: {e}")
                continue
            if not shapes:
                ctx.report.warn(f"{project.image_path(key)}: {engine.name} found nothing for the "
                                f"{group.label} {source} {', '.join(group.links)}")
            replace_proposals(ann, group.links, shapes)
            made += len(shapes)
        project.save_annotation(key, ann)
        ctx.report.done += 1
    ctx.report.outputs["proposals"] = made
    return ctx


def regenerate(project, key: str, shape_id: str, engine: Engine, cache=None, polygons: bool = False) -> list[Shape]:
    """Make shape ``shape_id`` again from the weak labels it links to, with ``engine``.

    The new shapes are proposals; they replace the shape when it is itself a proposal (an
    accepted shape stays until the user accepts the new one) and every earlier proposal from the
    same weak labels. Returns the new shapes (already saved).
    """
    _check_ready(engine)
    ann = project.load(key)
    target = next((s for s in ann.shapes if s.id == shape_id), None)
    if target is None:
        raise LabelerError(f"{project.annotation_path(key)}: no shape with id {shape_id!r}")
    if not target.links:
        raise LabelerError(f"{project.annotation_path(key)}: shape {shape_id} was not made from weak labels "
                           "(it has no links)")
    by_id = {s.id: s for s in ann.shapes}
    weak = [by_id[i] for i in target.links if i in by_id and weak_kind_of(by_id[i])]
    if not weak:
        raise LabelerError(f"{project.annotation_path(key)}: the weak labels shape {shape_id} came from "
                           "are gone")
    kinds = {weak_kind_of(s) for s in weak}
    group = WeakGroup(target.label, target.instance_id, weak)
    # the other instances of the same kinds of weak label give the background, as in autolabel
    others = [g for k in kinds for g in group_weak_labels(ann.shapes, k)
              if not set(g.links) & set(group.links)]
    runner, state = _prepare(engine, project.image_path(key), cache)
    shapes = propose_for_group(runner, state, group, [group, *others], polygons)
    replace_proposals(ann, group.links, shapes, also_remove=[shape_id] if target.is_proposal else [])
    project.save_annotation(key, ann)
    return shapes
