"""A search reads one snapshot of the indexes from start to end; a server reloads them on a
thread of its own and swaps the new snapshot in whole. Real store, tantivy and MiniLM."""

from __future__ import annotations

import threading
import time

import pytest

from paperscope.search.engine import REFRESH_EVERY_S, SearchEngine
from paperscope.search.indexer import Indexer
from paperscope.search.query import SearchFilters, parse_query
from paperscope.search.vectors.base import SUBSET_SEARCH_BELOW
from paperscope.store import open_store
from tests.search.conftest import demo_records


def found(results) -> list[str]:
    return [hit.paper.id for hit in results.hits]


def explained(results) -> list[tuple]:
    return [(h.paper.id, h.score, h.lexical_rank, h.dense_rank) for h in results.hits]


def wait_for(condition, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def indexed(settings, store, minilm):
    """30 papers indexed by one engine (an ingest's); 10 more come later."""
    records = demo_records(40)
    store.papers.upsert(records[:30])
    Indexer(SearchEngine(settings, store, encoder=minilm)).update()
    return records


def test_a_slow_reload_happens_off_the_request_and_swaps_in_whole(
    settings, store, minilm, indexed, monkeypatch
):
    server = SearchEngine(settings, store, encoder=minilm, build_indexes=False)
    server.warm_up()
    before = server.version()
    newcomer = indexed[35]
    old_ids = {r.id for r in indexed[:30]}

    store.papers.upsert(indexed[30:])
    Indexer(SearchEngine(settings, store, encoder=minilm)).update()  # another process's index run

    entered, release = threading.Event(), threading.Event()
    source = type(server.vector_source)  # files on the node, or PostgreSQL
    original_open = source.open

    def slow_open(*args, **kwargs):  # loading a big dense index
        entered.set()
        release.wait(60)
        return original_open(*args, **kwargs)

    monkeypatch.setattr(source, "open", slow_open)
    server.start_refreshing(every_s=0.1)
    try:
        assert entered.wait(30), "the refresher never reloaded"
        # The reload is stuck; requests still answer at once, all from the old snapshot.
        started = time.perf_counter()
        assert server.version() == before
        assert server.semantic
        assert time.perf_counter() - started < 0.05
        results = server.search(newcomer.title, limit=10)
        assert results.mode == "hybrid" and found(results)
        assert set(found(results)) <= old_ids

        release.set()
        assert wait_for(lambda: server.version() != before, within_s=30)
        after = server.search(newcomer.title, limit=3)
        top = after.hits[0]
        assert top.paper.id == newcomer.id
        assert top.lexical_rank is not None and top.dense_rank is not None
        assert server.similar(newcomer.id, limit=3)
    finally:
        release.set()
        server.stop_refreshing()


@pytest.mark.parametrize(
    ("words", "filters"),
    [
        ("", None),  # no constraint: the neighbour index alone
        (" -survey", None),  # most papers pass: oversample and check the lexical view
        ("", SearchFilters(categories=("cs.RO",))),  # few pass: scan their rows exactly
    ],
)
def test_a_search_finishes_on_the_snapshot_it_started_on(
    settings, store, minilm, monkeypatch, words, filters
):
    """A swap between the lexical and the dense stage (new keys, new rows, new papers)
    changes nothing in a search already running: no mixed key tables, no new papers."""
    records = demo_records(75)
    store.papers.upsert(records[:60])
    engine = SearchEngine(settings, store, encoder=minilm)
    Indexer(engine).update()
    newcomer = records[72]  # cs.RO, like 3 of the first 60
    query = newcomer.title + words

    constraint = engine.lexical.constraint(parse_query(query, filters))
    if filters is not None:
        assert engine.lexical.view.count(constraint) / 60 < SUBSET_SEARCH_BELOW
    elif words:
        assert engine.lexical.view.count(constraint) / 60 >= SUBSET_SEARCH_BELOW

    before = engine.search(query, limit=10, filters=filters)
    assert newcomer.id not in found(before)

    original_query_vector = engine._query_vector
    swaps = []

    def swap_then_encode(text):
        if not swaps:  # another process indexes more papers; this engine picks them up
            store.papers.upsert(records[60:])
            Indexer(SearchEngine(settings, store, encoder=minilm)).update()
            engine.refresh(force=True)
            swaps.append(True)
        return original_query_vector(text)

    monkeypatch.setattr(engine, "_query_vector", swap_then_encode)
    during = engine.search(query, limit=10, filters=filters)
    assert swaps, "the search never reached its dense stage"
    if store.backend == "sqlite":
        assert explained(during) == explained(before)
    else:
        # PostgreSQL's vectors are read live, not from a copy the snapshot holds: the search
        # still shows only papers its snapshot knows, but their fused scores may move with
        # the candidates the newcomers pushed out.
        assert newcomer.id not in found(during)
        assert set(found(during)) <= {r.id for r in records[:60]}

    after = engine.search(query, limit=10, filters=filters)
    assert found(after)[0] == newcomer.id
    assert after.hits[0].dense_rank is not None  # in the new dense index too


def test_a_refreshing_engine_picks_up_another_engines_ingest_and_index(
    settings, store, minilm, indexed
):
    server = SearchEngine(settings, store, encoder=minilm, build_indexes=False)
    server.warm_up()
    threads = set(threading.enumerate())
    server.start_refreshing()
    try:
        before = server.version()
        newcomer = indexed[35]
        elsewhere = open_store(settings)  # another process: its own connections, its engine
        elsewhere.papers.upsert(indexed[30:])
        Indexer(SearchEngine(settings, elsewhere, encoder=minilm)).update()

        def both_moved():
            _, lexical, dense, _ = server.version()
            return lexical != before[1] and dense != before[2]

        assert wait_for(both_moved, within_s=4 * REFRESH_EVERY_S)
        results = server.search(newcomer.title, limit=3)
        assert results.hits[0].paper.id == newcomer.id
        assert results.hits[0].dense_rank is not None
    finally:
        server.close()
    assert set(threading.enumerate()) <= threads  # the refresher and the embedding thread ended


def test_searches_without_a_refresher_still_pick_up_changes_themselves(
    settings, store, minilm, indexed
):
    """The CLI and library use: no thread; a search looks (cheaply) every few seconds."""
    engine = SearchEngine(settings, store, encoder=minilm, build_indexes=False)
    engine.warm_up()
    first = engine.snapshot
    assert first.dense is not None
    assert engine.snapshot is first  # nothing moved: the same snapshot, nothing rebuilt
    engine.refresh(force=True)
    assert engine.snapshot is first

    store.papers.upsert(indexed[30:])
    Indexer(SearchEngine(settings, store, encoder=minilm)).update(embed=False)
    assert engine.snapshot is first  # looked at most every few seconds
    engine._refreshed_at -= REFRESH_EVERY_S
    moved = engine.snapshot
    assert moved is not first and moved.lexical is not first.lexical
    assert moved.dense is first.dense  # what did not move is kept, not read again
