"""The AI tool: prompts in, a proposal engine's candidate masks out, accepted as shapes.

Left click adds a positive point, right click a negative one; a left drag draws a box (a new box
replaces the last); with Shift held a drag is a scribble instead (left: foreground, right:
background), when the engine takes scribbles. Every prompt change asks the engine again (in a
worker, see ``assist_controller.py``) and the best candidate is drawn as a translucent overlay;
Tab cycles through the candidates. Backspace or Ctrl+Z undoes the last prompt (and shows the
candidates it had again), Enter accepts the shown candidate as one mask shape or as polygons
with holes (the panel's setting) in one undo step, Escape rejects everything. On an image too
large to decode whole, a candidate covers a region (a downscaled copy or a crop, see
:mod:`labeler.assist.large_image`): it is drawn scaled into place and accepted at full resolution.

Engines that refine from their own low-resolution logits (SAM) get the shown candidate's
logits back with the next prompt. Weak-label shapes (points, scribbles, boxes) selected when the
tool is chosen become its first prompts - foreground when of the current class, background
otherwise - and the accepted shapes link them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QImage, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsPixmapItem

from ...assist.engine import FOREGROUND_SCRIBBLES, LOW_RES_LOGITS, Prompts, Proposal, Scribble
from ...assist.large_image import PlacedProposal, to_shapes
from ...core.shapes import POINT, RECTANGLE, SCRIBBLE, Shape
from .base import Tool

CLICK_PIXELS = 4.0  # screen pixels: a press and release closer than this is a click, not a drag
OVERLAY_ALPHA = 140
POSITIVE, NEGATIVE, BOX, FOREGROUND, BACKGROUND = "positive", "negative", "box", "foreground", "background"


@dataclass
class PromptStep:
    """One prompt the user gave: its kind, its data, the weak-label shape it came from (if any),
    and the logits of the candidate shown when it was given (fed back to engines that take them)."""

    kind: str
    data: Any
    link: str = ""
    logits: np.ndarray | None = None


class AssistTool(Tool):
    name = "ai"

    def __init__(self, canvas) -> None:
        super().__init__(canvas)
        self.controller = getattr(canvas.window(), "assist", None)
        self.steps: list[PromptStep] = []
        self.results: list[list[Proposal] | None] = []  # results[i]: the candidates for steps[:i + 1]
        self.candidate = 0
        self.error = ""
        self._serial = 0
        self._press: tuple[float, float, bool, bool] | None = None  # x, y, positive?, scribble?
        self._stroke: list[tuple[float, float]] = []
        self._drag_end: tuple[float, float] | None = None
        self._active = False
        self.overlay = QGraphicsPixmapItem()
        self.overlay.setZValue(5e8)
        self.markers = {POSITIVE: QGraphicsPathItem(), NEGATIVE: QGraphicsPathItem()}
        for kind, color in ((POSITIVE, QColor(40, 220, 90)), (NEGATIVE, QColor(235, 60, 60))):
            item = self.markers[kind]
            pen = QPen(QColor(255, 255, 255), 1.5)
            pen.setCosmetic(True)
            item.setPen(pen)
            item.setBrush(QBrush(color))
            item.setZValue(6e8)
        self.box_item = QGraphicsPathItem()
        pen = QPen(QColor(255, 215, 0), 2, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        self.box_item.setPen(pen)
        self.box_item.setZValue(6e8)

    # -- life cycle --------------------------------------------------------------------------
    def activate(self) -> None:
        super().activate()
        if self._active:  # the canvas re-activates the tool after a pan
            return
        self._active = True
        scene = self.canvas.scene()
        for item in (self.overlay, self.box_item, *self.markers.values()):
            scene.addItem(item)
        if self.controller is None:
            self.canvas.message.emit("the AI tool needs the main window")
            return
        self.controller.tool_activated()
        self._seed_from_selection()

    def deactivate(self) -> None:
        self.cancel()
        self._active = False
        for item in (self.overlay, self.box_item, *self.markers.values()):
            if item.scene() is not None:
                item.scene().removeItem(item)
        if self.controller is not None:
            self.controller.tool_deactivated()

    def cancel(self) -> None:
        """Forget every prompt and candidate (Escape, another image, another tool)."""
        self.steps.clear()
        self.results.clear()
        self.candidate, self.error, self._serial = 0, "", self._serial + 1
        self._press, self._stroke, self._drag_end = None, [], None
        if self.controller is not None:
            self.controller.cancel_proposals()
        self._redraw()

    def engine_changed(self) -> None:
        """Another engine: ask it about the same prompts (without the old engine's logits)."""
        for step in self.steps:
            step.logits = None
        self.results = [None] * len(self.steps)
        self.candidate, self.error = 0, ""
        self._request()

    @property
    def busy(self) -> bool:
        return bool(self.steps) or self._press is not None

    @property
    def proposals(self) -> list[Proposal]:
        """The candidates for the current prompts, best first ([] while none have arrived)."""
        return (self.results[-1] or []) if self.results else []

    @property
    def current(self) -> Proposal | None:
        props = self.proposals
        return props[self.candidate % len(props)] if props else None

    # -- mouse --------------------------------------------------------------------------------
    def _takes_scribbles(self) -> bool:
        engine = self.controller.engine if self.controller is not None else None
        return engine is not None and FOREGROUND_SCRIBBLES in engine.accepts

    def _start(self, x: float, y: float, modifiers, positive: bool) -> bool:
        if self.controller is None or not self.canvas.may_edit():
            return False
        x, y = self.canvas.clamp(x, y)
        scribble = bool(modifiers & Qt.KeyboardModifier.ShiftModifier) and self._takes_scribbles()
        self._press = (x, y, positive, scribble)
        self._stroke = [(x, y)]
        self._drag_end = None
        return True

    def press(self, x: float, y: float, modifiers) -> bool:
        return self._start(x, y, modifiers, True)

    def press_right(self, x: float, y: float, modifiers) -> bool:
        return self._start(x, y, modifiers, False)

    def move(self, x: float, y: float) -> bool:
        if self._press is None:
            return False
        x, y = self.canvas.clamp(x, y)
        if self._press[3]:
            self._stroke.append((x, y))
        else:
            self._drag_end = (x, y)
        self._redraw()
        return True

    def release(self, x: float, y: float) -> bool:
        return self._finish(x, y, True)

    def release_right(self, x: float, y: float) -> bool:
        return self._finish(x, y, False)

    def _finish(self, x: float, y: float, positive: bool) -> bool:
        if self._press is None or self._press[2] != positive:
            return False
        x0, y0, _, scribble = self._press
        x, y = self.canvas.clamp(x, y)
        self._press, self._drag_end = None, None
        dragged = np.hypot(x - x0, y - y0) > self.canvas.scene_tolerance(CLICK_PIXELS)
        if scribble:
            self._stroke.append((x, y))
            step = PromptStep(FOREGROUND if positive else BACKGROUND,
                              Scribble(np.array(self._stroke), float(self.canvas.brush_size)))
        elif dragged and positive:
            step = PromptStep(BOX, (min(x0, x), min(y0, y), max(x0, x), max(y0, y)))
        else:
            step = PromptStep(POSITIVE if positive else NEGATIVE, (x, y))
        self._stroke = []
        self.add_step(step)
        return True

    # -- prompts -------------------------------------------------------------------------------
    def add_step(self, step: PromptStep) -> None:
        """A new prompt: remember it with the shown candidate's logits, then ask the engine."""
        engine = self.controller.engine if self.controller is not None else None
        current = self.current
        if engine is not None and LOW_RES_LOGITS in engine.accepts and current is not None:
            step.logits = current.logits
        self.steps.append(step)
        self.results.append(None)
        self.error = ""
        self._request()

    def prompts(self) -> Prompts:
        """The engine's prompts for every step so far (the last box counts)."""
        by_kind: dict[str, list] = {POSITIVE: [], NEGATIVE: [], BOX: [], FOREGROUND: [], BACKGROUND: []}
        for step in self.steps:
            by_kind[step.kind].append(step.data)
        doc = self.canvas.document
        links = tuple(s.link for s in self.steps if s.link and doc is not None and s.link in {x.id for x in doc.shapes})
        return Prompts(positive=np.array(by_kind[POSITIVE]).reshape(-1, 2),
                       negative=np.array(by_kind[NEGATIVE]).reshape(-1, 2),
                       box=by_kind[BOX][-1] if by_kind[BOX] else None,
                       foreground=by_kind[FOREGROUND], background=by_kind[BACKGROUND],
                       logits=self.steps[-1].logits if self.steps else None, links=links)

    def _request(self) -> None:
        self._serial += 1
        serial, n = self._serial, len(self.steps)
        self._redraw()
        if not n or self.controller is None:
            return
        self.controller.request_proposals(self.prompts(), lambda props: self._arrived(serial, n, props),
                                          lambda message: self._failed(serial, n, message))

    def _arrived(self, serial: int, n: int, proposals: list[Proposal]) -> None:
        if serial != self._serial or n != len(self.steps):
            return  # the prompts changed meanwhile: a newer request is on its way
        self.results[n - 1] = list(proposals)
        self.candidate = 0
        self._redraw()

    def _failed(self, serial: int, n: int, message: str) -> None:
        if serial != self._serial or n != len(self.steps):
            return
        self.results[n - 1] = []
        self.error = message
        self.canvas.message.emit(f"AI tool: {message}")
        self._redraw()

    def undo_step(self) -> bool:
        """Take back the last prompt; its predecessor's candidates come back (or are asked for)."""
        if not self.steps:
            return False
        self.steps.pop()
        self.results.pop()
        self.candidate, self.error = 0, ""
        if self.steps and self.results[-1] is not None:
            self._serial += 1  # drop whatever is still on its way
            if self.controller is not None:
                self.controller.cancel_proposals()
            self._redraw()
        else:
            self._request()
        return True

    def cycle(self) -> bool:
        props = self.proposals
        if len(props) < 2:
            return bool(self.steps)
        self.candidate = (self.candidate + 1) % len(props)
        self._redraw()
        return True

    def accept(self) -> bool:
        """Add the shown candidate to the document (one undo step) and start afresh."""
        proposal = self.current
        if proposal is None:
            if self.steps:
                self.canvas.message.emit(self.error or "AI tool: the proposal is not ready yet")
            return bool(self.steps)
        if not self.canvas.may_edit():
            return True
        label = self.canvas.current_label
        if not label:
            self.canvas.message.emit("choose or add a class first")
            return True
        weak = self.prompts_as_weak_labels(label) if self.controller.keep_prompts else []
        links = self.prompts().links + tuple(w.id for w in weak)
        shapes = to_shapes(proposal, label, links=links, polygons=self.controller.accept_as_polygons)
        if not shapes:
            self.canvas.message.emit("AI tool: the proposal is empty; nothing added")
            return True
        self.canvas.document.add_shapes(weak + shapes, f"accept {proposal.engine} proposal")
        self.cancel()
        self.canvas.select([s.id for s in shapes])
        return True

    def prompts_as_weak_labels(self, label: str) -> list[Shape]:
        """The prompts given in this tool (not those taken from weak labels already there) as weak
        shapes of ``label``: positive points, the last box (a weak rectangle), foreground scribbles.
        Negative prompts are not kept: a saved point or scribble of the class would read as foreground."""
        out, boxes = [], [s for s in self.steps if s.kind == BOX and not s.link]
        for step in self.steps:
            if step.link:
                continue
            if step.kind == POSITIVE:
                out.append(Shape(kind=POINT, label=label, points=[step.data]))
            elif step.kind == FOREGROUND:
                out.append(Shape(kind=SCRIBBLE, label=label, points=step.data.points, width=step.data.width))
            elif step is (boxes[-1] if boxes else None):
                x0, y0, x1, y1 = step.data
                out.append(Shape(kind=RECTANGLE, label=label, points=[(x0, y0), (x1, y1)], weak=True))
        return out

    # -- keys ------------------------------------------------------------------------------------
    def wants_key(self, key: int, modifiers) -> bool:
        """Keys this tool takes before the window's shortcuts (Ctrl+Z only while it has prompts)."""
        if not self.steps:
            return False
        ctrl = bool(modifiers & Qt.KeyboardModifier.ControlModifier)
        if key == Qt.Key.Key_Z and ctrl and not modifiers & Qt.KeyboardModifier.ShiftModifier:
            return True
        return not ctrl and key in (Qt.Key.Key_Backspace, Qt.Key.Key_Tab, Qt.Key.Key_Return,
                                    Qt.Key.Key_Enter, Qt.Key.Key_Escape)

    def key_press_with(self, key: int, modifiers) -> bool:
        if key in (Qt.Key.Key_Backspace, Qt.Key.Key_Z):
            return self.undo_step()
        if key == Qt.Key.Key_Tab:
            return self.cycle()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            return self.accept()
        if key == Qt.Key.Key_Escape and self.steps:
            self.cancel()
            return True
        return False

    def key_press(self, key: int) -> bool:
        return key != Qt.Key.Key_Z and self.key_press_with(key, Qt.KeyboardModifier.NoModifier)

    # -- weak labels as prompts ---------------------------------------------------------------------
    def _seed_from_selection(self) -> None:
        doc = self.canvas.document
        if doc is None:
            return
        label = self.canvas.current_label
        for sid in self.canvas.selected_ids:
            s = doc.get(sid)
            positive = label is None or s.label == label
            if s.kind == POINT:
                step = PromptStep(POSITIVE if positive else NEGATIVE, tuple(s.points[0]), s.id)
            elif s.kind == SCRIBBLE:
                step = PromptStep(FOREGROUND if positive else BACKGROUND, Scribble(s.points, s.width), s.id)
            elif s.kind == RECTANGLE and positive:
                (x0, y0), (x1, y1) = s.points
                step = PromptStep(BOX, (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), s.id)
            else:
                continue
            self.steps.append(step)
            self.results.append(None)
        if self.steps:
            self.canvas.message.emit(f"AI tool: {len(self.steps)} selected weak label(s) used as prompts")
            self._request()

    # -- drawing -----------------------------------------------------------------------------------
    def _redraw(self) -> None:
        r = self.canvas.scene_tolerance(5.0)
        paths = {POSITIVE: QPainterPath(), NEGATIVE: QPainterPath()}
        box = QPainterPath()
        for step in self.steps:
            if step.kind in (POSITIVE, NEGATIVE):
                paths[step.kind].addEllipse(QPointF(*step.data), r, r)
            elif step.kind == BOX:
                x0, y0, x1, y1 = step.data
                box.addRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        if self._press is not None and self._drag_end is not None:
            x0, y0 = self._press[:2]
            x1, y1 = self._drag_end
            box.addRect(QRectF(min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0)))
        strokes = [(s.kind, s.data.points) for s in self.steps if s.kind in (FOREGROUND, BACKGROUND)]
        if self._press is not None and self._press[3]:
            strokes.append((FOREGROUND if self._press[2] else BACKGROUND, np.array(self._stroke)))
        for kind, pts in strokes:
            target = paths[POSITIVE if kind == FOREGROUND else NEGATIVE]
            for x, y in pts[::max(1, len(pts) // 200)]:
                target.addEllipse(QPointF(x, y), r / 2, r / 2)
        for kind, item in self.markers.items():
            item.setPath(paths[kind])
        self.box_item.setPath(box)
        self._draw_overlay()
        if self.controller is not None:
            props = self.proposals
            self.controller.panel.set_candidate(self.candidate % max(1, len(props)), len(props),
                                                self.current.score if self.current is not None else None)

    def _draw_overlay(self) -> None:
        proposal = self.current
        if proposal is None or not proposal.mask.any():
            self.overlay.setPixmap(QPixmap())
            return
        label = self.canvas.current_label
        color = self.canvas.color_of(label) if label else (255, 255, 0)
        h, w = proposal.mask.shape
        rgba = np.zeros((h, w, 4), np.uint8)
        rgba[proposal.mask] = (*color, OVERLAY_ALPHA)
        image = QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
        self.overlay.setPixmap(QPixmap.fromImage(image))
        placed = isinstance(proposal, PlacedProposal)  # a huge image: the mask covers a region, scaled
        self.overlay.setPos(*(proposal.offset if placed else (0, 0)))
        self.overlay.setScale(1.0 / proposal.scale if placed else 1.0)
