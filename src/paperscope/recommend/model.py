"""The "for you" score: five signals, each z-scored over the candidates, summed with weights.

- meaning: a classifier on the paper embeddings (likes against dislikes and random papers,
  balanced);
- words: the same on tf-idf features of title, abstract and authors (words and word pairs,
  `words_vectorizer`);
- nearest: the tf-idf similarity of a candidate to the liked paper nearest to it (a reader of
  two fields is not averaged into neither);
- categories: how many of the liked papers share each of a candidate's arXiv categories;
- authors: how many times the reader liked a paper by each of a candidate's authors.

The classifier is a ridge regression on ±1 labels (RidgeClassifier's model), solved in its
dual: one system as small as the reader's training papers (a few hundred), whatever the
number of features. The random negatives and the candidates are the same for every reader
of a digest run, so their part of the system is computed once (`ForYouModel`) and each
reader costs one small solve: a thousandth of a second, where a scikit-learn fit per reader
and signal took more than ten.

bench/personalise.py measured each signal, the sum, and the same with logistic regressions
on simulated readers (real corpus, held-out likes); bench/readers.py on real readers (authors
of the corpus, their earlier papers as likes, their later ones to find, names hidden or not),
where the word pairs, `nearest`, `categories` and the weights were chosen on one half of the
readers and reported on the other. The README has both tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg
from scipy import sparse

# Ridge strengths: of 0.3, 1 and 3 tried in bench/personalise.py, the best for each signal.
MEANING_ALPHA = 3.0
WORDS_ALPHA = 0.3
# Each z-scored signal's weight in the sum: chosen on bench/readers.py's tune readers (a grid
# of 0, 0.25, 0.5, 1); nearest and categories alone rank worse than words, but add to it.
WEIGHTS = {"meaning": 1.0, "words": 1.0, "nearest": 0.5, "categories": 0.5, "authors": 1.0}
RANDOM_NEGATIVES = 200  # papers drawn at random, as negatives beside the dislikes


def words_vectorizer(documents: int):
    """The tf-idf of the words signal, to fit on the candidates: word pairs too (a method's
    or data set's name is often two words), sublinear counts, no cap on the vocabulary (a cap
    keeps the most frequent terms: the specific ones are what a reader's field is made of);
    terms seen once left out but in a handful of `documents` (as measured in bench/readers.py;
    it also keeps a week's vocabulary, and the cost of a reader, small)."""
    from sklearn.feature_extraction.text import TfidfVectorizer  # slow to import: when used

    return TfidfVectorizer(
        ngram_range=(1, 2),
        sublinear_tf=True,
        stop_words="english",
        min_df=2 if documents >= 100 else 1,
        dtype=np.float64,
    )


# Feature rows, one a paper: a dense numpy array (meaning) or a scipy CSR matrix (words).
Rows = Any


def zscore(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / spread if spread > 0 else values * 0.0


def _gram(a, b_transposed) -> np.ndarray:
    """a @ b.T, given b.T (`_transposed`), as a dense float64 array (numpy or CSR rows)."""
    product = a @ b_transposed
    if sparse.issparse(product):
        return product.toarray()
    return np.asarray(product, dtype=np.float64)


def _transposed(rows):
    """rows.T, as CSR when sparse (scipy's own .T is CSC: every product would convert it)."""
    return rows.T.tocsr() if sparse.issparse(rows) else np.asarray(rows, dtype=np.float64).T


def _rows(*blocks):
    present = [b for b in blocks if b is not None and b.shape[0]]
    if any(sparse.issparse(b) for b in present):
        return sparse.vstack(present, format="csr")
    return np.vstack(present)


@dataclass(frozen=True)
class Fitted:
    """One reader's classifier: a weight per feature, and the candidates' decision values."""

    weights: np.ndarray
    scores: np.ndarray


class Contrast:
    """A balanced ridge classifier of a reader's liked rows against their own negative rows
    and negatives shared by every reader, scored on candidates shared too.

    Solved in the dual, with a constant feature for the intercept (kernel + 1). The shared
    negatives' block of the system is the same for everyone but for a multiple of the
    identity (their weight depends on how many papers the reader liked), so it is
    diagonalised once and each reader's system shrinks, by its Schur complement, to their own
    rows: a few dozen, where the whole one has hundreds. The weights are then made explicit
    (primal), so scoring the candidates is one product."""

    def __init__(self, shared_negatives, candidates, alpha: float) -> None:
        self.shared = _dense_or_sparse(shared_negatives)
        self._shared_t = _transposed(self.shared)
        self.candidates = _dense_or_sparse(candidates)
        self.alpha = alpha
        self._kernel = _gram(self.shared, self._shared_t) + 1.0
        self._eigenvalues, self._eigenvectors = np.linalg.eigh(self._kernel)
        self._labels = self._eigenvectors.T @ -np.ones(self.shared.shape[0])

    def scores(self, positives, negatives=None, drop: Sequence[int] = ()) -> np.ndarray:
        """Decision values on the candidates; `drop`: shared negatives to leave out (the
        reader liked them)."""
        return self.fit(positives, negatives, drop).scores

    def fit(self, positives, negatives=None, drop: Sequence[int] = ()) -> Fitted:
        """The reader's classifier: its weight per feature, and its decision values on the
        candidates (`scores`)."""
        own = _dense_or_sparse(_rows(positives, negatives))
        drop = sorted(set(drop))
        liked, mine = positives.shape[0], own.shape[0]
        n = mine + self.shared.shape[0] - len(drop)
        if n == liked:  # nothing to contrast with: nearest to the likes' mean
            weights = np.asarray(positives.mean(axis=0)).ravel()
            return Fitted(weights, np.asarray(self.candidates @ weights).ravel())
        labels = -np.ones(mine)
        labels[:liked] = 1.0
        # class_weight="balanced": each class weighs half, whatever its size
        positive_weight, negative_weight = n / (2.0 * liked), n / (2.0 * (n - liked))
        own_own = _gram(own, _transposed(own)) + 1.0
        own_own[np.diag_indices(mine)] += self.alpha / np.where(
            labels > 0, positive_weight, negative_weight
        )
        own_shared = _gram(own, self._shared_t) + 1.0
        ridge = self.alpha / negative_weight
        if drop:  # rare (a liked paper among the random ones): the whole system
            dual_own, dual_shared = self._solve_whole(own_own, own_shared, labels, ridge, drop)
        else:
            rotated = own_shared @ self._eigenvectors
            scaled = rotated / (self._eigenvalues + ridge)
            dual_own = scipy.linalg.solve(
                own_own - scaled @ rotated.T, labels - scaled @ self._labels, assume_a="pos"
            )
            dual_shared = self._eigenvectors @ (
                (self._labels - rotated.T @ dual_own) / (self._eigenvalues + ridge)
            )
        weights = np.asarray(dual_own @ own + self._shared_t @ dual_shared).ravel()
        intercept = dual_own.sum() + dual_shared.sum()
        return Fitted(weights, np.asarray(self.candidates @ weights).ravel() + intercept)

    def _solve_whole(self, own_own, own_shared, labels, ridge, drop):
        keep = np.setdiff1d(np.arange(self.shared.shape[0]), np.asarray(drop, dtype=int))
        shared_shared = self._kernel[np.ix_(keep, keep)] + ridge * np.eye(keep.size)
        kernel = np.block([[own_own, own_shared[:, keep]], [own_shared[:, keep].T, shared_shared]])
        dual = scipy.linalg.solve(kernel, np.r_[labels, -np.ones(keep.size)], assume_a="pos")
        dual_shared = np.zeros(self.shared.shape[0])
        dual_shared[keep] = dual[labels.size :]
        return dual[: labels.size], dual_shared


def _dense_or_sparse(rows):
    """CSR rows as they are, dense ones as float64 (cast once, not at every product)."""
    return rows.tocsr() if sparse.issparse(rows) else np.asarray(rows, dtype=np.float64)


def nearest_liked(candidates_transposed, positives) -> np.ndarray:
    """Each candidate's similarity (dot product: tf-idf rows are unit length) to the liked
    paper nearest to it, given the candidates' rows transposed (`_transposed`: made once a
    pool, the product then touches only the likes' terms)."""
    return _gram(positives, candidates_transposed).max(axis=0)


class AuthorOverlap:
    """For each candidate, how many times the reader liked a paper by each of its authors
    (and, given categories instead of authors, how many liked papers share each category)."""

    def __init__(self, candidates: Sequence[Sequence[str]]) -> None:
        from sklearn.feature_extraction.text import CountVectorizer  # slow to import: when used

        vectorizer = CountVectorizer(analyzer=list, lowercase=False, binary=True)
        try:
            self._matrix = vectorizer.fit_transform(candidates).astype(np.float64).tocsr()
            self._column = vectorizer.vocabulary_
        except ValueError:  # nobody has authors
            self._matrix, self._column = None, {}
        self._size = len(candidates)

    def scores(self, liked: Sequence[Sequence[str]]) -> np.ndarray:
        columns = [
            self._column[name] for names in liked for name in set(names) if name in self._column
        ]
        if not columns:
            return np.zeros(self._size)
        counts = np.bincount(columns, minlength=self._matrix.shape[1]).astype(np.float64)
        return self._matrix @ counts


class ForYouModel:
    """The signals over one set of candidates and shared random negatives; `scores` for one
    reader. `words` is None when the candidates have no vocabulary; `categories` None when
    they are not known."""

    def __init__(
        self,
        *,
        meaning: tuple[np.ndarray, np.ndarray],
        words: tuple[Rows, Rows] | None,
        authors: Sequence[Sequence[str]],
        categories: Sequence[Sequence[str]] | None = None,
        weights: dict[str, float] = WEIGHTS,
    ) -> None:
        self.meaning = Contrast(*meaning, MEANING_ALPHA)
        self.words = Contrast(*words, WORDS_ALPHA) if words is not None else None
        self._words_t = _transposed(self.words.candidates) if self.words is not None else None
        self.authors = AuthorOverlap(authors)
        self.categories = AuthorOverlap(categories) if categories is not None else None
        self.weights = weights

    def scores(self, *, keep: np.ndarray | None = None, **given: Any) -> np.ndarray:
        """The signals (`signals(**given)`: meaning, words, authors, categories, drop) each
        z-scored over the candidates to score (`keep`, all by default), weighed and summed."""
        return self.blend(self.signals(**given), keep)

    def blend(self, signals: dict[str, np.ndarray], keep: np.ndarray | None = None) -> np.ndarray:
        """The signals, each z-scored over the candidates to score (`keep`), weighed, summed."""
        weighed = [
            self.weights[name] * zscore(values if keep is None else values[keep])
            for name, values in signals.items()
        ]
        return np.sum(weighed, axis=0)

    def signals(self, **given: Any) -> dict[str, np.ndarray]:
        """Each signal's raw values on every candidate (`scores` weighs and sums them); the
        arguments are `fit`'s."""
        return self.fit(**given)[0]

    def fit(
        self,
        *,
        meaning: tuple[np.ndarray, np.ndarray | None],
        words: tuple[Rows, Rows | None] | None,
        authors: Sequence[Sequence[str]],
        categories: Sequence[Sequence[str]] | None = None,
        drop: Sequence[int] = (),
    ) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
        """`signals`, and the words classifier's weight of each term (None without words):
        what an explanation of a candidate's words signal is made of."""
        found = {"meaning": self.meaning.scores(*meaning, drop=drop)}
        word_weights = None
        if self.words is not None and words is not None:
            fitted = self.words.fit(*words, drop=drop)
            found["words"], word_weights = fitted.scores, fitted.weights
            found["nearest"] = nearest_liked(self._words_t, _dense_or_sparse(words[0]))
        if self.categories is not None and categories is not None:
            found["categories"] = self.categories.scores(categories)
        found["authors"] = self.authors.scores(authors)
        return found, word_weights


def for_you_scores(
    *,
    meaning: tuple[np.ndarray, np.ndarray, np.ndarray],
    words: tuple[Rows, Rows, Rows] | None,
    authors: tuple[Sequence[Sequence[str]], Sequence[Sequence[str]]],
    categories: tuple[Sequence[Sequence[str]], Sequence[Sequence[str]]] | None = None,
) -> np.ndarray:
    """One reader: `meaning` and `words` are (positives, negatives, candidates) feature rows;
    `authors`, `categories`: (the liked papers' lists, the candidates'). Higher is more for
    them."""
    positives, negatives, candidates = meaning
    model = ForYouModel(
        meaning=(negatives, candidates),
        words=words[1:] if words is not None else None,
        authors=authors[1],
        categories=categories[1] if categories is not None else None,
    )
    return model.scores(
        meaning=(positives, None),
        words=(words[0], None) if words is not None else None,
        authors=authors[0],
        categories=categories[0] if categories is not None else None,
    )
