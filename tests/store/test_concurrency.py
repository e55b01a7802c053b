"""Writers racing on the same rows: every write is an INSERT ... ON CONFLICT, so a second
writer never gets an IntegrityError and nothing is stored twice. Real threads, each with its
own connections, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

import numpy as np
from sqlalchemy import func, select

from paperscope.records import make_record
from paperscope.store import Store, open_store
from paperscope.store.models import Embedding, Paper, PaperAuthor, PaperCategory, Vote

WRITERS = 8


def record(paper_id: str = "2401.00001", version: int = 1, title: str = "A title"):
    return make_record(
        id=f"{paper_id}v{version}",
        title=title,
        abstract="Abstract.",
        authors=["Ada Lovelace", "Alan Turing"],
        categories=["cs.LG", "cs.AI"],
        published="2024-01-01 00:00:00 UTC",
        updated=f"2024-01-0{version} 00:00:00 UTC",
    )


def race(settings, write: Callable[[Store, int], object], writers: int = WRITERS) -> list:
    """Run write(store, n) on `writers` threads at once, each with a store of its own (its
    own connection pool, as another process would have); their results, or the errors."""
    stores = [open_store(settings) for _ in range(writers)]
    start = threading.Barrier(writers)
    results: list = [None] * writers

    def run(n: int) -> None:
        start.wait()
        try:
            results[n] = write(stores[n], n)
        except Exception as error:  # a failure is a result the test looks at
            results[n] = error

    threads = [threading.Thread(target=run, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    for store in stores:
        store.engine.dispose()
    return results


def count(store: Store, table) -> int:
    with store.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def test_the_same_new_paper_from_many_writers_is_stored_once(settings, store):
    results = race(settings, lambda s, _: s.papers.upsert([record()]))
    assert not [r for r in results if isinstance(r, Exception)]
    assert sum(r.inserted for r in results) == 1
    assert sum(r.unchanged for r in results) == WRITERS - 1
    assert count(store, Paper) == 1
    assert count(store, PaperAuthor) == 2 and count(store, PaperCategory) == 2


def test_overlapping_batches_in_any_order_neither_deadlock_nor_duplicate(settings, store):
    ids = [f"2401.{n:05d}" for n in range(200)]

    def write(s: Store, n: int):
        batch = ids[n * 20 : n * 20 + 80] if n % 2 else ids[::-1]
        return s.papers.upsert([record(paper_id) for paper_id in batch])

    results = race(settings, write)
    assert not [r for r in results if isinstance(r, Exception)]
    assert sum(r.inserted for r in results) == 200
    assert count(store, Paper) == 200 and count(store, PaperAuthor) == 400


def test_racing_versions_end_on_the_newest(settings, store):
    store.papers.upsert([record(version=1)])

    def write(s: Store, n: int):
        version = 2 + n % 4
        return s.papers.upsert([record(version=version, title=f"Version {version}")])

    results = race(settings, write)
    assert not [r for r in results if isinstance(r, Exception)]
    stored = store.papers.get("2401.00001")
    assert (stored.version, stored.title) == (5, "Version 5")
    assert count(store, PaperAuthor) == 2  # replaced, never doubled


def test_one_voter_racing_to_upvote_counts_once(settings, store):
    store.papers.upsert([record()])
    at = datetime(2024, 1, 2)
    results = race(settings, lambda s, _: s.votes.add("2401.00001", "reader", at))
    assert results.count(True) == 1 and results.count(False) == WRITERS - 1
    assert count(store, Vote) == 1


def test_racing_vector_writes_leave_one_vector(settings, store):
    store.papers.upsert([record()])
    vector = np.full(4, 0.5, dtype="<f4").tobytes()

    def write(s: Store, n: int):
        s.embeddings.save("model", [("2401.00001", f"hash{n}", vector)])

    results = race(settings, write)
    assert not [r for r in results if isinstance(r, Exception)]
    assert count(store, Embedding) == 1
    assert store.embeddings.hashes("model")["2401.00001"].startswith("hash")


def test_every_write_moves_the_index_generation_once_it_commits(store):
    before = store.generations.current()
    store.papers.upsert([record()])
    after_insert = store.generations.current()
    store.papers.upsert([record()])  # the same again: nothing written, nothing moves
    assert after_insert > before
    assert store.generations.current() == after_insert
    store.embeddings.save("model", [("2401.00001", "h", np.ones(4, dtype="<f4").tobytes())])
    assert store.generations.current() > after_insert
