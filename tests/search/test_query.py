from datetime import date

import pytest

from paperscope.search.query import (
    Clause,
    Occur,
    QuerySyntaxError,
    SearchFilters,
    parse_query,
)


def test_words_phrases_fields_and_signs():
    parsed = parse_query('graph "neural network" ti:diffusion au:"Yann LeCun" -survey +benchmark')
    assert parsed.clauses == (
        Clause("graph"),
        Clause("neural network", phrase=True),
        Clause("diffusion", field="title"),
        Clause("Yann LeCun", field="authors", phrase=True),
        Clause("survey", occur=Occur.MUST_NOT),
        Clause("benchmark", occur=Occur.MUST),
    )
    assert parsed.free_text == "graph neural network diffusion Yann LeCun benchmark"


def test_category_prefix_becomes_a_filter_merged_with_given_filters():
    parsed = parse_query("cat:cs.CL parsing", SearchFilters(categories=("cs.LG",)))
    assert parsed.filters.categories == ("cs.LG", "cs.CL")
    assert [c.text for c in parsed.clauses] == ["parsing"]


@pytest.mark.parametrize(
    "text", ["BERT: a model", "C++ templates", "http://x.org/a", "<SEG> token"]
)
def test_unknown_prefixes_and_symbols_are_plain_words(text):
    parsed = parse_query(text)
    assert parsed.clauses and all(c.field is None for c in parsed.clauses)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty query"),
        ("   ", "empty query"),
        ('"unclosed phrase', "unclosed quote"),
        ("ti:", "ti: needs a word"),
        ("-survey -review", "at least one word"),
        ("x " * 600, "query too long"),
        (" ".join(f"w{i}" for i in range(80)), "too many terms"),
    ],
)
def test_mistakes_get_a_message_for_the_person_typing(text, message):
    with pytest.raises(QuerySyntaxError, match=message):
        parse_query(text)


def test_inverted_date_range_is_refused():
    filters = SearchFilters(published_from=date(2025, 2, 1), published_until=date(2025, 1, 1))
    with pytest.raises(QuerySyntaxError, match="ends before it starts"):
        parse_query("x", filters)


# Each answered HTTP 500 once (KeyError 'category' in lexical.py): -cat: made a scored clause.
@pytest.mark.parametrize(
    ("text", "words", "kept", "excluded"),
    [
        ("robot -cat:cs.CV", ["robot"], (), ("cs.CV",)),
        ("-cat:cs.AI robot", ["robot"], (), ("cs.AI",)),
        ("cat:cs.CV -cat:cs.RO", [], ("cs.CV",), ("cs.RO",)),
    ],
)
def test_a_negated_category_is_an_excluded_filter_not_a_term(text, words, kept, excluded):
    parsed = parse_query(text)
    assert [c.text for c in parsed.clauses] == words
    assert all(c.field != "category" and c.occur is Occur.SHOULD for c in parsed.clauses)
    assert parsed.filters.categories == kept
    assert parsed.filters.excluded_categories == excluded
    assert parsed.filters.active
    assert parsed.free_text == " ".join(words)


def test_excluded_categories_merge_with_given_filters():
    given = SearchFilters(categories=("cs.LG",), excluded_categories=("cs.CV",))
    parsed = parse_query('robot -CAT:cs.RO -cat:"cs.CV" +cat:cs.AI', given)
    assert parsed.filters.categories == ("cs.LG", "cs.AI")
    assert parsed.filters.excluded_categories == ("cs.CV", "cs.RO")


@pytest.mark.parametrize("text", ["-cat:cs.CV", "-cat:cs.CV -cat:cs.RO", '-cat:"cs.CV" -survey'])
def test_a_query_of_only_excluded_categories_is_a_syntax_error(text):
    with pytest.raises(QuerySyntaxError, match="at least one word that is not excluded") as error:
        parse_query(text)
    assert str(error.value).strip()
