"""Recommendations from papers a person liked (and disliked), learned per request: meaning
(a classifier on the stored embeddings), words (the same on tf-idf) and the authors they
liked, with the liked paper nearest to each candidate and the categories they read, weighed and
summed (recommend/model.py says why), with papers picked at random as extra negatives
(as Scholar Inbox does: a few likes alone cannot tell "what I read" from "what everyone
writes"). Entry point: ``Recommender``.

Used three ways: `paperscope recommend --like ...`, `POST /api/recommendations` (Semantic
Scholar's shape), and the "for you" part of a member's digest and page, whose likes are
their upvotes and saved papers and whose dislikes are the papers they are not interested in.
A digest run asks for every member at once over one pool (the period's papers), so the pool's
features and the random negatives' part of each model are made once (`for_members`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

import numpy as np

from paperscope.errors import Unavailable
from paperscope.recommend.model import RANDOM_NEGATIVES, ForYouModel, words_vectorizer
from paperscope.store import Store
from paperscope.store.accounts import Member


def published_days(
    first: date | None, last: date | None
) -> tuple[datetime | None, datetime | None]:
    """The [start, end) that papers first published from day `first` to day `last` (both
    included; either open) fall in."""
    start = datetime.combine(first, time.min) if first else None
    end = datetime.combine(last, time.min) + timedelta(days=1) if last else None
    return start, end


class NotEmbedded(Unavailable, ValueError):
    """None of the liked papers has a vector yet (`paperscope index`)."""


@dataclass(frozen=True)
class LikedPaper:
    id: str
    title: str
    similarity: float  # cosine of the two papers' embeddings


@dataclass(frozen=True)
class Explanation:
    """Why a paper is recommended: the liked papers nearest to it (up to 3), the words that
    weighed most for it (the words classifier's weight of each term times the paper's
    tf-idf of it, up to 5, positive only) and the authors of liked papers it shares."""

    liked: list[LikedPaper]
    words: list[tuple[str, float]]
    authors: list[str]

    def summary(self, width: int = 60) -> str:
        """One short "because ..." line."""
        parts = []
        if self.liked:
            title = " ".join(self.liked[0].title.split())
            title = title if len(title) <= width else title[: width - 1].rstrip() + "…"
            parts.append(f"you liked “{title}”")
        if self.authors:
            parts.append("by " + ", ".join(self.authors[:2]))
        if self.words:
            parts.append("on " + ", ".join(word for word, _ in self.words[:3]))
        return "because " + "; ".join(parts) if parts else ""


@dataclass(frozen=True)
class Recommendation:
    paper_id: str
    score: float  # the model's value: higher is more like the likes (0: by a followed author)
    because: str | None  # the liked paper it is nearest to
    author: str | None = None  # the followed author (identity key) it is by: listed first
    explanation: Explanation | None = None  # the top ones' (not every candidate's)


class Recommender:
    def __init__(self, store: Store, model: str, *, seed: int = 0) -> None:
        self.store = store
        self.model = model
        self.seed = seed
        self._random: dict[str, np.ndarray] | None = None
        self._pool: tuple[tuple[str, ...], _Pool] | None = None
        self._papers: dict = {}
        self._vectors: dict[str, np.ndarray] = {}

    # -- what the models are made of --------------------------------------------------------
    def _negatives(self) -> dict[str, np.ndarray]:
        if self._random is None:
            self._random = self.store.embeddings.sample(self.model, RANDOM_NEGATIVES, self.seed)
        return self._random

    def _read(self, paper_ids: Sequence[str]) -> None:
        """Papers and vectors of these ids, read once a recommender."""
        missing = [pid for pid in dict.fromkeys(paper_ids) if pid not in self._papers]
        if missing:
            papers = self.store.papers.get_many(missing)
            self._papers.update((p.id, p) for p in papers)
            self._vectors.update(self.store.embeddings.vectors(self.model, missing))

    def papers(self, paper_ids: Sequence[str]) -> dict:
        """These papers (read once a recommender)."""
        self._read(paper_ids)
        return {pid: self._papers[pid] for pid in paper_ids if pid in self._papers}

    def _candidates(self, pool: Sequence[str]) -> _Pool:
        """The pool's features and model; the last pool's are kept (a digest run asks for
        one pool: the period's papers)."""
        key = tuple(pool)
        if self._pool is None or self._pool[0] != key:
            random = self._negatives()
            self._read([*random, *pool])
            ids = [pid for pid in dict.fromkeys(pool) if pid in self._vectors]
            ids = [pid for pid in ids if pid in self._papers]
            random_ids = [pid for pid in random if pid in self._papers]
            self._pool = (key, _Pool(ids, random_ids, self._papers, self._vectors))
        return self._pool[1]

    def pool(self, candidates: Sequence[str]) -> _Pool:
        """These candidates (those with a vector), with the model's shared part made."""
        return self._candidates(candidates)

    # -- recommending -----------------------------------------------------------------------
    def recommend(
        self,
        likes: Sequence[str],
        dislikes: Sequence[str] = (),
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        candidates: Sequence[str] | None = None,
        limit: int | None = 20,
    ) -> list[Recommendation]:
        """The `limit` papers (first published in [start, end), or among `candidates`) most
        like the likes, the likes and dislikes themselves left out; every one of them, ranked,
        when `limit` is None (so that a ranking can be judged whole). Candidates without a
        vector yet are left out."""
        self._read([*likes, *dislikes])
        if not any(pid in self._vectors for pid in likes):
            raise NotEmbedded("none of those papers has a vector yet: run `paperscope index`")
        pool = candidates if candidates is not None else self.store.papers.published_ids(start, end)
        return self._candidates(pool).recommend(likes, dislikes, limit)

    def for_member(
        self,
        member: Member,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        candidates: Sequence[str] | None = None,
        limit: int = 20,
        likes: Sequence[str] | None = None,
    ) -> list[Recommendation]:
        """ "For you": their upvotes and saved papers (or, given, `likes`: one collection's
        papers, say) against what they are not interested in; [] while they have liked
        nothing (the digest then leans on their searches)."""
        pool = candidates if candidates is not None else self.store.papers.published_ids(start, end)
        chosen = None if likes is None else {member.id: list(likes)}
        return self.for_members([member], pool, limit, likes=chosen)[member.id]

    def for_members(
        self,
        members: Sequence[Member],
        candidates: Sequence[str],
        limit: int = 20,
        *,
        likes: dict[int, list[str]] | None = None,
    ) -> dict[int, list[Recommendation]]:
        """ "For you" of each member among the same candidates (a digest run's batch): the
        new papers of the authors they follow first, newest first, then the model's;
        `likes` stands for the upvotes and saves of the members it names (a collection
        chosen as their interests)."""
        likes = self.likes_of(members) | (likes or {})
        dismissed = self.store.collections.dismissed_many([m.id for m in members])
        followed = self._followed(members, candidates)
        self._read([pid for m in members for pid in [*likes[m.id], *dismissed[m.id]]])
        pool = self._candidates(candidates)
        found: dict[int, list[Recommendation]] = {}
        for member in members:
            skip = {*likes[member.id], *dismissed[member.id]}
            first = {pid: r for pid, r in followed[member.id].items() if pid not in skip}
            liked = [pid for pid in likes[member.id] if pid in self._vectors]
            modelled = pool.recommend(liked, sorted(dismissed[member.id]), limit) if liked else []
            found[member.id] = [
                *first.values(),
                *(r for r in modelled if r.paper_id not in first),
            ][:limit]
        return found

    def _followed(
        self, members: Sequence[Member], candidates: Sequence[str]
    ) -> dict[int, dict[str, Recommendation]]:
        """Each member's candidates by authors they follow, newest first."""
        follows = self.store.authors.followed_many([m.id for m in members])
        by = self.store.authors.papers_by(
            [key for keys in follows.values() for key in keys], set(candidates)
        )
        self._read([pid for ids in by.values() for pid in ids])
        found: dict[int, dict[str, Recommendation]] = {}
        for member in members:
            papers = {pid: key for key in follows[member.id] for pid in by.get(key, [])}
            newest = sorted(
                (pid for pid in papers if pid in self._papers),
                key=lambda pid: (self._papers[pid].published or datetime.min, pid),
                reverse=True,
            )
            found[member.id] = {
                pid: Recommendation(pid, 0.0, None, author=papers[pid]) for pid in newest
            }
        return found

    def likes(self, member: Member) -> list[str]:
        return self.likes_of([member])[member.id]

    def likes_of(self, members: Sequence[Member]) -> dict[int, list[str]]:
        """Each member's upvoted and saved papers, most recent first."""
        ids = [m.id for m in members]
        upvoted = self.store.votes.of_voters([str(i) for i in ids])
        saved = self.store.collections.saved_by_many(ids)
        return {i: list(dict.fromkeys([*upvoted[str(i)], *saved[i]])) for i in ids}


def _text(paper) -> str:
    return f"{paper.title} {paper.abstract} {' '.join(paper.authors)}"


class _Pool:
    """Candidate papers with their vectors, tf-idf and authors, and the random negatives:
    the part of every reader's model that is the same for all of them."""

    def __init__(self, ids: list[str], random_ids: list[str], papers: dict, vectors: dict):
        self.ids = ids
        self.index = {pid: n for n, pid in enumerate(ids)}
        self.random_index = {pid: n for n, pid in enumerate(random_ids)}
        self.papers = papers
        self.vectors = vectors
        self.matrix = (
            np.stack([vectors[pid] for pid in ids]) if ids else np.zeros((0, 1), np.float32)
        )
        self._words: dict[str, object] = {}
        self._analyzer: Callable[[str], list[str]] | None = None
        self._model: ForYouModel | None = None
        self._random_ids = random_ids
        self.vectorizer = None
        if ids and random_ids:
            # scikit-learn is imported in there: it takes two seconds, and a digest run
            # without members who liked anything never needs it.
            vectorizer = words_vectorizer(len(ids))
            try:
                candidates = vectorizer.fit_transform([_text(papers[pid]) for pid in ids])
            except ValueError:  # an empty vocabulary
                words = None
            else:
                self.vectorizer = vectorizer
                words = (self._tfidf(random_ids), candidates)
            self._model = ForYouModel(
                meaning=(np.stack([vectors[pid] for pid in random_ids]), self.matrix),
                words=words,
                authors=[papers[pid].authors for pid in ids],
                categories=[papers[pid].categories for pid in ids],
            )

    @property
    def can_learn(self) -> bool:
        """Whether the model can be learned here (random negatives and a vocabulary)."""
        return self._model is not None and self.vectorizer is not None

    def _tfidf(self, paper_ids: Sequence[str]):
        """Tf-idf rows of these papers under the pool's vocabulary (each made once)."""
        from scipy import sparse

        missing = [pid for pid in paper_ids if pid not in self._words]
        if missing:
            assert self.vectorizer is not None, "asked for words of a pool without a vocabulary"
            rows = self.vectorizer.transform([_text(self.papers[pid]) for pid in missing])
            self._words.update((pid, rows[n]) for n, pid in enumerate(missing))
        return sparse.vstack([self._words[pid] for pid in paper_ids], format="csr")

    def recommend(
        self, likes: Sequence[str], dislikes: Sequence[str], limit: int | None
    ) -> list[Recommendation]:
        liked = [pid for pid in dict.fromkeys(likes) if pid in self.vectors]
        disliked = [pid for pid in dict.fromkeys(dislikes) if pid in self.vectors]
        seen = {*likes, *dislikes}
        mask = np.ones(len(self.ids), dtype=bool)
        mask[[self.index[pid] for pid in seen if pid in self.index]] = False
        keep = np.flatnonzero(mask)
        if not liked or not keep.size:
            return []
        positives = np.stack([self.vectors[pid] for pid in liked])
        word_weights = None
        if self._model is None:  # nothing to contrast with: nearest to the likes' mean
            scores = self.matrix[keep] @ positives.mean(axis=0)
        else:
            signals, word_weights = self._model.fit(**self._given(liked, disliked))
            scores = self._model.blend(signals, keep)
        top = np.argsort(-scores, kind="stable")[:limit]
        similarity = self.matrix[keep[top]] @ positives.T
        nearest = similarity.argmax(axis=1)
        found = [
            Recommendation(self.ids[keep[i]], float(scores[i]), liked[int(n)])
            for i, n in zip(top.tolist(), nearest.tolist(), strict=True)
        ]
        if limit is None:  # a whole ranking, to be judged: nobody reads why
            return found
        explain = Explainer(self, liked, similarity, word_weights)
        return [replace(r, explanation=explain(r.paper_id, row)) for row, r in enumerate(found)]

    def signals(
        self, likes: Sequence[str], dislikes: Sequence[str]
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Each signal's values, and their blend (the score), on every candidate, the likes
        and dislikes among them too (to judge the model on papers it knows the answer for,
        recommend/evaluate.py)."""
        assert self._model is not None, "signals need random negatives and a vocabulary"
        liked = [pid for pid in dict.fromkeys(likes) if pid in self.vectors]
        disliked = [pid for pid in dict.fromkeys(dislikes) if pid in self.vectors]
        found, _ = self._model.fit(**self._given(liked, disliked))
        return found, self._model.blend(found)

    def _given(self, liked: list[str], disliked: list[str]) -> dict:
        """What the model takes of a reader: their liked and disliked papers' features."""
        positives = np.stack([self.vectors[pid] for pid in liked])
        negatives = np.stack([self.vectors[p] for p in disliked]) if disliked else None
        words = None
        if self.vectorizer is not None:
            words = (self._tfidf(liked), self._tfidf(disliked) if disliked else None)
        seen = {*liked, *disliked}
        return {
            "meaning": (positives, negatives),
            "words": words,
            "authors": [self.papers[pid].authors for pid in liked],
            "categories": [self.papers[pid].categories for pid in liked],
            "drop": [self.random_index[p] for p in seen if p in self.random_index],
        }

    def terms_of(self, paper_id: str) -> dict[int, str]:
        """The vocabulary's columns of this paper's terms, and the terms: from its own text,
        analysed again (a fraction of a millisecond), where inverting the whole vocabulary
        would cost a page a fifth of a second."""
        assert self.vectorizer is not None
        if self._analyzer is None:
            self._analyzer = self.vectorizer.build_analyzer()
        vocabulary = self.vectorizer.vocabulary_
        return {
            vocabulary[term]: term
            for term in self._analyzer(_text(self.papers[paper_id]))
            if term in vocabulary
        }


class Explainer:
    """Explanations of one reader's recommendations from what scoring them computed."""

    def __init__(self, pool: _Pool, liked: list[str], similarity: np.ndarray, word_weights):
        self.pool, self.liked, self.similarity = pool, liked, similarity
        self.word_weights = word_weights
        self.liked_authors = {a for pid in liked for a in pool.papers[pid].authors}

    def __call__(self, paper_id: str, row: int) -> Explanation:
        pool = self.pool
        nearest = np.argsort(-self.similarity[row], kind="stable")[:3]
        liked = [
            LikedPaper(pid, pool.papers[pid].title, float(self.similarity[row, n]))
            for n in nearest.tolist()
            for pid in [self.liked[n]]
        ]
        words: list[tuple[str, float]] = []
        if self.word_weights is not None and pool._model is not None and pool._model.words:
            candidates = pool._model.words.candidates
            at = pool.index[paper_id]
            start, end = candidates.indptr[at], candidates.indptr[at + 1]
            columns = candidates.indices[start:end]
            weighed = self.word_weights[columns] * candidates.data[start:end]
            best = [b for b in np.argsort(-weighed, kind="stable")[:5].tolist() if weighed[b] > 0]
            if best:
                terms = pool.terms_of(paper_id)
                words = [(terms[int(columns[b])], float(weighed[b])) for b in best]
        authors = [a for a in pool.papers[paper_id].authors if a in self.liked_authors][:5]
        return Explanation(liked, words, authors)
