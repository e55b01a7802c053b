"""Follows in from an OPML file: another paperscope's `/me/following.opml`, or a feed
reader's list. Each outline whose address is one of paperscope's search or author feeds (or
pages) becomes a follow; the host is not compared, only the path (after the public URL's own
path), so a file from another paperscope works the same. Everything is read and checked
first, then followed; importing the same file again adds nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from paperscope.accounts import utcnow
from paperscope.authors import AuthorService, Moved
from paperscope.errors import InvalidInput, NotFound
from paperscope.following import (
    MAX_FOLLOWED_SEARCHES,
    FollowingService,
    SearchFields,
    search_fields,
)
from paperscope.following.opml import Outline, read_opml
from paperscope.store.accounts import Member

SEARCH = re.compile(r"/feeds/search\.(?:atom|rss|json)|/search")
AUTHOR = re.compile(r"/feeds/author/([^/]+)\.(?:atom|rss|json)|/authors/([^/]+)")
# Addresses of paperscope's that are not follows, and why each is not imported.
NOT_FOLLOWS = [
    (re.compile(r"/(?:feeds/collections|c)/[^/]+"), "a shared collection: open its link to save"),
    (re.compile(r"/(?:feeds/)?for-you(?:/.*)?"), "a For you feed: make your own on this page"),
]


@dataclass(frozen=True)
class Skipped:
    """An outline not imported, and why."""

    text: str
    url: str
    reason: str


@dataclass
class FollowImport:
    """What an import did: the searches and authors newly followed (by name), how many the
    member followed already, and the outlines not imported."""

    searches: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    already: int = 0
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def summary(self) -> str:
        """ "3 searches and 2 authors followed, 1 already followed, 4 outlines not imported"."""
        followed = [
            _count(n, one, many)
            for n, one, many in (
                (len(self.searches), "search", "searches"),
                (len(self.authors), "author", "authors"),
            )
            if n
        ]
        parts = [f"{' and '.join(followed)} followed" if followed else "Nothing new followed"]
        if self.already:
            parts.append(f"{self.already:,} already followed")
        if self.skipped:
            parts.append(f"{_count(len(self.skipped), 'outline', 'outlines')} not imported")
        return ", ".join(parts)


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def _local_path(url: str, prefix: str) -> tuple[str, str]:
    """The address's path inside paperscope (the public URL's own path taken off) and its
    query string."""
    parts = urlsplit(url)
    path = parts.path
    if prefix and (path == prefix or path.startswith(prefix + "/")):
        path = path[len(prefix) :]
    return path.rstrip("/") or "/", parts.query


@dataclass(frozen=True)
class _Wanted:
    outline: Outline
    search: SearchFields | None = None
    author: str | None = None  # a name as the address gives it


def _wanted(outline: Outline, prefix: str) -> _Wanted | Skipped:
    """What an outline asks to follow, from its feed's address, else its page's."""
    reason = "not a paperscope search or author"
    url = outline.xml_url or outline.html_url
    for address in (outline.xml_url, outline.html_url):
        if not address:
            continue
        path, query = _local_path(address, prefix)
        if SEARCH.fullmatch(path):
            fields = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
            search = (
                fields.get("q", ""),
                fields.get("category", ""),
                fields.get("from", ""),
                fields.get("until", ""),
                fields.get("mode", "") or "hybrid",
            )
            return _Wanted(outline, search=search)
        if match := AUTHOR.fullmatch(path):
            return _Wanted(outline, author=unquote(match[1] or match[2]))
        for pattern, why in NOT_FOLLOWS:
            if pattern.fullmatch(path) and reason.startswith("not a paperscope"):
                reason, url = why, address
    return Skipped(outline.text, url, reason)


def import_follows(
    following: FollowingService,
    authors: AuthorService,
    member: Member,
    data: bytes,
    public_url: str | None,
) -> FollowImport:
    """Follow the searches and authors an OPML file lists. A file that cannot be read
    safely (opml.read_opml) is refused whole, before anything is followed; an outline that
    cannot be followed is skipped with why."""
    prefix = urlsplit(public_url or "").path.rstrip("/")
    outlines = read_opml(data)
    done = FollowImport()
    have_searches = {search_fields(s) for s in following.searches(member)}
    have_authors = set(authors.followed_keys(member))
    searches: dict[SearchFields, str] = {}
    authors_: dict[str, str] = {}  # identity key -> name as shown
    for outline in outlines:
        wanted = _wanted(outline, prefix)
        if isinstance(wanted, Skipped):
            done.skipped.append(wanted)
            continue
        url = outline.xml_url or outline.html_url
        try:
            if wanted.search is not None:
                search = following.check_search(*wanted.search)
                if search in have_searches or search in searches:
                    done.already += search in have_searches
                    continue
                if len(have_searches) + len(searches) >= MAX_FOLLOWED_SEARCHES:
                    raise InvalidInput(
                        f"you would follow more than {MAX_FOLLOWED_SEARCHES} searches, the most "
                        "one can"
                    )
                searches[search] = search[0]
            elif wanted.author is not None:
                found = authors.find(wanted.author)
                author = found.author if isinstance(found, Moved) else found
                if author.key in have_authors or author.key in authors_:
                    done.already += author.key in have_authors
                    continue
                authors_[author.key] = author.name
        except (InvalidInput, NotFound) as error:
            done.skipped.append(Skipped(outline.text, url, str(error)))
    now = utcnow()
    for search, name in searches.items():
        following.store.following.follow(member.id, *search, now)
        done.searches.append(name)
    for key, name in authors_.items():
        authors.store.authors.follow(member.id, key, now)
        done.authors.append(name)
    return done
