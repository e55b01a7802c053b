"""The search page as a reader meets it: wrong input answered in the form, pages of 20,
marks only on words that mean something, an honest "nothing matched", similar papers
whose order agrees with their numbers, and how far semantic search is while it is
being prepared (the page, /healthz and the API say the same)."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

from paperscope.search.snippets import FUNCTION_WORDS
from paperscope.search.vectors.embed import paper_text
from paperscope.store import open_store
from paperscope.web.app import create_app
from tests.search.conftest import demo_records
from tests.web.conftest import TAG_PAPER


def _listed(text: str) -> list[str]:
    return re.findall(r'<a class="title" href="/papers/([^"]+)"', text)


def _form_value(text: str) -> str:
    """What the query box holds."""
    found = re.search(r'<input type="search" name="q" value="([^"]*)"', text)
    assert found, "the page has no query box"
    return html.unescape(found.group(1))


def test_a_wrong_page_number_is_answered_in_the_form_with_the_query_kept(client):
    page = client.get("/search", params={"q": "video segmentation", "p": "abc"})
    assert page.status_code == 422
    assert _form_value(page.text) == "video segmentation"
    assert "The page number must be a whole number from 0 to 99, not &#39;abc&#39;." in page.text
    assert 'role="alert"' in page.text and not _listed(page.text)
    for wrong in ("-1", "100", "²", "1.5", "0x1"):
        answer = client.get("/search", params={"q": "video", "p": wrong})
        assert answer.status_code == 422 and "The page number must be" in answer.text, wrong
    assert client.get("/search", params={"q": "video", "p": ""}).status_code == 200


def test_a_too_long_query_is_answered_in_the_form_saying_how_long_it_may_be(client):
    long_query = "segmentation of videos " * 100  # 2,300 characters
    page = client.get("/search", params={"q": long_query})
    assert page.status_code == 422
    assert _form_value(page.text) == long_query
    assert "A query holds at most 1,000 characters; yours has 2,300: shorten it." in page.text
    assert 'maxlength="1000"' in page.text  # the box says the same to the browser


def test_a_wrong_date_or_mode_is_answered_in_the_form(client):
    page = client.get("/search", params={"q": "robot", "from": "yesterday", "mode": "fuzzy"})
    assert page.status_code == 422
    assert _form_value(page.text) == "robot"
    assert "From takes a date like 2026-01-31, not &#39;yesterday&#39;." in page.text
    assert "The mode is one of hybrid, lexical, dense, not &#39;fuzzy&#39;." in page.text


def test_search_pages_hold_20_results(client):
    first = client.get("/search", params={"q": "learning", "mode": "lexical"})
    second = client.get("/search", params={"q": "learning", "mode": "lexical", "p": 1})
    assert first.status_code == second.status_code == 200
    assert len(_listed(first.text)) == 20 and "Results 1–20" in first.text
    assert len(_listed(second.text)) == 20 and "Results 21–40" in second.text
    assert not set(_listed(first.text)) & set(_listed(second.text))


def test_words_that_only_hold_the_query_together_are_not_marked(client):
    page = client.get("/search", params={"q": "how do we segment the objects in a video"})
    marks = [m.lower() for m in re.findall(r"<mark>([^<]+)</mark>", page.text)]
    assert marks, "the words that mean something are marked"
    assert not set(marks) & FUNCTION_WORDS
    assert {"segment", "video"} & {m.rstrip("s") for m in marks}


def test_a_query_that_matches_nothing_says_so(client):
    for query in ("qwxzjv", "zzzz kkkk"):
        for mode in ("hybrid", "dense"):
            page = client.get("/search", params={"q": query, "mode": mode})
            assert page.status_code == 200
            assert not _listed(page.text), (query, mode)
            assert f"No papers matched <q>{query}</q>." in page.text
            assert "Check the spelling" in page.text
        assert client.get("/api/papers/search", params={"q": query}).json() == []


def test_a_question_in_other_words_still_finds_papers(client):
    """Paraphrases pass the similarity floor: meaning alone still finds papers."""
    page = client.get(
        "/search", params={"q": "cutting out moving things in film clips", "mode": "dense"}
    )
    assert len(_listed(page.text)) == 20


def test_similar_papers_are_labelled_and_listed_by_the_similarity_shown(client):
    page = client.get(f"/papers/{TAG_PAPER}")
    section = page.text.split('<section class="similar">', 1)[1].split("</section>", 1)[0]
    shown = [float(value) for value in re.findall(r"similarity (\d\.\d\d)</span>", section)]
    assert len(shown) >= 5 and len(shown) == section.count('class="paper"')
    assert shown == sorted(shown, reverse=True)


def test_health_counts_the_papers_and_their_vectors(client):
    assert client.get("/healthz").json() == {
        "ok": True,
        "semantic": True,
        "papers": 301,
        "embedded": 301,
        "keyword_index": {"from": "this node", "papers": 301},  # built by the fixture
    }


def partly_embedded(web_settings, minilm, data_dir, database_url):
    """Settings of a store with 10 of its 40 papers embedded, as `paperscope index` leaves
    it a while after it started."""
    settings = web_settings.model_copy(update={"data_dir": data_dir, "database_url": database_url})
    store = open_store(settings)
    records = demo_records(40)
    store.papers.upsert(records)
    papers = store.papers.get_many([r.id for r in records[:10]])
    vectors = minilm.encode([paper_text(p.title, p.abstract) for p in papers])
    store.embeddings.save(
        minilm.name,
        [
            (p.id, p.content_hash, v.astype("<f4").tobytes())
            for p, v in zip(papers, vectors, strict=True)
        ],
    )
    store.engine.dispose()
    return settings, records


def test_while_papers_are_being_embedded_every_answer_says_how_far(
    web_settings, minilm, tmp_path, database_url
):
    """With SQLite semantic search waits for the whole index; PostgreSQL searches the
    vectors that are there."""
    settings, records = partly_embedded(web_settings, minilm, tmp_path / "data", database_url)
    with TestClient(create_app(settings)) as client:
        health = client.get("/healthz").json()
        assert (health["papers"], health["embedded"]) == (40, 10)
        page = client.get("/search", params={"q": "learning"})
        if health["semantic"]:  # PostgreSQL: the vectors there are searched at once
            assert settings.effective_database_url.startswith("postgresql")
            assert "Semantic search covers 10 of 40 papers so far (25%)" in page.text
        else:
            assert (
                "Semantic search is being prepared: 10 of 40 papers embedded (25%). "
                "Until then results match words only." in page.text
            )
            refused = client.get("/api/papers/search", params={"q": "learning", "mode": "dense"})
            assert refused.status_code == 503
            assert "10 of 40 papers embedded (25%)" in refused.json()["error"]
            similar = client.get(f"/papers/{records[0].id}")
            assert "10 of 40 papers embedded (25%)" in similar.text
        assert "<form" in client.get("/search").text  # the banner shows before any query
