"""Combining lexical and dense rankings into one.

Two methods, chosen by settings and tuned on SciFact train (``paperscope eval``):
- ``convex``: each list's scores normalised to [0, 1] over its own candidates (min-max),
  then ``alpha * dense + (1 - alpha) * lexical``; a paper missing from a list gets 0 there.
- ``rrf``: reciprocal rank fusion, ``sum 1 / (k + rank)``; needs no score calibration.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

FusionMethod = Literal["convex", "rrf"]


def minmax(scores: Mapping[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    if high == low:
        return dict.fromkeys(scores, 1.0)
    return {key: (value - low) / (high - low) for key, value in scores.items()}


def convex(
    lexical: Mapping[str, float], dense: Mapping[str, float], alpha: float
) -> dict[str, float]:
    """alpha weighs the dense side: 0 is lexical only, 1 dense only."""
    lex, den = minmax(lexical), minmax(dense)
    return {
        key: alpha * den.get(key, 0.0) + (1 - alpha) * lex.get(key, 0.0)
        for key in lex.keys() | den.keys()
    }


def rrf(rankings: Sequence[Sequence[str]], k: float = 60.0) -> dict[str, float]:
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            fused[key] = fused.get(key, 0.0) + 1.0 / (k + rank)
    return fused


def fuse(
    lexical: Mapping[str, float],
    dense: Mapping[str, float],
    *,
    method: FusionMethod,
    alpha: float,
    rrf_k: float,
) -> list[tuple[str, float]]:
    """Fused (id, score) pairs, best first; ties broken by id for a stable order."""
    if method == "rrf":
        scores = rrf(
            [
                sorted(lexical, key=lexical.__getitem__, reverse=True),
                sorted(dense, key=dense.__getitem__, reverse=True),
            ],
            k=rrf_k,
        )
    else:
        scores = convex(lexical, dense, alpha)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))
