"""SearchEngine: lexical, dense and hybrid search, similar papers, and keeping indexes fresh.

Every result explains itself: its lexical and dense ranks and scores, the fused score, and
a snippet with the matching words marked.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
from cachetools import LRUCache

from paperscope.search.dense import DenseIndex, cache_stamp
from paperscope.search.embeddings import embed_papers
from paperscope.search.encoder import Encoder, ModelNotFound, load_encoder
from paperscope.search.fusion import fuse
from paperscope.search.lexical import LexicalIndex
from paperscope.search.query import ParsedQuery, SearchFilters, parse_query
from paperscope.search.snippets import Highlighter, Snippet
from paperscope.settings import Settings
from paperscope.store import Store, StoredPaper

Mode = Literal["hybrid", "lexical", "dense"]
MODES: tuple[Mode, ...] = ("hybrid", "lexical", "dense")
MAX_RESULTS = 1000
# Under this share of papers passing a query's filters, semantic search scans just them.
SUBSET_SEARCH_BELOW = 0.2
# How often a long-running engine (the web server) looks for index updates.
REFRESH_EVERY_S = 5.0


class SearchUnavailable(RuntimeError):
    """A search that cannot run yet, with what to do about it."""


@dataclass(frozen=True)
class SearchHit:
    paper: StoredPaper
    score: float
    lexical_rank: int | None
    lexical_score: float | None
    dense_rank: int | None
    dense_score: float | None
    title: Snippet
    snippet: Snippet

    def as_json(self) -> dict:
        return {
            "id": self.paper.id,
            "title": self.paper.title,
            "authors": self.paper.authors,
            "published": self.paper.published.isoformat() + "Z" if self.paper.published else None,
            "categories": self.paper.categories,
            "score": round(self.score, 6),
            "explanation": {
                "lexical_rank": self.lexical_rank,
                "lexical_score": _round(self.lexical_score),
                "dense_rank": self.dense_rank,
                "dense_score": _round(self.dense_score),
                "fused_score": round(self.score, 6),
            },
            "snippet": self.snippet.text,
            "highlights": [list(span) for span in self.snippet.highlights],
            "title_highlights": [list(span) for span in self.title.highlights],
        }


@dataclass
class SearchResults:
    query: ParsedQuery
    mode: Mode
    hits: list[SearchHit]
    offset: int
    has_more: bool
    took_ms: float
    notices: list[str] = field(default_factory=list)
    # Marks the query's words in any text: a page that rewrites a title or snippet for
    # display (LaTeX made readable) marks the rewritten text with it.
    marker: Highlighter | None = None


@dataclass(frozen=True)
class SimilarPaper:
    paper: StoredPaper
    score: float
    cosine: float


def configured_encoder(settings: Settings) -> Encoder:
    """The encoder the settings name, or SearchUnavailable saying how to install it."""
    try:
        return load_encoder(
            settings.embedding_model,
            models_dir=settings.models_dir,
            threads=settings.encoder_threads,
        )
    except ModelNotFound as error:
        raise SearchUnavailable(
            f"embedding model {settings.embedding_model!r} is not available in "
            f"{settings.models_dir}: run `paperscope models install`"
        ) from error


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


class SearchEngine:
    """Search over one store's indexes.

    A server makes it with ``build_indexes=False``: it then only loads indexes that
    `paperscope index` (or an ingest) wrote, never builds one itself, and every few seconds
    picks up what those processes changed.
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        encoder: Encoder | None = None,
        *,
        build_indexes: bool = True,
    ) -> None:
        self.settings = settings
        self.store = store
        self.build_indexes = build_indexes
        self._encoder = encoder
        self._dense_stamp: int | None = None
        self._refreshed_at = time.monotonic()
        self._dense: DenseIndex | None = None
        self._dense_checked = False
        self._key_rows: np.ndarray | None = None
        self._encode_lock = threading.Lock()
        self._vectors: LRUCache = LRUCache(maxsize=2_048)
        # Papers shown in results, kept until the lexical index (so the papers) changes.
        self._papers: LRUCache = LRUCache(maxsize=20_000)
        self._papers_lock = threading.Lock()

    # -- indexes ------------------------------------------------------------------------
    @cached_property
    def lexical(self) -> LexicalIndex:
        return LexicalIndex(self.settings.index_dir)

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            self._encoder = configured_encoder(self.settings)
        return self._encoder

    @property
    def dense(self) -> DenseIndex | None:
        """The dense index, or None while no paper has a vector under the current model."""
        if not self._dense_checked:
            self._dense_checked = True
            try:
                model = self.encoder.name
            except SearchUnavailable:
                return None
            self._dense_stamp = self._dense_cache_stamp()
            if self.store.embedding_hashes(model):
                self._dense = self._open_dense(build=self.build_indexes)
        return self._dense

    @property
    def semantic(self) -> bool:
        """Whether searches use the dense index (hybrid falls back to keywords without it)."""
        self.refresh()
        return self.dense is not None

    def _open_dense(self, build: bool = True) -> DenseIndex | None:
        return DenseIndex.open(
            self.store,
            self.encoder.name,
            self.encoder.dim,
            self.settings.index_dir / "dense",
            kind=self.settings.vector_index,
            build=build,
        )

    def _dense_cache_stamp(self) -> int | None:
        """When the current model's dense index was last written (see `cache_stamp`)."""
        return cache_stamp(self.settings.index_dir / "dense", self.encoder.name)

    def _forget_papers(self) -> None:
        """Drop what was derived from the papers and the lexical keys: both may have moved."""
        self._key_rows = None
        with self._papers_lock:
            self._papers.clear()

    def version(self) -> tuple:
        """What the indexes hold now, as a value that changes whenever they change."""
        self.refresh()
        return (self.lexical.stamp, self._dense_stamp, self._dense is not None)

    def refresh(self, force: bool = False) -> None:
        """Pick up index changes another process made (checked at most every few seconds)."""
        now = time.monotonic()
        if not force and now - self._refreshed_at < REFRESH_EVERY_S:
            return
        self._refreshed_at = now
        if self.lexical.refresh():
            self._forget_papers()
        if not self._dense_checked:
            return  # opened on first use anyway
        try:
            stamp = self._dense_cache_stamp()
        except SearchUnavailable:
            return
        if stamp != self._dense_stamp:
            self._dense_stamp = stamp
            reopened = self._open_dense(build=False)
            if reopened is not None:
                self._dense, self._key_rows = reopened, None

    def update_indexes(
        self,
        *,
        dense: bool = True,
        on_progress: Callable[[str, int, int], None] | None = None,
    ) -> dict[str, int]:
        """Bring every index level with the store; resumable, only touches what changed."""
        report = {}
        say = on_progress or (lambda _stage, _done, _total: None)
        indexed, removed = self.lexical.sync(
            self.store, on_progress=lambda done, total: say("lexical index", done, total)
        )
        report |= {"lexical_indexed": indexed, "lexical_removed": removed}
        self._forget_papers()
        if dense:
            embedded = embed_papers(
                self.store,
                self.encoder,
                on_progress=lambda done, total: say("embedding papers", done, total),
            )
            say("dense index", 0, 1)
            self._dense = self._open_dense()
            self._dense_checked = True
            self._dense_stamp = self._dense_cache_stamp()
            say("dense index", 1, 1)
            report |= {"embedded": embedded, "dense_vectors": len(self._dense)}
        return report

    def warm_up(self) -> None:
        """Open every index and load the model now, so the first search is not the slow one."""
        _ = self.lexical.searcher
        if self.dense is not None:
            self._query_vector("warm up")

    # -- search -------------------------------------------------------------------------
    def search(
        self,
        text: str,
        *,
        mode: Mode = "hybrid",
        limit: int = 10,
        offset: int = 0,
        filters: SearchFilters | None = None,
    ) -> SearchResults:
        started = time.perf_counter()
        self.refresh()
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
        parsed = parse_query(text, filters)
        limit = max(1, min(limit, MAX_RESULTS))
        offset = max(0, min(offset, MAX_RESULTS))
        wanted = offset + limit + 1  # one more tells whether there is a next page
        notices: list[str] = []

        if mode != "lexical" and self.dense is None:
            if mode == "dense":
                raise SearchUnavailable(
                    "semantic search is not ready: run `paperscope index` to embed the papers"
                )
            notices.append("semantic index not built yet: showing keyword results only")
            mode = "lexical"

        depth = max(wanted, self.settings.fusion_candidates)
        lexical: dict[str, float] = {}
        dense: dict[str, float] = {}
        if mode in ("hybrid", "lexical"):
            hits = self.lexical.search(parsed, limit=depth if mode == "hybrid" else wanted)
            lexical = {hit.paper_id: hit.score for hit in hits}
        if mode in ("hybrid", "dense") and parsed.free_text.strip():
            dense = dict(self._dense_search(parsed, depth if mode == "hybrid" else wanted))

        if mode == "hybrid":
            ranked = fuse(
                lexical,
                dense,
                method=self.settings.fusion,
                alpha=self.settings.fusion_alpha,
                rrf_k=self.settings.rrf_k,
            )
        else:
            ranked = sorted((lexical or dense).items(), key=lambda item: (-item[1], item[0]))

        page = ranked[offset : offset + limit]
        lexical_rank = {pid: r for r, pid in enumerate(lexical, start=1)}
        dense_rank = {pid: r for r, pid in enumerate(dense, start=1)}
        marker = Highlighter(
            self.lexical.analyze(" ".join(parsed.highlight_terms)), self.lexical.stem_word
        )
        papers = self.papers([pid for pid, _ in page])
        results = [
            SearchHit(
                paper=papers[pid],
                score=score,
                lexical_rank=lexical_rank.get(pid),
                lexical_score=lexical.get(pid),
                dense_rank=dense_rank.get(pid),
                dense_score=dense.get(pid),
                title=marker.highlight(" ".join(papers[pid].title.split())),
                snippet=marker.snippet(papers[pid].abstract),
            )
            for pid, score in page
            if pid in papers
        ]
        return SearchResults(
            query=parsed,
            mode=mode,
            hits=results,
            offset=offset,
            has_more=len(ranked) > offset + limit,
            took_ms=(time.perf_counter() - started) * 1000,
            notices=notices,
            marker=marker,
        )

    def _dense_search(self, parsed: ParsedQuery, k: int) -> list[tuple[str, float]]:
        """Nearest papers to the query's meaning that also obey its filters and its
        required and excluded terms."""
        assert self.dense is not None
        vector = self._query_vector(parsed.free_text)
        constraint = self.lexical.constraint(parsed)
        if constraint is None:
            return self.dense.search(vector, k)
        share = self.lexical.count(constraint) / max(1, len(self.dense))
        if share >= SUBSET_SEARCH_BELOW:
            # Most papers pass (say, all but those saying "survey"): ask the neighbour index
            # for a few more than needed and drop those that fail.
            found = self.dense.search_where(
                vector, k, lambda ids: self.lexical.accepted(constraint, ids), share
            )
            if found is not None:
                return found
        # Few pass (a narrow date range, a rare required word): search just those, exactly.
        rows = self._rows_by_key()[self.lexical.keys(constraint)]
        return self.dense.search(vector, k, allowed_rows=rows)

    def papers(self, paper_ids: list[str]) -> dict[str, StoredPaper]:
        """The stored papers with these ids (unknown ones left out), read once and kept."""
        with self._papers_lock:
            found = {pid: self._papers[pid] for pid in paper_ids if pid in self._papers}
        missing = [pid for pid in paper_ids if pid not in found]
        if missing:
            fetched = {p.id: p for p in self.store.get_papers(missing)}
            with self._papers_lock:
                self._papers.update(fetched)
            found |= fetched
        return found

    def _query_vector(self, text: str) -> np.ndarray:
        """The query's embedding; the same words (the next page, the API after the page)
        are not encoded twice."""
        with self._encode_lock:  # one inference request per encoder: not for two threads
            vector = self._vectors.get(text)
            if vector is None:
                vector = self._vectors[text] = self.encoder.encode_query(text)
        return vector

    def _rows_by_key(self) -> np.ndarray:
        """Dense-index row of each lexical-index key (-1 where a paper has no vector)."""
        if self._key_rows is None or len(self._key_rows) != len(self.lexical.ids_by_key):
            assert self.dense is not None
            self._key_rows = self.dense.rows_of(self.lexical.ids_by_key)
        return self._key_rows

    # -- similar papers -----------------------------------------------------------------
    def similar(self, paper_id: str, limit: int = 10) -> list[SimilarPaper]:
        self.refresh()
        if self.dense is None:
            raise SearchUnavailable(
                "similar papers need the semantic index: run `paperscope index`"
            )
        found = self.dense.similar(
            paper_id,
            k=max(1, min(limit, 100)),
            candidates=self.settings.similar_candidates,
            method=self.settings.similar_method,
        )
        papers = self.papers([pid for pid, _, _ in found])
        return [
            SimilarPaper(papers[pid], score, cosine)
            for pid, score, cosine in found
            if pid in papers
        ]


def open_search(settings: Settings, store: Store) -> SearchEngine:
    return SearchEngine(settings, store)
