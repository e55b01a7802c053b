"""Approximate nearest neighbours with usearch's HNSW graph, a `VectorIndex` for large corpora."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

# onnxruntime, where installed, is loaded before usearch on purpose: loading it after
# usearch's compiled module crashes the process (usearch 2.26, onnxruntime 1.32, x86_64).
if importlib.util.find_spec("onnxruntime") is not None:
    import onnxruntime  # noqa: F401

from usearch.index import Index

FILE_NAME = "hnsw.usearch"


class HnswIndex:
    name = "hnsw"

    def __init__(self, index: Index) -> None:
        self.index = index
        # ef at query time: recall against exact search is checked in tests/search.
        # (usearch has the setter; mypy misses it, written apart from its getter)
        self.index.expansion_search = 128  # type: ignore[misc]

    @classmethod
    def build(cls, matrix: np.ndarray, threads: int = 0) -> HnswIndex:
        # f16 keeps recall (i8 caps it near 0.87, see shared/NOTES.md) at half the memory.
        index = Index(
            ndim=matrix.shape[1], metric="cos", dtype="f16", connectivity=16, expansion_add=128
        )
        if len(matrix):
            index.add(np.arange(len(matrix), dtype=np.uint64), matrix, threads=threads)
        return cls(index)

    @classmethod
    def load(cls, directory: Path, matrix: np.ndarray) -> HnswIndex | None:
        path = directory / FILE_NAME
        if not path.exists():
            return None
        # A view maps the file: the workers of one node share one copy of the graph.
        index = Index.restore(str(path), view=True)
        if index is None or len(index) != len(matrix):
            return None
        return cls(index)

    def save(self, directory: Path) -> None:
        partial = directory / (FILE_NAME + ".tmp")
        self.index.save(str(partial))
        partial.replace(directory / FILE_NAME)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.atleast_2d(queries).astype(np.float32, copy=False)
        b = len(queries)
        rows = np.full((b, k), -1, dtype=np.int64)
        cosines = np.zeros((b, k), dtype=np.float32)
        if len(self.index) == 0 or k == 0:
            return rows, cosines
        matches = self.index.search(queries, min(k, len(self.index)))
        if not hasattr(matches, "counts"):  # usearch answers a single query with Matches
            n = len(matches.keys)
            rows[0, :n] = matches.keys
            cosines[0, :n] = 1.0 - np.asarray(matches.distances)
            return rows, cosines
        keys = np.atleast_2d(matches.keys).astype(np.int64)
        distances = np.atleast_2d(matches.distances)
        for i, n in enumerate(np.atleast_1d(matches.counts).tolist()):
            rows[i, :n] = keys[i, :n]
            cosines[i, :n] = 1.0 - distances[i, :n]
        return rows, cosines
