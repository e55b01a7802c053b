"""PaperRecord: one paper's metadata as a source delivers it, checked and normalised.

Every ingest source turns what it reads into PaperRecords with ``make_record``; the store
accepts nothing else. A record that cannot be trusted raises ``BadRecord`` with a reason a
person can read, so a source can skip it, count it and go on.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson

from paperscope.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperscope.errors import InvalidInput

# Limits well above anything arXiv accepts; a value past them is a broken record.
MAX_TITLE_CHARS = 1_000
MAX_ABSTRACT_CHARS = 20_000
MAX_AUTHORS = 5_000  # particle-physics collaborations list over 3,000 people
MAX_AUTHOR_CHARS = 300
MAX_COMMENT_CHARS = 5_000
MAX_CATEGORIES = 50

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"\s+")
_CATEGORY = re.compile(r"[a-z][a-z\-]*(?:\.[A-Za-z\-]+)?")
_DOI = re.compile(r"10\.\d{4,9}/\S+")


class BadRecord(InvalidInput, ValueError):
    """A source record that cannot be stored; the message says why."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PaperMetadata:
    """What a source says about a paper: arXiv's metadata, as a file, a harvest or a PUT
    body (web/api.py `PaperIn`) gives it, before `make_record` checks it."""

    title: str
    abstract: str
    authors: tuple[str, ...]
    categories: tuple[str, ...]
    primary_category: str | None = None
    version: int | None = None
    comment: str | None = None
    journal_ref: str | None = None
    doi: str | None = None
    published: datetime | None = None
    updated: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PaperRecord(PaperMetadata):
    """One paper, checked and normalised (`make_record`), as it is stored."""

    id: str
    code_links: tuple[str, ...] = field(default=())

    @property
    def content_hash(self) -> str:
        """A digest of everything stored, so unchanged re-ingests write nothing."""
        payload = orjson.dumps(
            [
                self.id,
                self.version,
                self.title,
                self.abstract,
                self.authors,
                self.categories,
                self.primary_category,
                self.comment,
                self.journal_ref,
                self.doi,
                self.published.isoformat() if self.published else None,
                self.updated.isoformat() if self.updated else None,
                self.code_links,
            ]
        )
        return hashlib.sha256(payload).hexdigest()[:32]


def clean_text(value: object, *, what: str, limit: int, single_line: bool = False) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRecord(f"{what} is {type(value).__name__}, expected text")
    if len(value) > limit * 4:  # far past the limit: do not even clean it
        raise BadRecord(f"{what} has {len(value):,} characters (limit {limit:,})")
    text = _CONTROL.sub("", value).replace("\r\n", "\n").replace("\r", "\n")
    text = _SPACES.sub(" ", text).strip() if single_line else text.strip()
    if len(text) > limit:
        raise BadRecord(f"{what} has {len(text):,} characters (limit {limit:,})")
    return text


# A URL split by arXiv's hard line breaks ends its line with '/' or '-'.
_BROKEN_URL = re.compile(r"((?:github|gitlab)\.com/\S*[/\-])\s*\n\s*(?=\S)")
_CODE_LINK = re.compile(
    r"(?:https?://)?(?:www\.)?(?P<host>github\.com|gitlab\.com)"
    r"/(?P<path>[A-Za-z0-9_.\-]+/[A-Za-z0-9_.\-]+(?:/[A-Za-z0-9_.\-~%/#?=&+]*)?)",
    re.IGNORECASE,
)
# The hosts alone: most texts have no link, and this finds that about 8 times faster than
# trying _CODE_LINK's optional scheme at every position (ingest spent a quarter of its time there).
_CODE_HOST = re.compile(r"git(?:hub|lab)\.com", re.IGNORECASE)
_NOT_REPO_OWNERS = {"features", "about", "pricing", "topics", "explore", "orgs", "marketplace"}


def find_code_links(*texts: str | None) -> tuple[str, ...]:
    """GitHub and GitLab URLs mentioned in the texts, normalised, deduplicated, in order."""
    links: dict[str, None] = {}
    for text in texts:
        if not text or not _CODE_HOST.search(text):
            continue
        for match in _CODE_LINK.finditer(_BROKEN_URL.sub(r"\1", text)):
            path = match.group("path").rstrip(".,;:)]}'\"/#?")
            owner, _, rest = path.partition("/")
            repo = rest.split("/", 1)[0]
            if not repo or owner.lower() in _NOT_REPO_OWNERS:
                continue
            if path.endswith(".git"):
                path = path[:-4]
            links[f"https://{match.group('host').lower()}/{path}"] = None
    return tuple(links)


def parse_time(value: object) -> datetime | None:
    """Parse the time formats arXiv sources use into naive UTC datetimes."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(" UTC"):
            text = text[:-4]
        elif text.endswith(" GMT"):
            return _parse_rfc2822(text)
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as error:
            raise BadRecord(f"unreadable date {value!r}") from error
    else:
        raise BadRecord(f"unreadable date {value!r}")
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    if not 1990 <= parsed.year <= 2200:
        raise BadRecord(f"implausible date {value!r}")
    return parsed


def _parse_rfc2822(text: str) -> datetime:
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(text).astimezone(UTC).replace(tzinfo=None)
    except (TypeError, ValueError) as error:
        raise BadRecord(f"unreadable date {text!r}") from error


def make_record(
    *,
    id: str,
    title: object,
    abstract: object,
    authors: object,
    categories: object,
    primary_category: object = None,
    version: int | None = None,
    comment: object = None,
    journal_ref: object = None,
    doi: object = None,
    published: object = None,
    updated: object = None,
) -> PaperRecord:
    """Check and normalise one paper; raise BadRecord with the reason if it is unusable."""
    try:
        parsed = parse_arxiv_id(id)
    except InvalidArxivId as error:
        raise BadRecord(str(error)) from error
    if version is None:
        version = parsed.version
    if version is not None and not 0 < version < 1000:
        raise BadRecord(f"implausible version v{version}")

    clean_title = clean_text(title, what="title", limit=MAX_TITLE_CHARS, single_line=True)
    if not clean_title:
        raise BadRecord("missing title")
    clean_abstract = clean_text(abstract, what="abstract", limit=MAX_ABSTRACT_CHARS)
    clean_comment = clean_text(comment, what="comment", limit=MAX_COMMENT_CHARS) or None

    if not isinstance(authors, list | tuple):
        raise BadRecord(f"authors is {type(authors).__name__}, expected a list")
    if len(authors) > MAX_AUTHORS:
        raise BadRecord(f"{len(authors):,} authors (limit {MAX_AUTHORS:,})")
    clean_authors = tuple(
        name
        for name in (
            clean_text(a, what="author name", limit=MAX_AUTHOR_CHARS, single_line=True)
            for a in authors
        )
        if name
    )

    if isinstance(categories, str):
        categories = categories.split()
    if not isinstance(categories, list | tuple):
        raise BadRecord(f"categories is {type(categories).__name__}, expected a list")
    if len(categories) > MAX_CATEGORIES:
        raise BadRecord(f"{len(categories)} categories (limit {MAX_CATEGORIES})")
    # Some listings mix MSC and ACM classes ("68T50", "I.2.7") into the categories;
    # they are not arXiv categories and are left out.
    clean_categories = tuple(
        dict.fromkeys(
            c.strip() for c in categories if isinstance(c, str) and _CATEGORY.fullmatch(c.strip())
        )
    )
    primary = primary_category.strip() if isinstance(primary_category, str) else None
    if primary is not None and not _CATEGORY.fullmatch(primary):
        primary = None
    if primary is None and clean_categories:
        primary = clean_categories[0]
    if primary is not None and primary not in clean_categories:
        clean_categories = (primary, *clean_categories)

    clean_doi = clean_text(doi, what="DOI", limit=500, single_line=True) or None
    if clean_doi:
        # Some records hold several DOIs separated by spaces; keep the first well-formed one.
        match = _DOI.search(clean_doi)
        clean_doi = match.group(0) if match else None

    return PaperRecord(
        id=parsed.base,
        version=version,
        title=clean_title,
        abstract=clean_abstract,
        authors=clean_authors,
        categories=clean_categories,
        primary_category=primary,
        comment=clean_comment,
        journal_ref=clean_text(journal_ref, what="journal-ref", limit=1_000, single_line=True)
        or None,
        doi=clean_doi,
        published=parse_time(published),
        updated=parse_time(updated),
        code_links=find_code_links(clean_abstract, clean_comment),
    )
