import json
import math

import pytest

from paperscope.search.evaluate import Evaluation, load_beir, metrics, ndcg_at, recall_at


def test_ndcg_and_recall_match_hand_computed_values():
    relevant = {"a": 1, "b": 1}
    # a at rank 1, b at rank 3: (1 + 1/log2(4)) / (1 + 1/log2(3))
    expected = (1 + 1 / 2) / (1 + 1 / math.log2(3))
    assert ndcg_at(["a", "x", "b"], relevant) == pytest.approx(expected)
    assert ndcg_at(["x", "y"], relevant) == 0.0
    assert ndcg_at(["a", "b"], relevant) == pytest.approx(1.0)
    assert recall_at(["a", "x", "b"], relevant, 2) == 0.5
    assert metrics({"q": ["a", "b"]}, {"q": relevant})["recall@100"] == 1.0


@pytest.fixture
def tiny_beir(tmp_path):
    docs = [
        ("d1", "Vitamin D and bone density", "Vitamin D supplements increase bone density."),
        ("d2", "Deep learning for images", "Convolutional networks classify photographs."),
        ("d3", "Coffee and sleep", "Caffeine taken late delays the onset of sleep."),
    ]
    (tmp_path / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": i, "title": t, "text": x}) + "\n" for i, t, x in docs)
    )
    queries = [("q1", "supplements make bones stronger"), ("q2", "drinking coffee keeps you awake")]
    (tmp_path / "queries.jsonl").write_text(
        "".join(json.dumps({"_id": i, "text": t}) + "\n" for i, t in queries)
    )
    (tmp_path / "qrels").mkdir()
    (tmp_path / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td3\t1\n"
    )
    return tmp_path


def test_evaluation_runs_every_method_on_a_beir_folder(tiny_beir, minilm, tmp_path):
    benchmark = load_beir(tiny_beir)
    assert len(benchmark.documents) == 3 and benchmark.qrels["test"]["q2"] == {"d3": 1}
    report = Evaluation(benchmark, minilm, tmp_path / "cache").report("test", tuned_on=None)
    results = report["results"]
    assert set(results) == {"lexical", "dense", "hybrid (convex)", "hybrid (rrf)"}
    assert results["dense"]["ndcg@10"] == pytest.approx(1.0)  # paraphrases, found by meaning
    assert all(0.0 <= row["ndcg@10"] <= 1.0 for row in results.values())


def test_evaluation_through_the_database_agrees_with_the_exact_one(
    tiny_beir, minilm, tmp_path, database_url, store
):
    """`paperscope eval beir` searches the vectors as the configured database would (pgvector
    on the PostgreSQL run), in a scratch store: same results, and the real store untouched."""
    benchmark = load_beir(tiny_beir)
    exact = Evaluation(benchmark, minilm, tmp_path / "cache").report("test", tuned_on=None)
    stored = Evaluation(benchmark, minilm, tmp_path / "cache", database_url=database_url).report(
        "test", tuned_on=None
    )
    for method, row in exact["results"].items():
        assert stored["results"][method]["ndcg@10"] == pytest.approx(row["ndcg@10"], abs=1e-6)
    assert store.papers.count() == 0
