"""Hubness measures for the benchmark and the tests: similar-paper lists for every paper at
once, k-occurrence, skewness, orphans, and how much of a plain list a reranked one keeps.

The service needs none of this: it reranks one paper's candidates (`paperscope.search.similar`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from paperscope.search.similar import (
    DEFAULT_CANDIDATES,
    DEFAULT_K,
    Method,
    NeighbourSearch,
    as_matrix,
    nearest_neighbours,
    radius_from_neighbours,
    rerank,
    searched_block,
)


def similar_papers(
    query_index: int,
    vectors: np.ndarray,
    radius: np.ndarray,
    k: int = DEFAULT_K,
    candidates: int = DEFAULT_CANDIDATES,
    method: Method = "csls",
    *,
    search: NeighbourSearch | None = None,
) -> list[tuple[int, float]]:
    """The k items most similar to item `query_index`, as (index, score), best first.

    The `candidates` nearest by cosine are reranked by `method` (see `rerank`); the item
    itself is never returned.
    """
    vectors = as_matrix(vectors)
    n = len(vectors)
    if not 0 <= query_index < n:
        raise IndexError(f"query_index {query_index} is outside the {n} vectors")
    m = max(0, min(max(candidates, k), n - 1))
    if m == 0:
        return []
    if search is None:
        cosines = vectors @ vectors[query_index]
        cosines[query_index] = -np.inf
        top = np.argpartition(cosines, n - m)[n - m :]
        cand_idx, cand_cos = top[None, :], cosines[top][None, :]
    else:
        cand_idx, cand_cos = searched_block(vectors, query_index, query_index + 1, m, search)
    found_idx, scores = rerank(cand_idx, cand_cos, radius, k, method)
    return [(int(i), float(s)) for i, s in zip(found_idx[0], scores[0], strict=True) if i >= 0]


def similar_papers_batch(
    vectors: np.ndarray,
    radius: np.ndarray,
    k: int = DEFAULT_K,
    candidates: int = DEFAULT_CANDIDATES,
    method: Method = "csls",
    *,
    batch: int | None = None,
    search: NeighbourSearch | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """`similar_papers` for every item at once: (indices, scores) of shape (n, min(k, n-1))."""
    indices, cosines = nearest_neighbours(vectors, max(candidates, k), batch=batch, search=search)
    return rerank(indices, cosines, radius, k, method)


def k_occurrence(lists: np.ndarray | Sequence[Sequence[int]], n: int) -> np.ndarray:
    """How many of the lists each of the n items appears in (its k-occurrence), int64 (n,).

    Negative indices (padding for missing neighbours) are ignored.
    """
    if isinstance(lists, np.ndarray):
        flat = lists.ravel()
    else:
        flat = np.fromiter((i for row in lists for i in row), dtype=np.int64)
    flat = flat.astype(np.int64, copy=False)
    return np.bincount(flat[flat >= 0], minlength=n).astype(np.int64)


def skewness(values: np.ndarray) -> float:
    """Third standardised moment, E[(x - mean)^3] / std^3 (population std); 0 if constant."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return 0.0
    centred = values - values.mean()
    std = np.sqrt(np.mean(centred**2))
    if std == 0.0:
        return 0.0
    return float(np.mean(centred**3) / std**3)


def hubness_stats(lists: np.ndarray | Sequence[Sequence[int]], n: int) -> dict[str, float]:
    """Hubness of one set of neighbour lists over n items.

    skewness: of the k-occurrence counts (0 for a fair spread; plain kNN over sentence
    embeddings is typically well above 1). orphan_share: share of items in nobody's list.
    max_occurrence: the biggest hub's count.
    """
    counts = k_occurrence(lists, n)
    return {
        "skewness": skewness(counts),
        "orphan_share": float(np.mean(counts == 0)) if n else 0.0,
        "max_occurrence": int(counts.max()) if n else 0,
    }


def hubness_report(
    vectors: np.ndarray,
    k: int = DEFAULT_K,
    method: Method = "csls",
    candidates: int = DEFAULT_CANDIDATES,
    *,
    radius_k: int = DEFAULT_K,
    batch: int | None = None,
    search: NeighbourSearch | None = None,
) -> dict[str, dict[str, float]]:
    """Hubness of plain top-k lists and of `method`'s, from one neighbour search.

    Returns {"plain": hubness_stats, method: hubness_stats + "overlap"}, where overlap is the
    mean share of each plain top-k list that the reranked list keeps.
    """
    vectors = as_matrix(vectors)
    n = len(vectors)
    m = max(candidates, k, radius_k)
    indices, cosines = nearest_neighbours(vectors, m, batch=batch, search=search)
    radius = radius_from_neighbours(cosines, radius_k)
    indices, cosines = indices[:, : max(candidates, k)], cosines[:, : max(candidates, k)]
    plain, _ = rerank(indices, cosines, radius, k, "plain")
    reduced, _ = rerank(indices, cosines, radius, k, method)
    report: dict[str, dict[str, float]] = {"plain": hubness_stats(plain, n)}
    report[method] = {**hubness_stats(reduced, n), "overlap": list_overlap(plain, reduced)}
    return report


def list_overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Mean share of each row of `a` that also appears in the same row of `b` (1.0 if empty)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.size == 0:
        return 1.0
    shared = (a[:, :, None] == b[:, None, :]).any(axis=2) & (a >= 0)
    valid = np.maximum((a >= 0).sum(axis=1), 1)
    return float(np.mean(shared.sum(axis=1) / valid))
