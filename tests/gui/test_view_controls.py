"""View controls: the opacity slider (toolbar and View menu), fill/outline and colour-by-instance."""

from __future__ import annotations

from PySide6.QtCore import Qt

from labeler.core.shapes import Shape

CTRL = Qt.KeyboardModifier.ControlModifier


def _view_menu(window):
    return next(a.menu() for a in window.menuBar().actions() if a.menu() and "View" in a.text())


def test_opacity_slider_sets_the_overlay_and_follows_shortcuts(qtbot, window, mouse):
    window.session.document.add_shape(Shape("rectangle", "person", [(10, 10), (60, 60)]))
    ctl = window.opacity_control
    assert ctl.slider.isVisible() and ctl.slider.value() == round(window.canvas.opacity * 100)
    ctl.slider.setFocus()
    qtbot.keyClick(ctl.slider, Qt.Key.Key_End)  # a user pushes it all the way
    assert window.canvas.opacity == 1.0
    item = window.canvas.shape_item(window.session.document.shapes[0].id)
    assert item.brush().color().alphaF() > 0.9  # the fill is drawn opaque now
    window.canvas.setFocus()
    mouse.key(Qt.Key.Key_BracketLeft, CTRL)  # more transparent by 10 %
    assert ctl.slider.value() == 90 and ctl.menu_slider.value() == 90
    ctl.menu_slider.setValue(20)
    assert abs(window.canvas.opacity - 0.2) < 1e-9 and ctl.slider.value() == 20


def test_view_menu_has_the_opacity_slider_fill_outline_and_colour_toggles(window):
    names = [a.objectName() for a in _view_menu(window).actions()]
    for wanted in ("opacity_up", "opacity_down", "opacity_slider_action", "view_fill", "view_outline",
                   "color_by_class", "color_by_instance"):
        assert wanted in names, names
    assert names.index("opacity_slider_action") == names.index("opacity_down") + 1
    window.actions_by_id["view_outline"].trigger()
    assert window.canvas.outline_only
    doc = window.session.document
    doc.add_shape(Shape("rectangle", "person", [(10, 10), (60, 60)], instance_id=3))
    icon_before = window.shape_dock.list.item(0).icon().pixmap(14, 14).toImage().pixelColor(7, 7)
    window.actions_by_id["color_by_instance"].trigger()
    assert window.canvas.color_by_instance
    icon = window.shape_dock.list.item(0).icon().pixmap(14, 14).toImage().pixelColor(7, 7)
    assert icon != icon_before  # the shape list's icon follows the colouring
    assert (icon.red(), icon.green(), icon.blue()) == window.canvas.shape_color(doc.shapes[0])
