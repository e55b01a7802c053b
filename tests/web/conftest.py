"""A small indexed paperscope (300 demo papers, real MiniLM vectors) shared by the web
tests: an in-process client for most, a real server on 127.0.0.1 for clients that need a
socket (huggingface_hub, schemathesis, Chromium)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from paperscope.search.engine import SearchEngine
from paperscope.settings import LOOPBACK_HOSTS, Settings
from paperscope.store import open_store
from paperscope.web.app import create_app
from tests.search.conftest import REPO, demo_records

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
    SearchEngine(settings, store, encoder=minilm).update_indexes()
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


@pytest.fixture(scope="session")
def live_server(web_settings) -> Iterator[str]:
    """paperscope served by uvicorn on a free loopback port, for the whole session."""
    port = _free_port()
    config = uvicorn.Config(
        create_app(web_settings), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("paperscope did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
