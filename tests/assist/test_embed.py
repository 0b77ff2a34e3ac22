"""`labeler embed`: a whole project's SAM embeddings into DIR/.labeler/embeddings/<model id>/,
skipping what is there, usable by a later session (or another machine) without the encoder."""

import pytest
import torch
from PIL import Image

from labeler import cli
from labeler.assist import download as dl
from labeler.assist.embed import embed_project, embedding_dir, model_id, use_project_cache
from labeler.assist.cache import EmbeddingCache
from labeler.core.project import Project
from labeler.plugins.sam import CHECKPOINT_ENV, SamEngine, checkpoint_identity

from .synthetic import scene
from .test_sam import save_tiny


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny_sam.pth"
    save_tiny(path)
    return path


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "proj"
    Project.create(root).close()
    (root / "images").mkdir()
    for i in range(3):
        Image.fromarray(scene("ellipse", seed=i)[0]).save(root / "images" / f"img{i}.png")
    # the same pixels under another name: one embedding serves both
    Image.fromarray(scene("ellipse", seed=0)[0]).save(root / "images" / "copy_of_img0.png")
    return root


def entries(folder):
    return sorted(p.name for p in folder.glob("*.pt"))


def test_embed_command_fills_the_project_cache_once(project, tiny, capsys):
    folder = embedding_dir(project, f"sam:{checkpoint_identity(tiny)}")
    assert folder.parent == project / ".labeler" / "embeddings"
    assert cli.main(["embed", "--project", str(project), "--model", str(tiny), "--device", "cpu", "-q"]) == 0
    err = capsys.readouterr().err
    assert "3 done" in err  # the copy of img0 hit the entry img0 made a moment before
    names = entries(folder)
    assert len(names) == 3
    stamps = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.pt")}
    # a second run finds everything there and writes nothing
    assert cli.main(["embed", "--project", str(project), "--model", str(tiny), "-q"]) == 0
    out, err = capsys.readouterr()
    assert "0 done" in err and f"4 already embedded; embeddings in {folder}" in out
    assert {p.name: p.stat().st_mtime_ns for p in folder.glob("*.pt")} == stamps
    # a new session pointed at the folder never runs the encoder; entries are CPU tensors
    engine = SamEngine(tiny, device="cpu", cache_dir=folder)
    for i in range(3):
        state = engine.prepare(scene("ellipse", seed=i)[0])
        assert state.features.device.type == "cpu"
    assert engine.encoder_runs == 0 and engine.cache.disk_hits == 3


def test_the_cache_is_keyed_by_content_and_model_not_by_device(project, tiny, tmp_path):
    # an entry written by an engine on one device is read by an engine on another: the key
    # holds only the model's identity and the image's pixels
    engine = SamEngine(tiny, device="cpu")
    folder = embedding_dir(project, engine.cache_key)
    assert folder.name == model_id(engine.cache_key) and ":" not in folder.name
    cache = EmbeddingCache(1, folder)
    with Project.open(project, read_only=True) as proj:
        report = embed_project(proj, engine, cache, keys=["images/img1.png"])
    assert report.done == 1 and len(entries(folder)) == 1
    data = torch.load(next(folder.glob("*.pt")), map_location="cpu", weights_only=True)
    assert "cpu" not in data["key"] and data["key"].startswith(engine.cache_key + "/")
    save_tiny(tmp_path / "other.pth", seed=1)  # another model: another folder
    assert embedding_dir(project, f"sam:{checkpoint_identity(tmp_path / 'other.pth')}") != folder


def test_a_broken_image_is_reported_and_the_rest_embedded(project, tiny, capsys):
    (project / "images" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    assert cli.main(["embed", "--project", str(project), "--model", str(tiny), "-q"]) == 1
    err = capsys.readouterr().err
    assert "broken.png" in err and "3 done" in err
    folder = embedding_dir(project, f"sam:{checkpoint_identity(tiny)}")
    assert len(entries(folder)) == 3


def test_a_model_that_is_not_downloaded_says_how_to_get_it(project, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(dl.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(CHECKPOINT_ENV, raising=False)
    assert cli.main(["embed", "--project", str(project)]) == 1  # default model: vit_b
    assert "run `labeler sam-download vit_b`" in capsys.readouterr().err
    assert not (project / ".labeler" / "embeddings").exists()
    assert cli.main(["embed", "--project", str(project), "--model", "vit_b", "--device", "tpu"]) == 1
    assert "unknown device 'tpu'" in capsys.readouterr().err


def test_an_engine_pointed_at_the_project_uses_what_embed_computed(project, tiny, capsys):
    assert cli.main(["embed", "--project", str(project), "--model", str(tiny), "-q"]) == 0
    engine = SamEngine(tiny, device="cpu")
    folder = use_project_cache(engine, project)
    assert folder == embedding_dir(project, engine.cache_key) and len(entries(folder)) == 3
    engine.prepare(scene("ellipse", seed=2)[0])
    assert engine.encoder_runs == 0 and engine.cache.disk_hits == 1
    engine.prepare(scene("ellipse", seed=7)[0])  # a new image: computed once, kept for next time
    assert engine.encoder_runs == 1 and len(entries(folder)) == 4

    class NoDisk:  # an engine whose states cannot be stored
        cache_key = "nodisk"
    assert use_project_cache(NoDisk(), project) is None
