"""Safe to expose: security headers on every answer, clear 4xx for oversized requests and
over-deep pages, and request logs that keep what readers typed to themselves."""

from __future__ import annotations

import json
import logging
import re

import pytest

from paperscope.web.access_log import loggable_path

EVERY_KIND_OF_ANSWER = [
    "/",  # a page
    "/trending",  # again: the second time from the cache
    "/trending",
    "/api/papers/search?q=graph",  # JSON
    "/feeds/daily.rss",  # a feed
    "/papers/2301.99999",  # 404
    "/search?q=%22unclosed",  # 422 page
    "/api/daily_papers?date=yesterday",  # 422 JSON
    "/static/style.css",  # a file
    "/docs",
    "/healthz",
]


@pytest.mark.parametrize("path", EVERY_KIND_OF_ANSWER)
def test_every_answer_carries_the_security_headers(client, path):
    headers = client.get(path).headers
    policy = headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "strict-transport-security" not in headers  # plain http: HSTS would be a lie


def test_refusals_carry_them_too(client):
    for answer in (
        client.get("/", headers={"host": "evil.example"}),
        client.get("/search?q=" + "a" * 17_000),
    ):
        assert answer.status_code in (400, 414)
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


def test_pages_have_no_inline_script_or_style(client):
    for path in ("/", "/trending", "/search?q=graph", "/docs", "/papers/2602.01771"):
        page = client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), path
        assert "<style" not in page and " style=" not in page and "onclick" not in page, path
    assert client.get("/static/docs.js").status_code == 200
    assert client.get("/static/swagger/swagger-ui-bundle.js").status_code == 200


def test_a_long_address_and_a_large_body_are_refused_with_what_the_limit_is(client):
    long = client.get("/search", params={"q": "graph " * 3_000})
    assert long.status_code == 414 and "too long" in long.text
    assert '<a class="brand" href="/">paperscope</a>' in long.text  # the site's page
    api = client.get("/api/papers/search", params={"q": "graph " * 3_000})
    assert api.status_code == 414 and "too long" in api.json()["error"]
    body = client.post("/api/papers/search", content=b"x" * 1_000_001)
    assert body.status_code == 413 and "at most 1,000,000 bytes" in body.json()["error"]
    lying = client.post("/api/papers/search", headers={"content-length": "-5"}, content=b"")
    assert lying.status_code == 413


def test_over_deep_pages_and_overlong_queries_say_what_is_allowed(client):
    for path, words in (
        ("/search?q=graph&p=100", "a whole number from 0 to 99"),
        ("/api/papers/search?q=graph&offset=1001", "less than or equal to 1000"),
        ("/api/papers/search?q=graph&limit=101", "less than or equal to 100"),
        ("/?p=10001", "less than or equal to 10000"),
        ("/api/daily_papers?p=-1", "greater than or equal to 0"),
    ):
        answer = client.get(path)
        assert answer.status_code == 422 and words in answer.text, path
    too_long = client.get("/api/papers/search", params={"q": "graph " * 300})
    assert too_long.status_code == 422 and "query too long" in too_long.json()["error"]


def test_each_request_is_one_structured_line_without_what_the_reader_typed(client, caplog):
    with caplog.at_level(logging.INFO, logger="paperscope.access"):
        client.get("/search", params={"q": "my secret research idea", "mode": "lexical"})
        client.get("/search", params={"q": "my secret research idea", "mode": "lexical"})
        client.get("/papers/2301.99999")
    lines = [r.getMessage() for r in caplog.records if r.name == "paperscope.access"]
    assert len(lines) == 3
    records = [json.loads(line) for line in lines]
    assert records[0]["method"] == "GET" and records[0]["path"] == "/search"
    assert records[0]["params"] == ["mode", "q"] and records[0]["status"] == 200
    assert [r["cache"] for r in records[:2]] == ["miss", "hit"]
    assert records[2]["status"] == 404 and records[2]["route"] == "/papers/{paper_id:path}"
    assert all(isinstance(r["ms"], float) and r["ms"] >= 0 for r in records)
    assert not any("secret" in line for line in lines)


def test_secret_path_parameters_never_reach_the_log():
    scope = {"path": "/signin/abc123XYZ", "path_params": {"token": "abc123XYZ"}}
    assert loggable_path(scope) == "/signin/[redacted]"
    scope = {"path": "/papers/2301.00001", "path_params": {"paper_id": "2301.00001"}}
    assert loggable_path(scope) == "/papers/2301.00001"
