"""SearchEngine: lexical, dense and hybrid search, similar papers, and keeping indexes fresh.

Every result explains itself: its lexical and dense ranks and scores, the fused score, and
a snippet with the matching words marked.

A search reads one `Snapshot` of the indexes from start to end. A refresh builds the next
snapshot from what moved on disk and swaps the reference; in a server that happens on a
thread of its own (`start_refreshing`), so no request ever waits for a reload.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
from cachetools import LRUCache

from paperscope.search.dense import DenseIndex, cache_stamp
from paperscope.search.embeddings import embed_papers
from paperscope.search.encoder import Encoder, ModelNotFound, load_encoder
from paperscope.search.fusion import fuse
from paperscope.search.lexical import LexicalIndex, LexicalView
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

log = logging.getLogger(__name__)


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
            query_precision=settings.query_precision,
        )
    except ModelNotFound as error:
        raise SearchUnavailable(
            f"embedding model {settings.embedding_model!r} is not available in "
            f"{settings.models_dir}: run `paperscope models install`"
        ) from error


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


class PaperCache:
    """Papers shown in results, read from the store once and kept. One per lexical index
    state: papers change with it, so a snapshot with a new lexical view starts a new one."""

    def __init__(self, maxsize: int = 20_000) -> None:
        self._papers: LRUCache = LRUCache(maxsize=maxsize)
        self._lock = threading.Lock()

    def get(
        self, paper_ids: Sequence[str], fetch: Callable[[list[str]], list[StoredPaper]]
    ) -> dict[str, StoredPaper]:
        """The papers with these ids (unknown ones left out), fetching those not kept."""
        with self._lock:
            found = {pid: self._papers[pid] for pid in paper_ids if pid in self._papers}
        missing = [pid for pid in paper_ids if pid not in found]
        if missing:
            fetched = {p.id: p for p in fetch(missing)}
            with self._lock:
                self._papers.update(fetched)
            found |= fetched
        return found


@dataclass(frozen=True, eq=False)
class Snapshot:
    """Everything a search reads, as the indexes stood at one moment.

    Never changed once made (the paper cache only fills): a refresh builds a new one from
    what moved and swaps the engine's reference, so a request holding one reads one
    consistent state (lexical keys, dense rows, papers) from start to end.
    """

    lexical: LexicalView
    dense: DenseIndex | None
    # The dense index's `cache_stamp` as this snapshot read it.
    dense_stamp: int | None
    # Whether the dense side was looked at: not before something asks for semantic search,
    # so keyword-only use never loads the model.
    dense_opened: bool
    # Dense-index row of each lexical key (-1 where a paper has no vector); None without dense.
    rows_by_key: np.ndarray | None
    papers: PaperCache

    @property
    def version(self) -> tuple:
        """A value that changes whenever what the indexes hold changes."""
        return (self.lexical.stamp, self.dense_stamp, self.dense is not None)

    @property
    def dense_state(self) -> tuple[DenseIndex | None, int | None, bool]:
        return self.dense, self.dense_stamp, self.dense_opened


class SearchEngine:
    """Search over one store's indexes.

    A server makes it with ``build_indexes=False``: it then only loads indexes that
    `paperscope index` (or an ingest) wrote, never builds one itself, and with
    `start_refreshing` picks up what those processes changed on a background thread. Without
    that thread (the CLI, a library) a search looks for changes at most every few seconds.
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
        self._snapshot: Snapshot | None = None
        self._wants_dense = False  # set by the first use of semantic search, then kept
        self._refresh_lock = threading.Lock()  # one refresh builds at a time
        self._refreshed_at = time.monotonic()
        self._refresher: tuple[threading.Thread, threading.Event] | None = None
        # Query vectors depend on the model only, not on the indexes: kept across snapshots.
        self._encode_lock = threading.Lock()
        self._vectors: LRUCache = LRUCache(maxsize=2_048)

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
    def snapshot(self) -> Snapshot:
        """What the indexes hold now: take it once and read only it for one request."""
        return self._current()

    @property
    def dense(self) -> DenseIndex | None:
        """The dense index, or None while no paper has a vector under the current model."""
        return self._current(dense=True).dense

    @property
    def semantic(self) -> bool:
        """Whether searches use the dense index (hybrid falls back to keywords without it)."""
        return self._current(dense=True).dense is not None

    def version(self) -> tuple:
        """What the indexes hold now, as a value that changes whenever they change."""
        return self._current().version

    def _current(self, *, dense: bool = False) -> Snapshot:
        """The snapshot to read: with the background refresher running, a plain read."""
        if self._refresher is None:
            self.refresh()
        snap = self._snapshot
        if snap is None or (dense and not snap.dense_opened):
            # First use (of semantic search): open what is there now, on this thread.
            self._wants_dense = self._wants_dense or dense
            self.refresh(force=True)
            snap = self._snapshot
            assert snap is not None
        return snap

    def refresh(self, force: bool = False) -> None:
        """Pick up index changes another process made: build a snapshot of what moved and
        swap it in. Without `force`, at most every few seconds, and not while another
        refresh is building (the current snapshot serves meanwhile)."""
        if not force and time.monotonic() - self._refreshed_at < REFRESH_EVERY_S:
            return
        if not self._refresh_lock.acquire(blocking=force):
            return
        try:
            self._refreshed_at = time.monotonic()
            self._snapshot = self._next_snapshot(self._snapshot)
        finally:
            self._refresh_lock.release()

    def _next_snapshot(self, old: Snapshot | None, built: DenseIndex | None = None) -> Snapshot:
        """The indexes as they are now, reusing whatever has not moved since `old` (`old`
        itself when nothing has). `built` is a dense index this process just wrote."""
        self.lexical.refresh()  # one stat when nothing moved
        lexical = self.lexical.view
        dense, stamp, opened = (None, None, False) if old is None else old.dense_state
        if built is not None:
            dense, stamp, opened = built, self._dense_cache_stamp(), True
        elif self._wants_dense:
            dense, stamp = self._load_dense(dense, stamp, first=not opened)
            opened = True
        if old is not None and lexical is old.lexical and (dense, stamp, opened) == old.dense_state:
            return old
        same_papers = old is not None and lexical is old.lexical
        if dense is None:
            rows = None
        elif old is not None and same_papers and dense is old.dense:
            rows = old.rows_by_key
        else:
            rows = dense.rows_of(lexical.ids_by_key)
        papers = old.papers if old is not None and same_papers else PaperCache()
        return Snapshot(lexical, dense, stamp, opened, rows, papers)

    def _load_dense(
        self, current: DenseIndex | None, stamp: int | None, *, first: bool
    ) -> tuple[DenseIndex | None, int | None]:
        """The dense index and the stamp it was read at; reads it only if the stamp moved."""
        try:
            model = self.encoder.name
            now = self._dense_cache_stamp()  # before reading: a rewrite meanwhile moves it again
        except SearchUnavailable:
            return current, stamp  # no model (yet): keyword search only
        if first:
            if not self.store.embedding_hashes(model):
                return None, now
            opened = self._open_dense(build=self.build_indexes)
            # One this process may have built itself: it holds what it just wrote.
            return opened, self._dense_cache_stamp() if self.build_indexes else now
        if now == stamp:
            return current, stamp
        reopened = self._open_dense(build=False)
        return (current if reopened is None else reopened), now

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

    def start_refreshing(self, every_s: float = REFRESH_EVERY_S) -> None:
        """Refresh on a background thread from now on (a server): requests then only read
        the current snapshot and never wait for a reload or do its I/O."""
        if self._refresher is not None:
            return
        self._wants_dense = True
        if self._snapshot is None or not self._snapshot.dense_opened:
            self.refresh(force=True)
        stop = threading.Event()
        thread = threading.Thread(
            target=self._keep_refreshing,
            args=(stop, every_s),
            name="paperscope-index-refresh",
            daemon=True,
        )
        self._refresher = (thread, stop)
        thread.start()

    def stop_refreshing(self, timeout_s: float = 10.0) -> None:
        """Stop the background refresher (searches then refresh themselves again)."""
        if self._refresher is None:
            return
        (thread, stop), self._refresher = self._refresher, None
        stop.set()
        thread.join(timeout_s)

    def _keep_refreshing(self, stop: threading.Event, every_s: float) -> None:
        while not stop.wait(every_s):
            try:
                self.refresh(force=True)
            except Exception:  # a half-written index, a lost connection: serve on, retry
                log.exception("refreshing the search indexes failed; serving the last snapshot")

    def update_indexes(
        self,
        *,
        dense: bool = True,
        on_progress: Callable[[str, int, int], None] | None = None,
    ) -> dict[str, int]:
        """Bring every index level with the store; resumable, only touches what changed.
        The engine then searches a snapshot of the updated indexes."""
        report = {}
        say = on_progress or (lambda _stage, _done, _total: None)
        indexed, removed = self.lexical.sync(
            self.store, on_progress=lambda done, total: say("lexical index", done, total)
        )
        report |= {"lexical_indexed": indexed, "lexical_removed": removed}
        built = None
        if dense:
            embedded = embed_papers(
                self.store,
                self.encoder,
                on_progress=lambda done, total: say("embedding papers", done, total),
            )
            say("dense index", 0, 1)
            built = self._open_dense()
            say("dense index", 1, 1)
            report |= {"embedded": embedded, "dense_vectors": len(built) if built else 0}
        with self._refresh_lock:
            self._wants_dense = self._wants_dense or dense
            self._snapshot = self._next_snapshot(self._snapshot, built)
            self._refreshed_at = time.monotonic()
        return report

    def warm_up(self) -> None:
        """Open every index and load the model now, so the first search is not the slow one."""
        if self._current(dense=True).dense is not None:
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
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
        snap = self._current(dense=mode != "lexical")  # the only one this search reads
        parsed = parse_query(text, filters)
        limit = max(1, min(limit, MAX_RESULTS))
        offset = max(0, min(offset, MAX_RESULTS))
        wanted = offset + limit + 1  # one more tells whether there is a next page
        notices: list[str] = []

        if mode != "lexical" and snap.dense is None:
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
            hits = snap.lexical.search(parsed, limit=depth if mode == "hybrid" else wanted)
            lexical = {hit.paper_id: hit.score for hit in hits}
        if mode in ("hybrid", "dense") and parsed.free_text.strip():
            dense = dict(self._dense_search(snap, parsed, depth if mode == "hybrid" else wanted))

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
        analyzer = snap.lexical.index
        marker = Highlighter(analyzer.analyze(" ".join(parsed.highlight_terms)), analyzer.stem_word)
        papers = snap.papers.get([pid for pid, _ in page], self.store.get_papers)
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

    def _dense_search(self, snap: Snapshot, parsed: ParsedQuery, k: int) -> list[tuple[str, float]]:
        """Nearest papers to the query's meaning that also obey its filters and its
        required and excluded terms."""
        assert snap.dense is not None and snap.rows_by_key is not None
        vector = self._query_vector(parsed.free_text)
        constraint = snap.lexical.constraint(parsed)
        if constraint is None:
            return snap.dense.search(vector, k)
        share = snap.lexical.count(constraint) / max(1, len(snap.dense))
        if share >= SUBSET_SEARCH_BELOW:
            # Most papers pass (say, all but those saying "survey"): ask the neighbour index
            # for a few more than needed and drop those that fail.
            found = snap.dense.search_where(
                vector, k, lambda ids: snap.lexical.accepted(constraint, ids), share
            )
            if found is not None:
                return found
        # Few pass (a narrow date range, a rare required word): search just those, exactly.
        rows = snap.rows_by_key[snap.lexical.keys(constraint)]
        return snap.dense.search(vector, k, allowed_rows=rows)

    def _query_vector(self, text: str) -> np.ndarray:
        """The query's embedding; the same words (the next page, the API after the page)
        are not encoded twice."""
        with self._encode_lock:  # one inference request per encoder: not for two threads
            vector = self._vectors.get(text)
            if vector is None:
                vector = self._vectors[text] = self.encoder.encode_query(text)
        return vector

    # -- similar papers -----------------------------------------------------------------
    def similar(self, paper_id: str, limit: int = 10) -> list[SimilarPaper]:
        snap = self._current(dense=True)
        if snap.dense is None:
            raise SearchUnavailable(
                "similar papers need the semantic index: run `paperscope index`"
            )
        found = snap.dense.similar(
            paper_id,
            k=max(1, min(limit, 100)),
            candidates=self.settings.similar_candidates,
            method=self.settings.similar_method,
        )
        papers = snap.papers.get([pid for pid, _, _ in found], self.store.get_papers)
        return [
            SimilarPaper(papers[pid], score, cosine)
            for pid, score, cosine in found
            if pid in papers
        ]


def open_search(settings: Settings, store: Store) -> SearchEngine:
    return SearchEngine(settings, store)
