"""SearchEngine: lexical, dense and hybrid search, similar papers, and keeping this node's
view of the indexes fresh (building them is search/indexer.py's job).

Every result explains itself: its lexical and dense ranks and scores, the fused score, and
a snippet with the matching words marked.

Lexical search, nearest vectors and similar papers go through one retrieval interface
(search/vectors/base.py): tantivy for words on every backend; the vectors in files on the node
(numpy/usearch) with SQLite, in PostgreSQL (pgvector) with PostgreSQL.

A search reads one `Snapshot` of the indexes from start to end. The index generation, a
counter in the database that every write of papers or vectors moves, says when to build the
next one; a refresh then brings this node's lexical index level with the database (any host
may have written), builds a snapshot of what moved and swaps the reference. In a server that
happens on a thread of its own (`start_refreshing`), so no request ever waits for a reload.

A node whose lexical index is missing or far behind starts it from the newest snapshot
an indexer published (`lexical_snapshot_dir`, search/lexical_snapshot.py) and catches up
from there; `lexical_origin` says where this node's index came from.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
from cachetools import LRUCache

from paperscope.errors import Unavailable
from paperscope.search import lexical_snapshot
from paperscope.search.encoder import Encoder, ModelNotFound, load_encoder
from paperscope.search.fusion import fuse
from paperscope.search.lexical import LexicalIndex, LexicalView
from paperscope.search.query import ParsedQuery, SearchFilters, parse_query
from paperscope.search.snippets import Highlighter, Snippet
from paperscope.search.vectors.base import VectorSearch
from paperscope.search.vectors.local import IndexKind, LocalVectorFiles
from paperscope.search.vectors.pgvector import PgVectorTable
from paperscope.settings import Settings
from paperscope.store import Store, StoredPaper

Mode = Literal["hybrid", "lexical", "dense"]
MODES: tuple[Mode, ...] = ("hybrid", "lexical", "dense")
MAX_RESULTS = 1000
# How often a search looks for index changes itself (the CLI, a library: no refresher).
REFRESH_EVERY_S = 5.0
# How often a server's refresher looks at the index generation: one indexed row, so often;
# a change is then searchable on this node within about this long plus the time to index it.
POLL_EVERY_S = 1.0
# How long a count of embedded papers is reused: health checks and search pages ask for it
# far more often than it moves.
PROGRESS_TTL_S = 2.0

log = logging.getLogger(__name__)


class SearchUnavailable(Unavailable, RuntimeError):
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
class EmbeddingProgress:
    """How far the papers are embedded for semantic search under the configured model."""

    papers: int
    embedded: int | None  # None: the embedding model is not installed

    @property
    def partial(self) -> bool:
        """Some papers still wait for their vector."""
        return self.embedded is not None and self.embedded < self.papers

    @property
    def percent(self) -> int:
        return 100 * (self.embedded or 0) // self.papers if self.papers else 0

    def explain(self) -> str:
        """Why semantic search is off, and how far it is, in one sentence."""
        if self.embedded is None:
            return (
                "Semantic search needs the embedding model: run `paperscope models install`, "
                "then `paperscope index`"
            )
        if not self.embedded:
            return (
                f"Semantic search has not started: none of the {self.papers:,} papers is "
                "embedded yet (`paperscope index` embeds them)"
            )
        if self.embedded < self.papers:
            return (
                f"Semantic search is being prepared: {self.embedded:,} of {self.papers:,} "
                f"papers embedded ({self.percent}%)"
            )
        return (
            f"Semantic search is being prepared: all {self.papers:,} papers are embedded, and it "
            "starts when `paperscope index` has built the vector index"
        )


@dataclass(frozen=True)
class SimilarPaper:
    paper: StoredPaper
    score: float
    cosine: float


def vector_source(
    store: Store, model: str, dim: int, directory: Path, kind: IndexKind = "auto"
) -> LocalVectorFiles | PgVectorTable:
    """Where a model's vectors are searched: in PostgreSQL when the store is there, else in
    files on this node (`directory`). The one place the backend is looked at."""
    if store.backend == "postgresql":
        return PgVectorTable(store, model, dim)
    return LocalVectorFiles(store, model, dim, directory, kind)


def configured_encoder(settings: Settings) -> Encoder:
    """The encoder the settings name, or SearchUnavailable saying how to install it."""
    try:
        return load_encoder(
            settings.embedding_model,
            models_dir=settings.models_dir,
            threads=settings.encoder_threads,
            query_precision=settings.query_precision,
            weights=settings.embedding_weights,
            processes=settings.embed_processes,
            query_weights=settings.query_weights,
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

    # The index generation (the database's counter) this snapshot caught up with.
    generation: int
    lexical: LexicalView
    dense: VectorSearch | None
    # The vector source's `stamp` as this snapshot read it.
    dense_stamp: int | None
    # Whether the dense side was looked at: not before something asks for semantic search,
    # so keyword-only use never loads the model.
    dense_opened: bool
    papers: PaperCache

    @property
    def version(self) -> tuple:
        """A value that changes whenever what the indexes hold changes (pages are cached
        under it)."""
        return (self.generation, self.lexical.stamp, self.dense_stamp, self.dense is not None)

    @property
    def dense_state(self) -> tuple[VectorSearch | None, int | None, bool]:
        return self.dense, self.dense_stamp, self.dense_opened


class SearchEngine:
    """Search over one store's indexes.

    A server makes it with ``build_indexes=False``: it then never builds a vector index
    (`paperscope index`, through `Indexer`, does, on any host), only keeps its node's lexical index
    level with the database, and with `start_refreshing` picks up changes on a background
    thread. Without that thread (the CLI, a library) a search looks every few seconds.
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
        self._embedder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="query-embedding")
        self._progress: tuple[float, EmbeddingProgress] | None = None
        # Where this node's lexical index came from; set by the first snapshot.
        self.lexical_origin: dict | None = None

    # -- indexes ------------------------------------------------------------------------
    @cached_property
    def lexical(self) -> LexicalIndex:
        return LexicalIndex(self.settings.index_dir)

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            self._encoder = configured_encoder(self.settings)
        return self._encoder

    @cached_property
    def vector_source(self) -> LocalVectorFiles | PgVectorTable:
        """Where the vectors are searched (see `vector_source`)."""
        return vector_source(
            self.store,
            self.encoder.name,
            self.encoder.dim,
            self.settings.index_dir / "dense",
            self.settings.vector_index,
        )

    @property
    def snapshot(self) -> Snapshot:
        """What the indexes hold now: take it once and read only it for one request."""
        return self._current()

    @property
    def dense(self) -> VectorSearch | None:
        """The dense index, or None while no paper has a vector under the current model."""
        return self._current(dense=True).dense

    @property
    def semantic(self) -> bool:
        """Whether searches use the dense index (hybrid falls back to keywords without it)."""
        return self._current(dense=True).dense is not None

    def embedding_progress(self) -> EmbeddingProgress:
        """How many papers have a vector under the current model, of all stored: two counts,
        asked again at most every PROGRESS_TTL_S seconds."""
        now = time.monotonic()
        kept = self._progress
        if kept is not None and now - kept[0] < PROGRESS_TTL_S:
            return kept[1]
        try:
            model: str | None = self.vector_source.model
        except SearchUnavailable:
            model = None
        progress = EmbeddingProgress(
            papers=self.store.papers.count(),
            embedded=None if model is None else self.store.embeddings.count(model),
        )
        self._progress = (now, progress)
        return progress

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

    def _next_snapshot(self, old: Snapshot | None, built: VectorSearch | None = None) -> Snapshot:
        """The indexes as they are now, reusing whatever has not moved since `old` (`old`
        itself when nothing has). `built` is a vector search this process just built."""
        # Read first: whatever is written after it moves it again, and the next refresh sees.
        generation = self.store.generations.current()
        if old is None:
            self.start_lexical()
        if old is None or generation != old.generation:
            self._catch_up_lexical()
        self.lexical.refresh()  # one stat when nothing moved
        lexical = self.lexical.view
        dense, stamp, opened = (None, None, False) if old is None else old.dense_state
        if built is not None:
            dense, stamp, opened = built, self.vector_source.stamp(), True
        elif self._wants_dense:
            dense, stamp = self._load_dense(dense, stamp, first=not opened)
            opened = True
        if (
            old is not None
            and generation == old.generation
            and lexical is old.lexical
            and (dense, stamp, opened) == old.dense_state
        ):
            return old
        same_papers = old is not None and lexical is old.lexical
        papers = old.papers if old is not None and same_papers else PaperCache()
        return Snapshot(generation, lexical, dense, stamp, opened, papers)

    def start_lexical(self) -> None:
        """Before this process first reads or writes the lexical index: start it from the
        newest published snapshot where it is missing or far behind, and note where it came
        from. Once a process."""
        if self.lexical_origin is not None:
            return
        shared = self.settings.lexical_snapshot_dir
        restored = None
        if shared is not None:
            try:
                restored = lexical_snapshot.restore(
                    self.lexical,
                    shared,
                    store=lexical_snapshot.store_identity(self.store),
                    store_papers=self.store.papers.count(),
                )
            except OSError as error:  # shared storage away: build here instead
                log.warning("keyword index: no snapshot taken from %s: %s", shared, error)
        if restored is not None:
            self.lexical_origin = {"from": "snapshot", **restored.as_json()}
        else:
            held = self.lexical.papers()
            self.lexical_origin = {"from": "this node" if held else "built here", "papers": held}
            log.info(
                "keyword index: %s",
                f"this node's own ({held:,} papers)" if held else "none yet: indexing every paper",
            )

    def _catch_up_lexical(self) -> None:
        """Index on this node what the database gained (another host's ingest, say). Where
        another process on the node is at it already, its commit shows up instead."""
        if not self.build_indexes:
            self.lexical.sync(self.store, wait=False)

    def _load_dense(
        self, current: VectorSearch | None, stamp: int | None, *, first: bool
    ) -> tuple[VectorSearch | None, int | None]:
        """The vector search and the stamp it was read at; opens it only if the stamp moved."""
        try:
            source = self.vector_source
            now = source.stamp()  # before reading: a rewrite meanwhile moves it again
        except SearchUnavailable:
            return current, stamp  # no model (yet): keyword search only
        if first:
            if not self.store.embeddings.count(source.model):
                return None, now
            opened = source.open(build=self.build_indexes)
            # One this process may have built itself: it holds what it just wrote.
            return opened, source.stamp() if self.build_indexes else now
        if now == stamp:
            return current, stamp
        reopened = source.open(build=False)
        return (current if reopened is None else reopened), now

    def start_refreshing(self, every_s: float = POLL_EVERY_S) -> None:
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

    def close(self) -> None:
        """Stop the refresher and the query-embedding thread (a later search embeds its
        query itself)."""
        self.stop_refreshing()
        self._embedder.shutdown(wait=True)

    def _keep_refreshing(self, stop: threading.Event, every_s: float) -> None:
        while not stop.wait(every_s):
            try:
                self.refresh(force=True)
            except Exception:  # a half-written index, a lost connection: serve on, retry
                log.exception("refreshing the search indexes failed; serving the last snapshot")

    def take_in(self, built: VectorSearch | None, *, dense: bool) -> None:
        """Search what this process's indexer has just built from now on (`Indexer.update`):
        a snapshot of the updated lexical index and `built`, the vector index it made."""
        with self._refresh_lock:
            self._wants_dense = self._wants_dense or dense
            self._snapshot = self._next_snapshot(self._snapshot, built)
            self._refreshed_at = time.monotonic()

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
                raise SearchUnavailable(self.embedding_progress().explain())
            notices.append(
                f"{self.embedding_progress().explain()}. Until then results match words only."
            )
            mode = "lexical"

        depth = max(wanted, self.settings.fusion_candidates)
        lexical: dict[str, float] = {}
        dense: dict[str, float] = {}
        embedding: Future[np.ndarray] | None = None
        if mode == "hybrid" and parsed.free_text.strip():
            # The query's embedding, most of a new query's cost, is made while the keyword
            # search runs (onnxruntime leaves the GIL while it computes).
            try:
                embedding = self._embedder.submit(self._query_vector, parsed.free_text)
            except RuntimeError:  # closed: embedded below, in this thread
                embedding = None
        if mode in ("hybrid", "lexical"):
            hits = snap.lexical.search(parsed, limit=depth if mode == "hybrid" else wanted)
            lexical = {hit.paper_id: hit.score for hit in hits}
        if mode in ("hybrid", "dense") and parsed.free_text.strip():
            vector = embedding.result() if embedding else self._query_vector(parsed.free_text)
            k = depth if mode == "hybrid" else wanted
            dense = dict(self._dense_search(snap, parsed, vector, k))

        if not lexical and dense and max(dense.values()) < self.settings.min_similarity:
            # No word of the query is in any paper, and no paper is near its meaning either
            # (nearest neighbours exist for any text, gibberish included): nothing matched.
            dense = {}

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
        papers = snap.papers.get([pid for pid, _ in page], self.store.papers.get_many)
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

    def _dense_search(
        self, snap: Snapshot, parsed: ParsedQuery, vector: np.ndarray, k: int
    ) -> list[tuple[str, float]]:
        """Nearest papers to the query's meaning (`vector`) that also obey its filters and
        its required and excluded terms."""
        assert snap.dense is not None
        found = snap.dense.nearest(vector, k, snap.lexical.allowed(parsed))
        return _in_snapshot(snap, found)

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
            raise SearchUnavailable(self.embedding_progress().explain())
        found = snap.dense.similar(
            paper_id,
            max(1, min(limit, 100)),
            candidates=self.settings.similar_candidates,
            method=self.settings.similar_method,
        )
        found = _in_snapshot(snap, found)
        papers = snap.papers.get([pid for pid, *_ in found], self.store.papers.get_many)
        return [
            SimilarPaper(papers[pid], score, cosine)
            for pid, score, cosine in found
            if pid in papers
        ]


def _in_snapshot(snap: Snapshot, found: list) -> list:
    """What a vector search found, less papers the snapshot does not hold yet: vectors in
    PostgreSQL are read live, and a paper stored since shows once a refresh takes it in."""
    known = snap.lexical.known
    return [item for item in found if item[0] in known]
