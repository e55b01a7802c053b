"""Exact nearest neighbours: one matrix product a query (numpy), a `VectorIndex`.

Vectors are unit length, so cosine is a dot product. ``search`` takes a batch of queries
and answers ``(rows, cosines)``, each (b, k), best first, padded with -1 where fewer exist.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Best k columns of each row of a (b, n) score matrix, sorted, padded with -1."""
    b, n = scores.shape
    if n == 0 or k == 0:
        return np.full((b, k), -1, dtype=np.int64), np.zeros((b, k), dtype=np.float32)
    m = min(k, n)
    part = (
        np.argpartition(-scores, m - 1, axis=1)[:, :m] if m < n else np.tile(np.arange(n), (b, 1))
    )
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-part_scores, axis=1, kind="stable")
    rows = np.take_along_axis(part, order, axis=1).astype(np.int64)
    cosines = np.take_along_axis(part_scores, order, axis=1).astype(np.float32)
    if m < k:
        rows = np.pad(rows, ((0, 0), (0, k - m)), constant_values=-1)
        cosines = np.pad(cosines, ((0, 0), (0, k - m)))
    return rows, cosines


class ExactIndex:
    """One matrix product a query; exact, and fast enough for up to ~100k papers."""

    name = "exact"

    def __init__(self, matrix: np.ndarray) -> None:
        self.matrix = matrix

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return top_k(np.atleast_2d(queries) @ self.matrix.T, k)

    def search_rows(
        self, query: np.ndarray, rows: np.ndarray, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Search only the given rows (a filtered subset); returns rows of the full matrix."""
        if not len(rows):
            return np.full(k, -1, dtype=np.int64), np.zeros(k, dtype=np.float32)
        local, cosines = top_k((self.matrix[rows] @ query)[None, :], k)
        found = np.where(local[0] >= 0, rows[np.maximum(local[0], 0)], -1)
        return found, cosines[0]

    def save(self, directory: Path) -> None:
        """Nothing beyond the vectors themselves, which the dense index saves."""

    @classmethod
    def load(cls, directory: Path, matrix: np.ndarray) -> ExactIndex:
        return cls(matrix)
