"""Simplified Chinese: the compiled translation loads and the window's menus, actions and docks use it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from importlib.resources import files

import pytest
from PySide6.QtWidgets import QApplication

from labeler.core.project import Project
from labeler.gui import user_settings
from labeler.gui.actions import ACTIONS
from labeler.gui.i18n import install_translator, remove_translators, translation_file
from labeler.gui.main_window import MainWindow

TS = files("labeler.resources") / "translations" / "labeler_zh_CN.ts"


def _catalog() -> dict[tuple[str, str], str]:
    root = ET.fromstring(TS.read_bytes())
    return {(ctx.findtext("name"), m.findtext("source")): m.findtext("translation")
            for ctx in root.iter("context") for m in ctx.iter("message")}


@pytest.fixture
def chinese(qapp):
    assert install_translator(qapp, "zh_CN")
    yield
    remove_translators(qapp)


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_compiled_translation_ships_beside_its_source():
    assert translation_file("zh_CN").is_file() and TS.is_file()
    catalog = _catalog()
    assert all(catalog.values()), "a message without translation"
    menus = {a.menu for a in ACTIONS}
    assert all(("menus", m) in catalog for m in menus)
    covered = [a.id for a in ACTIONS if ("actions", a.text) in catalog]
    assert len(covered) >= 0.9 * len(ACTIONS), [a.text for a in ACTIONS if a.id not in covered]


def test_with_zh_cn_menu_titles_actions_and_docks_are_chinese(qtbot, demo_root, chinese):
    w = MainWindow(Project.open(demo_root), autosave_s=3600)
    qtbot.addWidget(w)
    titles = [a.text() for a in w.menuBar().actions()]
    assert titles[:3] == ["文件(&F)", "编辑(&E)", "工具(&T)"]
    assert all(_has_cjk(t) for t in titles), titles
    catalog = _catalog()
    for spec in ACTIONS:
        if ("actions", spec.text) in catalog:
            assert w.actions_by_id[spec.id].text() == catalog["actions", spec.text]
    assert w.actions_by_id["save"].text() == "保存(&S)"
    assert w.saved_label.text() == "已保存"
    w.select_class_index(1)
    assert w.class_label.text() == "类别：cat"
    assert {w.file_dock.windowTitle(), w.class_dock.windowTitle(), w.tags_dock.windowTitle()} == \
        {"文件", "类别", "图像标签"}
    dialog = w.dialogs.show_shortcuts()
    assert dialog.windowTitle() == "键盘快捷键"
    texts = [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())]
    assert "保存" in texts  # the '&' is dropped in the list
    dialog.close()
    w.close()


def test_english_has_no_translator_and_the_app_installs_the_users_language(qtbot, demo_root):
    from labeler.gui import app

    assert install_translator(QApplication.instance(), "en")
    assert not install_translator(QApplication.instance(), "xx_YY")  # no such translation: English
    w = app.create_window(str(demo_root), autosave_s=3600)
    qtbot.addWidget(w)
    assert w.menuBar().actions()[0].text() == "&File"
    w.close()
    user_settings.put("language", "zh_CN")
    try:
        assert app.start_application() is QApplication.instance()  # what run() does before any window
        w = app.create_window(str(demo_root), autosave_s=3600)
        qtbot.addWidget(w)
        assert w.menuBar().actions()[0].text() == "文件(&F)"
        w.close()
    finally:
        remove_translators(QApplication.instance())
