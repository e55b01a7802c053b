"""Several `paperscope serve` processes on one database, as app servers behind a balancer:
what any host writes, every server serves within seconds, racing writes through different
servers store a paper (or a member's vote) once, and limits hold across servers.

On PostgreSQL each server has a data directory of its own (its own lexical index, kept level
with the database), as on separate hosts; on SQLite they share the node's data directory.
"""

from __future__ import annotations

import gzip
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from paperscope.settings import Settings
from paperscope.store import open_store
from paperscope.store.models import Paper, PaperAuthor, Vote
from tests.conftest import DEMO_CORPUS, MODELS_DIR

TOKEN = "a-token-for-the-pipeline-only"
NEWCOMER = {
    "id": "2612.00001",
    "arxiv_id": "2612.00001v1",
    "title": "Quokka Swarms Navigate Eucalyptus Canopies With Sonar",
    "authors": ["Ada Lovelace"],
    "abstract": "We teach small marsupials to find their way through tree tops by echoes.",
    "categories": ["cs.RO"],
    "published": "2026-12-01T00:00:00Z",
    "updated": "2026-12-01T00:00:00Z",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cli(env: dict, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "paperscope", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture
def cluster(tmp_path, backend, database_url):
    """Two servers on one database holding 30 demo papers; yields (their URLs, a CLI env)."""
    shared = tmp_path / "node"

    def env_for(name: str) -> dict:
        data = tmp_path / name if backend == "postgresql" else shared
        return os.environ | {
            "PAPERSCOPE_DATA_DIR": str(data),
            "PAPERSCOPE_DATABASE_URL": database_url,
            "PAPERSCOPE_MODELS_DIR": str(MODELS_DIR),
            "PAPERSCOPE_INGEST_TOKEN": TOKEN,
            "PAPERSCOPE_PAGE_CACHE_S": "60",
            "PAPERSCOPE_ACCESS_LOG": "false",
        }

    cli = env_for("cli-host")
    corpus = tmp_path / "first.jsonl"
    with gzip.open(DEMO_CORPUS, "rt") as lines:
        corpus.write_text("".join(itertools.islice(lines, 30)))
    _cli(cli, "migrate")
    _cli(cli, "ingest", str(corpus))  # embeds them too: a small batch

    servers, urls = [], []
    for n in range(2):
        port = _free_port()
        servers.append(
            subprocess.Popen(
                [sys.executable, "-m", "paperscope", "serve", "--port", str(port)],
                env=env_for(f"server-{n}"),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for server, url in zip(servers, urls, strict=True):
            deadline = time.monotonic() + 120
            while True:
                assert server.poll() is None, server.stdout.read().decode()
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).json()["semantic"]:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "a server did not start within 120 s"
                time.sleep(0.2)
        yield urls, cli
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
        for server in servers:
            server.wait(30)


def _top(url: str, query: str, mode: str) -> str | None:
    found = httpx.get(
        f"{url}/api/papers/search", params={"q": query, "mode": mode, "limit": 3}, timeout=30
    ).json()
    return found[0]["paper"]["id"] if found else None


def test_a_paper_ingested_on_one_host_is_searchable_through_every_server_within_10_s(
    cluster, tmp_path
):
    urls, cli = cluster
    words = "quokka eucalyptus sonar"
    meaning = "small animals finding their way through forest treetops using echolocation"
    for url in urls:  # cached now: a stale cache would keep answering without it
        assert _top(url, words, "lexical") != NEWCOMER["id"]
        assert _top(url, meaning, "dense") != NEWCOMER["id"]

    newcomer = tmp_path / "new.jsonl"
    newcomer.write_text(json.dumps(NEWCOMER) + "\n")
    _cli(cli, "ingest", str(newcomer))  # stores, embeds, moves the index generation
    ingested = time.monotonic()

    waiting = {(url, mode) for url in urls for mode in ("lexical", "dense")}
    while waiting:
        for url, mode in sorted(waiting):
            if _top(url, words if mode == "lexical" else meaning, mode) == NEWCOMER["id"]:
                waiting.discard((url, mode))
        assert time.monotonic() - ingested < 10, f"not found within 10 s: {sorted(waiting)}"
        time.sleep(0.2)
    page = httpx.get(f"{urls[1]}/papers/{NEWCOMER['id']}", timeout=30)
    assert page.status_code == 200 and "Quokka" in page.text


def test_100_racing_writes_of_one_paper_through_two_servers_store_it_once(cluster):
    urls, cli = cluster
    body = {k: NEWCOMER[k] for k in ("title", "abstract", "authors", "categories", "published")}
    headers = {"Authorization": f"Bearer {TOKEN}"}

    def put(n: int) -> int:
        url = urls[n % 2]
        answer = httpx.put(
            f"{url}/api/papers/{NEWCOMER['id']}v1", json=body, headers=headers, timeout=60
        )
        return answer.status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(put, range(100)))
    assert statuses.count(201) == 1 and statuses.count(200) == 99, statuses

    store = open_store(
        Settings(
            data_dir=Path(cli["PAPERSCOPE_DATA_DIR"]), database_url=cli["PAPERSCOPE_DATABASE_URL"]
        )
    )
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(func.count()).select_from(Paper).where(Paper.id == NEWCOMER["id"])
        ).scalar_one()
        authors = connection.execute(
            select(func.count())
            .select_from(PaperAuthor)
            .where(PaperAuthor.paper_id == NEWCOMER["id"])
        ).scalar_one()
    store.engine.dispose()
    assert (rows, authors) == (1, 1)

    wrong = httpx.put(
        f"{urls[0]}/api/papers/{NEWCOMER['id']}", json=body, headers={"Authorization": "Bearer x"}
    )
    assert wrong.status_code == 401


def test_200_racing_upvotes_from_20_members_through_two_servers_count_20(cluster):
    """And a rate limit and a CSRF token hold across the servers (one cluster start)."""
    urls, cli = cluster
    store = open_store(
        Settings(
            data_dir=Path(cli["PAPERSCOPE_DATA_DIR"]), database_url=cli["PAPERSCOPE_DATABASE_URL"]
        )
    )
    paper = next(store.papers.iter_all()).id
    now = datetime.now(UTC).replace(tzinfo=None)
    tokens = []
    for n in range(20):
        member, _ = store.accounts.ensure(f"voter{n}@example.org", now)
        tokens.append(store.accounts.add_token(member.id, "race", now))

    def upvote(n: int) -> tuple[int, dict]:
        answer = httpx.post(
            f"{urls[n % 2]}/api/papers/{paper}/upvote",
            headers={"Authorization": f"Bearer {tokens[n % 20]}"},
            timeout=60,
        )
        return answer.status_code, answer.json()

    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(upvote, range(200)))
    assert {status for status, _ in answers} == {200}
    assert all(body["upvoted"] for _, body in answers)
    with store.engine.connect() as connection:
        votes = connection.execute(
            select(func.count()).select_from(Vote).where(Vote.paper_id == paper)
        ).scalar_one()
    store.engine.dispose()
    assert votes == 20
    for url in urls:
        assert httpx.get(f"{url}/api/papers/{paper}").json()["upvotes"] == 20

    with httpx.Client() as browser:  # one cookie jar for both servers (same host)
        form = browser.get(f"{urls[0]}/signin").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        statuses = [
            browser.post(
                f"{urls[n % 2]}/signin",
                data={"email": "ratelimited@example.org", "csrf_token": csrf},
            ).status_code
            for n in range(6)
        ]
    assert statuses == [200] * 5 + [429]  # signed by one server, taken by both; one count
