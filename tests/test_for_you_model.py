"""The for-you classifier (recommend/model.py) is a balanced ridge regression solved a faster
way: it must give what scikit-learn's own ridge gives on the same rows, dense and sparse, with
and without shared negatives left out, and one reader's score must not depend on being
computed in a batch."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from sklearn.linear_model import Ridge

from paperscope.recommend.model import (
    WEIGHTS,
    AuthorOverlap,
    Contrast,
    ForYouModel,
    for_you_scores,
    nearest_liked,
    words_vectorizer,
    zscore,
)


def _sklearn_ridge(positives, own_negatives, shared, candidates, alpha):
    """The reference: Ridge on ±1 labels, balanced sample weights, a constant feature of 1
    (regularised like the others) for the intercept; sparse rows made dense (scikit-learn's
    sparse solvers are iterative: close, not exact)."""

    def dense(rows):
        return rows.toarray() if sparse.issparse(rows) else rows

    parts = [positives, *([own_negatives] if own_negatives is not None else []), shared]
    rows = np.vstack([dense(part) for part in parts])
    features = np.hstack([rows, np.ones((rows.shape[0], 1))])
    liked = positives.shape[0]
    labels = -np.ones(rows.shape[0])
    labels[:liked] = 1
    n = rows.shape[0]
    weights = np.where(labels > 0, n / (2 * liked), n / (2 * (n - liked)))
    model = Ridge(alpha=alpha, fit_intercept=False, solver="auto").fit(
        features, labels, sample_weight=weights
    )
    return np.hstack([dense(candidates), np.ones((candidates.shape[0], 1))]) @ model.coef_


@pytest.fixture
def rows():
    rng = np.random.default_rng(3)

    def dense(n, d=24):
        x = rng.normal(size=(n, d))
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    return dense


@pytest.mark.parametrize("alpha", [0.3, 1.0, 3.0])
def test_dense_scores_are_sklearn_ridge(rows, alpha):
    positives, dislikes, shared, candidates = rows(6), rows(2), rows(40), rows(30)
    contrast = Contrast(shared, candidates, alpha)
    for own in (None, dislikes):
        expected = _sklearn_ridge(positives, own, shared, candidates, alpha)
        assert np.allclose(contrast.scores(positives, own), expected, atol=1e-8)


def test_sparse_scores_are_sklearn_ridge():
    def rows(n, seed):
        return sparse.random(n, 300, density=0.05, format="csr", random_state=seed)

    positives, dislikes, shared, candidates = rows(5, 1), rows(3, 2), rows(50, 3), rows(40, 4)
    contrast = Contrast(shared, candidates, 1.0)
    expected = _sklearn_ridge(positives, dislikes, shared, candidates, 1.0)
    assert np.allclose(contrast.scores(positives, dislikes), expected, atol=1e-8)


def test_dropped_shared_negatives_are_as_if_absent(rows):
    positives, shared, candidates = rows(4), rows(30), rows(20)
    drop = [3, 17]
    kept = np.delete(shared, drop, axis=0)
    expected = _sklearn_ridge(positives, None, kept, candidates, 1.0)
    assert np.allclose(Contrast(shared, candidates, 1.0).scores(positives, drop=drop), expected)


def test_nothing_to_contrast_with_ranks_by_the_likes_mean(rows):
    positives, shared, candidates = rows(2), rows(2), rows(10)
    scores = Contrast(shared, candidates, 1.0).scores(positives, drop=[0, 1])
    assert np.allclose(scores, candidates @ positives.mean(axis=0))


def test_one_model_scores_each_reader_as_alone(rows):
    shared, candidates = rows(40), rows(25)
    authors = [[f"a{n % 7}", f"b{n % 3}"] for n in range(25)]
    model = ForYouModel(meaning=(shared, candidates), words=None, authors=authors)
    for seed in range(3):
        liked = rows(3 + seed)
        alone = for_you_scores(
            meaning=(liked, shared, candidates), words=None, authors=([["a1"]], authors)
        )
        batched = model.scores(meaning=(liked, None), words=None, authors=[["a1"]])
        assert np.allclose(alone, batched)


def test_author_overlap_counts_liked_papers_per_author():
    overlap = AuthorOverlap([["Ada", "Bo"], ["Cy"], ["Bo", "Cy"], []])
    assert overlap.scores([["Bo"], ["Bo", "Dee"], ["Cy"]]).tolist() == [2.0, 1.0, 3.0, 0.0]
    assert overlap.scores([]).tolist() == [0.0] * 4
    assert AuthorOverlap([[], []]).scores([["Ada"]]).tolist() == [0.0, 0.0]


def test_nearest_is_the_similarity_to_the_closest_like():
    liked = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    candidates = sparse.csr_matrix([[0.8, 0.6, 0.0], [0.0, 0.0, 1.0], [0.1, 0.9, 0.0]])
    scores = nearest_liked(candidates.T.tocsr(), sparse.csr_matrix(liked))
    assert np.allclose(scores, [0.8, 0.0, 0.9])


def test_the_score_is_the_weighed_sum_of_the_signals_z_scored(rows):
    """Each signal counts by its weight; categories count when given; a candidate on the
    reader's two topics is not averaged away: `nearest` puts it first."""
    shared, candidates = rows(40), rows(12)
    words = sparse.random(52, 60, density=0.2, format="csr", random_state=5)
    words = sparse.csr_matrix(words.toarray() / np.linalg.norm(words.toarray(), axis=1)[:, None])
    categories = [["cs.AI"] if n % 2 else ["cs.CL", "cs.LG"] for n in range(12)]
    authors = [[f"a{n % 5}"] for n in range(12)]
    model = ForYouModel(
        meaning=(shared, candidates),
        words=(words[:40], words[40:]),
        authors=authors,
        categories=categories,
    )
    liked = dict(
        meaning=(rows(3), None),
        words=(words[40:43], None),
        authors=[["a1"], ["a2"]],
        categories=[["cs.CL"], ["cs.CL"], ["cs.AI"]],
    )
    signals = model.signals(**liked)
    assert set(signals) == set(WEIGHTS)
    assert signals["categories"].tolist() == [2.0 if n % 2 == 0 else 1.0 for n in range(12)]
    assert np.allclose(signals["nearest"][:3], 1.0)  # the liked rows themselves
    expected = sum(WEIGHTS[name] * zscore(values) for name, values in signals.items())
    assert np.allclose(model.scores(**liked), expected)
    keep = np.arange(3, 12)
    expected = sum(WEIGHTS[name] * zscore(values[keep]) for name, values in signals.items())
    assert np.allclose(model.scores(**liked, keep=keep), expected)
    without = dict(liked, categories=None)
    assert "categories" not in model.signals(**without)


def test_words_keep_word_pairs_and_rare_terms():
    """A cap on the vocabulary keeps the most frequent terms: a field's own terms (seen in
    two abstracts of 1,000) must stay, and its two-word names too; terms seen once go."""
    filler = [f"common words number {n % 7} about learning models" for n in range(998)]
    documents = [*filler, "graph rewiring for oversquashing", "oversquashing and graph rewiring"]
    vocabulary = words_vectorizer(len(documents)).fit(documents).vocabulary_
    assert "oversquashing" in vocabulary and "graph rewiring" in vocabulary
    assert "learning models" in vocabulary and "common words" in vocabulary
    assert "oversquashing graph" not in vocabulary  # seen once
    assert words_vectorizer(10).min_df == 1  # a small pool: every term counts
