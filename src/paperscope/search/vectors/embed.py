"""Paper vectors: computed for new or changed papers only, stored in the database.

Vectors live in the ``embeddings`` table beside the papers (so PostgreSQL deployments can
move them to pgvector), tagged with the encoder's name and version. Each chunk commits on
its own: an interrupted run keeps its finished chunks and the next run does the rest.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from paperscope.search.encoder import Encoder
from paperscope.store import Store, StoredPaper

CHUNK = 512  # papers per encode call and commit; larger chunks sort by length better
# The first commit comes after this many papers: a server counts the stored vectors to say
# how far the embedding is, and a whole first chunk can take a minute on two cores.
FIRST_CHUNK = 64


def paper_text(title: str, abstract: str) -> str:
    """What the encoder reads for a paper: the title, then the abstract with lines joined."""
    return f"{' '.join(title.split())}. {' '.join(abstract.split())}"


def stale_paper_ids(store: Store, model: str) -> list[str]:
    stored = store.embeddings.hashes(model)
    return sorted(pid for pid, digest in store.papers.hashes().items() if stored.get(pid) != digest)


def embed_papers(
    store: Store,
    encoder: Encoder,
    *,
    chunk: int = CHUNK,
    on_progress: Callable[[int, int], None] | None = None,
) -> int:
    """Embed every paper without a current vector under this encoder; returns how many."""
    store.embeddings.keep_only(encoder.name)
    todo = stale_paper_ids(store, encoder.name)
    done = 0
    if on_progress:
        on_progress(0, len(todo))
    bounds = [0, *range(min(chunk, FIRST_CHUNK), len(todo), chunk), len(todo)]
    for start, end in itertools.pairwise(bounds):
        if start == end:  # nothing to do
            continue
        papers: list[StoredPaper] = store.papers.get_many(todo[start:end])
        batch_progress = None
        if on_progress:
            # Within a chunk too: one chunk can take longer than a progress line's interval.
            batch_progress = lambda batch_done, _n, done=done: on_progress(  # noqa: E731
                done + batch_done, len(todo)
            )
        vectors = encoder.encode(
            [paper_text(p.title, p.abstract) for p in papers], on_progress=batch_progress
        )
        store.embeddings.save(
            encoder.name,
            [
                (p.id, p.content_hash, np.asarray(v, dtype="<f4").tobytes())
                for p, v in zip(papers, vectors, strict=True)
            ],
        )
        done += len(papers)
        if on_progress:
            on_progress(done, len(todo))
    return done


def load_vectors(store: Store, model: str, dim: int) -> tuple[list[str], np.ndarray]:
    """All stored vectors of a model as (ids in id order, float32 matrix)."""
    ids: list[str] = []
    blobs: list[bytes] = []
    for paper_id, blob, _ in store.embeddings.iter(model):
        ids.append(paper_id)
        blobs.append(blob)
    matrix = np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(ids), dim)
    return ids, np.ascontiguousarray(matrix, dtype=np.float32)
