"""The main window: wires the session, the canvas and the docks together; owns no shapes.

Every menu item, toolbar button and shortcut comes from the table in ``actions.py``; the methods
below named there are its handlers.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow

from ..core.document import Document
from ..core.errors import LabelerError
from ..core.project import Project
from .actions import build_actions
from .assist_controller import AssistController
from .canvas import Canvas
from .class_palette import ClassPaletteDock
from .dialogs.controller import DialogController
from .edit_ops import EditOpsController
from .file_list import FileListDock
from .image_adjust import ImageAdjustController
from .labeling_aids import LabelingAids
from .pixel_status import PixelStatus
from .pyramid_build import PyramidBuildController
from .recovery import RecoveryController
from .review import ReviewController
from .session import LabelingSession
from .shape_list import ShapeListDock
from .schema_edit import SchemaEditController
from .shape_order import ShapeOrderController
from .status_refresh import StatusProgress
from .opacity_control import OpacityControl
from .tags_panel import TagsDock
from .training.controller import TrainingController


class MainWindow(QMainWindow):
    def __init__(self, project: Project | None = None, autosave_s: float | None = None,
                 start_key: str | None = None, background_loading: bool = False,
                 background_open: bool = False) -> None:
        super().__init__()
        self.background_loading = background_loading  # read images in a worker (the app turns it on)
        self.background_open = background_open  # scan the folder and stat annotations in a worker too
        self.setObjectName("labeler_main_window")
        self.resize(1200, 800)
        self.autosave_s = autosave_s
        self.project: Project | None = None
        self.session: LabelingSession | None = None
        self._doc: Document | None = None
        self.canvas = Canvas(self)
        self.setCentralWidget(self.canvas)
        self.file_dock = FileListDock(self)
        self.class_dock = ClassPaletteDock(self)
        self.shape_dock = ShapeListDock(self)
        for dock in (self.file_dock, self.class_dock, self.shape_dock):
            self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.pos_label, self.zoom_label, self.class_label, self.saved_label = (QLabel(self) for _ in range(4))
        for w in (self.pos_label, self.zoom_label, self.class_label, self.saved_label):
            self.statusBar().addPermanentWidget(w)
        self.edit_ops = EditOpsController(self)  # copy/paste, merge/subtract, brush size, view options
        self.recovery = RecoveryController(self)  # journals unsaved edits, offers them back after a crash
        self.dialogs = DialogController(self)  # shortcuts, settings, import, export
        self.pixel_status = PixelStatus(self)
        self.tags_dock = TagsDock(self)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.tags_dock)
        self.assist = AssistController(self)  # the AI tool's engines, workers and panel
        self.shape_order = ShapeOrderController(self)  # z-order and instance id of selected shapes
        self.schema_edit = SchemaEditController(self)  # rename, recolour, thing/stuff, remove classes
        self.status_progress = StatusProgress(self)  # "n of N done"; status reading progress, Cancel
        self.opacity_control = OpacityControl(self)  # overlay opacity slider (toolbar and View menu)
        self.training = TrainingController(self)  # Train dialog, pre-labels, next image, live preview
        self.pyramid_build = PyramidBuildController(self)  # huge PNG/JPEG/TIFF: pyramid cache in a worker
        self.image_adjust = ImageAdjustController(self)  # brightness/contrast/gamma of the display only
        self.aids = LabelingAids(self)  # hide all shapes, keep previous annotation, simplify polygons
        self.review = ReviewController(self)  # proposal counts, next with proposals, accept/reject all, Tab
        self.actions_by_id = build_actions(self)
        self.schema_edit.add_context_menu(self.actions_by_id)
        self.training.sync_actions(self.actions_by_id)
        self.opacity_control.add_to_menu(self.actions_by_id)
        self.actions_by_id["tool_polygon"].setChecked(True)
        self.edit_ops.sync_actions(self.actions_by_id)
        self._connect()
        if project is not None:
            self.set_project(project, start_key)
        self._update_title()

    def _connect(self) -> None:
        c = self.canvas
        c.cursor_moved.connect(lambda x, y: self.pos_label.setText(f"x {x:.1f}  y {y:.1f}"))
        c.zoom_changed.connect(lambda s: self.zoom_label.setText(f"{s * 100:.0f}%"))
        c.selection_changed.connect(self.shape_dock.set_selection)
        c.message.connect(self.show_message)
        self.shape_dock.selection_changed.connect(c.select)
        self.shape_dock.delete_requested.connect(self.delete_selected)
        self.shape_dock.relabel_requested.connect(self.relabel_selected)
        self.class_dock.class_selected.connect(self._on_class_selected)
        self.class_dock.visibility_changed.connect(c.set_class_visible)
        self.class_dock.class_added.connect(self.add_class)
        self.file_dock.image_activated.connect(self.open_index)

    # -- project and images -----------------------------------------------------------------
    def set_project(self, project: Project, start_key: str | None = None) -> bool:
        """Switch to ``project``; False (the current one stays) when the current session's edits
        could not be saved."""
        if self.session is not None and not self.session.close():
            return False
        if self.project is not None:
            self.project.close()
        self.project = project
        self.session = s = LabelingSession(project, self.autosave_s, self, self.background_loading,
                                           background_open=self.background_open)
        s.statuses_refreshed.connect(self._on_statuses_refreshed)
        s.image_opened.connect(self._on_image_opened)
        s.status_changed.connect(self._on_status_changed)
        s.dirty_changed.connect(lambda _d: self._update_title())
        s.saved.connect(lambda key: self.show_message(f"saved {key}"))
        s.message.connect(self.show_message)
        for follower in (self.recovery, self.tags_dock, self.dialogs, self.assist, self.training,
                         self.schema_edit, self.status_progress, self.pyramid_build):
            follower.attach(s)
        self.canvas.set_schema(project.schema)
        self.class_dock.set_schema(project.schema)
        self.shape_dock.set_classes(project.schema.names())
        self.file_dock.set_entries(s.keys, s.statuses)
        self.review.attach(s)  # after the entries: it sets their proposal counts
        if project.read_only:
            self.show_message(project.lock_warning or "project opened read-only")
        if s.opener is not None and s.opener.running:  # keys come from a worker (project_open.py)
            self.canvas.set_document(None, None)
            self.status_progress.done_label.setText(
                QCoreApplication.translate("status", "reading the image folder..."))
            s.keys_ready.connect(lambda: self._on_keys_ready(s, start_key))
            if start_key is None:  # the first image is read as soon as its key is found
                s.first_key_ready.connect(lambda: s is self.session and s.open_index(0))
            self._update_title()
            return True
        self._open_first(start_key)
        return True

    def _on_keys_ready(self, s: LabelingSession, start_key: str | None) -> None:
        """The scan's keys (background_open): the first image is read while the annotation files
        are stat-ed; the list fills in once with their statuses (one pass, not two)."""
        if s is not self.session:
            return
        if s.opener is not None and s.opener.running:  # statuses follow (statuses_refreshed)
            self.status_progress.done_label.setText(
                QCoreApplication.translate("status", "reading {0} files...").format(len(s.keys)))
        else:
            self.file_dock.set_entries(s.keys, s.statuses)
        self._open_first(start_key, open_image=s.index < 0 and s.loading_index is None)

    def _on_statuses_refreshed(self, statuses: dict) -> None:
        s, dock = self.session, self.file_dock
        if dock.model.keys != s.keys:  # the scan's keys, now with their statuses: the list fills in
            dock.set_entries(s.keys, s.statuses)
            if s.key is not None:
                dock.set_current(s.key)
        else:
            dock.set_statuses(statuses)

    def _open_first(self, start_key: str | None, open_image: bool = True) -> None:
        s = self.session
        if s.keys:
            if open_image:  # else the first key's image is shown or being read already
                s.open_index(s.keys.index(start_key) if start_key in s.keys else 0)
        else:
            self.canvas.set_document(None, None)
            self.show_message(f"no images found under {s.project.root}")
        self._update_title()
        self.recovery.offer()

    def open_index(self, index: int) -> bool:
        if self.session is None:
            return False
        self.canvas.tool.cancel()
        return self.session.open_index(index)

    def _on_image_opened(self, key: str) -> None:
        if self._doc is not None:
            self._doc.changed.disconnect(self._on_document_changed)
        self._doc = self.session.document
        self._doc.changed.connect(self._on_document_changed)
        self.canvas.read_only_reason = self.session.read_only_reason
        self.canvas.set_document(self._doc, self.session.image)
        self.file_dock.set_current(key)
        self._on_document_changed()

    def _on_document_changed(self, _text: str = "") -> None:
        doc = self._doc
        self.shape_dock.set_shapes(doc.shapes, self.canvas.shape_color, self.canvas.selected_ids)
        self.actions_by_id["undo"].setEnabled(doc.can_undo)
        self.actions_by_id["redo"].setEnabled(doc.can_redo)
        self._update_title()

    def _on_status_changed(self, key: str, status: str) -> None:
        self.file_dock.set_status(key, status)

    def _on_class_selected(self, name: str) -> None:
        self.canvas.current_label = name
        self.class_label.setText(QCoreApplication.translate("status", "class: {0}").format(name))

    def add_class(self, name: str) -> None:
        if self.project is None:
            return
        self.project.schema.add(name)
        try:
            self.project.save()
        except LabelerError as e:
            self.show_message(f"class {name} added for this session only: {e}")
        self.canvas.set_schema(self.project.schema)
        self.class_dock.set_schema(self.project.schema)
        self.class_dock.select(name)
        self.shape_dock.set_classes(self.project.schema.names())

    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def _update_title(self) -> None:
        s = self.session
        dirty = bool(s and s.dirty)
        state = "saved" if not dirty else "saving..." if s.saving.pending(s.key) else "unsaved"
        self.saved_label.setText(QCoreApplication.translate("status", state))
        key = s.key if s else None
        self.setWindowTitle(f"labeler - {key}{' *' if dirty else ''}" if key else "labeler")

    # -- action handlers (named in actions.py) ---------------------------------------------------
    def open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, QCoreApplication.translate("dialogs", "Open a project or image folder"))
        if folder:
            self.open_path(folder)

    def open_path(self, path: str) -> bool:
        try:
            project = Project.open(path)
        except LabelerError as e:
            self.show_message(str(e))
            return False
        if not self.set_project(project):
            project.close()  # refused: its lock is not kept
            return False
        return True

    def save(self) -> bool:
        return self.session.save() if self.session is not None else False

    def _editable(self) -> bool:
        return self._doc is not None and self.canvas.may_edit()

    def undo(self) -> None:
        if self._editable():
            self.canvas.tool.cancel()
            self._doc.undo()

    def redo(self) -> None:
        if self._editable():
            self.canvas.tool.cancel()
            self._doc.redo()

    def delete_selected(self) -> None:
        if getattr(self.canvas.tool, "delete_hovered_vertex", lambda: False)():
            return  # Delete over a vertex of a selected shape deletes just that vertex
        ids = self.canvas.selected_ids
        if ids and self._editable():
            self._doc.remove_shapes(ids)

    def relabel_selected(self, name: str | None = None) -> None:
        name = name or self.canvas.current_label
        ids = self.canvas.selected_ids
        if not ids or not name or not self._editable():
            return
        with self._doc.group(f"change class to {name}"):
            for sid in ids:
                if self._doc.get(sid).label != name:
                    self._doc.update_shape(sid, f"change class to {name}", label=name)

    def mark_status(self, status: str) -> None:
        if self._editable() and self._doc.annotation.status != status:
            self._doc.set_status(status)

    def set_tool(self, name: str) -> None:
        self.canvas.set_tool(name)
        self.actions_by_id[f"tool_{name}"].setChecked(True)

    def go_relative(self, step: int) -> bool:
        if self.session is None:
            return False
        self.canvas.tool.cancel()
        return self.session.go_relative(step)

    def zoom_by(self, factor: float) -> None:
        self.canvas.zoom_by(factor)

    def fit_view(self) -> None:
        self.canvas.fit()

    def actual_size(self) -> None:
        self.canvas.actual_size()

    def change_opacity(self, delta: float) -> None:
        self.canvas.set_opacity(self.canvas.opacity + delta)
        self.show_message(f"overlay opacity {self.canvas.opacity:.0%}")

    def select_class_index(self, index: int) -> None:
        names = self.class_dock.names()
        if 0 <= index < len(names):
            self.class_dock.select(names[index])

    # -- closing ----------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        if self.session is not None and not self.session.close():
            keys = ", ".join(self.session.saving.unsaved_keys()) or self.session.key or ""
            self.show_message(QCoreApplication.translate("saving", "not closed: {0} could not be saved")
                              .format(keys))
            self.session.autosave_timer.start()
            event.ignore()
            return
        self.edit_ops.background.shutdown()  # a merge or conversion still computing is dropped
        self.recovery.shutdown()  # the journal's last writes and removals finish first
        self.schema_edit.shutdown()  # a rename still rewriting saved files finishes
        self.assist.shutdown()  # stop the prefetch and propose threads: no callback comes after this
        self.training.shutdown()  # cancel training, prediction and the live preview; wait for their threads
        self.pyramid_build.shutdown()  # a pyramid cache being built stops at its next strip
        self.review.shutdown()  # files changed by a job still being read again: dropped
        if self.project is not None:
            self.project.close()
        event.accept()
