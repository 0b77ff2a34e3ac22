import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

CAMVID = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "camvid"


@pytest.fixture
def camvid() -> Path:
    """The CamVid folder beside the project; tests that use it skip when it is absent."""
    if not (CAMVID / "train").is_dir():
        pytest.skip("../shared/datasets/camvid is not present")
    return CAMVID
