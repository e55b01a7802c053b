"""Semantic search in PostgreSQL: the embeddings table's pgvector column, an HNSW index
(cosine) over it, and each paper's neighbourhood radius (CSLS) stored beside its vector.

Nothing is kept on the app server: every server, on every host, asks the same table, so a
vector `paperscope index` stores anywhere is found by all of them at once.

Filtered searches: where most papers pass, the HNSW index is asked for enough candidates to
keep k after filtering (iterative index scans, so it never stops short); where few pass, the
passing papers are scanned exactly (`filtered_nearest` in base.py decides, as for the local index).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import numpy as np
from pgvector import Vector
from sqlalchemy import Connection, bindparam, literal, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import String

from paperscope.search.similar import Method, rerank
from paperscope.search.vectors.base import NearestByParts, Neighbours
from paperscope.search.vectors.embed import load_vectors
from paperscope.search.vectors.local import neighbour_index, radius_of
from paperscope.store import Store
from paperscope.store.generation import VECTORS
from paperscope.store.models import Embedding

# Query-time breadth of the graph search; 128 matches the local HNSW index (same recall).
EF_SEARCH = 128
# Fewer papers than this without a radius are measured one query each; more, all at once.
MEASURE_EACH_BELOW = 2_000


def index_name(model: str) -> str:
    return "ix_embeddings_hnsw_" + hashlib.sha256(model.encode()).hexdigest()[:12]


class PgVectorTable:
    """Where one model's vectors are, and how to open a search over them."""

    def __init__(self, store: Store, model: str, dim: int) -> None:
        self.store = store
        self.model = model
        self.dim = dim

    def stamp(self) -> int:
        """Moves whenever a vector or radius is written (the vectors' generation)."""
        return self.store.generations.current(VECTORS)

    def open(
        self, *, build: bool = True, on_progress: Callable[[str], None] | None = None
    ) -> PgVectors | None:
        """A search over the stored vectors (None while there are none). With `build`, first
        create the HNSW index if missing and measure the radius of papers that lack one."""
        count = self.store.embeddings.count(self.model)
        if not count:
            return None
        if build:
            say = on_progress or (lambda _message: None)
            missing = self.store.embeddings.without_radius(self.model)
            if len(missing) >= MEASURE_EACH_BELOW:
                # Before the graph exists: a row updated later gets a new version, which
                # every index of the table takes in again, the HNSW graph too.
                self._measure_all(say)
            self._ensure_index(say)
            if 0 < len(missing) < MEASURE_EACH_BELOW:
                self._measure_each(missing, say)
        return PgVectors(self.store, self.model, self.dim, count)

    def _ensure_index(self, say: Callable[[str], None]) -> None:
        name = index_name(self.model)
        model = _sql_literal(self.model)
        with self.store.engine.begin() as connection:
            present = set(
                connection.execute(
                    text("SELECT indexname FROM pg_indexes WHERE tablename = 'embeddings'")
                ).scalars()
            )
            stale = [n for n in present if n.startswith("ix_embeddings_hnsw_") and n != name]
            for other in stale:  # an earlier model's
                connection.execute(text(f"DROP INDEX IF EXISTS {other}"))
            if name in present:
                return
        say("building the HNSW index in PostgreSQL")
        with self.store.engine.begin() as connection:
            connection.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
            # Partial on the model, as a literal: the planner then matches it to the queries,
            # and rows of another model (mid-switch) are never cast to this dimension.
            connection.execute(
                text(
                    f"CREATE INDEX IF NOT EXISTS {name} ON embeddings USING hnsw "
                    f"((vector::vector({self.dim})) vector_cosine_ops) "
                    f"WITH (m = 16, ef_construction = 128) WHERE model = {model}"
                )
            )

    def _measure_each(self, missing: list[str], say: Callable[[str], None]) -> None:
        """A few new papers: each one's neighbours through the graph."""
        say(f"measuring neighbourhoods of {len(missing):,} new papers")
        search = PgVectors(self.store, self.model, self.dim, 0)
        radius = []
        for paper_id in missing:
            vector = search.vector_of(paper_id)
            if vector is None:
                continue
            found = [c for pid, c in search._nearest(vector, 11) if pid != paper_id][:10]
            radius.append((paper_id, float(np.mean(found)) if found else 0.0))
        self.store.embeddings.save_radius(self.model, radius)

    def _measure_all(self, say: Callable[[str], None]) -> None:
        """Many (a first load): every paper's, on this host, as the local index does."""
        say("measuring neighbourhoods for similar papers")
        ids, matrix = load_vectors(self.store, self.model, self.dim)
        radius = radius_of(matrix, neighbour_index(matrix))
        self.store.embeddings.save_radius(self.model, zip(ids, radius.tolist(), strict=True))


class PgVectors(NearestByParts):
    """`VectorSearch` (base.py) answered by PostgreSQL."""

    def __init__(self, store: Store, model: str, dim: int, count: int) -> None:
        self.store = store
        self.model = model
        self.dim = dim
        self.count = count
        cast = f"vector({dim})"
        where = f"model = {_sql_literal(model)}"
        distance = f"vector::{cast} <=> CAST(:q AS {cast})"
        self._knn = text(
            f"SELECT paper_id, {distance} AS d FROM embeddings WHERE {where} "
            f"ORDER BY {distance} LIMIT :k"
        )
        # "+ 0" keeps the planner off the graph: an exact scan of just these papers.
        self._knn_among = text(
            f"SELECT paper_id, {distance} AS d FROM embeddings "
            f"WHERE {where} AND paper_id = ANY(:ids) ORDER BY ({distance}) + 0 LIMIT :k"
        ).bindparams(bindparam("ids", type_=ARRAY(String)))
        # A stored paper's neighbours with their radii, in one statement: the query vector
        # is the paper's own row (pgvector's "nearest to a row"), read once as an InitPlan.
        own = f"(SELECT vector::{cast} FROM embeddings WHERE {where} AND paper_id = :id)"
        self._knn_of = text(
            f"SELECT paper_id, vector::{cast} <=> {own} AS d, radius FROM embeddings "
            f"WHERE {where} AND paper_id <> :id ORDER BY vector::{cast} <=> {own} LIMIT :k"
        )

    def __len__(self) -> int:
        return self.count

    def _nearest(self, vector: np.ndarray, k: int) -> Neighbours:
        if k <= 0:
            return []
        with self.store.engine.begin() as connection:
            _search_breadth(connection, k)
            rows = connection.execute(self._knn, {"q": _text(vector), "k": k}).all()
        return _by_cosine(rows)

    def _nearest_among(self, vector: np.ndarray, paper_ids: Sequence[str], k: int) -> Neighbours:
        if k <= 0 or not paper_ids:
            return []
        with self.store.engine.connect() as connection:
            rows = connection.execute(
                self._knn_among, {"q": _text(vector), "k": k, "ids": list(paper_ids)}
            ).all()
        return _by_cosine(rows)

    def vector_of(self, paper_id: str) -> np.ndarray | None:
        with self.store.engine.connect() as connection:
            blob = connection.execute(
                select(Embedding.vector).where(
                    Embedding.model == self.model, Embedding.paper_id == paper_id
                )
            ).scalar()
        return None if blob is None else np.frombuffer(blob, dtype="<f4")

    def similar(
        self, paper_id: str, k: int = 10, *, candidates: int = 100, method: Method = "csls"
    ) -> list[tuple[str, float, float]]:
        with self.store.engine.begin() as connection:
            _search_breadth(connection, candidates)
            rows = connection.execute(self._knn_of, {"id": paper_id, "k": candidates}).all()
        if not rows:  # no such paper, or no vector for it yet
            return []
        found = _by_cosine([(pid, d) for pid, d, _ in rows])
        radius = {pid: r for pid, _, r in rows}
        known = [r for r in radius.values() if r is not None]
        # A paper not measured yet (stored since the last `paperscope index`) gets the mean.
        fallback = float(np.mean(known)) if known else 0.0
        penalty = np.array([radius[pid] or fallback for pid, _ in found], dtype=np.float32)
        cosines = np.array([c for _, c in found], dtype=np.float32)
        top, scores = rerank(np.arange(len(found)), cosines, penalty, k=k, method=method)
        return [
            (found[i][0], float(s), found[i][1])
            for i, s in zip(top[0].tolist(), scores[0].tolist(), strict=True)
            if i >= 0
        ]


def _search_breadth(connection: Connection, k: int) -> None:
    # Iterative scans: a graph search that runs out of candidates goes on instead of
    # returning fewer than k; relaxed order (re-sorted below) is the fast variant.
    # (set_config(..., true) is SET LOCAL; both in one round trip.)
    connection.execute(
        text(
            "SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true), "
            "set_config('hnsw.ef_search', :ef, true)"
        ),
        {"ef": str(min(1000, max(EF_SEARCH, k)))},
    )


def _by_cosine(rows) -> Neighbours:
    found = [(paper_id, 1.0 - float(distance)) for paper_id, distance in rows]
    found.sort(key=lambda item: (-item[1], item[0]))
    return found


def _text(vector: np.ndarray) -> str:
    return Vector(np.asarray(vector, dtype=np.float32)).to_text()


def _sql_literal(value: str) -> str:
    return str(literal(value, String).compile(compile_kwargs={"literal_binds": True}))
