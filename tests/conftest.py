from __future__ import annotations

from pathlib import Path

import pytest

from paperscope.settings import Settings
from paperscope.store import Store, open_store

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DEMO_CORPUS = (
    Path(__file__).resolve().parents[1] / "src" / "paperscope" / "demo" / "papers.jsonl.gz"
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", arxiv_request_delay_s=0)


@pytest.fixture
def store(settings: Settings) -> Store:
    return open_store(settings)
