"""Every list has feeds (Atom, RSS, JSON Feed) that a reader can poll cheaply: each parses
(feedparser, no bozo), follows the W3C feed validator's Atom rules (ids, updated, an
absolute self link), answers If-None-Match and If-Modified-Since with 304 and no body, and
hostile input gets a clear 4xx. Over the shared web store (301 demo papers)."""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import urlencode

import feedparser
import pytest

from tests.web.test_feeds import ATOM, RFC_3339, check_json_feed

BASE = "http://testserver"  # the web store's app has no public URL: links are on its host
SEARCH = "?" + urlencode({"q": "language models", "category": "cs.AI", "mode": "lexical"})
FEEDS = [
    ("/feeds/daily", ""),
    ("/feeds/daily", "?week=2026-W04"),
    ("/feeds/daily", "?month=2026-01&view=all"),
    ("/feeds/weekly", ""),
    ("/feeds/monthly", ""),
    ("/feeds/trending", ""),
    ("/feeds/search", SEARCH),
    ("/feeds/search", SEARCH + "&from=2026-01-01&until=2026-12-31"),
    ("/feeds/category/cs.AI", ""),
    ("/feeds/category/cs.ai", ""),  # any case, as arXiv's codes are typed
]
TYPES = {
    "atom": "application/atom+xml",
    "rss": "application/rss+xml",
    "json": "application/feed+json",
}


def check_atom(body: bytes, self_url: str) -> list[ET.Element]:
    """The W3C validator's rules for what paperscope writes: the feed's id, title, updated
    and an absolute self link that is its own address; each entry's id, title, updated and
    a link."""
    root = ET.fromstring(body)
    assert root.tag == f"{ATOM}feed"
    assert root.findtext(f"{ATOM}id") and root.findtext(f"{ATOM}title")
    assert RFC_3339.fullmatch(root.findtext(f"{ATOM}updated"))
    selfs = [link for link in root.findall(f"{ATOM}link") if link.get("rel") == "self"]
    assert [link.get("href") for link in selfs] == [self_url]
    entries = root.findall(f"{ATOM}entry")
    ids = [entry.findtext(f"{ATOM}id") for entry in entries]
    assert all(ids) and len(set(ids)) == len(ids)
    for entry in entries:
        assert entry.findtext(f"{ATOM}title")
        assert RFC_3339.fullmatch(entry.findtext(f"{ATOM}updated"))
        assert entry.find(f"{ATOM}link").get("href").startswith(BASE + "/papers/")
    return entries


@pytest.mark.parametrize(("path", "query"), FEEDS)
def test_every_list_has_three_feeds_that_parse(client, path, query):
    counts = {}
    for kind, media_type in TYPES.items():
        answer = client.get(f"{path}.{kind}{query}")
        assert answer.status_code == 200, answer.text[:300]
        assert answer.headers["content-type"] == f"{media_type}; charset=utf-8"
        assert answer.headers["etag"] and answer.headers["last-modified"]
        url = f"{BASE}{path}.{kind}{query}"
        if kind == "json":
            counts[kind] = len(check_json_feed(json.loads(answer.content), url))
            continue
        parsed = feedparser.parse(answer.content)
        assert not parsed.bozo, parsed.get("bozo_exception")
        assert all(entry.link.startswith(BASE + "/papers/") for entry in parsed.entries)
        counts[kind] = len(parsed.entries)
        if kind == "atom":
            assert len(check_atom(answer.content, url)) == counts[kind]
    assert counts["atom"] == counts["rss"] == counts["json"]
    assert 0 < counts["atom"] <= 50


def test_a_category_feed_holds_its_newest_papers(client):
    items = json.loads(client.get("/feeds/category/cs.AI.json").content)["items"]
    assert items and all("cs.AI" in item["tags"] for item in items)
    published = [item["date_published"] for item in items]
    assert published == sorted(published, reverse=True)
    titled = json.loads(client.get("/feeds/category/cs.ai.json").content)["title"]
    assert titled == "paperscope: cs.AI"


def test_feeds_link_to_the_page_they_mirror(client):
    def home(path: str) -> str:
        return json.loads(client.get(path).content)["home_page_url"]

    assert home("/feeds/trending.json") == f"{BASE}/trending"
    assert home("/feeds/daily.json?week=2026-W04") == f"{BASE}/?week=2026-W04"
    assert home("/feeds/search.json" + SEARCH).startswith(f"{BASE}/search?q=language+models&")
    assert home("/feeds/category/cs.AI.json") == f"{BASE}/search?q=cat%3Acs.AI"


def test_the_feed_length_is_capped(client):
    def entries(query: str) -> int:
        answer = client.get(f"/feeds/daily.json?month=2026-01&view=all&{query}")
        assert answer.status_code == 200, answer.text[:300]
        return len(json.loads(answer.content)["items"])

    assert entries("limit=3") == 3
    assert entries("limit=5000") == entries("") == 50  # the month holds more than 50
    for limit in ("0", "-1", "many", "99999999"):
        answer = client.get(f"/feeds/trending.atom?limit={limit}")
        assert answer.status_code == 422, (limit, answer.status_code)


# -- conditional GET ---------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/feeds/trending.atom", "/feeds/search.json" + SEARCH])
def test_a_reader_that_has_the_feed_gets_304(client, path):
    first = client.get(path)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    # Twice each: once rendered, once from the page cache; both are checked.
    for _ in range(2):
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag and "content-type" not in again.headers
        assert client.get(path, headers={"If-None-Match": f'"other", W/{etag}'}).status_code == 304
        assert client.get(path, headers={"If-None-Match": "*"}).status_code == 304
        since = client.get(path, headers={"If-Modified-Since": modified})
        assert since.status_code == 304 and since.content == b""
    changed = client.get(path, headers={"If-None-Match": '"0000"'})
    assert changed.status_code == 200 and changed.content == first.content
    earlier = format_datetime(parsedate_to_datetime(modified).replace(year=2000), usegmt=True)
    assert client.get(path, headers={"If-Modified-Since": earlier}).status_code == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2).
    both = client.get(path, headers={"If-None-Match": '"0000"', "If-Modified-Since": modified})
    assert both.status_code == 200
    assert client.get(path, headers={"If-Modified-Since": "yesterday"}).status_code == 200


def test_the_validators_follow_the_content(client):
    atom = client.get("/feeds/daily.atom?week=2026-W04")
    rss = client.get("/feeds/daily.rss?week=2026-W04")
    other = client.get("/feeds/daily.atom?week=2026-W05")
    assert len({atom.headers["etag"], rss.headers["etag"], other.headers["etag"]}) == 3
    assert atom.headers["etag"] == client.get("/feeds/daily.atom?week=2026-W04").headers["etag"]
    newest = max(entry.updated_parsed for entry in feedparser.parse(atom.content).entries)
    assert parsedate_to_datetime(atom.headers["last-modified"]).utctimetuple()[:6] == newest[:6]


def test_pages_do_not_get_validators(client):
    answer = client.get("/trending", headers={"If-None-Match": "*"})
    assert answer.status_code == 200 and "etag" not in answer.headers


# -- hostile input -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/feeds/search.atom?q=" + "robot " * 1700,  # 10k characters
        "/feeds/search.atom?q=" + "robot " * 300,  # past the query language's 1,000
        "/feeds/search.json?q=",
        "/feeds/search.rss",
        '/feeds/search.atom?q="unclosed',
        "/feeds/search.atom?q=robots&from=2026-13-45",
        "/feeds/search.atom?q=robots&mode=psychic",
        "/feeds/search.xml?q=robots",
        "/feeds/category/cs.atom",  # an archive, not a category
        "/feeds/category/nonsense.atom",
        "/feeds/category/" + "x" * 3000 + ".atom",
        "/feeds/category/cs.AI%00.atom",
        "/feeds/category/new.class%00.atom",
        "/feeds/category/%3Cscript%3E.json",
        "/feeds/category/cs.AI.xml",
        "/feeds/category/.atom",
        "/feeds/trending.",
        "/feeds/trending.ATOM",
        "/feeds/weekly.atom?view=mine",
        "/feeds/daily.json?month=2026-13",
        "/feeds/collections/no-such-collection.atom",
        "/feeds/collections/" + "a" * 5000 + ".json",
        "/feeds/for-you/not-a-token.atom",
        "/feeds/for-you/" + "A" * 43 + ".atom",
        "/feeds/for-you/" + "A" * 43 + ".xml",
        "/feeds/for-you/%00%ff.rss",
    ],
)
def test_hostile_feed_requests_get_a_clear_4xx(client, path):
    answer = client.get(path)
    assert 400 <= answer.status_code < 500, (path[:80], answer.status_code)
    assert "etag" not in answer.headers


@pytest.mark.parametrize(
    "path",
    [
        "/feeds/search.atom?q=robots&category=cs.AI%00",
        "/feeds/search.json?q=robots%00&mode=lexical",
        "/feeds/search.rss?q=robots&category=%ff%fe",
        "/feeds/daily.atom?view=all&date=2026-01-22%00",
    ],
)
def test_odd_bytes_in_feed_requests_never_fail(client, path):
    assert client.get(path).status_code < 500


# -- the pages say where their feeds are -------------------------------------------------------
@pytest.mark.parametrize(
    ("page", "feed"),
    [
        ("/", "/feeds/daily.atom"),  # the latest day's page: the feed that moves on
        ("/?week=2026-W04", "/feeds/daily.atom?week=2026-W04"),
        ("/?month=2026-01&view=all", "/feeds/daily.atom?month=2026-01&view=all"),
        ("/trending", "/feeds/trending.atom"),
        (
            "/search?q=language+models&category=cs.AI&mode=lexical",
            "/feeds/search.atom?q=language+models&category=cs.AI&from=&until=&mode=lexical",
        ),
    ],
)
def test_every_list_page_links_its_feeds(client, page, feed):
    answer = client.get(page)
    assert answer.status_code == 200
    alternate = r'<link rel="alternate" type="([^"]+)" title="[^"]*" href="([^"]+)"'
    alternates = re.findall(alternate, answer.text)
    hrefs = {html.unescape(href) for _, href in alternates}
    assert feed in hrefs, hrefs
    assert {t for t, _ in alternates} >= set(TYPES.values())
    visible = {html.unescape(h) for h in re.findall(r'<a class="feed" href="([^"]+)"', answer.text)}
    assert feed in visible
    for href in hrefs | visible:
        assert client.get(href).status_code == 200, href
