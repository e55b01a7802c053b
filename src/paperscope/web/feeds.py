"""Papers out as RSS 2.0, Atom and JSON Feed 1.1 feeds and as BibTeX, the way arXiv exports
them."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Literal

import orjson
from feedgen.feed import FeedGenerator
from pydantic import BaseModel

from paperscope.store import StoredPaper
from paperscope.text import display_abstract, display_title, drop_unencodable

# Feed time when no paper carries one: fixed, so an unchanged feed stays byte-identical.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FeedKind = Literal["rss", "atom", "json"]
FEED_KINDS: tuple[FeedKind, ...] = ("rss", "atom", "json")
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"


# -- feeds -----------------------------------------------------------------------------


def _utc(moment: datetime | None) -> datetime | None:
    """Store times are naive UTC; feeds need them aware."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _paper_time(paper: StoredPaper) -> datetime | None:
    return _utc(paper.updated) or _utc(paper.published)


def _clean(text: str) -> str:
    return " ".join(drop_unencodable(text).split())


def feed_updated(papers: Iterable[StoredPaper]) -> datetime:
    """When a feed of these papers last changed: its newest paper's time (EPOCH for none)."""
    times = [moment for moment in map(_paper_time, papers) if moment is not None]
    return max(times, default=EPOCH)


# JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/), the fields paperscope fills.
class JsonFeedAuthor(BaseModel):
    name: str


class JsonFeedItem(BaseModel):
    id: str
    url: str
    external_url: str | None = None
    title: str
    content_text: str
    date_published: str | None = None
    date_modified: str | None = None
    authors: list[JsonFeedAuthor] | None = None
    tags: list[str] | None = None


class JsonFeed(BaseModel):
    version: str = JSON_FEED_VERSION
    title: str
    home_page_url: str
    feed_url: str
    description: str | None = None
    items: list[JsonFeedItem]


def feed(
    papers: Iterable[StoredPaper],
    *,
    title: str,
    link: str,
    feed_url: str,
    description: str,
    kind: FeedKind,
    paper_url: Callable[[str], str],
    note: Callable[[str], str | None] | None = None,
) -> bytes:
    """An RSS 2.0, Atom or JSON Feed 1.1 document (UTF-8 bytes) with one entry per paper, in
    order.

    `link` is the HTML page the feed mirrors, `feed_url` the feed's own absolute URL
    (the Atom id), `paper_url(paper_id)` the absolute URL of a paper's page, used as
    entry id/guid and link. Titles and abstracts are plain text (display_title,
    display_abstract); authors are Atom <author><name> and, since RSS <author> must be an
    email address, Dublin Core <dc:creator> in RSS. An entry's updated time is the
    paper's updated time, else its published time, else EPOCH; the feed's is the newest
    of those. `note(paper_id)`, if given, is a last paragraph of the entry's summary
    (upvotes and comments, say). JSON Feed items carry the same: `content_text` is the
    summary, `tags` the categories, `external_url` the paper on arXiv.
    """
    if kind not in FEED_KINDS:
        raise ValueError(f"feed kind must be 'rss', 'atom' or 'json', not {kind!r}")
    papers = list(papers)
    if kind == "json":
        return _json_feed(papers, title, link, feed_url, description, paper_url, note)
    generator = FeedGenerator()
    generator.load_extension("dc", atom=False, rss=True)
    generator.id(feed_url)
    generator.title(_clean(title) or feed_url)
    generator.description(_clean(description) or _clean(title) or feed_url)
    # RSS takes its single <link> from the last link added: the page, not the feed.
    generator.link(href=feed_url, rel="self")
    generator.link(href=link, rel="alternate")
    generator.updated(feed_updated(papers))

    for paper in papers:
        url = paper_url(paper.id)
        entry = generator.add_entry(order="append")
        entry.guid(url, permalink=True)
        entry.title(_clean(display_title(paper.title)) or paper.id)
        entry.link(href=url, rel="alternate")
        summary = _summary(paper, note)
        if summary:
            entry.summary(summary)
        authors = [name for name in map(_clean, paper.authors) if name]
        for name in authors:
            entry.author(name=name)
        if authors:
            entry.dc.dc_creator(authors)
        for category in paper.categories:
            if term := _clean(category):
                entry.category(term=term)
        entry.updated(_paper_time(paper) or EPOCH)
        published = _utc(paper.published) or _utc(paper.updated)
        if published is not None:
            entry.published(published)

    if kind == "rss":
        return generator.rss_str(pretty=True)
    return generator.atom_str(pretty=True)


def _summary(paper: StoredPaper, note: Callable[[str], str | None] | None) -> str:
    summary = display_abstract(paper.abstract)
    if extra := (note(paper.id) if note else None):
        summary = f"{summary}\n\n{extra}" if summary else extra
    return summary


def _json_feed(
    papers: list[StoredPaper],
    title: str,
    link: str,
    feed_url: str,
    description: str,
    paper_url: Callable[[str], str],
    note: Callable[[str], str | None] | None,
) -> bytes:
    items = []
    for paper in papers:
        url = paper_url(paper.id)
        published = _utc(paper.published) or _utc(paper.updated)
        authors = [JsonFeedAuthor(name=name) for name in map(_clean, paper.authors) if name]
        tags = [term for term in map(_clean, paper.categories) if term]
        items.append(
            JsonFeedItem(
                id=url,
                url=url,
                external_url=paper.arxiv_url,
                title=_clean(display_title(paper.title)) or paper.id,
                content_text=drop_unencodable(_summary(paper, note)),
                date_published=published.isoformat() if published else None,
                date_modified=(_paper_time(paper) or EPOCH).isoformat(),
                authors=authors or None,
                tags=tags or None,
            )
        )
    document = JsonFeed(
        title=_clean(title) or feed_url,
        home_page_url=link,
        feed_url=feed_url,
        description=_clean(description) or None,
        items=items,
    )
    return orjson.dumps(document.model_dump(exclude_none=True))


# -- BibTeX ----------------------------------------------------------------------------

_NAME_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"}
_TITLE_STOP_WORDS = frozenset({
    "a", "an", "the", "on", "of", "in", "for", "to", "and", "or", "with", "without", "via",
    "from", "by", "at", "as", "is", "are", "be", "do", "does", "how", "what", "why", "when",
    "where", "which", "who", "we", "our", "your", "its", "this", "that", "these", "those",
    "towards", "toward", "into", "onto", "over", "under", "can", "not", "no",
})  # fmt: skip
# Letters NFKD does not split into an ASCII base plus accent.
_ASCII_LETTERS = str.maketrans(
    {"ß": "ss", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "æ": "ae", "Æ": "AE", "œ": "oe",
     "Œ": "OE", "đ": "d", "Đ": "D", "ð": "d", "þ": "th", "ı": "i"}
)  # fmt: skip
_NEW_ID_YEAR = re.compile(r"(\d{2})\d{2}\.\d{4,5}")
_OLD_ID_YEAR = re.compile(r"[^/]+/(\d{2})\d{5}")
# One BibTeX token: an escape or command, a trailing lone backslash, or one character.
_BIBTEX_TOKEN = re.compile(r"\\(?:[A-Za-z]+|.)|\\|.", re.DOTALL)
_AND = re.compile(r"\sand\s", re.IGNORECASE)


def _ascii_words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text.translate(_ASCII_LETTERS))
    ascii_text = folded.encode("ascii", "ignore").decode().lower()
    return re.findall(r"[a-z0-9]+", ascii_text)


def _surname(name: str) -> str:
    """The key's surname: vaswani for "Ashish Vaswani" or "Vaswani, Ashish"; "Jr." skipped."""
    name = name.split(",")[0] if "," in name else name
    words = [word for word in name.split() if word.lower() not in _NAME_SUFFIXES]
    return "".join(_ascii_words(words[-1])) if words else ""


def _year(paper: StoredPaper) -> str:
    moment = paper.published or paper.updated
    if moment is not None:
        return str(moment.year)
    if match := _NEW_ID_YEAR.fullmatch(paper.id):
        return f"20{match[1]}"
    if match := _OLD_ID_YEAR.fullmatch(paper.id):
        return f"{'19' if int(match[1]) >= 91 else '20'}{match[1]}"
    return ""


def bibtex_key(paper: StoredPaper) -> str:
    """surname + year + first significant title word, lowercase ASCII:
    vaswani2017attention. Not unique across papers; bibtex_list makes it so."""
    surname = next((s for s in map(_surname, paper.authors) if s), "anon")
    words = _ascii_words(display_title(paper.title))
    word = next((w for w in words if w not in _TITLE_STOP_WORDS and not w.isdigit()), "")
    return f"{surname}{_year(paper)}{word}"


def _balanced(tokens: Sequence[str]) -> bool:
    depth = 0
    for token in tokens:
        depth += (token == "{") - (token == "}")
        if depth < 0:
            return False
    return depth == 0


def bibtex_escape(text: str) -> str:
    """Make text safe inside a BibTeX {...} value without mangling LaTeX already in it.

    `& % #` are escaped unless already escaped; `_` and `^` too, but only outside `$...$`
    math (when the unescaped `$` pair up; a lone `$` is escaped instead). Commands and
    escapes pass through. Unbalanced braces are all escaped so the value's own braces hold;
    a trailing lone backslash becomes \\textbackslash{}. Whitespace collapses to one space.
    """
    tokens = _BIBTEX_TOKEN.findall(" ".join(drop_unencodable(text).split()))
    dollars_pair = tokens.count("$") % 2 == 0
    braces_ok = _balanced(tokens)
    out = []
    in_math = False
    for token in tokens:
        if token == "\\":
            out.append("\\textbackslash{}")
        elif token == "$":
            if dollars_pair:
                in_math = not in_math
                out.append(token)
            else:
                out.append("\\$")
        elif token in ("&", "%", "#"):
            out.append("\\" + token)
        elif token == "_" and not in_math:
            out.append("\\_")
        elif token == "^" and not in_math:
            out.append("\\^{}")
        elif token in ("{", "}") and not braces_ok:
            out.append("\\" + token)
        else:
            out.append(token)
    return "".join(out)


def _verbatim(text: str) -> str:
    """URL-like fields (doi): no escaping, which biblatex reads verbatim, but nothing that
    could close the value early."""
    return "".join(drop_unencodable(text).split()).replace("{", "").replace("}", "")


def _author_field(names: Sequence[str]) -> str:
    parts = []
    for name in names:
        escaped = bibtex_escape(name)
        if not escaped:
            continue
        # A name with "and" in it (a collaboration) must not split into two authors.
        parts.append(f"{{{escaped}}}" if _AND.search(escaped) else escaped)
    return " and ".join(parts)


def bibtex(paper: StoredPaper, *, key: str | None = None) -> str:
    """One BibTeX entry, like arXiv's export: @misc, or @article with journal = {...}
    when the paper has a journal reference. `key` defaults to bibtex_key(paper)."""
    fields: list[tuple[str, str]] = [("title", f"{{{bibtex_escape(paper.title)}}}")]
    if authors := _author_field(paper.authors):
        fields.append(("author", authors))
    if paper.journal_ref and (journal := bibtex_escape(paper.journal_ref)):
        fields.append(("journal", journal))
    if year := _year(paper):
        fields.append(("year", year))
    fields += [("eprint", _verbatim(paper.id)), ("archivePrefix", "arXiv")]
    primary = paper.primary_category or (paper.categories[0] if paper.categories else None)
    if primary and (primary := _verbatim(primary)):
        fields.append(("primaryClass", primary))
    fields.append(("url", f"https://arxiv.org/abs/{_verbatim(paper.id)}"))
    if paper.doi and (doi := _verbatim(paper.doi)):
        fields.append(("doi", doi))
    entry_type = "article" if paper.journal_ref and paper.journal_ref.strip() else "misc"
    lines = [f"@{entry_type}{{{key or bibtex_key(paper)},"]
    lines += [f"  {name} = {{{value}}}," for name, value in fields]
    lines.append("}")
    return "\n".join(lines)


def _suffix(number: int) -> str:
    """1 -> a, 26 -> z, 27 -> aa: the letters that tell clashing keys apart."""
    letters = ""
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("a") + remainder) + letters
    return letters


def bibtex_list(papers: Iterable[StoredPaper]) -> str:
    """Entries separated by a blank line, keys unique: the first paper keeps its key, the
    next ones with the same key get a, b, c ... appended."""
    used: set[str] = set()
    entries = []
    for paper in papers:
        base = key = bibtex_key(paper)
        clash = 0
        while key in used:
            clash += 1
            key = base + _suffix(clash)
        used.add(key)
        entries.append(bibtex(paper, key=key))
    return "\n\n".join(entries)
