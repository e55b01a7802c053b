"""Published keyword index snapshots: an indexer publishes one, a new node starts from it
and catches up; a torn, foreign or other-schema snapshot is refused and the node builds its
own. Nodes here are data directories of their own on one database, as separate hosts."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from paperscope.search import lexical_snapshot
from paperscope.search.engine import SearchEngine
from paperscope.search.indexer import Indexer
from paperscope.settings import Settings
from paperscope.store import Store, open_store
from tests.conftest import MODELS_DIR
from tests.search.conftest import demo_records

QUERIES = ("video segmentation tokens", "reinforcement learning reward", "graph neural network")


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    return tmp_path / "shared-snapshots"


def node(settings: Settings, name: str, shared: Path, **more) -> Settings:
    """Settings of another host on the same database: its own data directory."""
    return settings.model_copy(
        update={
            "data_dir": settings.data_dir.parent / name,
            "database_url": settings.effective_database_url,
            "lexical_snapshot_dir": shared,
            **more,
        }
    )


def top_ids(engine: SearchEngine, query: str) -> list[str]:
    return [hit.paper.id for hit in engine.search(query, mode="lexical", limit=10).hits]


def publishing_node(settings: Settings, store: Store, shared: Path) -> SearchEngine:
    """The indexer's host: indexes the store and publishes its keyword index."""
    engine = SearchEngine(node(settings, "indexer-host", shared), store)
    report = Indexer(engine).update(embed=False)
    assert report["lexical_published"] == 1
    return engine


def test_a_new_node_answers_from_the_snapshot_as_the_first_then_catches_up(
    settings, store, shared, caplog
):
    records = demo_records(120)
    store.papers.upsert(records[:100])
    first = publishing_node(settings, store, shared)
    # Stored after the snapshot: the new node must index these itself.
    store.papers.upsert(records[100:])
    Indexer(first).update(embed=False)  # not published again: the last one is recent

    caplog.set_level(logging.INFO, logger="paperscope.search")
    second = SearchEngine(node(settings, "new-host", shared), store, build_indexes=False)
    for query in QUERIES:
        assert top_ids(second, query) == top_ids(first, query)
    assert second.lexical_origin is not None
    assert second.lexical_origin["from"] == "snapshot"
    assert second.lexical_origin["papers"] == 100
    assert "restored from snapshot" in caplog.text
    # The catch-up took in the 20 papers stored after the snapshot, and only those.
    assert second.lexical.papers() == 120
    late = records[110]
    assert late.id in top_ids(second, late.title)


def test_a_paper_stored_later_reaches_the_restored_node(settings, store, shared):
    records = demo_records(60)
    store.papers.upsert(records[:50])
    publishing_node(settings, store, shared)
    second = SearchEngine(node(settings, "new-host", shared), store, build_indexes=False)
    second.start_refreshing(every_s=0.1)
    try:
        newcomer = records[55]
        assert newcomer.id not in top_ids(second, newcomer.title)
        store.papers.upsert([newcomer])
        deadline = time.monotonic() + 10
        while newcomer.id not in top_ids(second, newcomer.title):
            assert time.monotonic() < deadline, "the restored node never caught up"
            time.sleep(0.1)
    finally:
        second.stop_refreshing()


def _damage_a_segment(snapshot: Path) -> None:
    segment = next(p for p in sorted(snapshot.iterdir()) if p.suffix == ".idx")
    segment.write_bytes(segment.read_bytes()[: segment.stat().st_size // 2])


def _lose_a_file(snapshot: Path) -> None:
    next(p for p in sorted(snapshot.iterdir()) if p.suffix == ".term").unlink()


def _another_schema(snapshot: Path) -> None:
    described = json.loads((snapshot / "snapshot.json").read_text())
    described["schema_version"] += 1
    (snapshot / "snapshot.json").write_text(json.dumps(described))


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (_damage_a_segment, "differs from its description"),
        (_lose_a_file, "is missing"),
        (_another_schema, "schema"),
    ],
)
def test_a_torn_or_other_schema_snapshot_is_refused_and_the_node_builds(
    settings, store, shared, caplog, damage, why
):
    store.papers.upsert(demo_records(80))
    first = publishing_node(settings, store, shared)
    (published,) = [p for p in shared.iterdir() if p.name.startswith("lexical-")]
    damage(published)

    caplog.set_level(logging.INFO, logger="paperscope.search")
    second = SearchEngine(node(settings, "new-host", shared), store, build_indexes=False)
    for query in QUERIES:
        assert top_ids(second, query) == top_ids(first, query)
    assert second.lexical_origin == {"from": "built here", "papers": 0}
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 1 and why in refusals[0] and str(published) in refusals[0]
    # Nothing half-copied is left in the node's index folder.
    index_dir = second.settings.index_dir
    assert not list(index_dir.glob(".incoming-*"))


def test_a_snapshot_of_another_store_is_refused(settings, store, shared, tmp_path, caplog):
    other = open_store(
        settings.model_copy(update={"data_dir": tmp_path / "other", "database_url": None})
    )
    other.papers.upsert(demo_records(40))
    Indexer(SearchEngine(node(settings, "other-host", shared), other)).update(embed=False)
    assert [p.name for p in shared.iterdir() if p.name.startswith("lexical-")]

    store.papers.upsert(demo_records(30))
    caplog.set_level(logging.INFO, logger="paperscope.search")
    second = SearchEngine(node(settings, "new-host", shared), store, build_indexes=False)
    assert second.snapshot.lexical is not None
    assert second.lexical_origin == {"from": "built here", "papers": 0}
    assert "built from another store" in caplog.text
    assert second.lexical.papers() == 30


def test_a_node_level_with_the_store_keeps_its_own_index(settings, store, shared):
    store.papers.upsert(demo_records(50))
    publishing_node(settings, store, shared)
    own = node(settings, "own-host", shared)
    SearchEngine(own, store).lexical.sync(store)
    again = SearchEngine(own, store, build_indexes=False)
    again.refresh(force=True)
    assert again.lexical_origin == {"from": "this node", "papers": 50}


def test_a_far_behind_node_starts_over_from_the_snapshot(settings, store, shared, monkeypatch):
    monkeypatch.setattr(lexical_snapshot, "FAR_BEHIND", 20)
    records = demo_records(100)
    store.papers.upsert(records[:10])
    behind = node(settings, "behind-host", shared)
    SearchEngine(behind, store).lexical.sync(store)  # holds 10 papers
    store.papers.upsert(records[10:])
    first = publishing_node(settings, store, shared)

    restarted = SearchEngine(behind, store, build_indexes=False)
    for query in QUERIES:
        assert top_ids(restarted, query) == top_ids(first, query)
    assert restarted.lexical_origin is not None
    assert restarted.lexical_origin["from"] == "snapshot"
    # tantivy deletes the old commit's segment files at its next commit, not before.
    restarted.lexical.add_papers([])
    kept = {p.name.split(".")[0] for p in restarted.lexical.directory.iterdir()}
    meta = json.loads((restarted.lexical.directory / "meta.json").read_text())
    live = {s["segment_id"].replace("-", "") for s in meta["segments"]}
    assert {name for name in kept if len(name) == 32} == live


def test_concurrent_publishers_leave_only_whole_snapshots(settings, store, shared):
    store.papers.upsert(demo_records(60))
    hosts = [SearchEngine(node(settings, f"host-{n}", shared), store) for n in range(3)]
    for engine in hosts:
        engine.lexical.sync(store)
    identity = lexical_snapshot.store_identity(store)
    failures: list[BaseException] = []

    def publish_often(engine: SearchEngine) -> None:
        try:
            for _ in range(4):
                lexical_snapshot.publish(engine.lexical, shared, store=identity, generation=1)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=publish_often, args=(e,)) for e in hosts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    left = sorted(p.name for p in shared.iterdir() if p.name != "publish.lock")
    assert len(left) == lexical_snapshot.KEEP and all(n.startswith("lexical-") for n in left)
    for name in left:  # each one whole: every file as its description says
        published = lexical_snapshot._described(shared / name)
        copied = lexical_snapshot._copy_checked(published, settings.data_dir.parent)
        assert sorted(p.name for p in copied.iterdir()) == sorted(published.files)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_new_server_starts_from_the_snapshot_and_says_so(
    settings, store, shared, tmp_path, backend
):
    """`paperscope serve` on a new host: /healthz says the keyword index came from the
    snapshot, and its search answers as the indexer's node does."""
    records = demo_records(90)
    store.papers.upsert(records[:80])
    first = publishing_node(settings, store, shared)
    store.papers.upsert(records[80:])  # after the snapshot
    port = _free_port()
    env = os.environ | {
        "PAPERSCOPE_DATA_DIR": str(tmp_path / "server-host"),
        "PAPERSCOPE_DATABASE_URL": settings.effective_database_url,
        "PAPERSCOPE_MODELS_DIR": str(MODELS_DIR),
        "PAPERSCOPE_LEXICAL_SNAPSHOT_DIR": str(shared),
        "PAPERSCOPE_ACCESS_LOG": "false",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "paperscope", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stdout.read().decode()  # type: ignore[union-attr]
            try:
                health = httpx.get(f"{url}/healthz", timeout=2).json()
                break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start within 120 s"
            time.sleep(0.2)
        assert health["keyword_index"]["from"] == "snapshot"
        assert health["keyword_index"]["papers"] == 80
        Indexer(first).update(embed=False)  # the indexer's node takes in the late 10 too
        for query in (*QUERIES, records[85].title):
            found = httpx.get(
                f"{url}/api/papers/search",
                params={"q": query, "mode": "lexical", "limit": 10},
                timeout=30,
            ).json()
            assert [item["paper"]["id"] for item in found] == top_ids(first, query)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output = server.communicate(timeout=30)[0].decode()
    assert "restored from snapshot" in output
