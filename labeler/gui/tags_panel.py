"""The image tags dock: image-level labels ticked on or off for the current image.

The project keeps the list of tag names (``settings["tags"]`` in the project file); the current
image's tags live in its annotation (``tags``, labelme's ``flags``) and change through
``Document.set_tags``, so a tick is an undo step like any other edit. A tag the image has but the
project does not list is shown too, so nothing stored is hidden.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QDockWidget, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from ..core.errors import LabelerError

TAGS_SETTING = "tags"


def tr(text: str) -> str:
    return QCoreApplication.translate("docks", text)


class TagsDock(QDockWidget):
    def __init__(self, window) -> None:
        super().__init__(tr("Image Tags"), window)
        self.setObjectName("tags_dock")
        self.window_ = window
        body = QWidget(self)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(2, 2, 2, 2)
        self.list = QListWidget(body)
        self.new_tag = QLineEdit(body)
        self.new_tag.setPlaceholderText(tr("New tag name, then Enter"))
        lay.addWidget(self.list)
        lay.addWidget(self.new_tag)
        self.setWidget(body)
        self.session = None
        self._doc = None
        self.list.itemChanged.connect(self._on_item_changed)
        self.new_tag.returnPressed.connect(self._on_new_tag)

    # -- following the window ----------------------------------------------------------------
    def attach(self, session) -> None:
        self.session = session
        session.image_opened.connect(self._on_image_opened)

    def _on_image_opened(self, _key: str) -> None:
        if self._doc is not None:
            self._doc.changed.disconnect(self._on_changed)
        self._doc = self.session.document
        self._doc.changed.connect(self._on_changed)
        self.refresh()

    def _on_changed(self, _text: str = "") -> None:
        self.refresh()

    def project_tags(self) -> list[str]:
        if self.session is None:
            return []
        return [str(t) for t in self.session.project.settings.get(TAGS_SETTING, [])]

    def refresh(self) -> None:
        tags = dict(self._doc.annotation.tags) if self._doc is not None else {}
        names = self.project_tags() + [t for t in tags if t not in self.project_tags()]
        self.list.blockSignals(True)
        self.list.clear()
        for name in names:
            item = QListWidgetItem(name)
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if tags.get(name) else Qt.CheckState.Unchecked)
            self.list.addItem(item)
        self.list.blockSignals(False)

    def checked(self) -> list[str]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())
                if self.list.item(i).checkState() == Qt.CheckState.Checked]

    # -- edits -----------------------------------------------------------------------------------
    def _on_item_changed(self, item: QListWidgetItem) -> None:
        self.set_tag(item.data(Qt.ItemDataRole.UserRole), item.checkState() == Qt.CheckState.Checked)

    def set_tag(self, name: str, value: bool) -> None:
        """Tick or untick ``name`` on the current image (one undo step)."""
        doc = self._doc
        if doc is None or not self.window_.canvas.may_edit():
            self.refresh()
            return
        if bool(doc.annotation.tags.get(name)) == value:
            return
        tags = dict(doc.annotation.tags)
        tags[name] = value
        doc.set_tags(tags)

    def _on_new_tag(self) -> None:
        name = self.new_tag.text().strip()
        self.new_tag.clear()
        if name:
            self.add_tag(name)

    def add_tag(self, name: str) -> None:
        """Add ``name`` to the project's tag list (saved in the project file)."""
        if self.session is None or name in self.project_tags():
            return
        project = self.session.project
        project.settings[TAGS_SETTING] = self.project_tags() + [name]
        try:
            project.save()
        except LabelerError as e:
            self.window_.show_message(tr("tag {0} added for this session only: {1}").format(name, e))
        self.refresh()
