"""Hide All Shapes (Ctrl+H), Keep Previous Annotation (Ctrl+P, then A/D) and Simplify Selected
Polygons, driven the way a user does."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from shapely.geometry import Polygon

from labeler.core.annotation import ImageAnnotation
from labeler.core.project import Project
from labeler.core.shapes import Shape
from labeler.gui import user_settings
from labeler.gui.dialogs.shortcuts import shortcut_rows
from labeler.gui.main_window import MainWindow

from .conftest import activate

CTRL = Qt.KeyboardModifier.ControlModifier


def _key(qtbot, w, key, modifier=Qt.KeyboardModifier.NoModifier):
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas.viewport(), key, modifier)


def test_ctrl_h_hides_every_shape_and_keeps_per_class_visibility(qtbot, window):
    doc = window.session.document
    doc.add_shapes([Shape("rectangle", "person", [(10, 10), (60, 60)]),
                    Shape("rectangle", "cat", [(100, 100), (160, 160)])])
    window.canvas.set_class_visible("cat", False)  # the user hid one class in the palette
    person, cat = (window.canvas.shape_item(s.id) for s in doc.shapes)
    assert person.isVisible() and not cat.isVisible()
    _key(qtbot, window, Qt.Key.Key_H, CTRL)
    assert window.actions_by_id["hide_shapes"].isChecked()
    assert not person.isVisible() and not cat.isVisible()
    doc.add_shape(Shape("rectangle", "person", [(200, 10), (260, 60)]))  # drawn while hidden
    assert not window.canvas.shape_item(doc.shapes[-1].id).isVisible()
    _key(qtbot, window, Qt.Key.Key_H, CTRL)
    assert not window.actions_by_id["hide_shapes"].isChecked()
    assert person.isVisible() and not cat.isVisible()  # the class hidden before stays hidden
    assert window.canvas.shape_item(doc.shapes[-1].id).isVisible()
    assert window.canvas.hidden_classes == {"cat"}


@pytest.fixture
def frames_root(tmp_path):
    """Frames a (200 x 150), b (120 x 150, narrower), c (200 x 150, already labeled), d (empty)."""
    root = tmp_path / "frames"
    root.mkdir()
    for name, size in (("a", (200, 150)), ("b", (120, 150)), ("c", (200, 150)), ("d", (200, 150))):
        Image.new("RGB", size, (40, 40, 40)).save(root / f"{name}.png")
    project = Project.create(root)
    project.save_annotation("c.png", ImageAnnotation("c.png", 200, 150, [Shape("polygon", "road", [
        (0, 100), (200, 100), (200, 150)])], status="in_progress"))
    project.close()
    return root


def test_keep_previous_copies_onto_empty_frames_only_as_one_undo_step(qtbot, frames_root):
    w = MainWindow(Project.open(frames_root), autosave_s=3600)
    qtbot.addWidget(w)
    activate(qtbot, w)
    doc_a = w.session.document
    doc_a.add_shapes([Shape("polygon", "car", [(10, 10), (60, 10), (60, 50)], instance_id=2),
                      Shape("rectangle", "bus", [(100, 20), (190, 80)], instance_id=5),
                      Shape("point", "sign", [(150, 100)])])
    _key(qtbot, w, Qt.Key.Key_P, CTRL)
    assert w.actions_by_id["keep_previous"].isChecked() and w.aids.keep_previous
    _key(qtbot, w, Qt.Key.Key_D)
    doc_b = w.session.document
    assert w.session.key == "b.png"
    shapes = doc_b.shapes
    assert [(s.label, s.instance_id) for s in shapes] == [("car", 2), ("bus", 5)]  # the sign lies outside
    assert not {s.id for s in shapes} & {s.id for s in doc_a.shapes}
    assert np.allclose(shapes[1].points, [(100, 20), (120, 80)])  # clipped to the narrower frame
    assert doc_b.annotation.status == "in_progress" and doc_b.dirty
    assert len(w.canvas.selected_ids) == 0 and all(w.canvas.shape_item(s.id).isVisible() for s in shapes)
    doc_b.undo()  # one step takes it all back
    assert doc_b.shapes == [] and doc_b.annotation.status == "new" and not doc_b.can_undo
    doc_b.redo()
    _key(qtbot, w, Qt.Key.Key_D)  # c has its own shape: nothing is added
    assert w.session.key == "c.png" and [s.label for s in w.session.document.shapes] == ["road"]
    _key(qtbot, w, Qt.Key.Key_A)  # back to b: it has shapes now
    assert w.session.key == "b.png" and len(w.session.document.shapes) == 2
    assert w.session.flush_saves()
    assert len(w.project.load("b.png").shapes) == 2  # the carried shapes were saved when leaving b
    _key(qtbot, w, Qt.Key.Key_P, CTRL)  # off
    assert not w.aids.keep_previous
    w.open_index(w.session.keys.index("d.png"))
    assert w.session.document.shapes == []
    w.close()


def _circle(n=400, r=80.0, cx=250.0, cy=250.0):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], axis=1)


def test_simplify_selected_polygon_is_one_undo_step_and_reports_vertices(qtbot, window):
    doc = window.session.document
    dense = Shape("polygon", "person", _circle())
    box = Shape("rectangle", "cat", [(10, 10), (40, 40)])
    doc.add_shapes([dense, box])
    window.canvas.select([box.id])
    window.actions_by_id["simplify_polygons"].trigger()
    assert "select one or more polygons" in window.statusBar().currentMessage()
    window.canvas.select([dense.id, box.id])
    window.actions_by_id["simplify_polygons"].trigger()
    out = doc.get(dense.id)
    m = len(out.points)
    assert m < 100
    a, b = Polygon(dense.points), Polygon(out.points)
    assert a.intersection(b).area / a.union(b).area >= 0.98
    assert f"400 -> {m} vertices" in window.statusBar().currentMessage()
    assert doc.get(box.id) is box
    doc.undo()
    assert len(doc.get(dense.id).points) == 400
    user_settings.put("simplify_tolerance", 4.0)  # the setting: a coarser outline
    window.actions_by_id["simplify_polygons"].trigger()
    assert len(doc.get(dense.id).points) < m


def test_new_actions_are_listed_in_the_shortcuts_dialog():
    rows = {r[0]: r for r in shortcut_rows()}
    for action_id in ("image_adjust", "hide_shapes", "keep_previous", "simplify_polygons"):
        assert action_id in rows
    assert rows["hide_shapes"][3] and rows["image_adjust"][3]
