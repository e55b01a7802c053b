"""Hypothesis strategies for what people and robots send paperscope: search queries built
from the query language (README "Searching", `paperscope.search.query`), the odd text
around them (unicode, control characters, stray quotes, very long input, random bytes)
and the parameter values of the web endpoints (huge and negative numbers, bad dates,
weird paper ids).

Grammar-built queries come as `Query` objects that know what each term means, so a test
can check the answer against the query's intent (a `-cat:` category never comes back);
everything else comes as plain text. The budget of each property is set where it is used
through `examples()`; the shared profile (deterministic, no example database, no
deadline) is registered in tests/conftest.py.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, timedelta

from hypothesis import strategies as st

from paperscope.search.query import (
    MAX_CLAUSES,
    MAX_QUERY_CHARS,
    Clause,
    Occur,
    SearchFilters,
)

# -- budget -------------------------------------------------------------------------------
FUZZ_SCALE = max(1, int(os.environ.get("PAPERSCOPE_FUZZ_SCALE", "1")))


def examples(n: int) -> int:
    """A property's number of examples: n in CI, more with PAPERSCOPE_FUZZ_SCALE."""
    return n * FUZZ_SCALE


# -- the pieces of the language -----------------------------------------------------------
# In the 300-paper test corpus every paper is in cs.AI, 44 in cs.CV, 7 in cs.RO.
REAL_CATEGORIES = (
    "cs.AI",
    "cs.CV",
    "cs.RO",
    "cs.CL",
    "cs.LG",
    "cs.CR",
    "stat.ML",
    "eess.AS",
    "math.OC",
    "q-bio.NC",
)
UNKNOWN_CATEGORIES = (
    "cs.XX",
    "xx.YY",
    "CS.CV",
    "cs.cv",
    "cs",
    "cs.",
    ".CV",
    "hep-th",
    "math.GT/0309136",
    "cs.CV,cs.RO",
    "*",
    "%",
    "cs.C?",
    "cs.AI\x00",
    "кс.АИ",
)
FIELDS = {"ti": "title", "abs": "abstract", "au": "authors", "cat": "category"}
# As typed: prefixes are read case-insensitively.
FIELD_SPELLINGS = ("ti", "abs", "au", "cat", "TI", "Abs", "AU", "Cat", "CAT")
UNKNOWN_PREFIXES = ("BERT", "http", "https", "foo", "Q", "arXiv", "doi", "tI", "author", "x")
VOCABULARY = (
    "robot",
    "robots",
    "robotic",
    "manipulation",
    "graph",
    "neural",
    "network",
    "attention",
    "diffusion",
    "transformer",
    "language",
    "model",
    "models",
    "vision",
    "learning",
    "reinforcement",
    "survey",
    "benchmark",
    "agent",
    "LLM",
    "BERT",
    "GPT-4",
    "3D",
    "C++",
    "<SEG>",
    "e.g.",
    "state-of-the-art",
    "the",
    "a",
    "of",
    "is",
    "x",
    "état",
    "naïve",
    "Schrödinger",
    "αβ",
    "变换器",
    "Ω",
    "🤖",
    "ﬁne",
)
AUTHORS = ("hinton", "LeCun", "Yann LeCun", "Bengio", "Müller", "O'Brien", "李")
# Every one of these is whitespace to the parser (re's \s) and to str.split().
SEPARATORS = (
    " ",
    "  ",
    "\t",
    "\n",
    "\r\n",
    "\x0b",
    "\x0c",
    "\x1c",
    "\x1f",
    "\x85",
    "\xa0",
    "\u1680",
    "\u2003",
    "\u2028",
    "\u2029",
    "\u202f",
    "\u3000",
)
assert all(re.fullmatch(r"\s+", s) and not "".join(s.split()) for s in SEPARATORS)
NASTY_CHARACTERS = (
    "\x00",
    "\x01",
    "\x07",
    "\x1b",
    "\x7f",
    "\u200b",  # zero-width space: not whitespace
    "\u200d",
    "\u202e",  # right-to-left override
    "\ufeff",
    "\ufffd",
    "\u0301",  # a lone combining accent
    "\U0001f600",
    "\U000e0001",
    "\uffff",
    '"',
    ":",
    "+",
    "-",
    "\\",
    "<",
    ">",
    "&",
    "%",
    "%00",
    "*",
    "?",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    "^",
    "~",
    "'",
    "`",
    "|",
    "/",
    "..",
)


# -- grammar terms with a known meaning ---------------------------------------------------
@dataclass(frozen=True)
class Term:
    """One term of a query: ``-ti:"graph neural"`` is Term("-", "ti", "graph neural", True)."""

    sign: str  # "", "+" or "-"
    prefix: str  # "" or a field prefix as typed
    body: str  # the word, or what is inside the quotes
    quoted: bool

    def __str__(self) -> str:
        prefix = f"{self.prefix}:" if self.prefix else ""
        body = f'"{self.body}"' if self.quoted else self.body
        return f"{self.sign}{prefix}{body}"

    @property
    def field(self) -> str | None:
        return FIELDS[self.prefix.lower()] if self.prefix else None


@dataclass(frozen=True)
class Query:
    """A query written in the language, and what its terms ask for."""

    terms: tuple[Term, ...]
    text: str

    @property
    def categories(self) -> tuple[str, ...]:
        """Categories the query keeps to (cat:, +cat:)."""
        return tuple(
            t.body.strip()
            for t in self.terms
            if t.field == "category" and t.sign != "-" and t.body.strip()
        )

    @property
    def excluded_categories(self) -> tuple[str, ...]:
        """Categories no result may be in (-cat:)."""
        return tuple(
            t.body.strip()
            for t in self.terms
            if t.field == "category" and t.sign == "-" and t.body.strip()
        )

    def __repr__(self) -> str:  # what a falsifying example shows
        return f"Query({self.text!r})"


def _not_space(character: str) -> bool:
    return not character.isspace()


# A word the parser reads as one word: no whitespace, no quote, no colon (so never a
# prefix), not starting with a sign. Control characters and any script are welcome.
_WORD_CHARACTERS = st.characters(codec="utf-8", exclude_characters='":').filter(_not_space)
plain_words = st.one_of(
    st.sampled_from(VOCABULARY),
    st.sampled_from(VOCABULARY).map(str.upper),
    st.text(_WORD_CHARACTERS, min_size=1, max_size=12),
    st.sampled_from([c for c in NASTY_CHARACTERS if c not in {'"', ":", "+", "-"}]),
).filter(lambda w: w[0] not in "+-" and ":" not in w and '"' not in w)
# Inside quotes anything but a quote goes, whitespace, colons and signs included.
phrase_bodies = st.one_of(
    st.lists(plain_words, min_size=0, max_size=4).map(" ".join),
    st.sampled_from(["", " ", "  graph   neural  ", "ti:x", "-survey", "a\tb\nc", "\u3000"]),
    st.text(st.characters(codec="utf-8", exclude_characters='"'), max_size=20),
)
categories = st.one_of(
    st.sampled_from(REAL_CATEGORIES),
    st.sampled_from(UNKNOWN_CATEGORIES),
    st.text(_WORD_CHARACTERS, min_size=1, max_size=10),
)


@st.composite
def terms(draw) -> Term:
    sign = draw(st.sampled_from(["", "", "+", "-"]))
    prefix = draw(st.one_of(st.just(""), st.sampled_from(FIELD_SPELLINGS)))
    field_name = FIELDS[prefix.lower()] if prefix else None
    if field_name == "category":
        if draw(st.booleans()):
            name = draw(categories)
            return Term(sign, prefix, name, quoted=False)
        return Term(sign, prefix, draw(st.one_of(categories, phrase_bodies)), quoted=True)
    if draw(st.integers(0, 3)) == 0:
        return Term(sign, prefix, draw(phrase_bodies), quoted=True)
    if field_name == "authors" and draw(st.booleans()):
        name = draw(st.sampled_from(AUTHORS))
        return Term(sign, prefix, name, quoted=" " in name)
    # After a prefix a word may start with a sign ("ti:-x" is the word "-x"); rarely, a
    # prefix with nothing after it, which is a syntax error.
    word = draw(st.one_of(plain_words, st.just("-x")) if prefix else plain_words)
    if prefix and draw(st.integers(0, 15)) == 0:
        word = ""
    return Term(sign, prefix, word, quoted=False)


@st.composite
def grammar_queries(draw, min_terms: int = 1, max_terms: int = 8) -> Query:
    """Queries written in the language, in their full variety."""
    parts = draw(st.lists(terms(), min_size=min_terms, max_size=max_terms))
    separators = draw(
        st.lists(st.sampled_from(SEPARATORS), min_size=len(parts) + 1, max_size=len(parts) + 1)
    )
    lead = separators[0] if draw(st.integers(0, 4)) == 0 else ""
    trail = separators[-1] if draw(st.integers(0, 4)) == 0 else ""
    text = lead + "".join(str(t) + s for t, s in zip(parts, separators[1:-1], strict=False))
    text += str(parts[-1]) + trail
    return Query(tuple(parts), text)


# The three queries of the negated-category bug (HTTP 500 on KeyError 'category').
NEGATED_CATEGORY_QUERIES = ("robot -cat:cs.CV", "-cat:cs.AI robot", "cat:cs.CV -cat:cs.RO")


@st.composite
def typical_queries(draw) -> Query:
    """Short queries like people type: a few words, a field or two, a category, a sign."""
    words = draw(st.lists(st.sampled_from(VOCABULARY[:20]), min_size=1, max_size=3))
    extra = draw(
        st.lists(
            st.one_of(
                st.builds(lambda s, c: Term(s, "cat", c, False), st.sampled_from("+-"), categories),
                st.builds(lambda c: Term("", "cat", c, False), st.sampled_from(REAL_CATEGORIES)),
                st.builds(
                    lambda s, p, w: Term(s, p, w, False),
                    st.sampled_from(["", "+", "-"]),
                    st.sampled_from(["ti", "abs", "au"]),
                    st.sampled_from(VOCABULARY[:20]),
                ),
            ),
            max_size=3,
        )
    )
    parts = [Term("", "", w, False) for w in words] + extra
    order = draw(st.permutations(parts))
    return Query(tuple(order), " ".join(map(str, order)))


# The known bugs are not seeded here (their regression tests name them): the properties
# must find their kind on their own.
language_queries = st.one_of(grammar_queries(), typical_queries())


# -- what a query of the language means --------------------------------------------------
@dataclass(frozen=True)
class Meaning:
    """What the parser must make of a grammar-built query (README "Searching")."""

    clauses: tuple[Clause, ...]
    categories: tuple[str, ...]
    excluded_categories: tuple[str, ...]


_OCCUR = {"": Occur.SHOULD, "+": Occur.MUST, "-": Occur.MUST_NOT}


def meaning(query: Query, filters: SearchFilters | None = None) -> Meaning | str:
    """The clauses and category filters of a grammar-built query, or the start of the
    syntax error it deserves. Written from the language's description, term by term."""
    if not query.text.strip():
        return "empty query"
    if len(query.text) > MAX_QUERY_CHARS:
        return "query too long"
    clauses: list[Clause] = []
    kept = list(filters.categories) if filters else []
    excluded = list(getattr(filters, "excluded_categories", ())) if filters else []
    for term in query.terms:
        if term.prefix and not term.quoted and not term.body:
            return f"{term.prefix}: needs a word"
        if term.field == "category":  # a filter, never a scored term
            if term.body.strip():
                (excluded if term.sign == "-" else kept).append(term.body.strip())
            continue
        text = " ".join(term.body.split()) if term.quoted else term.body
        if text:
            phrase = term.quoted and len(text.split()) > 1
            clauses.append(Clause(text, term.field, phrase=phrase, occur=_OCCUR[term.sign]))
    if len(clauses) > MAX_CLAUSES:
        return "too many terms"
    if not kept and all(c.occur is Occur.MUST_NOT for c in clauses):
        return "a query needs at least one word"
    start, end = (filters.published_from, filters.published_until) if filters else (None, None)
    if start and end and start > end:
        return "the date range ends before it starts"
    return Meaning(tuple(clauses), tuple(dict.fromkeys(kept)), tuple(dict.fromkeys(excluded)))


# Queries of the language that must be answered (for schemathesis' positive data).
valid_queries = st.one_of(
    typical_queries(),
    grammar_queries().filter(lambda q: isinstance(meaning(q), Meaning)),
)


# -- everything else a search box receives ------------------------------------------------
def _long(unit: str, length: int) -> str:
    return (unit * (length // max(1, len(unit)) + 1))[:length]


long_inputs = st.one_of(
    # Around the limits: 1,000 characters (the parser), 2,000 (the web parameter).
    st.builds(
        _long,
        st.sampled_from(["robot ", "x", '"a" ', "ti:graph -survey "]),
        st.sampled_from([999, 1_000, 1_001, 1_999, 2_000, 2_001, 10_000]),
    ),
    # Many terms: 64 at most.
    st.integers(60, 70).map(lambda n: " ".join(f"w{i}" for i in range(n))),
    st.integers(60, 70).map(lambda n: "-survey " * n + "robot"),
)
random_text = st.one_of(
    st.text(max_size=40),
    st.lists(
        st.sampled_from(NASTY_CHARACTERS + SEPARATORS + ("a", "ti:", "cat:")), max_size=20
    ).map("".join),
    st.text(st.characters(codec="ascii"), max_size=30),
    st.text(st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Co"]), max_size=10),
)


@st.composite
def mangled_queries(draw) -> str:
    """A query of the language with junk spliced in: a stray quote, a control character."""
    text = draw(grammar_queries()).text
    junk = draw(st.one_of(st.sampled_from(NASTY_CHARACTERS), random_text))
    at = draw(st.integers(0, len(text)))
    return text[:at] + junk + text[at:]


def decoded(encoding: str, errors: str):
    return st.binary(max_size=60).map(lambda raw: raw.decode(encoding, errors))


# Text that can reach the web app (percent-decoding never makes a lone surrogate).
web_texts = st.one_of(
    language_queries.map(lambda q: q.text),
    mangled_queries(),
    random_text,
    long_inputs,
    decoded("utf-8", "replace"),
    decoded("latin-1", "strict"),
)
# What a Python caller (the CLI's argv among them) may hand the engine: lone surrogates too.
any_texts = st.one_of(web_texts, decoded("utf-8", "surrogateescape"), decoded("utf-16", "ignore"))


# -- web parameter values -----------------------------------------------------------------
numbers = st.one_of(
    st.integers(-3, 120).map(str),
    st.sampled_from(
        [
            "-1",
            "-0",
            "+5",
            " 5",
            "1_000",
            "10000",
            "10001",
            "99",
            "100",
            "101",
            "1e3",
            "1.5",
            "0x10",
            "NaN",
            "inf",
            "-inf",
            "9" * 20,
            "-" + "9" * 20,
            "9" * 400,
            "٣",  # an Arabic-Indic digit: int() reads it
            "",
        ]
    ),
    st.integers().map(str),
)
real_days = st.dates(min_value=date(2025, 6, 1), max_value=date(2026, 3, 1))
# st.dates() rarely reaches the ends of the calendar on its own: name them.
EDGE_DAYS = (date.min, date.min + timedelta(days=6), date.max - timedelta(days=6), date.max)
days = st.one_of(real_days, st.dates(), st.sampled_from(EDGE_DAYS))
day_values = st.one_of(
    days.map(date.isoformat),
    st.builds(
        "{:04d}-{:02d}-{:02d}".format,
        st.integers(0, 10_000),
        st.integers(0, 13),
        st.integers(0, 32),
    ),
    st.sampled_from(["2025-02-30", "2024-02-29", "0000-01-01", "2025-1-1", "20250101", "today"]),
    days.map(lambda d: d.isoformat() + "T00:00:00"),
    days.map(lambda d: f" {d.isoformat()} "),
)
week_values = st.one_of(
    days.map(lambda d: "{:04d}-W{:02d}".format(*d.isocalendar()[:2])),
    st.builds("{:04d}-W{:02d}".format, st.integers(0, 10_000), st.integers(0, 55)),
    st.sampled_from(["2026-W53", "2020-W53", "2025-W1", "2025W01", "2025-w01"]),
)
month_values = st.one_of(
    days.map(lambda d: f"{d:%Y-%m}"),
    st.builds("{:04d}-{:02d}".format, st.integers(0, 10_000), st.integers(0, 13)),
    st.sampled_from(["2025-1", "202501", "2025-00"]),
)
junk_values = st.one_of(random_text, numbers, st.sampled_from(["", " ", "%00", "null", "[]"]))
modes = st.one_of(st.sampled_from(["hybrid", "lexical", "dense"]), junk_values)
sorts = st.one_of(st.sampled_from(["publishedAt", "trending"]), junk_values)
category_params = st.one_of(
    categories,
    st.lists(st.sampled_from(REAL_CATEGORIES), max_size=3).map(",".join),
    st.lists(st.sampled_from(REAL_CATEGORIES), max_size=3).map(" ".join),
    junk_values,
)


def mostly(valid, other):
    """Three times in four a valid value, else another: so that most requests get past
    parameter validation to the code behind it."""
    return st.one_of(valid, valid, valid, other)


def maybe(strategy):
    """The value, or leave the parameter out."""
    return st.one_of(st.none(), strategy)


def params(**values) -> st.SearchStrategy[dict]:
    """Query parameters, each given or left out; a list value repeats the parameter."""
    return st.fixed_dictionaries({}, optional=values)


# -- paper ids ----------------------------------------------------------------------------
def paper_ids(known: list[str]):
    """Ids in every spelling the endpoints accept, and many they must refuse."""
    known_ids = st.sampled_from(known)
    return st.one_of(
        known_ids,
        st.builds("{}v{}".format, known_ids, st.sampled_from(["1", "2", "0", "9" * 30])),
        st.builds("arXiv:{}".format, known_ids),
        st.builds("https://arxiv.org/abs/{}".format, known_ids),
        st.builds("{}.bib".format, known_ids),
        st.builds("{:04d}.{:05d}".format, st.integers(0, 9999), st.integers(0, 99999)),
        st.sampled_from(
            [
                "2401.04122",
                "2401.04122v2",
                "hep-th/9901001",
                "math.GT/0309136v2",
                "..",
                "../..",
                "../etc/passwd",
                "a/../b",
                "%2e%2e",
                "%00",
                "2401.04122%00",
                "\x00",
                "/",
                "//",
                "2401.04122/",
                "2401.04122//similar",
                "similar",
                ".bib",
                "x.bib",
                "2401.04122.bib.bib",
                "arXiv:",
                "https://arxiv.org/abs/",
                "٢٤٠١.٠٤١٢٢",  # Arabic-Indic digits: \d matches them
                "２４０１.０４１２２",  # fullwidth digits
                "2401.04122v",
                " 2401.04122 ",
                "x" * 70,
            ]
        ),
        st.text(min_size=1, max_size=30),
    )
