"""Links are built on the configured public URL, or on an allowed host: a forged Host or
X-Forwarded-* header never changes a link that another reader gets (issue: one request
with `Host: evil.example` used to put its links into the cached feed for everyone)."""

from __future__ import annotations

import re
from xml.etree import ElementTree

import httpx
from fastapi.testclient import TestClient

from paperscope.web.app import create_app


def _links(feed: bytes) -> list[str]:
    channel = ElementTree.fromstring(feed).find("./channel")
    links = [channel.findtext("link")]
    links += [item.findtext("link") for item in channel.findall("item")]
    links += [item.findtext("guid") for item in channel.findall("item")]
    assert len(links) > 3
    return links


def _atom_links(feed: bytes) -> list[str]:
    return re.findall(rb'href="([^"]+)"', feed) + re.findall(rb"<id>([^<]+)</id>", feed)


def test_a_forged_host_is_refused_before_it_can_reach_the_cache(client):
    forged = client.get("/feeds/daily.rss?month=2026-01", headers={"host": "evil.example"})
    assert forged.status_code == 400
    assert "evil" not in forged.text
    honest = client.get("/feeds/daily.rss?month=2026-01")
    assert honest.status_code == 200
    assert all(link.startswith("http://testserver/") for link in _links(honest.content))
    # Every path is guarded, not only the cached ones.
    for path in ("/", "/api/papers/search?q=graph", "/healthz", "/docs", "/nowhere"):
        assert client.get(path, headers={"host": "evil.example:8000"}).status_code == 400


def test_x_forwarded_host_is_never_believed(client):
    for headers in (
        {"x-forwarded-host": "evil.example"},
        {"x-forwarded-host": "evil.example", "x-forwarded-proto": "https"},
        {"forwarded": "host=evil.example;proto=https"},
    ):
        answer = client.get("/feeds/daily.atom?week=2026-W03", headers=headers)
        assert answer.status_code == 200 and b"evil" not in answer.content
        assert all(link.startswith(b"http://testserver/") for link in _atom_links(answer.content))
    later = client.get("/feeds/daily.atom?week=2026-W03")
    assert all(link.startswith(b"http://testserver/") for link in _atom_links(later.content))


def test_a_public_url_makes_every_link_whatever_the_request_says(web_settings):
    settings = web_settings.model_copy(
        update={"public_url": "https://papers.example", "page_cache_s": 60}
    )
    with TestClient(create_app(settings), base_url="http://localhost") as client:
        feed = client.get("/feeds/daily.rss?month=2026-01")
        assert feed.status_code == 200
        assert all(link.startswith("https://papers.example/") for link in _links(feed.content))
        # Its host is allowed as well; a forged one still is not.
        named = client.get("/feeds/daily.rss?month=2026-01", headers={"host": "papers.example"})
        assert named.status_code == 200 and named.content == feed.content
        assert client.get("/", headers={"host": "evil.example"}).status_code == 400
        # Served over https, so browsers are told to stay on it.
        assert "max-age" in client.get("/").headers["strict-transport-security"]


def test_x_forwarded_proto_counts_only_from_a_trusted_proxy(web_settings, live_server):
    """The live server listens on 127.0.0.1, the default trusted proxy address: a proxy
    there that says the reader came over https gets https links, and a reader who came
    over plain http right after still gets http links (the two are cached apart)."""
    base = live_server.removeprefix("http://")
    proxied = httpx.get(
        live_server + "/feeds/daily.rss?month=2026-01", headers={"x-forwarded-proto": "https"}
    )
    assert all(link.startswith(f"https://{base}/") for link in _links(proxied.content))
    direct = httpx.get(live_server + "/feeds/daily.rss?month=2026-01")
    assert all(link.startswith(f"http://{base}/") for link in _links(direct.content))

    untrusting = web_settings.model_copy(update={"forwarded_allow_ips": "192.0.2.1"})
    with TestClient(create_app(untrusting)) as client:
        feed = client.get("/feeds/daily.rss?month=2026-01", headers={"x-forwarded-proto": "https"})
        assert all(link.startswith("http://testserver/") for link in _links(feed.content))
