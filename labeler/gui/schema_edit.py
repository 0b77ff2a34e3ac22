"""Editing the project's classes from the window: rename, colour, thing/stuff, remove.

``SchemaEditController`` lives on the main window as ``window.schema_edit``; the rows of
``SCHEMA_ACTIONS`` (appended to the table in actions.py, also the class palette's context menu)
act on the palette's current class. Every change is saved to the project file at once.

A rename is confirmed first: the open image's shapes follow as one undo step, and the saved
annotations of the other images are rewritten in a worker thread (an image opened meanwhile
is relabelled when it opens). Removing a class in use is refused, saying where it is used (the
saved annotations are scanned in a worker).
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QColorDialog, QInputDialog, QMessageBox

from ..core.errors import LabelerError
from ..core.project import Project
from .action_spec import ActionSpec
from .workers import Worker

_C = "&Classes"
SCHEMA_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("rename_class", "Re&name Class...", "F2", "schema_edit.rename_current", _C),
    ActionSpec("class_color", "Change Class &Colour...", None, "schema_edit.recolor_current", _C),
    ActionSpec("toggle_thing", "Toggle &Thing / Stuff", None, "schema_edit.toggle_thing_current", _C),
    ActionSpec("remove_class", "&Remove Class...", None, "schema_edit.remove_current", _C),
)


def tr(text: str) -> str:
    return QCoreApplication.translate("schema_edit", text)


def rename_in_saved(project: Project, old: str, new: str, skip: str | None) -> tuple[int, list[str]]:
    """Rewrite every saved annotation (but ``skip``'s) whose shapes use ``old`` to use ``new``.
    Returns (files rewritten, problems); unreadable files are left untouched and reported."""
    changed, problems = 0, []
    keys = [k for k in project.image_keys() if k != skip and project.has_annotation(k)]
    for key in keys:
        with project.write_lock:  # read and rewrite with no save of the window's in between
            try:
                ann, errors = project.load_with_problems(key)
            except LabelerError as e:
                ann, errors = None, [str(e)]
            if ann is None or errors:
                problems.extend(errors or [f"{key}: unreadable"])
                continue
            if not any(s.label == old for s in ann.shapes):
                continue
            ann.shapes = [s.replace(label=new) if s.label == old else s for s in ann.shapes]
            try:
                project.save_annotation(key, ann)
            except (LabelerError, OSError) as e:
                problems.append(str(e))
                continue
        changed += 1
    return changed, problems


def uses_in_saved(project: Project, name: str, skip: str | None) -> dict[str, int]:
    """Image key -> number of shapes of class ``name`` in the saved annotations (but ``skip``'s)."""
    keys = [k for k in project.image_keys() if k != skip and project.has_annotation(k)]
    out = {}
    for key, ann, _errors in project.iter_annotations(keys):
        n = sum(1 for s in ann.shapes if s.label == name) if ann is not None else 0
        if n:
            out[key] = n
    return out


class SchemaEditController:
    def __init__(self, window) -> None:
        self.window = window
        self.dialog = None  # the open input, colour or question dialog (tests answer it)
        self.worker = Worker(1)
        self.renamed: dict[str, str] = {}  # old -> new while saved files are being rewritten
        lst = window.class_dock.list
        lst.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

    def add_context_menu(self, actions: dict) -> None:
        """Offer the class actions on the palette's right-click menu (after the actions exist)."""
        for spec in SCHEMA_ACTIONS:
            self.window.class_dock.list.addAction(actions[spec.id])

    # -- helpers ---------------------------------------------------------------------------
    @property
    def project(self) -> Project | None:
        return self.window.project

    def _current(self) -> str | None:
        name = self.window.class_dock.current()
        if name is None or self.project is None:
            return None
        if self.project.read_only:
            self.window.show_message(tr("the project is read-only: classes cannot be changed"))
            return None
        return name

    def _replace(self, class_name: str, **changes) -> None:
        schema = self.project.schema
        i = schema.names().index(class_name)
        schema.classes[i] = dataclasses.replace(schema.classes[i], **changes)

    def _changed(self, select: str | None = None) -> None:
        """Save the project file and show the schema everywhere."""
        w = self.window
        try:
            self.project.save()
        except LabelerError as e:
            w.show_message(tr("classes changed for this session only: {0}").format(e))
        schema = self.project.schema
        w.canvas.set_schema(schema)
        w.class_dock.set_schema(schema)  # keeps the per-class show/hide ticks
        if select:
            w.class_dock.select(select)
        w.shape_dock.set_classes(schema.names())
        if w._doc is not None:
            w._on_document_changed()

    # -- rename ------------------------------------------------------------------------------
    def rename_current(self) -> None:
        old = self._current()
        if old is None:
            return
        dlg = QInputDialog(self.window)
        dlg.setObjectName("rename_class_dialog")
        dlg.setWindowTitle(tr("Rename class"))
        dlg.setLabelText(tr("New name for class {0}:").format(old))
        dlg.setTextValue(old)
        dlg.textValueSelected.connect(lambda text: self.ask_rename(old, text))
        self.dialog = dlg
        dlg.open()

    def ask_rename(self, old: str, new: str) -> None:
        """Check the new name, then ask for confirmation (the rename rewrites saved files)."""
        self.dialog = None
        new = new.strip()
        if not new or new == old:
            return
        if new in self.project.schema:
            self.window.show_message(tr("not renamed: a class named {0} exists already").format(new))
            return
        box = QMessageBox(QMessageBox.Icon.Question, tr("Rename class"),
                          tr("Rename class {0} to {1}?\n\nShapes in this image change as one undo "
                             "step; saved annotations of the other images are rewritten too "
                             "(that part cannot be undone).").format(old, new),
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self.window)
        box.setObjectName("rename_class_confirm")
        box.finished.connect(lambda result: self._rename_answered(result, old, new))
        self.dialog = box
        box.open()

    def _rename_answered(self, result: int, old: str, new: str) -> None:
        self.dialog = None
        if result == QMessageBox.StandardButton.Yes:
            self.rename_class(old, new)

    def rename_class(self, old: str, new: str) -> None:
        w = self.window
        self._replace(old, name=new)
        self.renamed[old] = new
        self._follow_rename()
        self._changed(select=new)
        session = w.session
        skip = session.key if session is not None else None
        if session is not None:
            session.flush_saves()  # a write still queued would put the old name back afterwards
        self.worker.submit(lambda: rename_in_saved(self.project, old, new, skip),
                           lambda result: self._renamed_saved(old, result),
                           lambda e: self._renamed_saved(old, (0, [str(e)])))

    def _follow_rename(self, _key: str = "") -> None:
        """Relabel the open image's shapes of renamed classes, as one undo step."""
        doc = self.window._doc
        if doc is None or not self.renamed or self.window.canvas.read_only_reason:
            return
        hits = [s for s in doc.shapes if s.label in self.renamed]
        if hits:
            with doc.group("rename class"):
                for s in hits:
                    doc.update_shape(s.id, "rename class", label=self.renamed[s.label])

    def _renamed_saved(self, old: str, result) -> None:
        changed, problems = result
        new = self.renamed.pop(old, old)
        msg = tr("renamed {0} to {1} in {2} saved image(s)").format(old, new, changed)
        if problems:
            msg += "; " + tr("not changed: {0}").format(problems[0])
        self.window.show_message(msg)

    def attach(self, session) -> None:
        session.image_opened.connect(self._follow_rename)  # an image opened during a rename

    # -- colour and kind -------------------------------------------------------------------
    def recolor_current(self) -> None:
        name = self._current()
        if name is None:
            return
        dlg = QColorDialog(QColor(*self.project.schema.by_name(name).color), self.window)
        dlg.setObjectName("class_color_dialog")
        dlg.colorSelected.connect(lambda c: self.set_color(name, (c.red(), c.green(), c.blue())))
        self.dialog = dlg
        dlg.open()

    def set_color(self, name: str, rgb: tuple[int, int, int]) -> None:
        self.dialog = None
        self._replace(name, color=tuple(int(v) for v in rgb))
        self._changed(select=name)

    def toggle_thing_current(self) -> None:
        name = self._current()
        if name is None:
            return
        thing = not self.project.schema.by_name(name).is_thing
        self._replace(name, is_thing=thing)
        self._changed(select=name)
        self.window.show_message(tr("{0} is now a {1} class").format(name, tr("thing") if thing else tr("stuff")))

    # -- remove ------------------------------------------------------------------------------
    def remove_current(self) -> None:
        """Remove the current class unless a shape uses it (saved files are checked in a worker)."""
        name = self._current()
        if name is None:
            return
        w = self.window
        in_doc = sum(1 for s in w._doc.shapes if s.label == name) if w._doc is not None else 0
        if in_doc:
            w.show_message(tr("not removed: {0} shape(s) of class {1} in this image; change their "
                              "class first").format(in_doc, name))
            return
        skip = w.session.key if w.session is not None else None
        if w.session is not None:
            w.session.flush_saves()  # the files checked are the ones written so far
        w.show_message(tr("checking whether class {0} is used...").format(name))
        self.worker.submit(lambda: uses_in_saved(self.project, name, skip),
                           lambda uses: self._remove_checked(name, uses),
                           lambda e: w.show_message(str(e)))

    def _remove_checked(self, name: str, uses: dict[str, int]) -> None:
        w = self.window
        if uses:
            first = sorted(uses)[0]
            w.show_message(tr("not removed: class {0} is used by {1} shape(s) in {2} image(s), e.g. "
                              "{3}").format(name, sum(uses.values()), len(uses), first))
            return
        if w._doc is not None and any(s.label == name for s in w._doc.shapes):
            w.show_message(tr("not removed: class {0} was used meanwhile").format(name))
            return
        schema = self.project.schema
        if name not in schema:
            return
        schema.classes.pop(schema.names().index(name))
        self._changed()
        w.show_message(tr("removed class {0}").format(name))

    def shutdown(self) -> None:
        self.worker.wait(30000)
        self.worker.shutdown()
