"""A member's For you page: why each paper is there (a "because" line, details to open), the
papers shown before that came back with news, and how well the model does on their own
votes (/for-you/how-it-does); in-process, and once in Chromium."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html import unescape
from urllib.parse import urlsplit

import feedparser
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from paperscope.search.engine import SearchEngine
from paperscope.search.indexer import Indexer
from paperscope.settings import LOOPBACK_HOSTS, Settings
from paperscope.store import open_store
from paperscope.store.models import Showing
from paperscope.web.app import create_app
from tests.conftest import MODELS_DIR
from tests.search.conftest import demo_records
from tests.web.conftest import _free_port, serving
from tests.web.members import Person
from tests.web.test_browser import CHROMIUM, browser, page, shoot, sign_in  # noqa: F401

RECENT = 60  # of 90 demo papers, re-dated to the last hours: For you's window


@pytest.fixture(scope="module")
def for_you_settings(tmp_path_factory, new_database, smtp, minilm) -> Settings:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("for-you") / "data",
        database_url=new_database(),
        models_dir=MODELS_DIR,
        allowed_hosts=["testserver", *LOOPBACK_HOSTS],
        public_url="http://testserver",
        sign_in_requests_per_hour_per_client=100_000,
        mail_from="paperscope <papers@example.org>",
        **smtp.settings(),
    )
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    records = [
        replace(r, published=now - timedelta(hours=2 + i), updated=None) if i < RECENT else r
        for i, r in enumerate(demo_records(90))
    ]
    store = open_store(settings)
    store.papers.upsert(records)
    Indexer(SearchEngine(settings, store, encoder=minilm)).update()
    store.engine.dispose()
    return settings


@pytest.fixture(scope="module")
def for_you_app(for_you_settings):
    app = create_app(for_you_settings)
    with TestClient(app):
        yield app


def _member(app, smtp, email: str, likes: list[str]) -> Person:
    person = Person(TestClient(app), smtp.inbox)
    person.sign_in(email)
    for paper_id in likes:
        assert person.post(f"/papers/{paper_id}/upvote").status_code == 303
    return person


def _listed(html: str, section: str) -> list[str]:
    match = re.search(rf'<ol class="papers {section}">(.*?)</ol>', html, re.S)
    return re.findall(r'data-id="([^"]+)"', match.group(1)) if match else []


def _recent(count: int) -> list[str]:
    return [r.id for r in demo_records(count)]


def test_each_paper_says_because_and_opens_its_details(for_you_app, smtp):
    likes = _recent(6)
    ann = _member(for_you_app, smtp, "ann@example.org", likes)
    answer = ann.client.get("/for-you")
    assert answer.status_code == 200, answer.text
    picked = _listed(answer.text, "recommended")
    assert picked and not set(likes) & set(picked)
    text = unescape(answer.text)
    assert text.count('class="because-line">because you liked “') == len(picked)
    assert text.count('<details class="because-details">') == len(picked)
    assert "Nearest papers you liked" in text and "Words that weighed most" in text
    titles = {r.id: r.title for r in demo_records(6)}
    nearest = re.findall(
        r"<dt>Nearest papers you liked</dt>\s*<dd><ul>(.*?)</ul>", answer.text, re.S
    )
    for block in nearest:
        linked = re.findall(r'href="/papers/([^"]+)"', block)
        assert 1 <= len(linked) <= 3 and set(linked) <= set(likes)
    assert any(titles[likes[0]][:30] in unescape(b) for b in nearest)
    assert "/for-you/how-it-does" in answer.text


def test_a_paper_shown_before_comes_back_once_when_its_code_is_released(
    for_you_app, smtp, for_you_settings
):
    bob = _member(for_you_app, smtp, "bob@example.org", _recent(3))
    first = bob.client.get("/for-you").text
    shown = _listed(first, "recommended")
    assert shown and _listed(first, "returned") == []
    changed = shown[-1]
    store = open_store(for_you_settings)
    paper = store.papers.get(changed)
    record = next(r for r in demo_records(90) if r.id == changed)
    store.papers.upsert(
        [
            replace(
                record,
                published=paper.published,
                updated=None,
                version=(paper.version or 1) + 1,
                code_links=("https://github.com/example/released",),
            )
        ]
    )
    store.engine.dispose()
    again = bob.client.get("/for-you").text
    assert _listed(again, "returned") == [changed]
    returned = re.search(r'<ol class="papers returned">(.*?)</ol>', again, re.S).group(1)
    assert '<strong class="back">code released</strong>' in returned
    assert "Back with news" in again
    # Shown as it is now: it does not come back on the next visit.
    assert _listed(bob.client.get("/for-you").text, "returned") == []


def test_how_it_does_shows_the_auc_of_each_signal_or_says_what_is_missing(for_you_app, smtp):
    cat = _member(for_you_app, smtp, "cat@example.org", _recent(9))
    answer = cat.client.get("/for-you/how-it-does")
    assert answer.status_code == 200, answer.text
    row = r'<tr data-signal="(\w+)"><td>\w+</td><td class="auc">([\d.]+)</td>'
    aucs = dict(re.findall(row, answer.text))
    assert set(aucs) == {"meaning", "words", "nearest", "categories", "authors", "blend"}
    assert all(0.0 <= float(v) <= 1.0 for v in aucs.values())
    assert "Learned from your first 6 liked papers" in answer.text
    dan = _member(for_you_app, smtp, "dan@example.org", _recent(1))
    few = dan.client.get("/for-you/how-it-does")
    assert few.status_code == 200 and 'class="auc"' not in few.text
    assert "You have liked 1 paper so far; this needs at least 5" in unescape(few.text)
    anonymous = TestClient(for_you_app).get("/for-you/how-it-does", follow_redirects=False)
    assert anonymous.status_code in (302, 303, 307)
    assert anonymous.headers["location"].startswith("/signin")


def _feed_showings(settings: Settings, email: str) -> dict[str, int]:
    """How many times the ledger says each paper was shown to them through their feed."""
    store = open_store(settings)
    member = store.accounts.by_emails([email])[email]
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(Showing.paper_id, func.count())
            .where(Showing.user_id == member.id, Showing.channel == "feed")
            .group_by(Showing.paper_id)
        )
        counted = {paper_id: n for paper_id, n in rows}
    store.engine.dispose()
    return counted


def _entries(body: bytes) -> list:
    parsed = feedparser.parse(body)
    assert not parsed.bozo
    return parsed.entries


def _id(entry) -> str:
    return entry.link.rsplit("/papers/", 1)[1]


def test_the_private_feed_records_what_it_shows_once_and_puts_news_first(
    for_you_app, smtp, for_you_settings
):
    email = "fay@example.org"
    fay = _member(for_you_app, smtp, email, _recent(3))
    link = re.search(r'<code class="feed-link">([^<]+)</code>', fay.post("/me/feed-link").text)[1]
    path = urlsplit(link).path
    reader = TestClient(for_you_app)  # a feed reader: no session
    assert _feed_showings(for_you_settings, email) == {}

    first = reader.get(path)
    assert first.status_code == 200
    fed = [_id(e) for e in _entries(first.content)]
    assert fed and _feed_showings(for_you_settings, email) == dict.fromkeys(fed, 1)
    # The page is its own channel: visiting it records nothing as shown in the feed.
    assert fay.client.get("/for-you").status_code == 200
    # A reader polling: 304 while nothing changed, and the ledger does not grow.
    for _ in range(3):
        polled = reader.get(path, headers={"If-None-Match": first.headers["etag"]})
        assert polled.status_code == 304 and polled.content == b""
    assert reader.get(path).content == first.content
    assert reader.get(path.replace(".atom", ".json")).status_code == 200
    assert _feed_showings(for_you_settings, email) == dict.fromkeys(fed, 1)

    # A paper in the feed gets a new version with a new abstract: it comes first, saying so.
    changed = fed[-1]
    store = open_store(for_you_settings)
    paper = store.papers.get(changed)
    record = next(r for r in demo_records(90) if r.id == changed)
    version = (paper.version or 1) + 1
    store.papers.upsert(
        [
            replace(
                record,
                published=paper.published,
                updated=None,
                version=version,
                abstract=record.abstract + " We add experiments on three more benchmarks.",
            )
        ]
    )
    store.engine.dispose()
    news = reader.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert news.status_code == 200
    entries = _entries(news.content)
    assert _id(entries[0]) == changed
    assert entries[0].summary.endswith(f"Back with news: v{version}: abstract changed")
    assert [_id(e) for e in entries].count(changed) == 1
    assert not any("Back with news" in e.summary for e in entries[1:])
    recorded = _feed_showings(for_you_settings, email)
    assert recorded[changed] == 2  # shown again, as it is now
    assert all(recorded[p] == 1 for p in fed if p != changed)

    # Shown as it is now, it is not news the next time; polling again adds nothing.
    settled = reader.get(path)
    assert "Back with news" not in settled.text
    for _ in range(3):
        polled = reader.get(path, headers={"If-None-Match": settled.headers["etag"]})
        assert polled.status_code == 304
    assert _feed_showings(for_you_settings, email) == recorded
    # An address that is no feed records nothing.
    assert reader.get(path.replace(".atom", ".html")).status_code == 404
    assert _feed_showings(for_you_settings, email) == recorded


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium")
def test_in_chromium_a_member_reads_why_and_how_it_does(page, for_you_settings, smtp):  # noqa: F811
    port = _free_port()
    settings = for_you_settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    email = "eve@example.org"
    with serving(create_app(settings), port) as base:
        sign_in(page, base, smtp, email)
        store = open_store(settings)
        member = store.accounts.by_emails([email])[email]
        start = datetime(2026, 1, 1)
        for n, paper_id in enumerate(_recent(8)):
            store.votes.add(paper_id, str(member.id), start + timedelta(hours=n))
        store.engine.dispose()

        page.click("header nav >> text=For you")
        page.wait_for_url("**/for-you")
        first = page.locator("ol.recommended li.paper").first
        assert first.locator(".because-line").inner_text().startswith("because you liked “")
        details = first.locator("details.because-details dl")
        assert not details.is_visible()
        first.locator("details.because-details summary").click()
        assert details.is_visible()
        assert "Nearest papers you liked" in details.inner_text()
        shoot(page, "for-you-because")

        page.click("text=How well does it do on your votes?")
        page.wait_for_url("**/for-you/how-it-does")
        cells = page.locator("table.aucs td.auc")
        assert cells.count() == 6
        assert all(0.0 <= float(v) <= 1.0 for v in cells.all_inner_texts())
        blend = page.locator('tr[data-signal="blend"] td.auc').inner_text()
        assert re.fullmatch(r"[01]\.\d{3}", blend)
        shoot(page, "for-you-how-it-does")
