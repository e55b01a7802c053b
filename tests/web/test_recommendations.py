"""POST /api/recommendations, in Semantic Scholar's shape, over the shared web store's
MiniLM vectors."""

from __future__ import annotations


def test_the_api_answers_in_semantic_scholars_shape(client):
    liked = client.get("/api/daily_papers?view=all&limit=1").json()[0]["paper"]["id"]
    answer = client.post(
        "/api/recommendations?limit=7", json={"positivePaperIds": [liked], "negativePaperIds": []}
    )
    assert answer.status_code == 200, answer.text
    papers = answer.json()["recommendedPapers"]
    assert len(papers) == 7 and liked not in [p["id"] for p in papers]
    assert all({"id", "title", "score", "because"} <= set(p) for p in papers)
    assert client.post("/api/recommendations", json={"positivePaperIds": []}).status_code == 422
    unknown = client.post("/api/recommendations", json={"positivePaperIds": ["2612.99999"]})
    assert unknown.status_code == 404
    assert (
        client.post("/api/recommendations", json={"positivePaperIds": ["nonsense"]}).status_code
        == 422
    )


def test_each_recommendation_explains_itself_in_the_api(client):
    """`because` keeps its shape (the liked paper's id); `explanation` says why in full: the
    liked papers nearest to it, the words that weighed most, the liked authors it shares."""
    liked = [p["paper"]["id"] for p in client.get("/api/daily_papers?view=all&limit=3").json()]
    answer = client.post("/api/recommendations?limit=5", json={"positivePaperIds": liked})
    assert answer.status_code == 200, answer.text
    papers = answer.json()["recommendedPapers"]
    assert len(papers) == 5
    for paper in papers:
        assert isinstance(paper["because"], str) and paper["because"] in liked
        why = paper["explanation"]
        assert set(why) == {"summary", "likedPapers", "words", "authors"}
        assert why["summary"].startswith("because you liked “")
        assert 1 <= len(why["likedPapers"]) <= 3
        assert why["likedPapers"][0]["id"] == paper["because"]
        assert {p["id"] for p in why["likedPapers"]} <= set(liked)
        similarities = [p["similarity"] for p in why["likedPapers"]]
        assert similarities == sorted(similarities, reverse=True)
        assert all(p["title"] for p in why["likedPapers"])
        weights = [w["weight"] for w in why["words"]]
        assert len(weights) <= 5 and all(w > 0 for w in weights)
        assert weights == sorted(weights, reverse=True)
    # A whole ranking is scored, not explained.
    every = client.post(
        "/api/recommendations?all=true",
        json={"positivePaperIds": liked, "candidatePaperIds": [p["id"] for p in papers]},
    )
    assert every.status_code == 200, every.text
    assert all(p["explanation"] is None for p in every.json()["recommendedPapers"])
