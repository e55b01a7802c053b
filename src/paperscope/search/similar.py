"""Similar papers: nearest neighbours in embedding space, with hubness reduction.

Plain kNN over sentence embeddings suffers from hubness: a few papers lie near everything and
crowd every "similar papers" list, while many others are in nobody's list. CSLS (Conneau et al.
2018, "Word translation without parallel data") fixes most of it by penalising each candidate
by its own neighbourhood radius r(x), the mean cosine to its k nearest neighbours:

    csls(q, x) = 2 cos(q, x) - r(x) - r(q)

r(q) is the same for every candidate of one query, so ranking drops it. A hub has a large
radius, so it now has to be unusually close to the query to make the list. Reranking only the
`candidates` nearest by cosine keeps every result topical.

Vectors are float32, one row per paper, of unit length (cosine = dot product). The radius is
computed once per index build (`neighbour_radius`) and stored beside the vectors; a query then
costs one candidate search plus a rerank of `candidates` items.

The service reranks one paper's candidates (search/vectors/); what measures hubness over
every list at once, for the benchmark and the tests, is in bench/hubness_measures.py.

Every function searches exactly with numpy unless given a `search`: any approximate index
(HNSW, IVF) wrapped as a `NeighbourSearch`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np

NeighbourSearch = Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]]
"""(queries of shape (b, dim), m) -> (indices, cosines), each of shape (b, m), best first.

The queries are rows of the corpus, so each may find itself; it is dropped afterwards. Where
fewer than m items are found, pad indices with -1 (the cosine there is ignored).
"""

Method = Literal["plain", "csls"]
METHODS: tuple[Method, ...] = ("plain", "csls")

DEFAULT_K = 10
DEFAULT_CANDIDATES = 100
# Queries per block when `batch` is None. Exact search holds a (batch, n) float32 block, plus an
# int64 one of the same shape when it needs indices: at 83k papers that is about 700 MB for the
# radius and 500 MB for neighbour lists. A `search` (say ExactIndex.search) may hold more per
# query than that, so it gets smaller blocks.
RADIUS_BATCH = 2048
NEIGHBOURS_BATCH = 512
SEARCH_BATCH = 256


def nearest_neighbours(
    vectors: np.ndarray,
    m: int,
    *,
    batch: int | None = None,
    search: NeighbourSearch | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Every item's m nearest other items by cosine: (indices int64, cosines float32), best first.

    Both arrays have shape (n, min(m, n - 1)); an item never finds itself. With `search`,
    missing neighbours are index -1, cosine -inf.
    """
    vectors = as_matrix(vectors)
    n = len(vectors)
    m = max(0, min(m, n - 1))
    indices = np.full((n, m), -1, dtype=np.int64)
    cosines = np.full((n, m), -np.inf, dtype=np.float32)
    if m == 0:
        return indices, cosines
    batch = batch or (NEIGHBOURS_BATCH if search is None else SEARCH_BATCH)
    for start in range(0, n, batch):
        stop = min(start + batch, n)
        if search is None:
            block_idx, block_cos = _exact_block(vectors, start, stop, m)
        else:
            block_idx, block_cos = searched_block(vectors, start, stop, m, search)
        indices[start:stop] = block_idx
        cosines[start:stop] = block_cos
    return indices, cosines


def neighbour_radius(
    vectors: np.ndarray,
    k: int = DEFAULT_K,
    *,
    batch: int | None = None,
    search: NeighbourSearch | None = None,
) -> np.ndarray:
    """Each item's mean cosine to its k nearest other items (CSLS's r), float32 of shape (n,).

    With fewer than k other items it averages over those there are; a lone item gets 0.
    Store it beside the vectors: it changes only when the corpus does.
    """
    vectors = as_matrix(vectors)
    n = len(vectors)
    k = max(0, min(k, n - 1))
    if k == 0:
        return np.zeros(n, dtype=np.float32)
    if search is not None:
        _, cosines = nearest_neighbours(vectors, k, batch=batch, search=search)
        return radius_from_neighbours(cosines, k)
    batch = batch or RADIUS_BATCH
    radius = np.empty(n, dtype=np.float32)
    for start in range(0, n, batch):
        stop = min(start + batch, n)
        block = _cosine_block(vectors, start, stop)
        block.partition(n - k, axis=1)  # in place: only the top k cosines are needed, unsorted
        radius[start:stop] = block[:, n - k :].mean(axis=1, dtype=np.float64)
    return radius


def radius_from_neighbours(cosines: np.ndarray, k: int = DEFAULT_K) -> np.ndarray:
    """The radius from precomputed neighbour cosines (best first, -inf where missing)."""
    top = np.asarray(cosines, dtype=np.float64)[:, :k]
    found = np.isfinite(top)
    total = np.where(found, top, 0.0).sum(axis=1)
    count = found.sum(axis=1)
    return (total / np.maximum(count, 1)).astype(np.float32)


def rerank(
    indices: np.ndarray,
    cosines: np.ndarray,
    radius: np.ndarray | None,
    k: int = DEFAULT_K,
    method: Method = "csls",
) -> tuple[np.ndarray, np.ndarray]:
    """Rerank candidate rows (best first by cosine) by `method`; keep the top k of each row.

    Returns (indices, scores) of shape (rows, min(k, candidates)), best first; the score is
    the cosine for "plain" and 2 cos - r(x) for "csls" (r from `neighbour_radius`; "plain"
    needs none). Missing candidates (-1) stay last.
    """
    indices = np.asarray(indices, dtype=np.int64)
    cosines = np.asarray(cosines, dtype=np.float32)
    if indices.ndim == 1:
        indices, cosines = indices[None, :], cosines[None, :]
    k = max(0, min(k, indices.shape[1]))
    missing = indices < 0
    if method == "plain":
        scores = np.where(missing, -np.inf, cosines).astype(np.float32)
    elif method == "csls":
        if radius is None:
            raise ValueError("csls needs each item's radius: compute it with neighbour_radius")
        penalty = np.asarray(radius, dtype=np.float32)[np.where(missing, 0, indices)]
        scores = np.where(missing, -np.inf, 2.0 * cosines - penalty).astype(np.float32)
    else:
        raise ValueError(f"unknown method {method!r}: use one of {', '.join(METHODS)}")
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(indices, order, axis=1), np.take_along_axis(scores, order, axis=1)


def as_matrix(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2:
        raise ValueError(f"vectors must be a 2-d array (items x dim), got shape {vectors.shape}")
    return vectors


def _cosine_block(vectors: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Cosines of rows start:stop against every row, with each row's own cosine at -inf."""
    block = vectors[start:stop] @ vectors.T
    rows = np.arange(stop - start)
    block[rows, start + rows] = -np.inf
    return block


def _exact_block(
    vectors: np.ndarray, start: int, stop: int, m: int
) -> tuple[np.ndarray, np.ndarray]:
    n = len(vectors)
    block = _cosine_block(vectors, start, stop)
    top = np.argpartition(block, n - m, axis=1)[:, n - m :]
    top_cos = np.take_along_axis(block, top, axis=1)
    order = np.argsort(-top_cos, axis=1, kind="stable")
    return np.take_along_axis(top, order, axis=1), np.take_along_axis(top_cos, order, axis=1)


def searched_block(
    vectors: np.ndarray, start: int, stop: int, m: int, search: NeighbourSearch
) -> tuple[np.ndarray, np.ndarray]:
    """Ask for m + 1 so that m remain once each query's own row is dropped."""
    found_idx, found_cos = search(vectors[start:stop], m + 1)
    found_idx = np.asarray(found_idx, dtype=np.int64).reshape(stop - start, -1)
    found_cos = np.asarray(found_cos, dtype=np.float32).reshape(stop - start, -1)
    own = np.arange(start, stop)[:, None]
    drop = (found_idx == own) | (found_idx < 0)
    found_idx = np.where(drop, -1, found_idx)
    found_cos = np.where(drop, -np.inf, found_cos).astype(np.float32)
    order = np.argsort(-found_cos, axis=1, kind="stable")[:, :m]
    found_idx = np.take_along_axis(found_idx, order, axis=1)
    found_cos = np.take_along_axis(found_cos, order, axis=1)
    if found_idx.shape[1] < m:  # the index returned fewer columns than asked for
        pad = m - found_idx.shape[1]
        found_idx = np.pad(found_idx, ((0, 0), (0, pad)), constant_values=-1)
        found_cos = np.pad(found_cos, ((0, 0), (0, pad)), constant_values=-np.inf)
    return found_idx, found_cos
