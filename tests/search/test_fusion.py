import pytest

from paperscope.search.fusion import convex, fuse, minmax, rrf


def test_minmax_maps_each_list_onto_zero_to_one():
    assert minmax({"a": 10.0, "b": 5.0, "c": 0.0}) == {"a": 1.0, "b": 0.5, "c": 0.0}
    assert minmax({"a": 3.0}) == {"a": 1.0}
    assert minmax({}) == {}


def test_convex_weighs_dense_by_alpha_and_missing_counts_as_zero():
    fused = convex({"a": 10.0, "b": 0.0}, {"b": 0.9, "c": 0.1}, alpha=0.25)
    assert fused == pytest.approx({"a": 0.75, "b": 0.25, "c": 0.0})


def test_rrf_rewards_agreement_between_lists():
    fused = rrf([["a", "b", "c"], ["b", "a", "d"]], k=60)
    assert fused["a"] == pytest.approx(fused["b"])
    assert fused["a"] > fused["c"] > 0
    assert fused["c"] == pytest.approx(fused["d"])


def test_fuse_orders_best_first_with_stable_ties():
    ranked = fuse({"b": 1.0, "a": 1.0}, {}, method="convex", alpha=0.5, rrf_k=60)
    assert [key for key, _ in ranked] == ["a", "b"]
    ranked = fuse({"x": 2.0, "y": 1.0}, {"y": 0.9, "x": 0.1}, method="rrf", alpha=0, rrf_k=1)
    assert {key for key, _ in ranked} == {"x", "y"}
