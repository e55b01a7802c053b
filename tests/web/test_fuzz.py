"""Fuzzing every GET endpoint that takes parameters: queries from the query language,
random text, random bytes, huge and negative numbers, bad dates and weird paper ids.
Whatever comes in, the answer is 2xx, 3xx or 4xx (a 4xx of the API says what was wrong),
never a server error. Below the properties: regressions and known defects they found.
"""

from __future__ import annotations

import html
import re
from functools import cache
from urllib.parse import quote, quote_from_bytes

import pytest
from hypothesis import event, given, note
from hypothesis import settings as fuzz_settings
from hypothesis import strategies as st

from tests.search.conftest import demo_records
from tests.strategies import (
    NEGATED_CATEGORY_QUERIES,
    REAL_CATEGORIES,
    Query,
    category_params,
    day_values,
    examples,
    grammar_queries,
    junk_values,
    modes,
    month_values,
    mostly,
    numbers,
    paper_ids,
    params,
    random_text,
    real_days,
    sorts,
    typical_queries,
    web_texts,
    week_values,
)
from tests.web.conftest import TAG_PAPER, UPVOTED

SEARCH_PATHS = (
    "/search",
    "/api/papers/search",
    "/search.bib",
    "/feeds/search.rss",
    "/feeds/search.atom",
    "/feeds/search.json",
)
LISTING_PATHS = (
    "/",
    "/trending",
    "/api/trending",
    "/api/daily_papers",
    "/feeds/daily.rss",
    "/feeds/daily.atom",
    "/feeds/trending.rss",
    "/feeds/trending.atom",
    "/feeds/daily.json",
    "/feeds/daily.",
    "/feeds/weekly.atom",
    "/feeds/monthly.json",
    "/feeds/category/cs.AI.rss",
    "/feeds/for-you/x.atom",
    "/feeds/collections/x.json",
)
PAPER_PATHS = ("/papers/{}", "/api/papers/{}", "/api/papers/{}/similar")
ALL_PATHS = (*SEARCH_PATHS, *LISTING_PATHS, "/papers/2601.17067", "/api/papers/2601.17067")


@cache
def corpus() -> dict[str, list[str]]:
    """Categories of each paper the web fixture holds (demo papers 1-300 and 1515)."""
    demo = demo_records(1515)
    return {r.id: r.categories for r in [*demo[:300], demo[1514]]}


def known_ids() -> list[str]:
    ids = sorted(corpus())
    return [TAG_PAPER, UPVOTED, *ids[::30]]


def get(client, url: str, values: dict | None = None):
    # Falsifying examples print no arguments while the schemathesis pytest plugin is loaded.
    note(f"GET {url} params={values!r}")
    return client.get(url, params=values)


def check(response) -> None:
    """The one property every answer has."""
    where = f"GET {response.request.url} answered {response.status_code}"
    event(f"answered {response.status_code}")  # --hypothesis-show-statistics counts them
    assert response.status_code < 500, f"{where}: {response.text[:500]}"
    if response.request.url.path.startswith("/api/"):
        data = response.json()  # JSON, whatever the status
        if response.status_code >= 400:
            assert isinstance(data, dict) and str(data.get("error", "")).strip(), where


# -- search --------------------------------------------------------------------------------
@st.composite
def valid_search_params(draw) -> dict:
    """Parameters every search endpoint reads: the query is then what decides."""
    values = draw(
        params(
            category=st.one_of(
                st.sampled_from(REAL_CATEGORIES),
                st.lists(st.sampled_from(REAL_CATEGORIES), max_size=2),
            ),
            mode=st.sampled_from(["hybrid", "lexical", "dense"]),
            p=st.integers(0, 3).map(str),
            limit=st.integers(1, 20).map(str),
            offset=st.integers(0, 20).map(str),
        )
    )
    start, end = sorted(draw(st.lists(real_days, min_size=2, max_size=2)))
    for name in draw(st.sampled_from([(), ("from",), ("until",), ("from", "until")])):
        values[name] = {"from": start, "until": end}[name].isoformat()
    return values


any_search_params = params(
    category=st.one_of(category_params, st.lists(category_params, max_size=3)),
    **{"from": day_values},
    until=day_values,
    mode=modes,
    p=numbers,
    limit=numbers,
    offset=numbers,
)


@st.composite
def search_requests(draw):
    path = draw(st.sampled_from(SEARCH_PATHS))
    query = draw(st.one_of(typical_queries(), typical_queries(), grammar_queries(), web_texts))
    values = draw(mostly(valid_search_params(), any_search_params))
    if draw(st.integers(0, 9)):  # now and then no q at all
        values["q"] = query.text if isinstance(query, Query) else query
    return path, values, query if isinstance(query, Query) else None


def result_ids(response) -> list[str]:
    """Ids of the papers a search answer lists, from JSON or from the page."""
    if response.request.url.path.startswith("/api/"):
        return [entry["paper"]["id"] for entry in response.json()]
    return re.findall(r'<a class="title" href="/papers/([^"]+)"', response.text)


@fuzz_settings(max_examples=examples(300))
@given(req=search_requests())
def test_search_endpoints_never_answer_a_server_error(client, req):
    path, values, query = req
    response = get(client, path, values)
    check(response)
    if response.status_code == 200 and query is not None and path in ("/search", SEARCH_PATHS[1]):
        excluded = set(query.excluded_categories)
        for paper_id in result_ids(response):
            found = set(corpus()[paper_id])
            assert not found & excluded, f"{paper_id} {sorted(found)} for {values}"


# -- listings ------------------------------------------------------------------------------
@fuzz_settings(max_examples=examples(150))
@given(
    path=st.sampled_from(LISTING_PATHS),
    values=params(
        date=st.one_of(day_values, junk_values),
        week=st.one_of(week_values, junk_values),
        month=st.one_of(month_values, junk_values),
        p=numbers,
        limit=numbers,
        sort=sorts,
        submitter=st.one_of(random_text, st.just("x" * 201)),
    ),
)
def test_listings_never_answer_a_server_error(client, path, values):
    check(get(client, path, values))


# -- papers --------------------------------------------------------------------------------
@st.composite
def paper_requests(draw):
    paper_id = draw(paper_ids(known_ids()))
    encoded = quote(paper_id, safe=draw(st.sampled_from(["/", "/:", "/:%", ""])))
    if draw(st.integers(0, 4)) == 0:  # dots too, so that ".." reaches the app as such
        encoded = encoded.replace(".", "%2E")
    path = draw(st.sampled_from(PAPER_PATHS)).format(encoded)
    return path, draw(params(limit=numbers))


@fuzz_settings(max_examples=examples(150))
@given(req=paper_requests())
def test_paper_endpoints_never_answer_a_server_error(client, req):
    path, values = req
    check(get(client, path, values))


# -- bytes ---------------------------------------------------------------------------------
@fuzz_settings(max_examples=examples(100))
@given(
    path=st.sampled_from(ALL_PATHS),
    raw=st.binary(max_size=80),
    as_q=st.booleans(),
)
def test_random_bytes_in_the_query_string_never_answer_a_server_error(client, path, raw, as_q):
    """Bytes that are not UTF-8, stray `%`, `&` and `=`: sent as they are."""
    query = "q=" + quote_from_bytes(raw) if as_q else quote_from_bytes(raw, safe="=&%+")
    check(get(client, f"{path}?{query}"))


# -- regressions ---------------------------------------------------------------------------
# Each of these answered HTTP 500 (KeyError 'category' in lexical.py `_clause_query`):
# a negated category became a scored clause on a field the index has no boost for.
EXCLUDED = {
    "robot -cat:cs.CV": ("cs.CV", None),
    "-cat:cs.AI robot": ("cs.AI", None),
    "cat:cs.CV -cat:cs.RO": ("cs.RO", "cs.CV"),
}
assert set(EXCLUDED) == set(NEGATED_CATEGORY_QUERIES)


@pytest.mark.parametrize("mode", ["hybrid", "lexical", "dense"])
@pytest.mark.parametrize("q", NEGATED_CATEGORY_QUERIES)
def test_negated_categories_are_left_out_of_api_results(client, q, mode):
    response = client.get("/api/papers/search", params={"q": q, "mode": mode, "limit": 100})
    assert response.status_code == 200, response.text
    excluded, kept = EXCLUDED[q]
    found = [set(entry["paper"]["categories"]) for entry in response.json()]
    assert all(excluded not in categories for categories in found)
    if kept:
        assert all(kept in categories for categories in found)
    if q == "robot -cat:cs.CV":  # papers outside cs.CV: by words and by meaning
        assert found
    if q == "-cat:cs.AI robot":  # every paper of the corpus is in cs.AI
        assert found == []


@pytest.mark.parametrize("mode", ["hybrid", "lexical"])
def test_a_negated_category_removes_exactly_its_papers(client, mode):
    def ids(q: str) -> set[str]:
        params = {"q": q, "mode": mode, "limit": 100}
        return {
            entry["paper"]["id"] for entry in client.get("/api/papers/search", params=params).json()
        }

    vision = ids("cat:cs.CV")
    robotics = {pid for pid in vision if "cs.RO" in corpus()[pid]}
    assert robotics and vision - robotics
    assert ids("cat:cs.CV -cat:cs.RO") == vision - robotics
    assert ids("cat:cs.CV +cat:cs.RO") >= robotics  # +cat: keeps, as cat: does


def test_a_dense_search_with_a_negated_category_searches_the_rest(client):
    def dense(q: str) -> list[dict]:
        params = {"q": q, "mode": "dense", "limit": 100}
        return client.get("/api/papers/search", params=params).json()

    everything, without = dense("robot"), dense("robot -cat:cs.CV")
    assert any("cs.CV" in e["paper"]["categories"] for e in everything)
    assert without and not any("cs.CV" in e["paper"]["categories"] for e in without)
    # The same neighbours, in the same order, less those in cs.CV.
    kept = [e["paper"]["id"] for e in everything if "cs.CV" not in e["paper"]["categories"]]
    assert [e["paper"]["id"] for e in without][: len(kept) // 2] == kept[: len(kept) // 2]


@pytest.mark.parametrize("mode", ["hybrid", "lexical", "dense"])
@pytest.mark.parametrize("q", NEGATED_CATEGORY_QUERIES)
def test_negated_categories_are_left_out_of_the_search_page(client, q, mode):
    response = client.get("/search", params={"q": q, "mode": mode})
    assert response.status_code == 200
    excluded, kept = EXCLUDED[q]
    ids = result_ids(response)
    if q != "-cat:cs.AI robot" and (mode != "dense" or not kept):
        assert ids, "the page lists results"
    for paper_id in ids:
        assert excluded not in corpus()[paper_id]
        assert kept is None or kept in corpus()[paper_id]


@pytest.mark.parametrize("path", ["/search.bib", "/feeds/search.rss", "/feeds/search.atom"])
@pytest.mark.parametrize("q", NEGATED_CATEGORY_QUERIES)
def test_negated_categories_in_downloads_and_feeds(client, path, q):
    assert client.get(path, params={"q": q}).status_code == 200


# -- known defects the fuzzer found --------------------------------------------------------
# Found by fuzzing: a period at the end of the calendar (year 9999) overflowed in
# listings.py (`day + timedelta(...)` past date.max), and the daily page's links to the
# period before and after overflowed at either end: HTTP 500.
@pytest.mark.parametrize(
    ("path", "values"),
    [
        ("/api/daily_papers", {"date": "9999-12-31"}),
        ("/api/daily_papers", {"week": "9999-W52"}),
        ("/api/daily_papers", {"month": "9999-12"}),
        ("/", {"date": "9999-12-31"}),
        ("/", {"week": "9999-W51"}),
        ("/", {"month": "9999-11"}),
        ("/", {"week": "0001-W01"}),
        ("/", {"month": "0001-01"}),
        ("/feeds/daily.rss", {"date": "9999-12-31"}),
    ],
)
def test_a_period_at_the_end_of_the_calendar_is_answered(client, path, values):
    assert client.get(path, params=values).status_code in (200, 422)


# Found by schemathesis: a query the parser accepts (996 characters) was refused with a
# 414 the API did not document, once percent-encoded past the address limit.
@pytest.mark.parametrize("path", ["/api/papers/search", "/search"])
def test_a_query_within_the_documented_length_is_answered(client, path):
    q = "robot " + "\U0001f916" * 990
    response = client.get(path, params={"q": q, "mode": "lexical"})
    assert response.status_code == 200, response.text[:200]


# Noticed while writing these (a 4xx, so no property here fails on it): FastAPI read an
# empty `from=` as a date that cannot be parsed (422), and the search page's pager links
# and its filter form send one themselves.
def test_the_next_page_link_of_a_search_is_answered(client):
    first = client.get("/search", params={"q": "language models", "mode": "lexical"})
    link = re.search(r'<a rel="next" href="([^"]+)"', first.text)
    assert first.status_code == 200 and link, "a search with more than one page of results"
    assert client.get(html.unescape(link[1])).status_code == 200


def test_the_search_filters_form_without_dates_is_answered(client):
    form = {"q": "language models", "category": "", "from": "", "until": "", "mode": "dense"}
    assert client.get("/search", params=form).status_code == 200


# -- authors -------------------------------------------------------------------------------
AUTHOR_PATHS = ("/authors/{}", "/api/authors/{}", "/feeds/author/{}.atom", "/feeds/author/{}.rss")


@st.composite
def author_requests(draw) -> str:
    """A real author's name, or any text (control characters, slashes, 10,000 characters),
    or raw bytes, each percent-encoded into an author path."""
    real = [name for record in demo_records(5) for name in record.authors]
    name = draw(
        st.one_of(
            st.sampled_from(real),
            st.sampled_from(real).map(lambda n: n + draw(random_text)),
            web_texts,
            st.just("x" * 10_000),
            st.builds("/".join, st.lists(random_text, max_size=4)),
        )
    )
    encoded = quote(name, safe=draw(st.sampled_from(["", "/"])))
    if draw(st.integers(0, 5)) == 0:
        encoded = quote_from_bytes(draw(st.binary(max_size=40)))
    return draw(st.sampled_from(AUTHOR_PATHS)).format(encoded)


@fuzz_settings(max_examples=examples(150))
@given(path=author_requests())
def test_author_endpoints_never_answer_a_server_error(client, path):
    check(get(client, path))
