"""Grammar-aware fuzzing of the query language and of the search engine behind it.

Properties: the parser turns any text (and any non-text) into a query or a
QuerySyntaxError with a one-line message, and a query built from the language into
exactly what the language says; the engine answers any query in any mode, with any
filters, with results that honour the filters, or with that same error.
"""

from __future__ import annotations

import contextlib
import math
import os
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, note
from hypothesis import settings as fuzz_settings
from hypothesis import strategies as st

from paperscope.search.engine import MODES, SearchEngine
from paperscope.search.indexer import Indexer
from paperscope.search.lexical import FIELD_BOOSTS
from paperscope.search.query import (
    MAX_CLAUSES,
    Occur,
    ParsedQuery,
    QuerySyntaxError,
    SearchFilters,
    parse_query,
)
from paperscope.settings import Settings
from paperscope.store import open_store
from tests.search.conftest import REPO, demo_records
from tests.strategies import (
    REAL_CATEGORIES,
    Meaning,
    Query,
    any_texts,
    categories,
    days,
    examples,
    grammar_queries,
    language_queries,
    maybe,
    meaning,
    web_texts,
)

SEARCHED_FIELDS = {None, *FIELD_BOOSTS}  # what the lexical index can search a clause in


def filters_(with_excluded: bool = False):
    """The filters the web pages, the API and the CLI pass next to a query."""
    excluded = {"excluded_categories": st.lists(categories, max_size=2).map(tuple)}
    return st.builds(
        SearchFilters,
        categories=st.lists(
            st.one_of(st.sampled_from(REAL_CATEGORIES), categories), max_size=3
        ).map(tuple),
        published_from=maybe(days),
        published_until=maybe(days),
        author=maybe(st.sampled_from(["Hinton", "LeCun", "Yann LeCun", "", "李", "\x00"])),
        **(excluded if with_excluded else {}),
    )


def assert_well_formed(parsed: ParsedQuery, text: object, given: SearchFilters | None) -> None:
    assert isinstance(parsed, ParsedQuery)
    assert parsed.raw == text
    assert len(parsed.clauses) <= MAX_CLAUSES
    for clause in parsed.clauses:
        assert clause.text and clause.text == " ".join(clause.text.split()), clause
        assert '"' not in clause.text, clause
        assert clause.field in SEARCHED_FIELDS, f"{clause} names a field the index lacks"
        assert not clause.phrase or len(clause.text.split()) > 1, clause
    filters = parsed.filters
    assert filters.categories or any(c.occur is not Occur.MUST_NOT for c in parsed.clauses)
    for name in (*filters.categories, *getattr(filters, "excluded_categories", ())):
        assert name and name == name.strip()
    assert len(set(filters.categories)) == len(filters.categories)
    if given is not None:
        assert set(given.categories) <= set(filters.categories)
        assert (filters.published_from, filters.published_until, filters.author) == (
            given.published_from,
            given.published_until,
            given.author,
        )


def assert_a_message(error: QuerySyntaxError) -> None:
    message = str(error)
    assert message.strip(), "a syntax error without a message"
    assert "\n" not in message, "a syntax error message is one line"


# -- the parser ---------------------------------------------------------------------------
@fuzz_settings(max_examples=examples(450))
@given(
    text=st.one_of(
        any_texts,
        st.binary(max_size=20),
        st.none(),
        st.integers(),
    ),
    filters=maybe(filters_()),
)
def test_the_parser_returns_a_query_or_a_syntax_error_with_a_message(text, filters):
    note(f"parse_query({text!r}, {filters!r})")
    try:
        parsed = parse_query(text, filters)
    except QuerySyntaxError as error:
        assert_a_message(error)
        return
    assert_well_formed(parsed, text, filters)


@fuzz_settings(max_examples=examples(350))
@given(query=language_queries, filters=maybe(filters_(with_excluded=True)))
def test_the_parser_reads_the_language_as_the_readme_describes_it(query: Query, filters):
    note(f"parse_query({query.text!r}, {filters!r})")
    expected = meaning(query, filters)
    try:
        parsed = parse_query(query.text, filters)
    except QuerySyntaxError as error:
        assert_a_message(error)
        assert isinstance(expected, str), f"refused: {error}; expected {expected}"
        assert str(error).startswith(expected)
        return
    assert isinstance(expected, Meaning), f"accepted; expected the error {expected!r}"
    assert_well_formed(parsed, query.text, filters)
    assert parsed.clauses == expected.clauses
    assert parsed.filters.categories == expected.categories
    assert parsed.filters.excluded_categories == expected.excluded_categories
    assert parsed.filters.active == bool(
        expected.categories
        or expected.excluded_categories
        or (filters and (filters.published_from or filters.published_until or filters.author))
    )


# -- the engine ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def engine(tmp_path_factory, minilm, new_database) -> SearchEngine:
    """80 demo papers (all in cs.AI, 15 in cs.CV, 4 in cs.RO), both indexes built."""
    models = Path(os.environ.get("PAPERSCOPE_MODELS_DIR", REPO / ".data" / "models"))
    data = tmp_path_factory.mktemp("fuzz") / "data"
    settings = Settings(data_dir=data, models_dir=models, database_url=new_database())
    store = open_store(settings)
    store.papers.upsert(demo_records(80))
    engine = SearchEngine(settings, store, encoder=minilm)
    Indexer(engine).update()
    return engine


def assert_honours_filters(results, query: Query | None, filters: SearchFilters) -> None:
    kept = set(filters.categories) | set(query.categories if query else ())
    excluded = set(query.excluded_categories if query else ())
    start, end = filters.published_from, filters.published_until
    for hit in results.hits:
        paper = hit.paper
        if kept:
            assert kept & set(paper.categories), f"{paper.id} {paper.categories} not in {kept}"
        assert not excluded & set(paper.categories), f"{paper.id} {paper.categories} excluded"
        if start or end:
            published = paper.published.date() if paper.published else None
            assert published is not None
            assert (start or date.min) <= published <= (end or date.max), paper.id


@fuzz_settings(max_examples=examples(300))
@given(
    query=st.one_of(language_queries, grammar_queries(max_terms=4), web_texts),
    mode=st.sampled_from(MODES),
    limit=st.one_of(st.integers(1, 12), st.integers(-5, 2_000)),
    offset=st.one_of(st.just(0), st.integers(-5, 1_200)),
    filters=st.one_of(st.just(SearchFilters()), filters_()),
)
def test_the_engine_answers_results_or_the_syntax_error(
    engine, query, mode, limit, offset, filters
):
    text = query.text if isinstance(query, Query) else query
    note(f"engine.search({text!r}, {mode=}, {limit=}, {offset=}, {filters=})")
    try:
        results = engine.search(text, mode=mode, limit=limit, offset=offset, filters=filters)
    except QuerySyntaxError as error:
        assert_a_message(error)
        return
    assert len(results.hits) <= max(1, min(limit, 1_000))
    ids = [hit.paper.id for hit in results.hits]
    assert len(ids) == len(set(ids))
    for hit in results.hits:
        assert math.isfinite(hit.score)
        for snippet in (hit.title, hit.snippet):
            assert all(0 <= s < e <= len(snippet.text) for s, e in snippet.highlights)
    assert_honours_filters(results, query if isinstance(query, Query) else None, filters)


# The engine property draws `web_texts`, what can reach the web app; fed `any_texts` it
# found this at once: what a Python caller hands the engine may hold lone surrogates, and
# the CLI's argv does for bytes that are not UTF-8 (`paperscope search $'robot \xe9'`).
# Crashed in tantivy (UnicodeEncodeError) and in tokenizers (TypeError) before.
@pytest.mark.parametrize("mode", MODES)
def test_a_lone_surrogate_is_searched_or_refused(engine, mode):
    with contextlib.suppress(QuerySyntaxError):  # either is a fine answer; a crash is not
        engine.search("robot \udce9", mode=mode)
