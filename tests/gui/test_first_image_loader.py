"""With background loading (the application's setting) the first image of a session is read in
the loader's worker too: the window is up at once and shows the image when it arrives."""

from __future__ import annotations

import threading

from labeler.core.project import Project
from labeler.gui import image_loader
from labeler.gui.main_window import MainWindow

from .conftest import activate


def recording(monkeypatch) -> list[tuple[str, int]]:
    calls: list[tuple[str, int]] = []
    real = image_loader.load_image

    def load_image(project, index, key):
        calls.append((key, threading.get_ident()))
        return real(project, index, key)

    monkeypatch.setattr(image_loader, "load_image", load_image)
    return calls


def test_the_first_image_is_read_in_the_loaders_worker(qtbot, demo_root, monkeypatch):
    calls = recording(monkeypatch)
    w = MainWindow(Project.open(demo_root), autosave_s=3600, start_key="images/chelsea.png",
                   background_loading=True)
    qtbot.addWidget(w)
    assert w.session.loading_index == 1  # asked for, not read on the GUI thread while constructing
    activate(qtbot, w)
    qtbot.waitUntil(lambda: w.session.key == "images/chelsea.png", timeout=10000)
    first = [t for k, t in calls if k == "images/chelsea.png"]
    assert first and threading.get_ident() not in first
    doc = w.session.document
    assert doc.shapes and w.shape_dock.list.count() == len(doc.shapes)  # shown whole once it came
    assert w.canvas.image_size == (w.session.image.width(), w.session.image.height())
    assert w.windowTitle() == "labeler - images/chelsea.png" and w.file_dock.list.currentRow() == 1
    w.close()


def test_closing_before_the_first_image_arrives_writes_nothing(qtbot, demo_root, monkeypatch):
    gate = threading.Event()
    real = image_loader.load_image

    def slow(project, index, key):
        gate.wait(5)
        return real(project, index, key)

    monkeypatch.setattr(image_loader, "load_image", slow)
    w = MainWindow(Project.open(demo_root), autosave_s=3600, background_loading=True)
    qtbot.addWidget(w)
    assert w.session.document is None and w.session.key is None
    threading.Timer(0.2, gate.set).start()
    assert w.close()
    qtbot.wait(50)  # a late answer from the loader would open the image now
    assert w.session.document is None
    assert not w.project.annotation_path("images/astronaut.png").exists()
