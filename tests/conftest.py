from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import hypothesis
import pytest
from hypothesis.database import DirectoryBasedExampleDatabase

from paperscope.search.encoder import Encoder, install_minilm, load_encoder
from paperscope.settings import Settings
from paperscope.store import Store, open_store

REPO = Path(__file__).resolve().parents[1]
# The one PAPERSCOPE_* setting the suite takes from the environment: where the embedding
# model is installed (read only). The test runner's own switches are kept as well.
MODELS_DIR = Path(os.environ.get("PAPERSCOPE_MODELS_DIR", REPO / ".data" / "models"))
_TEST_SWITCHES = ("PAPERSCOPE_REQUIRE_BROWSER", "PAPERSCOPE_ARTIFACTS")
_SESSION_DATA = tempfile.mkdtemp(prefix="paperscope-test-data-")
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
# One hypothesis profile for the whole suite. "ci" (the default) is deterministic (the same
# examples on every run, no example database) and has no per-example deadline, as the first
# search pays for warming caches; each property sets its own number of examples through
# tests.strategies.examples (about 2,000 across the suite; PAPERSCOPE_FUZZ_SCALE=10 for ten
# times that). "explore" draws new random examples each run and remembers failures in
# .hypothesis/: HYPOTHESIS_PROFILE=explore PAPERSCOPE_FUZZ_SCALE=20 pytest -k fuzz.
hypothesis.settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=[hypothesis.HealthCheck.too_slow],
)
hypothesis.settings.register_profile(
    "explore",
    parent=hypothesis.settings.get_profile("ci"),
    derandomize=False,
    database=DirectoryBasedExampleDatabase(".hypothesis/examples"),
)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

DEMO_CORPUS = (
    Path(__file__).resolve().parents[1] / "src" / "paperscope" / "demo" / "papers.jsonl.gz"
)


def pytest_configure(config: pytest.Config) -> None:
    """Hermetic: no test reads a database, data directory or config file that a developer's
    shell points at. Every PAPERSCOPE_* variable is dropped before anything runs, and the
    data directory is a fresh folder of the run's (each test gets its own, below)."""
    for name in [n for n in os.environ if n.startswith("PAPERSCOPE_")]:
        if name not in _TEST_SWITCHES:
            del os.environ[name]
    os.environ["PAPERSCOPE_MODELS_DIR"] = str(MODELS_DIR)
    os.environ["PAPERSCOPE_DATA_DIR"] = _SESSION_DATA


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_SESSION_DATA, ignore_errors=True)


@pytest.fixture(autouse=True)
def _own_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Code that reads Settings() from the environment lands in this test's folder."""
    monkeypatch.setenv("PAPERSCOPE_DATA_DIR", str(tmp_path / "env-data"))


@pytest.fixture(scope="session")
def minilm() -> Encoder:
    """The packaged MiniLM encoder (installed into the models directory once)."""
    install_minilm(MODELS_DIR)  # no-op when installed
    return load_encoder("minilm", models_dir=MODELS_DIR)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", arxiv_request_delay_s=0)


@pytest.fixture
def store(settings: Settings) -> Store:
    return open_store(settings)
