"""The window's side of the AI tool: which engine, preparing images in a worker, proposing.

``prepare`` (an image encoder, superpixels) never runs on the GUI thread: when the AI tool is
chosen or another image opens, a :class:`~labeler.assist.prefetch.Prefetcher` (one background
thread per engine) reads the image file and prepares it, then the next ``PREFETCH_AHEAD``
images, and the panel shows a busy bar meanwhile (an image too large to decode whole is read
downscaled or as a crop, :mod:`labeler.assist.large_image`; zoomed in on one, a downscale engine is
prepared on the visible region instead, ``assist_view.py``). Prompts given before that finishes wait (only
the latest set matters: prompts are cumulative) and are proposed as soon as the state is ready;
``propose`` runs in a :class:`~labeler.gui.workers.Worker`, one call at a time, always on the
newest prompts. A prepared state or a proposal that arrives for an image or engine no longer
shown is dropped. Prepared states are kept in a small LRU, so going back to an image is instant.

The panel lists every engine (those that cannot run, e.g. SAM without a checkpoint, greyed out
with the reason) and every plugin that failed to load, with its error; Help > Plugins shows the
same in a dialog.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import partial
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QEvent, QObject, Qt, Signal

from ..assist.engine import Engine, Prompts, Proposal, check_prompts
from ..assist.plugins import LoadedPlugins, load_plugins
from ..assist.prefetch import Prefetcher
from ..assist.large_image import LargeImageAdapter, load_for_engine
from . import user_settings
from .action_spec import ActionSpec
from .assist_panel import AssistPanel, PluginsDialog
from .assist_view import AssistView, preparing_text, ready_text
from .autolabel_dialog import AssistJobs
from .workers import Worker

ENGINE_SETTING = "assist/engine"
POLYGONS_SETTING = "assist/accept_as_polygons"
KEEP_PROMPTS_SETTING = "assist/keep_prompts_as_weak_labels"
PREFERRED_ENGINES = ("sam", "grabcut", "superpixel")
PREFETCH_AHEAD = 2

ASSIST_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("tool_ai", "&AI Assist (click, box, scribble)", "I", "set_tool", "&Tools", True, "tool", "ai"),
    ActionSpec("plugins", "&Plugins...", None, "assist.show_plugins", "&Help"),
    ActionSpec("tool_weak_box", "Create &Weak Box", None, "set_tool", "&Tools", True, "tool", "weak_box"),
    ActionSpec("autolabel", "&Autolabel...", None, "assist.jobs.show_autolabel", "&Tools"),
    ActionSpec("regenerate_proposal", "Re&generate Selected Proposal...", None, "assist.jobs.regenerate_selected",
               "&Tools"),
    ActionSpec("sam_setup", "&SAM Model...", None, "assist.show_sam_setup", "&Tools"),
)


def unavailable_reason(engine: Engine) -> str:
    """Why ``engine`` cannot run now ("" when it can): a model checkpoint that is not configured."""
    try:
        path = getattr(engine, "checkpoint", None)
    except Exception as e:  # the engine's own one-line reason (e.g. no SAM checkpoint set)
        return str(e).splitlines()[0] if str(e) else type(e).__name__
    if path is not None and not Path(path).is_file():
        return f"checkpoint {path} not found"
    return ""


class AssistController(QObject):
    """One per window: engines, the prepared state of the shown image, proposal requests."""

    #: (token, concurrent.futures.Future) from a prefetch thread, delivered on the GUI thread
    _prepare_finished = Signal(object, object)

    def __init__(self, window, plugins: LoadedPlugins | None = None, memory_items: int = 6) -> None:
        super().__init__(window)
        self.window = window
        self.canvas = window.canvas
        self._plugins = plugins
        self._engine_name: str | None = None  # worked out on first use, again when the tool is chosen
        self.propose_worker = Worker(1, self)  # propose: never queued behind a slow prepare
        self._prefetchers: dict[str, Prefetcher] = {}  # by engine cache key, for this session
        self._prepare_finished.connect(self._on_prepare_finished)
        self._alive = [True]  # cleared when this object goes: late prefetch callbacks then do nothing
        self.destroyed.connect(partial(self._alive.__setitem__, 0, False))
        self._states: OrderedDict[tuple, Any] = OrderedDict()
        self._memory_items = memory_items
        self._waiting: tuple | None = None  # the (cache key, image, view region) being prepared for display
        self.view = AssistView(self)  # the view region of a huge image (None: the overview)
        self._pending: tuple[Prompts, Callable, Callable] | None = None
        self._proposing = False
        self.prepare_error = ""
        self.session = None
        self.panel = AssistPanel(window, self)
        self.panel.hide()
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.panel)
        self.current_dialog = None
        self.jobs = AssistJobs(window, self)  # Tools > Autolabel..., Regenerate Selected Proposal
        for obj in (self.canvas, self.canvas.viewport()):
            obj.installEventFilter(self)

    # -- engines ----------------------------------------------------------------------------
    @property
    def plugins(self) -> LoadedPlugins:
        if self._plugins is None:
            self._plugins = load_plugins()
            self._configure_sam()
        return self._plugins

    def _configure_sam(self) -> None:
        from .sam_setup import configure_sam

        configure_sam(self._plugins, self.session.project.root if self.session is not None else None)

    def sam_configured(self) -> None:
        """The SAM settings changed (or a model was downloaded): rebuild SAM, offer it if it can run."""
        self._configure_sam()
        self._engine_name = None
        self.panel.refresh()
        if self.active_tool is not None:
            self.ensure_prepared()

    def show_sam_setup(self):
        from .sam_setup import SamSetupDialog

        dialog = SamSetupDialog(self.window, self)
        self.current_dialog = dialog
        dialog.show()
        return dialog

    def engine_rows(self) -> list[tuple[str, str]]:
        """(name, reason it cannot run or "") for every loaded engine."""
        return [(name, unavailable_reason(engine)) for name, engine in self.plugins.engines.items()]

    @property
    def engine_name(self) -> str | None:
        """The chosen engine (settings), else the first usable of SAM, GrabCut, superpixels."""
        if self._engine_name is None:
            usable = [name for name, reason in self.engine_rows() if not reason]
            chosen = user_settings.qsettings().value(ENGINE_SETTING, "")
            preferred = [chosen] + [n for n in PREFERRED_ENGINES if n != chosen] + usable
            self._engine_name = next((n for n in preferred if n in usable), "")
        return self._engine_name or None

    @property
    def engine(self) -> Engine | None:
        name = self.engine_name
        return self.plugins.engines[name] if name else None

    def set_engine(self, name: str) -> None:
        if name not in self.plugins.engines:
            raise KeyError(f"no proposal engine named {name!r}")
        reason = unavailable_reason(self.plugins.engines[name])
        if reason:
            self.window.show_message(f"{name} cannot run: {reason}")
            return
        s = user_settings.qsettings()
        s.setValue(ENGINE_SETTING, name)
        s.sync()
        if name == self.engine_name:
            return
        self._engine_name = name
        self.panel.refresh()
        tool = self.active_tool
        if tool is not None:
            tool.engine_changed()
        self.view.refresh()
        self.ensure_prepared()

    @property
    def accept_as_polygons(self) -> bool:
        return str(user_settings.qsettings().value(POLYGONS_SETTING, "false")).lower() == "true"

    def set_accept_as_polygons(self, on: bool) -> None:
        s = user_settings.qsettings()
        s.setValue(POLYGONS_SETTING, "true" if on else "false")
        s.sync()
        self.panel.refresh()

    @property
    def keep_prompts(self) -> bool:
        """Save the AI tool's prompts (points, box, scribbles) as weak labels with an accepted mask."""
        return str(user_settings.qsettings().value(KEEP_PROMPTS_SETTING, "false")).lower() == "true"

    def set_keep_prompts(self, on: bool) -> None:
        s = user_settings.qsettings()
        s.setValue(KEEP_PROMPTS_SETTING, "true" if on else "false")
        s.sync()
        self.panel.refresh()

    # -- the session and the tool -------------------------------------------------------------
    def attach(self, session) -> None:
        self._close_prefetchers()
        self.session = session
        self._states.clear()
        if self._plugins is not None:
            self._configure_sam()  # the new project's embeddings folder
        session.image_opened.connect(self._on_image_opened)

    @property
    def active_tool(self):
        from .tools.assist import AssistTool

        tool = self.canvas.tool
        return tool if isinstance(tool, AssistTool) else None

    def tool_activated(self) -> None:
        self._engine_name = None  # a checkpoint may have been configured since
        self.panel.refresh()
        self.panel.show()
        self.view.refresh()
        self.ensure_prepared()

    def tool_deactivated(self) -> None:
        self._pending = None
        self.panel.set_busy(False, "")

    def _on_image_opened(self, _key: str) -> None:
        self._pending = None
        self.view.reset()
        if self.active_tool is not None:
            self.ensure_prepared()

    @property
    def key(self) -> str | None:
        return self.session.key if self.session is not None else None

    def _want(self) -> tuple | None:
        engine, key = self.engine, self.key
        return (engine.cache_key, key, self.view.region) if engine is not None and key is not None else None

    def _same_image(self, token: tuple) -> bool:
        """``token`` is for the shown image and engine (whatever its view region)."""
        want = self._want()
        return want is not None and want[:2] == token[:2]

    def _ready_text(self) -> str:
        return "ready" if self.view.region is None else ready_text(self.view.region)

    @property
    def ready(self) -> bool:
        want = self._want()
        return want is not None and want in self._states

    @property
    def busy(self) -> bool:
        return self._waiting is not None or self.propose_worker.busy

    # -- preparing ------------------------------------------------------------------------------
    def ensure_prepared(self) -> None:
        """Prepare the shown image (then the next ones) with the chosen engine, off the GUI thread."""
        self.prepare_error = ""
        want, engine, s = self._want(), self.engine, self.session
        if want is None or s is None or not 0 <= s.index < len(s.keys):
            self.panel.set_busy(False, "no engine can run" if engine is None else "")
            return
        for cache_key in [k for k in self._prefetchers if k != engine.cache_key]:
            self._prefetchers.pop(cache_key).close(timeout=0)  # another engine: stop its queued work
        prefetcher = self._prefetchers.get(engine.cache_key)
        if prefetcher is None:
            project = s.project

            def load(item):  # an image key, or (key, view region)
                key, region = item if isinstance(item, tuple) else (item, None)
                return load_for_engine(project.image_path(key), region=region)
            # a huge image is never decoded whole: SAM gets a downscaled copy or the view, GrabCut a crop
            prefetcher = self._prefetchers[engine.cache_key] = Prefetcher(LargeImageAdapter(engine), load,
                                                                          ahead=PREFETCH_AHEAD)
        region = want[2]
        if region is None:
            future = prefetcher.focus(s.keys, s.index)  # also queues the next images
        else:  # the view region first, then the overview and the next image
            future = prefetcher.focus([(s.keys[s.index], region), *s.keys[s.index:]], 0)
        if want in self._states:
            self._states.move_to_end(want)
            self.panel.set_busy(self._proposing, self._ready_text())
            self._pump()
            return
        self._waiting = want
        if not future.done():
            self.panel.set_busy(True, f"preparing {want[1]} with {engine.name}..." if region is None
                                else preparing_text(engine.name))
        # called on the prefetch thread (or here, when already done): hand it to the GUI thread
        alive, signal = self._alive, self._prepare_finished
        future.add_done_callback(lambda f, token=want: alive[0] and signal.emit(token, f))

    def _on_prepare_finished(self, token: tuple, future) -> None:
        if future.cancelled():
            return  # the user moved on before it started
        error = future.exception()
        if error is not None:
            self._prepare_failed(token, error)
        else:
            self._prepared(token, future.result())

    def _prepared(self, token: tuple, state: Any) -> None:
        if token != self._want():
            return  # prepared for an image or engine no longer shown: dropped (the prefetcher keeps it)
        self._waiting = None
        self._states[token] = state
        self._states.move_to_end(token)
        while len(self._states) > self._memory_items:
            self._states.popitem(last=False)
        self.panel.set_busy(self._proposing, self._ready_text())
        self._pump()

    def _prepare_failed(self, token: tuple, error: BaseException) -> None:
        if token == self._want():
            self._waiting = None
            self.prepare_error = f"{token[1]}: {error}"
            self._pending = None
            self.panel.set_busy(False, f"could not prepare {self.prepare_error}")
            self.window.show_message(f"AI tool: could not prepare {self.prepare_error}")

    def _close_prefetchers(self, timeout: float = 0) -> None:
        for prefetcher in self._prefetchers.values():
            prefetcher.close(timeout=timeout)
        self._prefetchers.clear()
        self._waiting = None

    # -- proposing ------------------------------------------------------------------------------
    def request_proposals(self, prompts: Prompts, on_result: Callable[[list[Proposal]], None],
                          on_error: Callable[[str], None]) -> None:
        """Propose for ``prompts`` as soon as the image is prepared; a newer request replaces it."""
        engine = self.engine
        if engine is None:
            on_error("no proposal engine can run")
            return
        try:
            check_prompts(engine, prompts)
        except ValueError as e:
            on_error(str(e))
            return
        self._pending = (prompts, on_result, on_error)
        self.view.update(prompts)  # a prompt outside the prepared view region: that view first
        if self.prepare_error:
            self.ensure_prepared()  # try again: the file may be readable now
        self._pump()

    def cancel_proposals(self) -> None:
        self._pending = None

    def _pump(self) -> None:
        want = self._want()
        if self._pending is None or self._proposing or want is None or want not in self._states:
            return
        prompts, on_result, on_error = self._pending
        self._pending = None
        prefetcher = self._prefetchers.get(want[0])
        engine = prefetcher.engine if prefetcher is not None else LargeImageAdapter(self.engine)
        state = self._states[want]
        self._proposing = True
        self.panel.set_busy(True, f"proposing with {engine.name}...")

        def done(proposals):  # placed in full-resolution pixels: good for any view region of the image
            self._finish_proposal()
            if self._same_image(want):
                on_result(proposals)
            self._pump()

        def failed(error):
            self._finish_proposal()
            if self._same_image(want):
                on_error(f"{engine.name}: {error}")
            self._pump()

        self.propose_worker.submit(lambda: engine.propose(state, prompts), done, failed)

    def _finish_proposal(self) -> None:
        self._proposing = False
        self.panel.set_busy(self._waiting is not None, self._ready_text() if self.ready else "")

    # -- keys and buttons the canvas does not hand to tools ---------------------------------------
    _FILTERED = frozenset({QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress,
                           QEvent.Type.MouseButtonRelease, QEvent.Type.MouseButtonDblClick, QEvent.Type.ContextMenu})

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind not in self._FILTERED:  # checked first: other events also come while widgets are torn down
            return False
        tool = self.active_tool
        if tool is None or self.canvas.document is None:
            return False
        if kind in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress):
            if tool.wants_key(event.key(), event.modifiers()):
                event.accept()  # ShortcutOverride: the key comes to the canvas, not to an action
                if kind == QEvent.Type.KeyPress:
                    tool.key_press_with(event.key(), event.modifiers())
                return True
            return False
        if obj is self.canvas.viewport() and kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease,
                                                      QEvent.Type.MouseButtonDblClick):
            if event.button() == Qt.MouseButton.RightButton:
                p = self.canvas.mapToScene(event.position().toPoint())
                if kind == QEvent.Type.MouseButtonRelease:
                    tool.release_right(p.x(), p.y())
                else:
                    self.canvas.setFocus()
                    tool.press_right(p.x(), p.y(), event.modifiers())
                return True
        if kind == QEvent.Type.ContextMenu:
            return True  # the right button is a negative click here
        return False

    # -- Help > Plugins -------------------------------------------------------------------------
    def show_plugins(self) -> PluginsDialog:
        dialog = PluginsDialog(self.window, self)
        self.current_dialog = dialog
        dialog.show()
        return dialog

    def shutdown(self) -> None:
        self.jobs.shutdown()
        if hasattr(self.current_dialog, "stop"):
            self.current_dialog.stop()  # a SAM download in progress
        self._pending = None
        self._alive[0] = False
        self._close_prefetchers(timeout=10)
        self.propose_worker.shutdown()
