"""The one interface semantic search goes through, whatever engine answers it.

    VectorSearch    vector -> papers (`nearest`), paper -> papers (`similar`)
        DenseIndex      local.py: files on this node, searched by a VectorIndex
                            ExactIndex  exact.py: one matrix product (numpy)
                            HnswIndex   hnsw.py: approximate, usearch's HNSW graph
        PgVectors       pgvector.py: the embeddings table in PostgreSQL, its HNSW index

Nothing here names an engine's types: papers are arXiv ids, filters are `Allowed` (the
lexical side answers which papers a query lets through), so the search engine never
branches on which implementation it holds.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from paperscope.search.similar import Method

# Under this share of papers passing a query's filters, semantic search scans just them.
SUBSET_SEARCH_BELOW = 0.2
# Beyond this many candidates, over-fetching to filter costs more than scanning the subset.
MAX_FETCH = 4_000

Neighbours = list[tuple[str, float]]  # (paper id, cosine), best first


@dataclass(frozen=True)
class Allowed:
    """The papers a query's filters and required or excluded words let through, as the
    lexical side answers it: how many, all of them, or which of some candidates."""

    share: float  # of all indexed papers, 0 to 1
    ids: Callable[[], Sequence[str]]
    accepts: Callable[[Sequence[str]], set[str]]


class VectorIndex(Protocol):
    """Rows nearest to unit query vectors by cosine: `search` answers `(rows, cosines)`,
    each (b, k), best first, padded with -1 where fewer exist."""

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...

    def save(self, directory: Path) -> None: ...


class VectorSearch(Protocol):
    model: str

    def __len__(self) -> int: ...

    def nearest(self, vector: np.ndarray, k: int, allowed: Allowed | None = None) -> Neighbours:
        """The k papers nearest to a unit vector by cosine, among `allowed` if given."""
        ...

    def similar(
        self, paper_id: str, k: int, *, candidates: int, method: Method
    ) -> list[tuple[str, float, float]]:
        """(paper id, hubness-corrected score, cosine) of the papers most like one paper."""
        ...


class NearestByParts(ABC):
    """`VectorSearch.nearest` for an implementation that answers its two parts:
    `_nearest(vector, m)`, the m nearest of all its papers, and `_nearest_among(vector, ids,
    m)`, the m nearest of those ids."""

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def _nearest(self, vector: np.ndarray, k: int) -> Neighbours: ...

    @abstractmethod
    def _nearest_among(
        self, vector: np.ndarray, paper_ids: Sequence[str], k: int
    ) -> Neighbours: ...

    def nearest(self, vector: np.ndarray, k: int, allowed: Allowed | None = None) -> Neighbours:
        """The k papers nearest to a unit vector by cosine, among `allowed` if given."""
        if allowed is None:
            return self._nearest(vector, k)
        return filtered_nearest(
            k,
            len(self),
            allowed,
            lambda m: self._nearest(vector, m),
            lambda ids, m: self._nearest_among(vector, ids, m),
        )


def filtered_nearest(
    k: int,
    size: int,
    allowed: Allowed,
    nearest: Callable[[int], Neighbours],
    nearest_among: Callable[[Sequence[str], int], Neighbours],
) -> Neighbours:
    """The k nearest allowed papers, by whichever is cheaper for how many pass.

    Most pass (say, all but those saying "survey"): ask the neighbour index for k/share
    candidates with a margin, keep the allowed, widen until k are found. Few pass (a narrow
    date range, a rare required word), or widening would fetch too many: search just those,
    exactly. `nearest(m)` is the m nearest of all `size` papers; `nearest_among(ids, m)`
    the m nearest of those ids.
    """
    if k <= 0 or size == 0:
        return []
    if allowed.share >= SUBSET_SEARCH_BELOW:
        fetch = min(size, math.ceil(k / max(allowed.share, 1e-9) * 1.3) + 20)
        while fetch <= MAX_FETCH:
            candidates = nearest(fetch)
            passed = allowed.accepts([paper_id for paper_id, _ in candidates])
            kept = [(pid, cosine) for pid, cosine in candidates if pid in passed]
            if len(kept) >= k or fetch >= size:
                return kept[:k]
            fetch = min(size, fetch * 4)
    return nearest_among(allowed.ids(), k)
