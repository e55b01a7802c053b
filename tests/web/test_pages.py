"""Server-rendered pages, BibTeX and feeds, read the way a browser or a feed reader would."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from xml.etree import ElementTree

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from paperscope.store import open_store
from paperscope.store.models import Paper
from paperscope.web.app import create_app
from tests.search.conftest import demo_records
from tests.web.conftest import TAG_PAPER, UPVOTED


def test_home_shows_the_latest_day_with_links_to_earlier_days(client):
    page = client.get("/")
    assert page.status_code == 200
    assert 'rel="prev"' in page.text and 'class="paper"' in page.text
    earlier = re.search(r'rel="prev" href="/\?date=([\d-]+)"', page.text).group(1)
    before = client.get("/", params={"date": earlier})
    assert before.status_code == 200 and 'rel="next"' in before.text


def _listed(page: str) -> list[str]:
    """Ids of the papers a page lists, in order (not the links in its header or footer)."""
    return re.findall(r'class="title" href="/papers/([^"]+)"', page)


def _dates(page: str) -> list[date]:
    """The publication dates a page shows for its papers, in order."""
    shown = re.findall(r'<span class="date">([^<]+)</span>', page)
    return [datetime.strptime(day, "%b %d, %Y").date() for day in shown]


def _stored_between(client, start: date, end: date) -> int:
    """How many stored papers were published in [start, end), counted straight in the table."""
    window = (
        Paper.published >= datetime.combine(start, time.min),
        Paper.published < datetime.combine(end, time.min),
    )
    with client.app.state.services.store.engine.connect() as connection:
        return connection.execute(select(func.count()).where(*window)).scalar_one()


def test_week_and_month_views(client):
    day = date.fromisoformat(client.get(f"/api/papers/{UPVOTED}").json()["publishedAt"][:10])
    first = day.replace(day=1)
    last = (first + timedelta(days=31)).replace(day=1)
    month = client.get("/", params={"month": day.strftime("%Y-%m")}).text
    in_month = _stored_between(client, first, last)
    assert in_month > 30 and f"{in_month} papers" in month  # more than one page of 30
    listed = _listed(month)
    assert len(listed) == 30
    dates = _dates(month)
    assert (
        len(dates) == 30
        and all(first <= d < last for d in dates)
        and dates == sorted(dates, reverse=True)
    )

    year, number, _ = day.isocalendar()
    monday = date.fromisocalendar(year, number, 1)
    week = client.get("/", params={"week": f"{year}-W{number:02d}"}).text
    in_week = _stored_between(client, monday, monday + timedelta(days=7))
    assert 0 < in_week < in_month and f"{in_week} papers" in week
    assert _dates(week) and all(monday <= d < monday + timedelta(days=7) for d in _dates(week))


def test_titles_with_markup_are_text_not_tags(client):
    page = client.get(f"/papers/{TAG_PAPER}").text
    assert "&lt;SOG_k&gt;" in page and "<SOG_k>" not in page
    listing = client.get("/search", params={"q": "graph structure token"}).text
    assert "<SOG_k>" not in listing


def test_paper_page_has_links_bibtex_and_similar_papers(client):
    page = client.get(f"/papers/{TAG_PAPER}")
    assert page.status_code == 200
    text = page.text
    assert (
        f"https://arxiv.org/abs/{TAG_PAPER}" in text
        and f"https://arxiv.org/pdf/{TAG_PAPER}" in text
    )
    assert "@" in text and "eprint" in text  # BibTeX
    assert "Similar papers" in text and text.count('class="paper"') >= 5
    bib = client.get(f"/papers/{TAG_PAPER}.bib")
    assert bib.headers["content-type"].startswith("application/x-bibtex")
    assert TAG_PAPER in bib.text


def test_a_versioned_id_redirects_to_the_paper_and_bad_ids_say_why(client):
    moved = client.get(f"/papers/{TAG_PAPER}v1", follow_redirects=False)
    assert moved.status_code == 308 and moved.headers["location"] == f"/papers/{TAG_PAPER}"
    bad = client.get("/papers/<script>")
    assert bad.status_code == 422 and "not an arXiv id" in bad.text and "<script>" not in bad.text
    assert client.get("/papers/2301.99999").status_code == 404


def test_search_page_marks_matches_explains_and_pages(client):
    page = client.get("/search", params={"q": "video segmentation"})
    assert page.status_code == 200
    assert "<mark>" in page.text and "why this result" in page.text
    assert 'rel="next"' in page.text
    second = client.get("/search", params={"q": "video segmentation", "p": 1})
    first_ids = set(re.findall(r'href="/papers/([^"]+)"', page.text))
    second_ids = set(re.findall(r'href="/papers/([^"]+)"', second.text))
    assert second_ids and not first_ids & second_ids


def test_search_filters_and_syntax_errors(client):
    def categories(params: dict) -> list[list[str]]:
        page = client.get("/search", params=params)
        assert page.status_code == 200
        return [client.get(f"/api/papers/{pid}").json()["categories"] for pid in _listed(page.text)]

    unfiltered = categories({"q": "robot"})
    assert any("cs.RO" not in found for found in unfiltered)
    filtered = categories({"q": "robot", "category": "cs.RO"})
    assert filtered and all("cs.RO" in found for found in filtered)
    broken = client.get("/search", params={"q": '"unclosed'})
    assert broken.status_code == 422 and "unclosed quote" in broken.text
    wrong_date = client.get("/search", params={"q": "robot", "from": "yesterday"})
    assert wrong_date.status_code == 422


def test_trending_shows_its_formula_and_upvoted_papers_rise(web_settings, settings, tmp_path):
    # A store of its own whose last week holds UPVOTED and the papers of the four hours after
    # it (in the shared one UPVOTED is older than the trending week).
    settings = web_settings.model_copy(
        update={
            "data_dir": tmp_path / "data",
            "database_url": settings.database_url,  # this test's own
            "models_dir": tmp_path / "models",  # no vectors
        }
    )
    store = open_store(settings)
    records = demo_records(1515)
    published = next(r.published for r in records if r.id == UPVOTED)
    store.papers.upsert(
        r
        for r in records
        if published - timedelta(days=3) <= r.published <= published + timedelta(hours=4)
    )
    store.votes.add(UPVOTED, "reader-1", datetime(2026, 1, 23))
    store.votes.add(UPVOTED, "reader-2", datetime(2026, 1, 23))
    with TestClient(create_app(settings)) as client:
        page = client.get("/trending").text
    assert "hours since published" in page
    listed = _listed(page)
    # The papers of the two hours after UPVOTED, none with votes: without its votes UPVOTED
    # would come after all of them (newest first); with two it comes before them.
    neighbours = [
        r.id for r in records if published < r.published <= published + timedelta(hours=2)
    ]
    assert len(neighbours) >= 5 and set(neighbours) <= set(listed)
    assert all(listed.index(UPVOTED) < listed.index(pid) for pid in neighbours)
    shown = [float(score) for score in re.findall(r'class="score"[^>]*>score ([\d.e-]+)<', page)]
    assert len(shown) == len(listed) and shown == sorted(shown, reverse=True)


def test_feeds_parse_and_list_papers(client):
    for path in ("/feeds/daily.rss", "/feeds/trending.rss", "/feeds/search.rss?q=graph"):
        rss = ElementTree.fromstring(client.get(path).content)
        items = rss.findall("./channel/item")
        assert items, path
        assert all(i.findtext("link").startswith("http") for i in items)
    atom = ElementTree.fromstring(client.get("/feeds/daily.atom").content)
    assert atom.findall("{http://www.w3.org/2005/Atom}entry")
    assert client.get("/feeds/daily.txt").status_code == 404


def test_search_results_as_bibtex(client):
    bib = client.get("/search.bib", params={"q": "video segmentation", "limit": 5}).text
    keys = re.findall(r"@\w+\{([^,]+),", bib)
    assert len(keys) == 5 and len(set(keys)) == 5


def test_upvotes_show_on_lists(client):
    paper = client.get(f"/api/papers/{UPVOTED}").json()
    page = client.get("/", params={"date": paper["publishedAt"][:10], "sort": "trending"})
    assert '▲ <span class="n">2</span>' in page.text


def test_search_results_show_latex_readably_and_still_mark_matches(client):
    page = client.get("/search", params={"q": "SD-E2 semantic exploration reasoning budgets"})
    assert "<mark>SD</mark>-<mark>E²</mark>: <mark>Semantic</mark>" in page.text
    assert "$^2$" not in page.text


def test_pages_are_cached_until_the_indexes_change(client):
    first = client.get("/trending?p=3")  # an address no other test asks for
    again = client.get("/trending?p=3")
    assert first.headers["x-cache"] == "miss" and again.headers["x-cache"] == "hit"
    assert again.text == first.text and "max-age" in again.headers["cache-control"]
    assert "x-cache" not in client.get("/papers/2301.99999").headers  # errors are not kept
    assert client.get("/papers/2301.99999").status_code == 404

    services = client.app.state.services
    services.search.lexical._manifest_path.touch()  # as an ingest's commit would
    services.search.refresh(force=True)
    assert client.get("/trending?p=3").headers["x-cache"] == "miss"


def test_workers_share_rendered_pages(web_settings, client):
    """A page one server process rendered is a hit in another (the shared level on disk)."""
    from fastapi.testclient import TestClient

    from paperscope.web.app import create_app

    first = client.get("/trending?p=4")
    assert first.headers["x-cache"] == "miss"
    with TestClient(create_app(web_settings)) as other_worker:
        again = other_worker.get("/trending?p=4")
    assert again.headers["x-cache"] == "hit" and again.text == first.text


def test_health_says_when_search_falls_back_to_keywords(web_settings, tmp_path):
    assert web_settings.models_dir != tmp_path
    keywords_only = web_settings.model_copy(update={"models_dir": tmp_path})  # no model here
    with TestClient(create_app(keywords_only)) as client:
        assert client.get("/healthz").json() == {
            "ok": True,
            "semantic": False,
            "papers": 301,
            "embedded": None,  # no model: nothing can be embedded
            "keyword_index": {"from": "this node", "papers": 301},  # built by the fixture
        }
        page = client.get("/search", params={"q": "segmentation"})
        assert page.status_code == 200
        assert "Semantic search needs the embedding model" in page.text
        assert "Until then results match words only." in page.text
