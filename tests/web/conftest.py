"""A small indexed paperscope (300 demo papers, real MiniLM vectors) shared by the web
tests: an in-process client for most, a real server on 127.0.0.1 for clients that need a
socket (huggingface_hub, schemathesis, Chromium)."""

from __future__ import annotations

import gzip
import itertools
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from paperscope.demo import DEMO_CORPUS, DemoSource, load_demo
from paperscope.search.engine import SearchEngine
from paperscope.search.indexer import Indexer
from paperscope.settings import LOOPBACK_HOSTS, Settings
from paperscope.store import open_store
from paperscope.web.app import create_app
from tests.ingest.fake_arxiv import FakeArxiv
from tests.mail_server import SmtpServer
from tests.search.conftest import REPO, demo_records
from tests.web.members import Person

TAG_PAPER = "2602.01771"  # "<SOG_k>: One LLM Token for ...": must render as text
UPVOTED = "2601.17067"


@pytest.fixture(scope="session")
def web_settings(tmp_path_factory, minilm, new_database) -> Settings:
    data = tmp_path_factory.mktemp("web") / "data"
    models = Path(os.environ.get("PAPERSCOPE_MODELS_DIR", REPO / ".data" / "models"))
    # TestClient's requests name the host "testserver"; real ones name the loopback.
    settings = Settings(
        data_dir=data,
        database_url=new_database(),
        models_dir=models,
        allowed_hosts=["testserver", *LOOPBACK_HOSTS],
    )
    store = open_store(settings)
    demo = demo_records(1515)
    records = [*demo[:300], demo[1514]]
    store.papers.upsert(records)
    ids = {r.id for r in records}
    assert TAG_PAPER in ids and UPVOTED in ids
    store.votes.add(UPVOTED, "reader-1", datetime(2026, 1, 1))
    store.votes.add(UPVOTED, "reader-2", datetime(2026, 1, 1))
    Indexer(SearchEngine(settings, store, encoder=minilm)).update()
    store.engine.dispose()
    return settings


@pytest.fixture(scope="session")
def client(web_settings) -> Iterator[TestClient]:
    with TestClient(create_app(web_settings)) as test_client:
        yield test_client


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(app, port: int | None = None) -> Iterator[str]:
    """The app served by uvicorn on a (free) loopback port; yields its URL."""
    port = port or _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("paperscope did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="session")
def live_server(web_settings) -> Iterator[str]:
    """paperscope served by uvicorn on a free loopback port, for the whole session."""
    with serving(create_app(web_settings)) as url:
        yield url


# -- a paperscope with members: mail to a real SMTP server, fresh papers to submit ---------
@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def fake_arxiv_server() -> Iterator[FakeArxiv]:
    server = FakeArxiv().start()
    yield server
    server.stop()


RECENT = 40  # papers published in the last days, the rest long ago


@pytest.fixture(scope="module")
def community_settings(tmp_path_factory, new_database, smtp, fake_arxiv_server) -> Settings:
    """A store of its own (members change it): 60 demo papers, the first RECENT of them
    re-dated to the last few days so that they can be submitted."""
    models = Path(os.environ.get("PAPERSCOPE_MODELS_DIR", REPO / ".data" / "models"))
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("community") / "data",
        database_url=new_database(),
        models_dir=models,
        allowed_hosts=["testserver", *LOOPBACK_HOSTS],
        public_url="http://testserver",
        mail_from="paperscope <papers@example.org>",
        submissions_per_day=3,
        sign_in_requests_per_hour_per_client=100_000,  # every test client is "testclient"
        arxiv_api_url=fake_arxiv_server.api_url,
        arxiv_request_delay_s=0,
        arxiv_max_retries=0,
        http_timeout_s=5,
        **smtp.settings(),
    )
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    records = demo_records(60)
    records = [
        replace(r, published=now - timedelta(hours=3 + 5 * i), updated=None) if i < RECENT else r
        for i, r in enumerate(records)
    ]
    store = open_store(settings)
    store.papers.upsert(records)
    SearchEngine(settings, store).lexical.sync(store)
    store.engine.dispose()
    return settings


@pytest.fixture(scope="module")
def community_app(community_settings) -> Iterator:
    app = create_app(community_settings)
    with TestClient(app):  # runs start-up once; members then get clients of their own
        yield app


@pytest.fixture(scope="module")
def community_server(community_settings) -> Iterator[str]:
    """The members' paperscope on a real socket (its public URL, for links, is that)."""
    port = _free_port()
    settings = community_settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    with serving(create_app(settings), port) as url:
        yield url


@pytest.fixture
def people(community_app, smtp):
    """people("ann@example.org") -> a signed-in Person (a client with its own cookies)."""

    def make(email: str | None = None, *, signed_in: bool = True) -> Person:
        person = Person(TestClient(community_app), smtp.inbox)
        if signed_in:
            person.sign_in(email or f"{secrets.token_hex(4)}@example.org")
        return person

    return make


def live_demo(folder: Path, minilm, papers: int, **settings) -> Settings:
    """A data directory as `scripts/run` leaves it: the first `papers` lines of the demo
    corpus loaded as `paperscope demo` loads them (dated to end yesterday) and embedded."""
    corpus = folder / "demo.jsonl.gz"
    with gzip.open(DEMO_CORPUS, "rb") as source, gzip.open(corpus, "wb") as target:
        target.writelines(itertools.islice(source, papers))
    models = Path(os.environ.get("PAPERSCOPE_MODELS_DIR", REPO / ".data" / "models"))
    made = Settings(data_dir=folder / "data", models_dir=models, **settings)
    store = open_store(made)
    today = datetime.now(UTC).date()
    loaded = load_demo(store, source=DemoSource(today, corpus))
    assert loaded.report.stored.inserted == papers
    assert loaded.newest_day == today - timedelta(days=1)
    Indexer(SearchEngine(made, store, encoder=minilm)).update()
    store.engine.dispose()
    return made


@pytest.fixture(scope="module")
def community_store(community_settings):
    """The members' store, for tests that look behind the pages."""
    store = open_store(community_settings)
    yield store
    store.engine.dispose()
