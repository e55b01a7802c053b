"""The search box's query language, parsed into clauses any backend can run.

    attention is all you need        words; any may match, more matches rank higher
    "graph neural network"           a phrase, words adjacent and in order
    ti:diffusion  abs:"protein folding"  au:hinton  au:"Yann LeCun"  cat:cs.CL
    -survey  -ti:"position paper"    exclusion
    -cat:cs.CV                       papers not in a category
    +benchmark                       required

Anything that is not one of these is searched as plain words, so ``BERT: a model`` or
``C++`` never fail; only real mistakes (an unclosed quote, ``ti:`` with nothing after it, a
query of exclusions only) raise QuerySyntaxError with a message meant for the person typing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import Enum

from paperscope.errors import InvalidInput

MAX_QUERY_CHARS = 1_000
MAX_CLAUSES = 64

FIELD_PREFIXES = {"ti": "title", "abs": "abstract", "au": "authors", "cat": "category"}
_TOKEN = re.compile(
    r'(?P<sign>[+-])?(?:(?P<prefix>[A-Za-z]+):)?(?:"(?P<phrase>[^"]*)"|(?P<word>[^\s"]+))?'
)


class QuerySyntaxError(InvalidInput, ValueError):
    """A query that cannot be understood; the message says how to fix it."""


class Occur(Enum):
    SHOULD = "should"
    MUST = "must"
    MUST_NOT = "must_not"


@dataclass(frozen=True)
class Clause:
    text: str
    field: str | None = None  # None: title and abstract
    phrase: bool = False
    occur: Occur = Occur.SHOULD


@dataclass(frozen=True)
class SearchFilters:
    categories: tuple[str, ...] = ()
    excluded_categories: tuple[str, ...] = ()
    published_from: date | None = None
    published_until: date | None = None
    author: str | None = None

    @property
    def active(self) -> bool:
        return bool(
            self.categories
            or self.excluded_categories
            or self.published_from
            or self.published_until
            or self.author
        )


@dataclass(frozen=True)
class ParsedQuery:
    raw: str
    clauses: tuple[Clause, ...]
    filters: SearchFilters = field(default_factory=SearchFilters)

    @property
    def free_text(self) -> str:
        """What the query means in plain words: the input for semantic search."""
        return " ".join(
            c.text for c in self.clauses if c.occur is not Occur.MUST_NOT and c.field != "category"
        )

    @property
    def highlight_terms(self) -> list[str]:
        return [
            c.text
            for c in self.clauses
            if c.occur is not Occur.MUST_NOT and c.field in (None, "title", "abstract")
        ]


def parse_query(text: str, filters: SearchFilters | None = None) -> ParsedQuery:
    if not isinstance(text, str):
        raise QuerySyntaxError(f"a query is text, not {type(text).__name__}")
    if not text.strip():
        raise QuerySyntaxError("empty query: type some words to search for")
    if len(text) > MAX_QUERY_CHARS:
        raise QuerySyntaxError(
            f"query too long: {len(text):,} characters (at most {MAX_QUERY_CHARS:,})"
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate: bytes that were not UTF-8, as Python decodes a bad argv.
        raise QuerySyntaxError("the query holds bytes that are not UTF-8 text") from None
    if text.count('"') % 2:
        raise QuerySyntaxError('unclosed quote: every " needs a partner')

    clauses: list[Clause] = []
    categories: list[str] = list(filters.categories) if filters else []
    excluded: list[str] = list(filters.excluded_categories) if filters else []
    for match in _TOKEN.finditer(text):
        if not match.group(0):
            continue
        sign, prefix = match.group("sign"), match.group("prefix")
        phrase, word = match.group("phrase"), match.group("word")
        field_name = FIELD_PREFIXES.get(prefix.lower()) if prefix else None
        if prefix and field_name is None:
            # "BERT:" or "http://..." are words, not fields.
            word = f"{prefix}:{word or ''}" if phrase is None else f"{prefix}:"
            clauses.extend(_clauses_for(sign, None, None, word))
            if phrase is not None:
                clauses.extend(_clauses_for(None, None, phrase, None))
            continue
        if prefix and phrase is None and word is None:
            raise QuerySyntaxError(f"{prefix}: needs a word or a quoted phrase after it")
        if field_name == "category":
            # A category is a filter, never a scored term: -cat: excludes, cat: and +cat: keep.
            name = (phrase if phrase is not None else word).strip()
            if name:
                (excluded if sign == "-" else categories).append(name)
            continue
        clauses.extend(_clauses_for(sign, field_name, phrase, word))

    clauses = [c for c in clauses if c.text]
    if len(clauses) > MAX_CLAUSES:
        raise QuerySyntaxError(f"too many terms: {len(clauses)} (at most {MAX_CLAUSES})")
    if not any(c.occur is not Occur.MUST_NOT for c in clauses) and not categories:
        raise QuerySyntaxError("a query needs at least one word that is not excluded with -")
    merged = SearchFilters(
        categories=tuple(dict.fromkeys(categories)),
        excluded_categories=tuple(dict.fromkeys(excluded)),
        published_from=filters.published_from if filters else None,
        published_until=filters.published_until if filters else None,
        author=filters.author if filters else None,
    )
    start, end = merged.published_from, merged.published_until
    if start and end and start > end:
        raise QuerySyntaxError("the date range ends before it starts")
    return ParsedQuery(raw=text, clauses=tuple(clauses), filters=merged)


def _clauses_for(sign: str | None, field_name: str | None, phrase: str | None, word: str | None):
    occur = {"-": Occur.MUST_NOT, "+": Occur.MUST}.get(sign or "", Occur.SHOULD)
    if phrase is not None:
        text = " ".join(phrase.split())
        yield Clause(text, field_name, phrase=len(text.split()) > 1, occur=occur)
    elif word:
        yield Clause(word, field_name, phrase=False, occur=occur)
