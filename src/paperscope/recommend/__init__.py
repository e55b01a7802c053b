"""Recommendations from papers a person liked (and disliked): a logistic regression on the
stored paper embeddings, learned per request, with papers picked at random as extra
negatives (as Scholar Inbox does: a few likes alone cannot tell "what I read" from "what
everyone writes"). Entry point: ``Recommender``.

Used three ways: `paperscope recommend --like ...`, `POST /api/recommendations` (Semantic
Scholar's shape), and the "for you" part of a member's digest and page, whose likes are
their upvotes and saved papers and whose dislikes are the papers they are not interested in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sklearn.linear_model import LogisticRegression

from paperscope.store import Store
from paperscope.store.accounts import Member

RANDOM_NEGATIVES = 200  # papers drawn at random, as negatives beside the dislikes
C = 1.0  # measured on bench/personalise.py


class NotEmbedded(ValueError):
    """None of the liked papers has a vector yet (`paperscope index`)."""


@dataclass(frozen=True)
class Recommendation:
    paper_id: str
    score: float  # the model's decision value: higher is more like the likes
    because: str | None  # the liked paper it is nearest to


class Recommender:
    def __init__(self, store: Store, model: str, *, seed: int = 0) -> None:
        self.store = store
        self.model = model
        self.seed = seed
        self._random: dict[str, np.ndarray] | None = None

    def _negatives(self) -> dict[str, np.ndarray]:
        if self._random is None:
            self._random = self.store.embeddings.sample(self.model, RANDOM_NEGATIVES, self.seed)
        return self._random

    def recommend(
        self,
        likes: Sequence[str],
        dislikes: Sequence[str] = (),
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        candidates: Sequence[str] | None = None,
        limit: int = 20,
    ) -> list[Recommendation]:
        """The `limit` papers (first published in [start, end), or among `candidates`) most
        like the likes, the likes and dislikes themselves left out."""
        seen = set(likes) | set(dislikes)
        liked = self.store.embeddings.vectors(self.model, likes)
        if not liked:
            raise NotEmbedded("none of those papers has a vector yet: run `paperscope index`")
        disliked = self.store.embeddings.vectors(self.model, dislikes)
        pool = candidates if candidates is not None else self.store.papers.published_ids(start, end)
        pool = [pid for pid in pool if pid not in seen]
        found = self.store.embeddings.vectors(self.model, pool)
        if not found:
            return []
        ids = list(found)
        matrix = np.stack([found[pid] for pid in ids])
        positives = np.stack(list(liked.values()))
        extra = [v for pid, v in self._negatives().items() if pid not in liked]
        negatives = np.stack([*disliked.values(), *extra]) if (disliked or extra) else None
        if negatives is None:  # nothing to contrast with: nearest to the likes' mean
            scores = matrix @ positives.mean(axis=0)
        else:
            features = np.vstack([positives, negatives])
            labels = np.r_[np.ones(len(positives)), np.zeros(len(negatives))]
            model = LogisticRegression(C=C, class_weight="balanced", max_iter=1000)
            model.fit(features, labels)
            scores = model.decision_function(matrix)
        top = np.argsort(-scores, kind="stable")[:limit]
        titles = list(liked)
        nearest = (matrix[top] @ positives.T).argmax(axis=1)
        return [
            Recommendation(ids[i], float(scores[i]), titles[int(n)])
            for i, n in zip(top.tolist(), nearest.tolist(), strict=True)
        ]

    def for_member(
        self,
        member: Member,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        candidates: Sequence[str] | None = None,
        limit: int = 20,
    ) -> list[Recommendation]:
        """ "For you": their upvotes and saved papers against what they are not interested
        in; [] while they have liked nothing (the digest then leans on their searches)."""
        likes = self.likes(member)
        if not likes:
            return []
        dislikes = sorted(self.store.collections.dismissed(member.id))
        try:
            return self.recommend(
                likes, dislikes, start=start, end=end, candidates=candidates, limit=limit
            )
        except NotEmbedded:
            return []

    def likes(self, member: Member) -> list[str]:
        upvoted = self.store.votes.of_voter(str(member.id))
        saved = self.store.collections.saved_by(member.id)
        return list(dict.fromkeys([*upvoted, *saved]))
