"""The JSON API: Hugging Face's shapes, paperscope's additions, and bad input."""

from __future__ import annotations

from paperscope.settings import Settings
from tests.web.conftest import TAG_PAPER, UPVOTED


def test_daily_papers_default_to_the_latest_day_newest_first(client):
    entries = client.get("/api/daily_papers").json()
    assert entries
    days = {e["paper"]["publishedAt"][:10] for e in entries}
    assert len(days) == 1
    latest = client.get("/api/daily_papers", params={"month": next(iter(days))[:7]}).json()
    assert max(e["publishedAt"] for e in latest) == max(e["publishedAt"] for e in entries)
    first = entries[0]
    assert {"paper", "title", "summary", "publishedAt", "upvotes", "numComments"} <= first.keys()
    paper = first["paper"]
    assert paper["authors"] and {"name"} <= paper["authors"][0].keys()
    assert paper["arxivUrl"].endswith(paper["id"])
    stamps = [e["paper"]["publishedAt"] for e in entries]
    assert stamps == sorted(stamps, reverse=True)


def test_weeks_and_months_hold_their_days_and_pages_do_not_overlap(client):
    day = client.get(f"/api/papers/{UPVOTED}").json()["publishedAt"][:10]
    month = client.get("/api/daily_papers", params={"month": day[:7], "limit": 100}).json()
    assert all(e["paper"]["publishedAt"].startswith(day[:7]) for e in month)
    first = client.get("/api/daily_papers", params={"month": day[:7], "limit": 3}).json()
    second = client.get("/api/daily_papers", params={"month": day[:7], "limit": 3, "p": 1}).json()
    assert len(first) == 3 and second
    assert not {e["paper"]["id"] for e in first} & {e["paper"]["id"] for e in second}
    from datetime import date, timedelta

    year, week, _ = date.fromisoformat(day).isocalendar()
    weekly = client.get("/api/daily_papers", params={"week": f"{year}-W{week:02d}"}).json()
    monday = date.fromisocalendar(year, week, 1)
    days = {date.fromisoformat(e["paper"]["publishedAt"][:10]) for e in weekly}
    assert days and all(monday <= d < monday + timedelta(days=7) for d in days)


def test_trending_sort_puts_upvoted_papers_first(client):
    paper = client.get(f"/api/papers/{UPVOTED}").json()
    month = paper["publishedAt"][:7]
    entries = client.get("/api/daily_papers", params={"month": month, "sort": "trending"}).json()
    assert entries[0]["paper"]["id"] == UPVOTED and entries[0]["upvotes"] == 2
    assert paper["upvotes"] == 2


def test_paper_accepts_any_spelling_of_its_id(client):
    plain = client.get(f"/api/papers/{TAG_PAPER}").json()
    assert plain["title"].startswith("<SOG_k>")
    for spelling in (f"{TAG_PAPER}v2", f"arXiv:{TAG_PAPER}"):
        assert client.get(f"/api/papers/{spelling}").json()["id"] == TAG_PAPER


def test_search_results_explain_themselves(client):
    results = client.get("/api/papers/search", params={"q": "video segmentation", "limit": 5})
    assert results.status_code == 200
    top = results.json()[0]
    explanation = top["explanation"]
    assert {"lexicalRank", "denseRank", "fusedScore"} <= explanation.keys()
    assert top["score"] == explanation["fusedScore"]
    start, end = top["highlights"][0]
    assert top["snippet"][start:end].lower().startswith(("video", "segment"))


def test_similar_papers(client):
    similar = client.get(f"/api/papers/{TAG_PAPER}/similar", params={"limit": 4}).json()
    assert len(similar) == 4 and TAG_PAPER not in {s["paper"]["id"] for s in similar}
    assert all(-1 <= s["cosine"] <= 1 for s in similar)


def test_bad_input_gets_422_with_a_message_and_unknown_papers_404(client):
    cases = [
        ("/api/daily_papers", {"date": "2025-02-30"}, "date"),
        ("/api/daily_papers", {"week": "2025-W99"}, "week"),
        ("/api/daily_papers", {"month": "2025-1"}, "month"),
        ("/api/daily_papers", {"limit": 0}, "limit"),
        ("/api/daily_papers", {"sort": "random"}, "sort"),
        ("/api/papers/search", {"q": ""}, "q:"),
        ("/api/papers/search", {"q": '"unclosed'}, "unclosed quote"),
        ("/api/papers/search", {"q": "x" * 5000}, "q"),
        ("/api/papers/search", {"q": "-only -excluded"}, "not excluded"),
        ("/api/papers/not-an-id", {}, "not an arXiv id"),
    ]
    for path, params, words in cases:
        response = client.get(path, params=params)
        assert response.status_code == 422, (path, params, response.text)
        assert words in response.json()["error"], (path, params, response.json())
    missing = client.get("/api/papers/2301.99999")
    assert missing.status_code == 404 and "2301.99999" in missing.json()["error"]


def test_invalid_utf8_in_a_query_is_not_a_server_error(client):
    response = client.get("/api/papers/search?q=%ff%fe%80graph")
    assert response.status_code in (200, 422)
    page = client.get("/search?q=%ff%fe%80graph")
    assert page.status_code in (200, 422)


def test_openapi_documents_the_api(client):
    spec = client.get("/openapi.json").json()
    assert {"/api/daily_papers", "/api/papers/search", "/api/papers/{paper_id}"} <= set(
        spec["paths"]
    )
    assert client.get("/docs").status_code == 200


PUSHED = {
    "title": "A Pushed Paper About Wombats",
    "abstract": "Wombats, pushed by a pipeline.",
    "authors": ["Ada Lovelace"],
    "categories": ["cs.LG"],
    "published": "2026-11-30T08:00:00Z",
}


def test_a_pipeline_pushes_papers_with_its_token_and_nobody_else_can(settings):
    from fastapi.testclient import TestClient

    from paperscope.store import open_store
    from paperscope.web.app import create_app

    open_store(settings).engine.dispose()
    off = settings.model_copy(update={"allowed_hosts": ["testserver"]})
    with TestClient(create_app(off)) as client:
        refused = client.put("/api/papers/2611.00001", json=PUSHED)
        assert refused.status_code == 403 and "PAPERSCOPE_INGEST_TOKEN" in refused.json()["error"]

    on = Settings(**(off.model_dump() | {"ingest_token": "s3cret-token-for-tests"}))
    token = {"Authorization": "Bearer s3cret-token-for-tests"}
    with TestClient(create_app(on)) as client:
        assert client.put("/api/papers/2611.00001", json=PUSHED).status_code == 401
        wrong = {"Authorization": "Bearer not-the-token-at-all"}
        assert client.put("/api/papers/2611.00001", json=PUSHED, headers=wrong).status_code == 401
        first = client.put("/api/papers/2611.00001v1", json=PUSHED, headers=token)
        assert first.status_code == 201 and first.json() == {
            "id": "2611.00001",
            "stored": "inserted",
        }
        again = client.put("/api/papers/2611.00001v1", json=PUSHED, headers=token)
        assert again.status_code == 200 and again.json()["stored"] == "unchanged"
        newer = client.put(
            "/api/papers/2611.00001v2", json=PUSHED | {"title": "Wombats, Revised"}, headers=token
        )
        assert newer.json()["stored"] == "updated"
        assert client.get("/api/papers/2611.00001").json()["title"] == "Wombats, Revised"

        for bad_id, body in [
            ("not-an-id", PUSHED),
            ("2611.00002", PUSHED | {"title": ""}),
            ("2611.00002", PUSHED | {"published": "yesterday"}),
            ("2611.00002", PUSHED | {"surprise": 1}),
        ]:
            answer = client.put(f"/api/papers/{bad_id}", json=body, headers=token)
            assert answer.status_code == 422, (bad_id, body, answer.text)
            assert answer.json()["error"]
        schema = client.get("/openapi.json").json()["paths"]["/api/papers/{paper_id}"]["put"]
        assert {"200", "401", "403", "422"} <= set(schema["responses"])
