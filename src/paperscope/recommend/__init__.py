"""Recommendations from papers a person liked (and disliked), learned per request: meaning
(a logistic regression on the stored embeddings), words (the same on tf-idf) and the authors
they liked, summed (recommend/model.py says why), with papers picked at random as extra
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
from sklearn.feature_extraction.text import TfidfVectorizer

from paperscope.recommend.model import for_you_scores
from paperscope.store import Store
from paperscope.store.accounts import Member

RANDOM_NEGATIVES = 200  # papers drawn at random, as negatives beside the dislikes


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
        self._pool: tuple[tuple[str, ...], _Pool] | None = None
        self._papers: dict = {}

    def _candidates(self, pool: Sequence[str]) -> _Pool:
        """The candidates' vectors, tf-idf and authors; the last pool's are kept (a digest
        run asks for one pool per member: the period's papers)."""
        key = tuple(pool)
        if self._pool is None or self._pool[0] != key:
            vectors = self.store.embeddings.vectors(self.model, pool)
            papers = {p.id: p for p in self.store.papers.get_many(list(vectors))}
            ids = [pid for pid in vectors if pid in papers]
            self._pool = (key, _Pool(ids, vectors, papers))
        return self._pool[1]

    def _random_papers(self, ids: list[str]) -> dict:
        """The random negatives' papers (read once)."""
        missing = [pid for pid in ids if pid not in self._papers]
        if missing:
            self._papers.update((p.id, p) for p in self.store.papers.get_many(missing))
        return {pid: self._papers[pid] for pid in ids if pid in self._papers}

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
        found = self._candidates(pool)
        keep = [n for n, pid in enumerate(found.ids) if pid not in seen]
        if not keep:
            return []
        ids = [found.ids[n] for n in keep]
        matrix = np.stack([found.vectors[pid] for pid in ids])
        positives = np.stack(list(liked.values()))
        extra = {pid: v for pid, v in self._negatives().items() if pid not in liked}
        negative_ids = [*disliked, *extra]
        negatives = np.stack([*disliked.values(), *extra.values()]) if negative_ids else None
        if negatives is None:  # nothing to contrast with: nearest to the likes' mean
            scores = matrix @ positives.mean(axis=0)
        else:
            side = {p.id: p for p in self.store.papers.get_many([*liked, *disliked])}
            side |= self._random_papers(list(extra))
            words = found.words(
                [_text(side[pid]) for pid in liked if pid in side],
                [_text(side[pid]) for pid in disliked if pid in side],
                [pid for pid in extra if pid in side],
                side,
                keep,
            )
            scores = for_you_scores(
                meaning=(positives, negatives, matrix),
                words=words,
                authors=(
                    [side[pid].authors for pid in liked if pid in side],
                    [found.papers[pid].authors for pid in ids],
                ),
            )
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


def _text(paper) -> str:
    return f"{paper.title} {paper.abstract} {' '.join(paper.authors)}"


class _Pool:
    """Candidate papers with their vectors, and their tf-idf made on first use."""

    def __init__(self, ids: list[str], vectors: dict, papers: dict) -> None:
        self.ids = ids
        self.vectors = vectors
        self.papers = papers
        self._tfidf = None
        self._random_rows: dict[tuple[str, ...], object] = {}

    def words(self, liked: list[str], disliked: list[str], random_ids: list[str], papers, keep):
        """(positives, negatives, candidates) tf-idf rows, the random negatives' made once;
        None when the words say nothing (too few papers for a vocabulary)."""
        from scipy import sparse

        if self._tfidf is None:
            vectorizer = TfidfVectorizer(
                max_features=20_000, sublinear_tf=True, stop_words="english", min_df=1
            )
            try:
                matrix = vectorizer.fit_transform([_text(self.papers[pid]) for pid in self.ids])
            except ValueError:  # an empty vocabulary
                return None
            self._tfidf = (vectorizer, matrix)
        vectorizer, matrix = self._tfidf
        if not liked or not (disliked or random_ids):
            return None
        key = tuple(random_ids)
        if key not in self._random_rows:
            self._random_rows[key] = vectorizer.transform([_text(papers[p]) for p in random_ids])
        negative = self._random_rows[key]
        if disliked:
            negative = sparse.vstack([vectorizer.transform(disliked), negative])
        return vectorizer.transform(liked), negative, matrix[keep]
