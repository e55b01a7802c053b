from __future__ import annotations

import math

import numpy as np
import pytest
from bench.hubness_measures import (
    hubness_report,
    hubness_stats,
    k_occurrence,
    list_overlap,
    similar_papers,
    similar_papers_batch,
    skewness,
)

from paperscope.search.similar import nearest_neighbours, neighbour_radius, rerank


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def hub_corpus(seed: int = 1) -> tuple[np.ndarray, int]:
    """30 loose clusters of 10 papers, all tilted towards one direction, plus a paper lying on
    that direction: it is near every cluster without being anyone's true neighbour."""
    rng = np.random.default_rng(seed)
    dim, clusters, per_cluster = 32, 30, 10
    shared = unit(rng.normal(size=dim))
    own = rng.normal(size=(clusters, dim))
    own = unit(own - np.outer(own @ shared, shared))
    centres = 0.8 * shared + 0.6 * own
    papers = np.repeat(centres, per_cluster, axis=0)
    papers = unit(papers + 0.8 * rng.normal(size=papers.shape) / math.sqrt(dim))
    return np.vstack([papers, shared[None, :]]), len(papers)


def random_corpus(n: int = 200, dim: int = 16, seed: int = 0) -> np.ndarray:
    return unit(np.random.default_rng(seed).normal(size=(n, dim)))


def brute_force_neighbours(vectors: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    cosines = vectors @ vectors.T
    np.fill_diagonal(cosines, -np.inf)
    order = np.argsort(-cosines, axis=1, kind="stable")[:, :m]
    return order, np.take_along_axis(cosines, order, axis=1)


def test_a_hub_crowds_plain_lists_but_not_csls_lists():
    vectors, hub = hub_corpus()
    n = len(vectors)
    radius = neighbour_radius(vectors, k=5)
    plain, _ = similar_papers_batch(vectors, radius, k=5, candidates=50, method="plain")
    csls, _ = similar_papers_batch(vectors, radius, k=5, candidates=50, method="csls")

    assert k_occurrence(plain, n)[hub] >= 50  # in a sixth of all lists
    assert k_occurrence(csls, n)[hub] <= k_occurrence(plain, n)[hub] / 2
    assert hubness_stats(csls, n)["skewness"] < hubness_stats(plain, n)["skewness"] / 2
    assert list_overlap(plain, csls) > 0.7  # the rest of each list mostly stays


def test_hubness_report_compares_plain_and_csls_from_one_search():
    vectors, _ = hub_corpus()
    report = hubness_report(vectors, k=5, method="csls", candidates=50, radius_k=5)

    assert set(report) == {"plain", "csls"}
    assert set(report["plain"]) == {"skewness", "orphan_share", "max_occurrence"}
    assert report["csls"]["skewness"] < report["plain"]["skewness"] / 2
    assert report["csls"]["max_occurrence"] < report["plain"]["max_occurrence"]
    assert 0.7 < report["csls"]["overlap"] < 1.0


@pytest.mark.parametrize("method", ["plain", "csls"])
def test_a_paper_is_never_similar_to_itself(method):
    vectors = random_corpus()
    vectors[1] = vectors[0]  # an exact duplicate is still returned, only the paper itself is not
    radius = neighbour_radius(vectors)

    found = similar_papers(0, vectors, radius, k=10, method=method)
    assert 0 not in [index for index, _ in found]
    assert found[0][0] == 1

    lists, _ = similar_papers_batch(vectors, radius, k=10, method=method)
    assert not (lists == np.arange(len(vectors))[:, None]).any()


@pytest.mark.parametrize("method", ["plain", "csls"])
def test_results_are_best_first(method):
    vectors = random_corpus()
    radius = neighbour_radius(vectors)

    found = similar_papers(7, vectors, radius, k=10, method=method)
    scores = [score for _, score in found]
    assert len(found) == 10
    assert scores == sorted(scores, reverse=True)

    _, batch_scores = similar_papers_batch(vectors, radius, k=10, method=method)
    assert (np.diff(batch_scores, axis=1) <= 0).all()


def test_one_query_agrees_with_the_batch():
    vectors = random_corpus()
    radius = neighbour_radius(vectors)
    lists, scores = similar_papers_batch(vectors, radius, k=10, candidates=30)

    for query in (0, 50, 199):
        found = similar_papers(query, vectors, radius, k=10, candidates=30)
        assert [i for i, _ in found] == lists[query].tolist()
        assert [s for _, s in found] == pytest.approx(scores[query].tolist(), abs=1e-5)


def test_csls_scores_twice_the_cosine_minus_the_candidates_radius():
    vectors = random_corpus()
    radius = neighbour_radius(vectors)

    for index, score in similar_papers(3, vectors, radius, k=10, candidates=40):
        assert score == pytest.approx(2 * vectors[3] @ vectors[index] - radius[index], abs=1e-5)


def test_csls_only_reranks_the_nearest_candidates():
    vectors = random_corpus()
    radius = neighbour_radius(vectors)
    nearest, _ = brute_force_neighbours(vectors, 20)

    found = similar_papers(5, vectors, radius, k=10, candidates=20)
    assert {i for i, _ in found} <= set(nearest[5].tolist())


def test_rerank_takes_one_row_of_candidates_and_keeps_missing_ones_last():
    radius = np.array([0.0, 0.9, 0.1, 0.0], dtype=np.float32)
    indices, scores = rerank(
        np.array([1, 2, -1]), np.array([0.8, 0.7, 0.0]), radius, k=3, method="csls"
    )

    assert indices.tolist() == [[2, 1, -1]]
    assert scores[0, :2].tolist() == pytest.approx([1.3, 0.7])
    assert scores[0, 2] == -np.inf


def test_rerank_rejects_an_unknown_method_and_csls_without_a_radius():
    with pytest.raises(ValueError, match="unknown method"):
        rerank(np.array([[1]]), np.array([[0.5]]), np.zeros(2), method="nope")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="neighbour_radius"):
        rerank(np.array([[1]]), np.array([[0.5]]), None, method="csls")


def test_radius_is_the_mean_cosine_to_the_k_nearest_other_papers():
    vectors = random_corpus(n=150)
    _, cosines = brute_force_neighbours(vectors, 10)
    expected = cosines.mean(axis=1)

    assert neighbour_radius(vectors, k=10) == pytest.approx(expected, abs=1e-5)
    # Blocks are an implementation detail: any batch size gives the same answer.
    assert neighbour_radius(vectors, k=10, batch=7) == pytest.approx(expected, abs=1e-5)


def test_nearest_neighbours_match_brute_force_across_batches():
    vectors = random_corpus(n=150)
    expected_idx, expected_cos = brute_force_neighbours(vectors, 25)

    indices, cosines = nearest_neighbours(vectors, 25, batch=16)
    assert indices.tolist() == expected_idx.tolist()
    assert cosines == pytest.approx(expected_cos, abs=1e-5)


def exact_search(vectors: np.ndarray, include_self: bool):
    """A stand-in for an approximate index: may or may not return the query itself."""

    def search(queries: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
        cosines = queries @ vectors.T
        if not include_self:
            cosines[np.isclose(cosines, 1.0, atol=1e-6)] = -np.inf
        order = np.argsort(-cosines, axis=1, kind="stable")[:, :m]
        return order, np.take_along_axis(cosines, order, axis=1)

    return search


@pytest.mark.parametrize("include_self", [True, False])
def test_a_plugged_in_search_gives_the_exact_answers(include_self):
    vectors = random_corpus(n=120)
    search = exact_search(vectors, include_self)
    radius = neighbour_radius(vectors)

    assert neighbour_radius(vectors, search=search, batch=32) == pytest.approx(radius, abs=1e-5)
    expected = similar_papers_batch(vectors, radius, candidates=30)[0]
    assert similar_papers_batch(vectors, radius, candidates=30, search=search)[0].tolist() == (
        expected.tolist()
    )
    found = similar_papers(9, vectors, radius, candidates=30, search=search)
    expected_one = similar_papers(9, vectors, radius, candidates=30)
    assert [i for i, _ in found] == [i for i, _ in expected_one]
    assert [s for _, s in found] == pytest.approx([s for _, s in expected_one], abs=1e-5)


def test_a_search_that_finds_too_few_pads_with_missing_neighbours():
    vectors = random_corpus(n=30)

    def two_at_most(queries: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
        cosines = queries @ vectors.T
        order = np.argsort(-cosines, axis=1)[:, :2]
        return order, np.take_along_axis(cosines, order, axis=1)

    indices, cosines = nearest_neighbours(vectors, 5, search=two_at_most)
    assert indices.shape == (30, 5)
    assert (indices[:, 1:] == -1).all() and np.isinf(cosines[:, 1:]).all()
    radius = neighbour_radius(vectors, k=5, search=two_at_most)
    assert radius == pytest.approx(cosines[:, 0])  # the mean of what was found
    assert len(similar_papers(0, vectors, radius, k=5, search=two_at_most)) == 1


def test_skewness_of_a_hand_computed_example():
    # counts 0, 0, 0, 4: mean 1, deviations -1, -1, -1, 3;
    # second moment 12 / 4 = 3, third moment 24 / 4 = 6, skewness 6 / 3 ** 1.5
    assert skewness(np.array([0, 0, 0, 4])) == pytest.approx(6 / 3**1.5)
    assert skewness(np.array([4, 4, 4, 0])) == pytest.approx(-6 / 3**1.5)
    assert skewness(np.array([1, 2, 3])) == pytest.approx(0.0)
    assert skewness(np.array([2, 2, 2])) == 0.0
    assert skewness(np.array([])) == 0.0


def test_k_occurrence_counts_lists_and_ignores_padding():
    lists = np.array([[1, 2], [2, 0], [1, 2], [2, -1]])

    assert k_occurrence(lists, 5).tolist() == [1, 2, 4, 0, 0]
    assert k_occurrence([[1, 2], [2], []], 3).tolist() == [0, 1, 2]


def test_hubness_stats_counts_orphans_and_the_biggest_hub():
    stats = hubness_stats(np.array([[1, 2], [2, 0], [1, 2], [2, -1]]), 5)

    assert stats["orphan_share"] == pytest.approx(2 / 5)
    assert stats["max_occurrence"] == 4
    assert stats["skewness"] == pytest.approx(skewness(np.array([1, 2, 4, 0, 0])))


def test_list_overlap_is_the_share_of_each_plain_list_kept():
    assert list_overlap(np.array([[1, 2], [3, 4]]), np.array([[2, 1], [3, 5]])) == 0.75
    assert list_overlap(np.zeros((0, 10)), np.zeros((0, 10))) == 1.0


def test_an_empty_corpus():
    vectors = np.zeros((0, 8), dtype=np.float32)

    assert neighbour_radius(vectors).shape == (0,)
    indices, cosines = nearest_neighbours(vectors, 10)
    assert indices.shape == cosines.shape == (0, 0)
    assert similar_papers_batch(vectors, np.zeros(0))[0].shape == (0, 0)
    report = hubness_report(vectors)
    assert report["plain"] == {"skewness": 0.0, "orphan_share": 0.0, "max_occurrence": 0}
    with pytest.raises(IndexError):
        similar_papers(0, vectors, np.zeros(0))


def test_a_single_paper_has_no_similar_papers():
    vectors = unit(np.ones((1, 8)))
    radius = neighbour_radius(vectors)

    assert radius.tolist() == [0.0]
    assert similar_papers(0, vectors, radius) == []
    assert similar_papers_batch(vectors, radius)[0].shape == (1, 0)
    assert hubness_report(vectors)["plain"]["orphan_share"] == 1.0


def test_fewer_papers_than_k_returns_all_the_others():
    vectors = random_corpus(n=4)
    radius = neighbour_radius(vectors, k=10)

    assert sorted(i for i, _ in similar_papers(2, vectors, radius, k=10)) == [0, 1, 3]
    assert similar_papers_batch(vectors, radius, k=10)[0].shape == (4, 3)
