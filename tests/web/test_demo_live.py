"""A fresh demo is live on any day: a new member submits one of its papers, finds it on the
curated daily page and in trending, gets papers "for you" after three upvotes, and previews a
digest that is not empty; the days nobody submitted to show all their papers, with a note.
The store is a slice of the demo corpus loaded as `paperscope demo` loads it (dates moved to
end yesterday), with real MiniLM vectors."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from paperscope.settings import LOOPBACK_HOSTS, Settings
from paperscope.store import open_store
from paperscope.web.app import create_app
from tests.web.conftest import live_demo
from tests.web.members import Person

PAPERS = 300  # the first lines of the corpus: four days of papers and the two named ones


@pytest.fixture(scope="module")
def demo_settings(tmp_path_factory, new_database, smtp, minilm) -> Settings:
    return live_demo(
        tmp_path_factory.mktemp("demo-live"),
        minilm,
        PAPERS,
        database_url=new_database(),
        allowed_hosts=["testserver", *LOOPBACK_HOSTS],
        public_url="http://testserver",
        mail_from="paperscope <papers@example.org>",
        **smtp.settings(),
    )


@pytest.fixture(scope="module")
def demo_app(demo_settings) -> Iterator:
    app = create_app(demo_settings)
    with TestClient(app):
        yield app


def _listed(html: str) -> list[str]:
    return re.findall(r'<li class="paper" data-id="([^"]+)"', html)


def test_a_new_member_uses_every_part_of_a_fresh_demo(demo_app, demo_settings, smtp):
    store = open_store(demo_settings)
    newest = sorted(store.papers.iter_all(), key=lambda p: p.published, reverse=True)
    store.engine.dispose()
    yesterday = newest[0].published.date()  # the load's (tested in the fixture)

    # Before anyone submitted, the daily page is the newest day's papers.
    visitor = TestClient(demo_app)
    home = visitor.get("/")
    assert yesterday.strftime("%A, %B %-d, %Y") in home.text
    assert newest[0].id in _listed(home.text)

    ann = Person(TestClient(demo_app), smtp.inbox)
    ann.sign_in("ann@example.org")
    paper = newest[0].id
    submitted = ann.post("/submit", paper_id=paper)
    assert submitted.status_code == 303, submitted.text

    # The curated daily page (the default now) lists it, submitted by ann.
    home = ann.client.get("/")
    assert 'aria-current="page">Submitted by the community' in home.text
    assert _listed(home.text) == [paper] and "submitted by <b>ann</b>" in home.text
    # Yesterday nobody submitted: all its papers, and the page says so.
    quiet = ann.client.get(f"/?date={yesterday}")
    assert "Nobody submitted papers on this day yet" in quiet.text
    assert len(_listed(quiet.text)) > 1 and paper in _listed(quiet.text)
    store = open_store(demo_settings)
    submitted_on = store.submissions.of([paper])[paper].day
    store.engine.dispose()
    assert f'rel="next" href="/?date={submitted_on}"' in quiet.text

    # Trending holds the week's papers; an upvote puts the new one first.
    assert ann.post(f"/papers/{paper}/upvote").status_code == 303
    trending = ann.client.get("/trending")
    assert _listed(trending.text)[0] == paper

    # Three upvotes (with the one above) make a "for you" list of other papers of the week.
    for other in (newest[1].id, newest[2].id):
        assert ann.post(f"/papers/{other}/upvote").status_code == 303
    for_you = ann.client.get("/for-you")
    picked = _listed(for_you.text)
    assert picked and not {paper, newest[1].id, newest[2].id} & set(picked)
    assert "because you liked" in for_you.text

    # A digest subscription previews a digest with papers in it.
    assert ann.post("/subscribe", email="ann@example.org").status_code == 200
    preview = ann.client.get("/digest/preview")
    assert preview.status_code == 200, preview.text
    assert "Nothing new" not in preview.text
    assert preview.text.count('<li class="paper">') >= 1
