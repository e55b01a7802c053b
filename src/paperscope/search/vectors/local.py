"""`DenseIndex`, the `VectorSearch` on this node (SQLite deployments): paper vectors of one
model, a `VectorIndex` over them (exact.py or hnsw.py), and each paper's neighbourhood radius
for hubness-reduced similar papers.

Built from the ``embeddings`` table and cached on disk (vectors, ids, HNSW graph, radii),
keyed by a digest of what is stored, so a server starts without recomputing anything and a
stale cache is never used.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from paperscope.search.similar import Method, neighbour_radius, rerank
from paperscope.search.vectors.base import NearestByParts, Neighbours, VectorIndex
from paperscope.search.vectors.embed import load_vectors
from paperscope.search.vectors.exact import ExactIndex
from paperscope.search.vectors.hnsw import HnswIndex
from paperscope.store import Store

IndexKind = Literal["auto", "exact", "hnsw"]
Say = Callable[[str], None]  # where progress lines go
# Below this many papers one matrix product beats building and keeping a graph.
HNSW_FROM = 20_000


def _slug(model: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in model)[:120]


def _digest(hashes: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for paper_id in sorted(hashes):
        digest.update(f"{paper_id}:{hashes[paper_id]}\n".encode())
    return digest.hexdigest()


class DenseIndex(NearestByParts):
    def __init__(
        self,
        model: str,
        ids: list[str],
        matrix: np.ndarray,
        index: VectorIndex,
        radius: np.ndarray,
    ) -> None:
        self.model = model
        self.ids = ids
        self.rows = {paper_id: row for row, paper_id in enumerate(ids)}
        self.matrix = matrix
        self.index = index
        self.exact = index if isinstance(index, ExactIndex) else ExactIndex(matrix)
        self.radius = radius

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def open(
        cls,
        store: Store,
        model: str,
        dim: int,
        directory: Path,
        *,
        kind: IndexKind = "auto",
        on_progress: Say | None = None,
        build: bool = True,
    ) -> DenseIndex | None:
        """Load the cached index if it matches the stored vectors, else rebuild and cache it
        (or, with build=False, answer None: a server leaves building to `paperscope index`)."""
        cache = Path(directory) / _slug(model)
        digest = _digest(store.embeddings.hashes(model))
        state_path = cache / "state.json"
        if state_path.exists() and json.loads(state_path.read_text()).get("digest") == digest:
            ids = json.loads((cache / "ids.json").read_text())
            # Mapped, not read: every worker on the node shares one copy in the page cache.
            matrix = np.load(cache / "vectors.npy", mmap_mode="r")
            radius = np.load(cache / "radius.npy")
            index = cls._load_index(cache, matrix, kind)
            # Files of different builds (another `paperscope index` rewriting them under this
            # read) never make one index.
            if index is not None and len(ids) == len(matrix) == len(radius):
                return cls(model, ids, matrix, index, radius)
        if not build:
            return None
        return cls._build(store, model, dim, cache, digest, kind, on_progress or _quiet)

    @staticmethod
    def _load_index(cache: Path, matrix: np.ndarray, kind: IndexKind) -> VectorIndex | None:
        if _wants_hnsw(kind, len(matrix)):
            return HnswIndex.load(cache, matrix)
        return ExactIndex(matrix)

    @classmethod
    def _build(
        cls, store: Store, model: str, dim: int, cache: Path, digest: str, kind: IndexKind, say: Say
    ) -> DenseIndex:
        """Build from the stored vectors; cache it in folder `cache`, marked with `digest`."""
        say("loading vectors")
        ids, matrix = load_vectors(store, model, dim)
        if _wants_hnsw(kind, len(matrix)):
            say(f"building the HNSW graph over {len(ids):,} vectors")
        index = neighbour_index(matrix, kind)
        say("measuring neighbourhoods for similar papers")
        radius = radius_of(matrix, index)
        cache.mkdir(parents=True, exist_ok=True)
        (cache / "state.json").unlink(missing_ok=True)  # invalid until everything is written
        # Each file replaced whole, never rewritten in place: a server may have it mapped.
        _replace(cache / "ids.json", lambda f: f.write(json.dumps(ids).encode()))
        _replace(cache / "vectors.npy", lambda f: np.save(f, matrix))
        _replace(cache / "radius.npy", lambda f: np.save(f, radius))
        index.save(cache)
        partial = cache / "state.json.tmp"
        partial.write_text(json.dumps({"model": model, "digest": digest, "count": len(ids)}))
        os.replace(partial, cache / "state.json")
        return cls(model, ids, matrix, index, radius)

    # -- queries (the VectorSearch interface, base.py) --------------------
    def _nearest(self, vector: np.ndarray, k: int) -> Neighbours:
        if not len(self.ids) or k <= 0:
            return []
        found, cosines = self.index.search(vector[None, :], k)
        return [
            (self.ids[r], float(c))
            for r, c in zip(found[0].tolist(), cosines[0].tolist(), strict=True)
            if r >= 0
        ]

    def _nearest_among(self, vector: np.ndarray, paper_ids: Sequence[str], k: int) -> Neighbours:
        """Exactly, over just these papers (those without a vector are skipped)."""
        rows = np.unique(self.rows_of(paper_ids))
        rows = rows[rows >= 0]
        if not len(rows) or k <= 0:
            return []
        found, cosines = self.exact.search_rows(vector, rows, k)
        return [(self.ids[r], float(c)) for r, c in zip(found, cosines, strict=True) if r >= 0]

    def rows_of(self, paper_ids: Sequence[str]) -> np.ndarray:
        """Each id's row, -1 where it has no vector."""
        return np.fromiter((self.rows.get(i, -1) for i in paper_ids), np.int64, len(paper_ids))

    def similar(
        self, paper_id: str, k: int = 10, *, candidates: int = 100, method: Method = "csls"
    ) -> list[tuple[str, float, float]]:
        """(id, hubness-corrected score, cosine) of the papers most similar to one paper."""
        row = self.rows.get(paper_id)
        if row is None:
            return []
        found, cosines = self.index.search(self.matrix[row][None, :], candidates + 1)
        keep = (found[0] >= 0) & (found[0] != row)
        rows, cos = found[0][keep], cosines[0][keep]
        top, scores = rerank(rows, cos, self.radius, k=k, method=method)
        cosine_of = dict(zip(rows.tolist(), cos.tolist(), strict=True))
        return [
            (self.ids[r], float(s), cosine_of[r])
            for r, s in zip(top[0].tolist(), scores[0].tolist(), strict=True)
            if r >= 0
        ]


def neighbour_index(matrix: np.ndarray, kind: IndexKind = "auto") -> VectorIndex:
    """An HNSW graph over the vectors, or (below HNSW_FROM with "auto") the exact index."""
    return HnswIndex.build(matrix) if _wants_hnsw(kind, len(matrix)) else ExactIndex(matrix)


def radius_of(matrix: np.ndarray, index: VectorIndex) -> np.ndarray:
    """Each vector's neighbourhood radius (CSLS), searched with `index`."""
    if len(matrix) <= 1:
        return np.zeros(len(matrix), dtype=np.float32)
    # The exact index has its own blocked path in neighbour_radius; only HNSW is passed in.
    return neighbour_radius(matrix, search=None if isinstance(index, ExactIndex) else index.search)


def _replace(path: Path, write: Callable) -> None:
    partial = path.with_name(path.name + ".tmp")
    with open(partial, "wb") as stream:
        write(stream)
    os.replace(partial, path)


def cache_stamp(directory: Path, model: str) -> int | None:
    """When the model's cached index was last written (None if never): cheap to poll."""
    try:
        return (Path(directory) / _slug(model) / "state.json").stat().st_mtime_ns
    except FileNotFoundError:
        return None


def _quiet(_message: str) -> None:
    pass


def _wants_hnsw(kind: IndexKind, count: int) -> bool:
    return kind == "hnsw" or (kind == "auto" and count >= HNSW_FROM)


class LocalVectorFiles:
    """Where one model's vectors are searched with SQLite: `DenseIndex` files on this node,
    built from the embeddings table by `paperscope index`."""

    def __init__(
        self, store: Store, model: str, dim: int, directory: Path, kind: IndexKind = "auto"
    ) -> None:
        self.store = store
        self.model = model
        self.dim = dim
        self.directory = Path(directory)
        self.kind = kind

    def stamp(self) -> int | None:
        """When the files were last written (one stat)."""
        return cache_stamp(self.directory, self.model)

    def open(self, *, build: bool = True, on_progress: Say | None = None) -> DenseIndex | None:
        return DenseIndex.open(
            self.store,
            self.model,
            self.dim,
            self.directory,
            kind=self.kind,
            build=build,
            on_progress=on_progress,
        )
