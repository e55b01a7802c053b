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
