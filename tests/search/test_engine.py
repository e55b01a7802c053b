"""Hybrid search and similar papers end to end: real store, tantivy, MiniLM and vectors."""

from __future__ import annotations

import pytest

from paperscope.search.engine import SearchEngine, SearchUnavailable
from paperscope.search.indexer import Indexer
from paperscope.search.vectors.base import Allowed
from paperscope.search.vectors.embed import embed_papers, stale_paper_ids
from paperscope.store import Store
from tests.search.conftest import demo_records

SEG_PAPER = "2501.08549"


class Renamed:
    """The same model under another name, as after a model upgrade."""

    def __init__(self, encoder, name):
        self._encoder, self.name, self.dim = encoder, name, encoder.dim

    def encode(self, texts, **options):
        return self._encoder.encode(texts, **options)

    def encode_query(self, text):
        return self._encoder.encode_query(text)


class Interrupted(Renamed):
    """Stops the process (as Ctrl-C would) on the given encode call."""

    def __init__(self, encoder, stop_at):
        super().__init__(encoder, encoder.name)
        self.calls, self.stop_at = 0, stop_at

    def encode(self, texts, **options):
        self.calls += 1
        if self.calls == self.stop_at:
            raise KeyboardInterrupt
        return super().encode(texts, **options)


@pytest.fixture
def small_store(store: Store) -> Store:
    records = demo_records(150)
    assert SEG_PAPER in {r.id for r in records}
    store.papers.upsert(records)
    return store


@pytest.fixture
def engine(settings, small_store, minilm) -> SearchEngine:
    engine = SearchEngine(settings, small_store, encoder=minilm)
    Indexer(engine).update()
    return engine


def test_hybrid_results_explain_themselves(engine):
    results = engine.search("segmenting objects in videos with a language model", limit=5)
    assert results.mode == "hybrid"
    top = results.hits[0]
    assert top.paper.id == SEG_PAPER
    assert top.dense_rank == 1 and top.lexical_rank is not None
    data = top.as_json()
    assert {"id", "title", "score", "explanation", "snippet", "highlights"} <= data.keys()
    start, end = data["highlights"][0]
    assert (
        data["snippet"][start:end]
        .lower()
        .startswith(("segment", "object", "video", "languag", "model"))
    )
    assert [h.score for h in results.hits] == sorted((h.score for h in results.hits), reverse=True)


def test_dense_mode_finds_a_paper_described_in_other_words(engine):
    hits = engine.search("masks for moving things in clips", mode="dense", limit=5).hits
    assert SEG_PAPER in [h.paper.id for h in hits]
    assert all(h.lexical_rank is None for h in hits)


def test_filters_hold_for_semantic_results(engine, small_store):
    hits = engine.search("video segmentation", mode="dense", limit=20, filters=None).hits
    assert len(hits) == 20
    from paperscope.search.query import SearchFilters

    filtered = engine.search(
        "video segmentation", mode="hybrid", limit=20, filters=SearchFilters(categories=("cs.RO",))
    ).hits
    assert filtered and all("cs.RO" in h.paper.categories for h in filtered)


@pytest.mark.parametrize("query", ["video segmentation -language", "+robot video segmentation"])
def test_excluded_and_required_words_hold_for_semantic_results(engine, query):
    """Whichever path the constrained search takes (most papers pass: oversample the
    neighbour index; few pass: scan them), it equals scanning every passing paper."""
    from paperscope.search.query import parse_query

    hits = engine.search(query, mode="dense", limit=10).hits
    parsed = parse_query(query)
    passing = engine.lexical.ids(engine.lexical.constraint(parsed))
    assert 0 < len(passing) < len(engine.dense)
    vector = engine.encoder.encode_query(parsed.free_text)
    expected = engine.dense._nearest_among(vector, sorted(passing), 10)
    assert [h.paper.id for h in hits] == [pid for pid, _ in expected]
    # Both paths of the retrieval interface, whichever the share would pick.
    for share in (0.05, 0.9):
        allowed = Allowed(share, lambda: sorted(passing), lambda ids: passing & set(ids))
        ranked = engine.dense.nearest(vector, 10, allowed)
        assert [pid for pid, _ in ranked] == [pid for pid, _ in expected]
        assert [c for _, c in ranked] == pytest.approx([c for _, c in expected], abs=1e-6)


def test_filters_no_paper_passes_give_no_semantic_results(engine):
    from datetime import date

    from paperscope.search.query import SearchFilters

    nothing = SearchFilters(published_until=date(1990, 1, 1))
    for mode in ("dense", "hybrid"):
        assert engine.search("video segmentation", mode=mode, filters=nothing).hits == []


def test_pages_do_not_overlap(engine):
    first = engine.search("learning", limit=5)
    second = engine.search("learning", limit=5, offset=5)
    assert first.has_more
    assert not {h.paper.id for h in first.hits} & {h.paper.id for h in second.hits}


def test_similar_papers_never_include_the_paper_itself(engine):
    similar = engine.similar(SEG_PAPER, limit=5)
    assert len(similar) == 5
    assert SEG_PAPER not in [s.paper.id for s in similar]
    assert all(-1.0 <= s.cosine <= 1.0 for s in similar)


def test_only_new_or_changed_papers_are_embedded_and_a_new_model_starts_clean(
    settings, small_store, minilm
):
    assert embed_papers(small_store, minilm) == 150
    assert embed_papers(small_store, minilm) == 0
    small_store.papers.upsert(demo_records(160))
    assert embed_papers(small_store, minilm) == 10

    other = Renamed(minilm, "all-MiniLM-L6-v2@some-other-build")
    assert embed_papers(small_store, other) == 160
    assert small_store.embeddings.hashes(minilm.name) == {}  # never mixed


def test_an_interrupted_embedding_run_keeps_finished_chunks(small_store, minilm):
    with pytest.raises(KeyboardInterrupt):
        embed_papers(small_store, Interrupted(minilm, stop_at=3), chunk=50)
    assert len(stale_paper_ids(small_store, minilm.name)) == 50
    assert embed_papers(small_store, minilm, chunk=50) == 50


def test_without_vectors_hybrid_falls_back_to_keywords_and_says_so(settings, small_store, minilm):
    engine = SearchEngine(settings, small_store, encoder=minilm)
    Indexer(engine).update(embed=False)
    results = engine.search("video segmentation")
    assert results.mode == "lexical"
    assert results.notices
    with pytest.raises(SearchUnavailable, match="paperscope index"):
        engine.search("video segmentation", mode="dense")


def test_a_serving_engine_picks_up_what_another_process_indexed(settings, store, minilm):
    """The web server never builds indexes; it sees an ingest's lexical commits and the
    dense index that `paperscope index` wrote, without a restart."""
    records = demo_records(60)
    store.papers.upsert(records[:30])
    writer = SearchEngine(settings, store, encoder=minilm)
    Indexer(writer).update(embed=False)

    server = SearchEngine(settings, store, encoder=minilm, build_indexes=False)
    assert server.dense is None
    results = server.search("learning", limit=50)
    assert results.mode == "lexical" and results.notices

    store.papers.upsert(records[30:])
    Indexer(writer).update()  # lexical for the new papers, then vectors and the dense index
    server.refresh(force=True)
    newcomer = records[45]
    found = server.search(newcomer.title, limit=3)
    assert found.mode == "hybrid" and newcomer.id in [h.paper.id for h in found.hits]
    assert server.similar(newcomer.id, limit=3)
