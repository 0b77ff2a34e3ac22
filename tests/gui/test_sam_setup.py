"""SAM set-up in the window: the model and device settings, and downloading a checkpoint from a
local HTTP server on 127.0.0.1 with a progress dialog and Cancel (no test touches the internet)."""

from __future__ import annotations

import hashlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from labeler import cli
from labeler.assist import download as dl
from labeler.assist.embed import embedding_dir

from .test_assist_tool import assist_window, scenes  # noqa: F401 (fixtures)

pytest.importorskip("segment_anything")


class SlowServer:
    """Serves one file in 64 KiB pieces, ``pause`` seconds apart."""

    def __init__(self, data: bytes, pause: float = 0.0) -> None:
        self.data, self.pause, self.gets = data, pause, 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.gets += 1
                self.send_response(200)
                self.send_header("Content-Length", str(len(server.data)))
                self.end_headers()
                try:
                    for i in range(0, len(server.data), 1 << 16):
                        self.wfile.write(server.data[i:i + (1 << 16)])
                        self.wfile.flush()
                        time.sleep(server.pause)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/sam_tiny.pth"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def served_checkpoint(tmp_path, monkeypatch):
    """A tiny SAM checkpoint served locally and registered as the official ``vit_b``."""
    from labeler.plugins.sam import CHECKPOINT_ENV

    from ..assist.test_sam import save_tiny

    monkeypatch.delenv(CHECKPOINT_ENV, raising=False)
    monkeypatch.setenv(dl.CACHE_ENV, str(tmp_path / "cache"))
    path = tmp_path / "src.pth"
    save_tiny(path)
    data = path.read_bytes()
    server = SlowServer(data)
    monkeypatch.setitem(dl.CHECKPOINTS, "vit_b", dl.Checkpoint(
        "vit_b", "sam_tiny_b.pth", server.url, len(data), hashlib.sha256(data).hexdigest()))
    yield server
    server.close()


def test_download_then_the_ai_tool_offers_sam_with_the_project_cache(assist_window, qtbot, served_checkpoint):
    w = assist_window
    w.actions_by_id["sam_setup"].trigger()
    dialog = w.assist.current_dialog
    dialog.model.setCurrentIndex(dialog.model.findData("vit_b"))
    dialog.device.setCurrentIndex(dialog.device.findData("cpu"))
    assert "not downloaded" in dialog.status.text() and dialog.download_button.isEnabled()
    qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.downloading and dialog.progress is None, timeout=10000)
    assert dialog.progress_updates >= 2  # the start and the end at least
    target = dl.checkpoint_path("vit_b")
    assert dialog.downloaded == target and target.is_file() and not dialog.download_error
    assert served_checkpoint.gets == 1 and "is downloaded" in dialog.status.text()
    assert not dialog.download_button.isEnabled()
    sam = w.assist.plugins.engines["sam"]  # rebuilt from the settings, offered in the panel
    assert sam.checkpoint == target and sam.device == "cpu"
    assert ("sam", "") in w.assist.engine_rows()
    assert sam.cache.folder == embedding_dir(w.session.project.root, sam.cache_key)
    w.actions_by_id["tool_ai"].trigger()
    assert w.assist.engine_name == "sam"  # preferred now that it can run
    qtbot.waitUntil(lambda: w.assist.ready, timeout=20000)
    assert any(sam.cache.folder.glob("*.pt"))  # the window's embeddings land in the project's folder
    dialog.close()


def test_cancel_stops_the_download_and_keeps_the_part_file(assist_window, qtbot, served_checkpoint):
    served_checkpoint.data = bytes(3 << 20)  # three 1 MiB blocks, slowly: it never completes here
    served_checkpoint.pause = 0.03
    w = assist_window
    dialog = w.assist.show_sam_setup()
    dialog.model.setCurrentIndex(dialog.model.findData("vit_b"))
    assert dialog.download()
    qtbot.waitUntil(lambda: dialog.progress is not None and dialog.progress.value() > 0, timeout=10000)
    qtbot.mouseClick(dialog.progress.findChild(QPushButton), Qt.MouseButton.LeftButton)  # its Cancel
    qtbot.waitUntil(lambda: not dialog.downloading, timeout=10000)
    target = dl.checkpoint_path("vit_b")
    assert not target.exists() and target.with_name(target.name + ".part").is_file()
    assert "cancelled" in dialog.status.text()
    assert "sam" not in w.assist.plugins.engines or w.assist.engine_rows()[-1][1]


def test_a_local_checkpoint_file_and_device_are_kept(assist_window, qtbot, tmp_path, monkeypatch):
    from labeler.plugins.sam import CHECKPOINT_ENV

    from ..assist.test_sam import save_tiny

    monkeypatch.delenv(CHECKPOINT_ENV, raising=False)
    path = tmp_path / "mine.pth"
    save_tiny(path)
    w = assist_window
    dialog = w.assist.show_sam_setup()
    dialog.model.setCurrentIndex(dialog.model.findData("file"))
    assert not dialog.download_button.isEnabled()
    dialog.path.setText(str(tmp_path / "missing.pth"))
    assert "not found" in dialog.status.text()
    dialog.path.setText(str(path))
    dialog.device.setCurrentIndex(dialog.device.findData("cpu"))
    root = w.session.project.root
    assert cli.main(["embed", "--project", str(root), "--model", str(path), "--device", "cpu", "-q"]) == 0
    dialog.accept()
    sam = w.assist.plugins.engines["sam"]
    assert sam.checkpoint == path and sam.device == "cpu"
    w.assist.set_engine("sam")
    w.actions_by_id["tool_ai"].trigger()
    qtbot.waitUntil(lambda: w.assist.ready, timeout=20000)
    assert sam.encoder_runs == 0 and sam.cache.disk_hits >= 1  # what `labeler embed` computed is reused
    again = w.assist.show_sam_setup()  # the choice is remembered
    assert again.model.currentData() == "file" and again.path.text() == str(path)
    again.close()


def test_closing_the_window_stops_a_download(assist_window, qtbot, served_checkpoint):
    served_checkpoint.data = bytes(3 << 20)
    served_checkpoint.pause = 0.03
    w = assist_window
    dialog = w.assist.show_sam_setup()
    dialog.model.setCurrentIndex(dialog.model.findData("vit_b"))
    assert dialog.download()
    qtbot.waitUntil(lambda: dialog.progress_updates >= 2, timeout=10000)
    w.close()
    assert not dialog.job.isRunning()
    target = dl.checkpoint_path("vit_b")
    assert not target.exists() and target.with_name(target.name + ".part").is_file()
