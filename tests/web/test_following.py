"""Following as feeds, as members use it: follow a search from the search page, find it on
the settings page and in the OPML file (which a reader imports), read For you through a
private link that a new link revokes, and a shared collection as a feed. The store is a slice
of the demo corpus dated to end yesterday, with real MiniLM vectors (For you needs them)."""

from __future__ import annotations

import html
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from urllib.parse import urlsplit

import feedparser
import pytest
from fastapi.testclient import TestClient

from paperscope.settings import LOOPBACK_HOSTS, Settings
from paperscope.store import open_store
from paperscope.web.app import create_app
from tests.web.conftest import live_demo
from tests.web.members import Person
from tests.web.test_feed_pages import ATOM, check_atom

PAPERS = 150
BASE = "http://testserver"  # the public URL


@pytest.fixture(scope="module")
def following_settings(tmp_path_factory, new_database, smtp, minilm) -> Settings:
    return live_demo(
        tmp_path_factory.mktemp("following"),
        minilm,
        PAPERS,
        database_url=new_database(),
        allowed_hosts=["testserver", *LOOPBACK_HOSTS],
        public_url=BASE,
        mail_from="paperscope <papers@example.org>",
        sign_in_requests_per_hour_per_client=100_000,
        **smtp.settings(),
    )


@pytest.fixture(scope="module")
def following_app(following_settings) -> Iterator:
    app = create_app(following_settings)
    with TestClient(app):
        yield app


@pytest.fixture
def person(following_app, smtp):
    def make(email: str) -> Person:
        someone = Person(TestClient(following_app), smtp.inbox)
        someone.sign_in(email)
        return someone

    return make


@pytest.fixture(scope="module")
def newest(following_settings) -> list[str]:
    store = open_store(following_settings)
    papers = sorted(store.papers.iter_all(), key=lambda p: (p.published, p.id), reverse=True)
    store.engine.dispose()
    return [p.id for p in papers]


def follow_form(page: str) -> dict[str, str]:
    """The fields of the search page's "Follow this search" form, as the browser sends them."""
    form = re.search(r'<form class="follow" action="/me/following/searches".*?</form>', page, re.S)
    assert form, "no follow form on the page"
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form[0])
    return {name: html.unescape(value) for name, value in fields}


def outlines(opml: bytes) -> list[dict[str, str]]:
    root = ET.fromstring(opml)
    assert root.tag == "opml" and root.get("version") == "2.0"
    return [dict(o.attrib) for o in root.findall("body/outline")]


def test_follow_a_search_then_list_export_and_unfollow_it(following_app, person):
    ann = person("ann-follows@example.org")
    search = ann.client.get(
        "/search", params={"q": "language models", "category": "cs.AI", "mode": "lexical"}
    )
    assert search.status_code == 200
    fields = follow_form(search.text)
    assert fields.pop("csrf_token")
    assert fields == {
        "q": "language models", "category": "cs.AI", "from": "", "until": "", "mode": "lexical"
    }  # fmt: skip
    for _ in range(2):  # following it again changes nothing
        followed = ann.post("/me/following/searches", **fields)
        assert followed.status_code == 303
        assert followed.headers["location"] == "/me/following#searches"
    settings = ann.client.get("/me/following")
    listed = re.findall(r'<a href="([^"]+)" class="followed-search">([^<]+)</a>', settings.text)
    query = "q=language+models&amp;category=cs.AI&amp;mode=lexical"
    assert listed == [(f"/search?{query}", "language models (cs.AI, words only)")]
    assert f'href="/feeds/search.atom?{query}"' in settings.text

    opml = ann.client.get("/me/following.opml")
    assert opml.status_code == 200
    assert opml.headers["content-type"] == "text/x-opml; charset=utf-8"
    assert "attachment" in opml.headers["content-disposition"]
    assert "no-store" in opml.headers["cache-control"]
    (outline,) = outlines(opml.content)
    feed_url = f"{BASE}/feeds/search.atom?{html.unescape(query)}"
    assert outline["xmlUrl"] == feed_url
    assert outline["htmlUrl"] == f"{BASE}/search?{html.unescape(query)}"
    assert outline["text"] == "paperscope search: language models (cs.AI, words only)"
    # What the reader will fetch: a feed of that very search.
    reader = TestClient(following_app)
    fetched = reader.get(urlsplit(feed_url).path + "?" + urlsplit(feed_url).query)
    assert fetched.status_code == 200
    assert not feedparser.parse(fetched.content).bozo
    check_atom(fetched.content, feed_url)

    # Nobody else can unfollow it; its follower can.
    search_id = re.search(r"/me/following/searches/(\d+)/unfollow", settings.text)[1]
    bob = person("bob-follows@example.org")
    assert bob.post(f"/me/following/searches/{search_id}/unfollow").status_code == 404
    assert outlines(bob.client.get("/me/following.opml").content) == []
    assert ann.post(f"/me/following/searches/{search_id}/unfollow").status_code == 303
    assert outlines(ann.client.get("/me/following.opml").content) == []
    assert "No followed searches yet" in ann.client.get("/me/following").text


def test_a_search_that_cannot_be_followed_says_why(following_app, person):
    cy = person("cy-follows@example.org")
    bad = {
        '"unclosed phrase': "quote",
        "": "Type a search",
        "x" * 1_500: "at most 1,000 characters",
        "robots\x00": "control characters",
    }
    for q, problem in bad.items():
        answer = cy.post("/me/following/searches", q=q)
        assert answer.status_code == 422 and problem in answer.text, (q[:20], answer.status_code)
    answer = cy.post("/me/following/searches", q="robots", **{"from": "2026-02-30"})
    assert answer.status_code == 422 and "2026-01-31" in answer.text
    answer = cy.post("/me/following/searches", q="robots", mode="psychic")
    assert answer.status_code == 422
    assert "No followed searches yet" in cy.client.get("/me/following").text
    # Without the form's CSRF token nothing is followed.
    forged = cy.client.post("/me/following/searches", data={"q": "robots"})
    assert forged.status_code == 403
    assert "No followed searches yet" in cy.client.get("/me/following").text


def test_readers_not_signed_in_are_asked_to_sign_in(following_app):
    visitor = TestClient(following_app)
    search = visitor.get("/search", params={"q": "language models"})
    assert 'action="/me/following/searches"' not in search.text
    assert "Sign in to follow this search" in search.text
    for path in ("/me/following", "/me/following.opml"):
        answer = visitor.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/signin")


def test_for_you_as_a_private_feed_that_a_new_link_revokes(following_app, person, newest, caplog):
    dee = person("dee-reads@example.org")
    for paper in newest[:3]:
        assert dee.post(f"/papers/{paper}/upvote").status_code == 303
    picked = re.findall(r'<li class="paper" data-id="([^"]+)"', dee.client.get("/for-you").text)
    assert picked

    made = dee.post("/me/feed-link")
    assert made.status_code == 200
    link = re.search(r'<code class="feed-link">([^<]+)</code>', made.text)[1]
    assert re.fullmatch(re.escape(BASE) + r"/feeds/for-you/[\w-]{43}\.atom", link), link
    token = link.rsplit("/", 1)[1].removesuffix(".atom")
    settings = dee.client.get("/me/following").text
    assert token not in settings and "You made a feed link on" in settings

    reader = TestClient(following_app)  # a feed reader: no session
    path = urlsplit(link).path
    with caplog.at_level(logging.INFO, logger="paperscope.access"):
        answer = reader.get(path)
    logged = [r.getMessage() for r in caplog.records if r.name == "paperscope.access"]
    assert logged and token not in "".join(logged)  # the link is the key: never logged
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "private, no-cache"
    assert "x-cache" not in answer.headers and answer.headers["referrer-policy"] == "no-referrer"
    parsed = feedparser.parse(answer.content)
    assert not parsed.bozo
    # The For you page's picks, in its order (the page shows 30, the feed up to 50).
    fed = [e.link.rsplit("/papers/", 1)[1] for e in parsed.entries]
    assert fed[: len(picked)] == picked and len(fed) <= 50
    assert any("Because you liked" in e.summary for e in parsed.entries)
    assert len(check_atom(answer.content, link)) == len(fed)
    # Never kept by the page cache: asked again, it is rendered again, never a hit.
    again = reader.get(path)
    assert again.content == answer.content and "x-cache" not in again.headers
    assert reader.get(path, headers={"If-None-Match": answer.headers["etag"]}).status_code == 304
    for kind in ("rss", "json"):
        assert reader.get(path.replace(".atom", f".{kind}")).status_code == 200

    renewed = dee.post("/me/feed-link")
    new_link = re.search(r'<code class="feed-link">([^<]+)</code>', renewed.text)[1]
    assert new_link != link
    assert reader.get(path).status_code == 404
    assert reader.get(path.replace(".atom", ".json")).status_code == 404
    assert reader.get(urlsplit(new_link).path).status_code == 200

    # The feed ends with the account.
    confirm = dee.post("/account/delete", confirm="dee-reads@example.org")
    assert confirm.status_code == 303
    assert reader.get(urlsplit(new_link).path).status_code == 404


def test_a_shared_collection_is_a_feed_and_in_the_opml(following_app, person, newest):
    eve = person("eve-collects@example.org")
    made = eve.post("/collections", name="Reading <group>")
    collection = made.headers["location"]
    for paper in newest[3:6]:
        assert eve.post(f"{collection}/papers", paper_id=paper).status_code == 303
    eve.post("/collections", name="Just mine")
    assert "private, so it has no feed" in eve.client.get("/me/following").text
    assert outlines(eve.client.get("/me/following.opml").content) == []

    assert eve.post(f"{collection}/share", shared="1").status_code == 303
    page = eve.client.get(collection).text
    atom_link = r'<link rel="alternate" type="application/atom\+xml"[^>]* href="([^"]+)"'
    feed_path = re.search(atom_link, page)[1]
    assert feed_path.startswith("/feeds/collections/") and f'href="{feed_path}"' in page
    token = feed_path.removeprefix("/feeds/collections/").removesuffix(".atom")

    (outline,) = outlines(eve.client.get("/me/following.opml").content)
    assert outline == {
        "type": "rss",
        "text": "paperscope collection: Reading <group>",
        "title": "paperscope collection: Reading <group>",
        "xmlUrl": f"{BASE}{feed_path}",
        "htmlUrl": f"{BASE}/c/{token}",
    }
    reader = TestClient(following_app)
    answer = reader.get(feed_path)
    assert answer.status_code == 200 and answer.headers["cache-control"] == "private, no-cache"
    entries = check_atom(answer.content, f"{BASE}{feed_path}")
    # Most recently added first, as the collection's page lists them.
    ids = [e.findtext(f"{ATOM}id").rsplit("/papers/", 1)[1] for e in entries]
    assert ids == newest[3:6][::-1]
    shared_page = reader.get(f"/c/{token}").text
    assert f'href="{feed_path}"' in shared_page

    assert eve.post(f"{collection}/share", shared="0").status_code == 303
    assert reader.get(feed_path).status_code == 404
    assert outlines(eve.client.get("/me/following.opml").content) == []


def test_feed_links_are_built_on_the_public_url_not_the_host(following_app):
    reader = TestClient(following_app)
    answer = reader.get("/feeds/trending.atom", headers={"host": "127.0.0.1"})
    assert answer.status_code == 200
    check_atom(answer.content, f"{BASE}/feeds/trending.atom")


def test_followed_authors_are_in_the_opml_with_their_feeds(following_app, person, newest):
    fay = person("fay-follows@example.org")
    reader = TestClient(following_app)
    author = reader.get(f"/api/papers/{newest[0]}").json()["authors"][0]["name"]
    assert fay.post("/following/authors", name=author).status_code == 303

    (outline,) = outlines(fay.client.get("/me/following.opml").content)
    assert outline["text"] == f"paperscope author: {author}"
    assert outline["xmlUrl"].startswith(f"{BASE}/feeds/author/")
    assert outline["xmlUrl"].endswith(".atom")
    path = outline["xmlUrl"].removeprefix(BASE)
    entries = check_atom(reader.get(path).content, outline["xmlUrl"])
    assert newest[0] in {e.findtext(f"{ATOM}id").rsplit("/papers/", 1)[1] for e in entries}
    assert reader.get(outline["htmlUrl"].removeprefix(BASE)).status_code == 200

    assert fay.post("/following/authors", name=author, undo="1").status_code == 303
    assert outlines(fay.client.get("/me/following.opml").content) == []
