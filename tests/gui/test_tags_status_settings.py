"""Image tags dock, the status bar's pixel readout, the shortcuts dialog and the settings dialog."""

from __future__ import annotations

import json

from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from labeler.core.project import Project
from labeler.core.images import read_image
from labeler.gui import user_settings
from labeler.gui.actions import ACTIONS
from labeler.gui.dialogs.settings import SettingsDialog
from labeler.gui.main_window import MainWindow

from .conftest import activate

K = Qt.Key
CTRL = Qt.KeyboardModifier.ControlModifier


def _item(dock, name):
    for i in range(dock.list.count()):
        if dock.list.item(i).data(Qt.ItemDataRole.UserRole) == name:
            return dock.list.item(i)
    raise AssertionError(f"no tag {name} in {[dock.list.item(i).text() for i in range(dock.list.count())]}")


def test_tags_come_from_the_project_toggle_with_undo_and_are_saved(qtbot, demo_root, window, mouse):
    dock = window.tags_dock
    for name in ("night", "blurry"):
        dock.new_tag.setText(name)
        qtbot.keyClick(dock.new_tag, K.Key_Return)
    project_file = json.loads((demo_root / "labeler-project.json").read_text("utf-8"))
    assert project_file["settings"]["tags"] == ["night", "blurry"]
    item = _item(dock, "blurry")
    rect = dock.list.visualItemRect(item)
    # a click on the check box ticks the tag (the box sits at the left of the row)
    qtbot.mouseClick(dock.list.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(rect.left() + rect.height() // 2, rect.center().y()))
    doc = window.session.document
    assert doc.annotation.tags == {"blurry": True} and window.session.dirty
    assert dock.checked() == ["blurry"]
    mouse.key(K.Key_Z, CTRL)
    assert doc.annotation.tags == {} and dock.checked() == []
    mouse.key(K.Key_Y, CTRL)
    assert dock.checked() == ["blurry"]
    window.go_relative(1)  # leaving saves; the next image has no tags
    assert dock.checked() == []
    assert window.session.flush_saves()  # the write runs in the writer thread
    saved = json.loads(window.project.annotation_path("images/astronaut.png").read_text("utf-8"))
    assert saved["flags"] == {"blurry": True}  # labelme's image-level flags
    window.go_relative(-1)
    assert dock.checked() == ["blurry"]


def test_tag_only_on_the_image_is_shown_and_read_only_images_refuse_tags(qtbot, demo_root):
    proj = Project(demo_root)
    ann = proj.load("images/rocket.png")
    ann.tags = {"launch": True}
    proj.save_annotation("images/rocket.png", ann)
    w = MainWindow(Project.open(demo_root), autosave_s=3600, start_key="images/rocket.png")
    qtbot.addWidget(w)
    assert w.tags_dock.checked() == ["launch"]
    w.canvas.read_only_reason = "test"
    _item(w.tags_dock, "launch").setCheckState(Qt.CheckState.Unchecked)
    assert w.session.document.annotation.tags == {"launch": True} and w.tags_dock.checked() == ["launch"]
    w.close()


def test_status_bar_shows_pixel_value_zoom_class_and_saved_state(qtbot, demo_root, window, mouse):
    rgb = read_image(demo_root / "images" / "astronaut.png")
    qtbot.mouseMove(window.canvas.viewport(), mouse.at(300.5, 120.5))
    r, g, b = (int(v) for v in rgb[120, 300])
    assert window.pixel_status.label.text() == f"RGB {r}, {g}, {b}"
    assert window.zoom_label.text().endswith("%")
    mouse.key(K.Key_2)
    assert window.class_label.text() == "class: cat"
    assert window.saved_label.text() == "saved"
    mouse.key(K.Key_R, CTRL)
    mouse.drag((40, 50), (140, 120))
    assert window.saved_label.text() == "unsaved"
    vp = window.canvas.viewport()
    outside = [p for p in (mouse.at(-5, 256), mouse.at(517, 256), mouse.at(256, -5), mouse.at(256, 517))
               if vp.rect().contains(p)]
    assert outside, "the fitted image leaves no margin in the view"
    qtbot.mouseMove(vp, outside[0])
    assert window.pixel_status.label.text() == ""  # off the image: no value


def test_f1_opens_shortcuts_dialog_listing_every_action(qtbot, window, mouse):
    assert window.actions_by_id["shortcuts"].shortcut().toString() == "F1"
    help_menu = [a for a in window.menuBar().actions() if a.text() == "&Help"]
    assert help_menu and window.actions_by_id["shortcuts"] in help_menu[0].menu().actions()
    mouse.key(K.Key_F1)
    dialog = window.dialogs.current
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    assert [r[0] for r in dialog.rows] == [a.id for a in ACTIONS]
    texts = {dialog.table.item(r, 0).text(): dialog.table.item(r, 2).text() for r in range(dialog.table.rowCount())}
    assert texts["Save"] == "Ctrl+S" and texts["Next Image"] == "D" and texts["Keyboard Shortcuts"] == "F1"
    qtbot.keyClicks(dialog.filter_box, "ctrl+z")
    assert dialog.visible_ids() == ["undo"]
    dialog.close()


def test_settings_dialog_stores_in_qsettings_and_applies(qtbot, demo_root, user_settings_in_tmp):
    w = MainWindow(Project.open(demo_root))  # no autosave interval given: the user's setting applies
    qtbot.addWidget(w)
    activate(qtbot, w)
    assert w.canvas.opacity == 0.35
    w.actions_by_id["settings"].trigger()
    dialog = w.dialogs.current
    assert isinstance(dialog, SettingsDialog) and dialog.isVisible()
    dialog.autosave.setValue(7)
    dialog.opacity.setValue(0.6)
    dialog.language.setCurrentIndex(dialog.language.findData("zh_CN"))
    qtbot.mouseClick(dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok),
                     Qt.MouseButton.LeftButton)
    assert w.canvas.opacity == 0.6 and w.session.autosave_timer.interval() == 7000
    ini = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "labeler", "labeler")
    assert ini.fileName().startswith(str(user_settings_in_tmp))
    assert user_settings.get("language") == "zh_CN" and user_settings.get("autosave_s") == 7.0
    w.close()
    again = MainWindow(Project.open(demo_root))
    qtbot.addWidget(again)
    assert again.canvas.opacity == 0.6 and again.session.autosave_timer.interval() == 7000
    again.close()
    given = MainWindow(Project.open(demo_root), autosave_s=3600)  # an explicit interval wins
    qtbot.addWidget(given)
    assert given.session.autosave_timer.interval() == 3600 * 1000
    given.close()
    assert QApplication.instance() is not None


def test_pixel_value_of_a_tiled_image_is_read_from_its_file(qtbot, tmp_path, window):
    import numpy as np
    from PIL import Image

    from labeler.core.tiles import TileSource

    rgb = np.random.default_rng(1).integers(0, 256, (64, 80, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "big.tif")  # uncompressed TIFF: read by memory map
    tiles = TileSource(tmp_path / "big.tif")
    assert tiles.lazy
    window.session.image = tiles
    assert window.pixel_status.value_at(30.7, 12.2) == tuple(int(v) for v in rgb[12, 30])
    assert window.pixel_status.value_at(80.0, 3) is None and window.pixel_status.value_at(-0.5, 3) is None
