"""Checkpoint downloads against a local HTTP server on 127.0.0.1 (Range support, dropped
connections, servers that ignore Range); no test touches the internet."""

import hashlib
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from labeler import cli
from labeler.assist import download as dl
from labeler.assist.download import (CHECKPOINTS, Checkpoint, DownloadError, download, download_checkpoint,
                                     resolve_checkpoint)
from labeler.core.errors import LabelerError


class Server:
    """Serves ``files`` (path -> bytes). ``drop_after[path] = n``: the next GET of ``path`` sends
    the headers of the whole answer, then only ``n`` bytes, then closes the connection."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.drop_after: dict[str, int] = {}
        self.honour_range = True
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                rng = self.headers.get("Range")
                server.requests.append((self.path, rng))
                data = server.files.get(self.path)
                if data is None:
                    self.send_error(404, "Not Found")
                    return
                start = 0
                found = re.fullmatch(r"bytes=(\d+)-", rng or "")
                if found and server.honour_range:
                    start = int(found.group(1))
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                cut = server.drop_after.pop(self.path, None)
                self.wfile.write(body if cut is None else body[:cut])
                self.wfile.flush()
                if cut is not None:
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def add(self, path: str, size: int, seed: int = 0) -> tuple[bytes, str]:
        data = np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()
        self.files[path] = data
        return data, hashlib.sha256(data).hexdigest()


@pytest.fixture
def server():
    s = Server()
    s.thread.start()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    monkeypatch.setattr(dl, "CHUNK", 64 * 1024)


def test_progress_is_reported_and_the_file_lands_atomically(server, tmp_path):
    data, sha = server.add("/model.pth", 600_000)
    calls = []
    dest = tmp_path / "models" / "model.pth"
    assert download(server.url + "/model.pth", dest, sha256=sha, size=len(data),
                    progress=lambda done, total: calls.append((done, total))) == dest
    assert dest.read_bytes() == data
    assert not (tmp_path / "models" / "model.pth.part").exists()
    assert calls[0] == (0, len(data)) and calls[-1] == (len(data), len(data))
    assert len(calls) >= 600_000 // (64 * 1024)  # one report per chunk, at least
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_a_dropped_connection_is_resumed_with_a_range_request(server, tmp_path):
    data, sha = server.add("/model.pth", 500_000)
    server.drop_after["/model.pth"] = 200_000
    dest = tmp_path / "model.pth"
    download(server.url + "/model.pth", dest, sha256=sha, retries=2, backoff=0)
    assert dest.read_bytes() == data
    assert server.requests == [("/model.pth", None), ("/model.pth", "bytes=200000-")]


def test_an_interrupted_download_keeps_its_part_file_and_the_next_call_resumes_it(server, tmp_path):
    data, sha = server.add("/model.pth", 500_000)
    server.drop_after["/model.pth"] = 123_456
    dest = tmp_path / "model.pth"
    with pytest.raises(DownloadError, match=r"interrupted .* after 123,456 bytes; run again to resume"):
        download(server.url + "/model.pth", dest, sha256=sha, retries=0)
    part = tmp_path / "model.pth.part"
    assert part.stat().st_size == 123_456 and not dest.exists()
    calls = []
    download(server.url + "/model.pth", dest, sha256=sha, size=len(data),
             progress=lambda done, total: calls.append(done))
    assert dest.read_bytes() == data and not part.exists()
    assert server.requests[-1] == ("/model.pth", "bytes=123456-")
    assert calls[0] == 123_456  # progress counts from what was already there


def test_a_complete_part_file_is_finished_without_fetching_it_again(server, tmp_path):
    data, sha = server.add("/model.pth", 70_000)
    (tmp_path / "model.pth.part").write_bytes(data)
    download(server.url + "/model.pth", tmp_path / "model.pth", sha256=sha, size=len(data))
    assert (tmp_path / "model.pth").read_bytes() == data
    assert server.requests == [("/model.pth", "bytes=70000-")]  # answered 416: nothing left


def test_a_server_that_ignores_range_restarts_the_file_cleanly(server, tmp_path):
    data, sha = server.add("/model.pth", 300_000)
    (tmp_path / "model.pth.part").write_bytes(b"x" * 1000)  # stale bytes from an older attempt
    server.honour_range = False
    download(server.url + "/model.pth", tmp_path / "model.pth", sha256=sha)
    assert (tmp_path / "model.pth").read_bytes() == data


def test_a_bad_checksum_deletes_the_download_and_says_so(server, tmp_path):
    data, _ = server.add("/model.pth", 200_000)
    dest = tmp_path / "model.pth"
    with pytest.raises(DownloadError, match=r"model\.pth: SHA-256 [0-9a-f]{64} does not match the expected 0{64}"):
        download(server.url + "/model.pth", dest, sha256="0" * 64)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(DownloadError, match=r"downloaded 200,000 bytes, expected 200,001"):
        download(server.url + "/model.pth", dest, size=len(data) + 1)
    assert list(tmp_path.iterdir()) == []


def test_http_errors_and_unreachable_servers_are_one_line(server, tmp_path):
    with pytest.raises(DownloadError, match=r"/missing\.pth: HTTP 404"):
        download(server.url + "/missing.pth", tmp_path / "m.pth")
    with pytest.raises(DownloadError, match="cannot download"):
        download("http://127.0.0.1:9/none.pth", tmp_path / "n.pth", retries=0)
    assert list(tmp_path.iterdir()) == []


def test_the_registry_holds_the_official_checkpoints():
    from segment_anything import sam_model_registry

    assert set(CHECKPOINTS) == set(sam_model_registry) - {"default"}
    for name, ckpt in CHECKPOINTS.items():
        assert ckpt.filename.startswith(f"sam_{name}_") and ckpt.url.endswith("/" + ckpt.filename)
        assert ckpt.url.startswith("https://dl.fbaipublicfiles.com/segment_anything/")
        assert re.fullmatch(r"[0-9a-f]{64}", ckpt.sha256)
    assert CHECKPOINTS["vit_b"].size < CHECKPOINTS["vit_l"].size < CHECKPOINTS["vit_h"].size


@pytest.fixture
def fake_vit_b(server, monkeypatch, tmp_path):
    """``vit_b`` served by the local server, and a user cache under tmp_path."""
    data, sha = server.add("/sam_vit_b_01ec64.pth", 300_000, seed=3)
    monkeypatch.setitem(CHECKPOINTS, "vit_b", Checkpoint("vit_b", "sam_vit_b_01ec64.pth",
                                                         server.url + "/sam_vit_b_01ec64.pth", len(data), sha))
    monkeypatch.setenv(dl.CACHE_ENV, str(tmp_path / "cache"))
    return data


def test_model_names_resolve_to_the_user_cache_and_paths_to_themselves(fake_vit_b, server, tmp_path):
    with pytest.raises(LabelerError, match=r"not downloaded yet .* run `labeler sam-download vit_b`"):
        resolve_checkpoint("vit_b")
    path = resolve_checkpoint("vit_b", download_missing=True)
    assert path == tmp_path / "cache" / "checkpoints" / "sam_vit_b_01ec64.pth"
    assert path.read_bytes() == fake_vit_b
    assert resolve_checkpoint("vit_b") == path and len(server.requests) == 1
    assert download_checkpoint("vit_b") == path and len(server.requests) == 1  # present: not fetched again
    assert resolve_checkpoint(str(path)) == path  # a local file works where a name does
    with pytest.raises(LabelerError, match=r"nowhere\.pth: SAM checkpoint not found"):
        resolve_checkpoint(tmp_path / "nowhere.pth")
    with pytest.raises(LabelerError, match="unknown SAM model 'vit_x'"):
        download_checkpoint("vit_x")


def test_sam_download_command(fake_vit_b, server, tmp_path, capsys):
    assert cli.main(["sam-download"]) == 0
    assert re.search(r"vit_b .* not downloaded", capsys.readouterr().out)
    assert cli.main(["sam-download", "vit_b", "-q"]) == 0
    out = capsys.readouterr().out.strip()
    assert out == str(tmp_path / "cache" / "checkpoints" / "sam_vit_b_01ec64.pth")
    assert cli.main(["sam-download"]) == 0
    assert re.search(r"vit_b .* downloaded", capsys.readouterr().out)
    # --verify re-hashes a present file: a damaged one (same size) is fetched again
    path = tmp_path / "cache" / "checkpoints" / "sam_vit_b_01ec64.pth"
    path.write_bytes(b"\0" * len(fake_vit_b))
    assert cli.main(["sam-download", "vit_b", "-q"]) == 0 and len(server.requests) == 1  # size looks fine
    assert cli.main(["sam-download", "vit_b", "-q", "--verify"]) == 0
    assert "does not match the official one" in capsys.readouterr().err
    assert path.read_bytes() == fake_vit_b and len(server.requests) == 2
    # a mirror whose file does not match the official checksum is refused, nothing kept
    server.add("/mirror.pth", 300_000, seed=4)
    assert cli.main(["sam-download", "vit_b", "-q", "--dir", str(tmp_path / "m"),
                     "--url", server.url + "/mirror.pth"]) == 1
    assert "does not match the expected" in capsys.readouterr().err
    assert not any((tmp_path / "m").iterdir())
    assert cli.main(["sam-download", "vit_q"]) == 1
    assert "unknown SAM model 'vit_q'" in capsys.readouterr().err
