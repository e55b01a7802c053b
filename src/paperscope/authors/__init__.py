"""Authors as people see them: a page per name, following an author, curators telling apart
the people behind one name (a split) or making two names one (a merge), and members
claiming their own papers. Entry point: ``AuthorService``; the rules are checked here, the
web pages, the API and the CLI only translate. The mapping itself is in store/authors.py.

A name is honestly only a name: "Wei Zhang" on two papers may be two people. A page shows
every paper under the name (spelled alike, ignoring case and accents) until a curator says
otherwise, and says so.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from paperscope.errors import Forbidden, InvalidInput, NotFound
from paperscope.records import MAX_AUTHOR_CHARS
from paperscope.store import Store, StoredPaper, author_key
from paperscope.store.accounts import Member
from paperscope.store.authors import SPLIT_MARK, Claim

__all__ = ["Author", "AuthorPage", "AuthorService", "BadAuthorName", "Claim", "author_url"]

MAX_NAME_CHARS = MAX_AUTHOR_CHARS + 20  # a stored name, or a split identity's key
MAX_LABEL_CHARS = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class BadAuthorName(InvalidInput):
    """Not something an author could be called; the message says why."""


def author_url(name: str) -> str:
    """The author page of a name (or a split identity's key) as written."""
    return "/authors/" + quote(name, safe="")


@dataclass(frozen=True)
class Author:
    key: str  # the identity: a folded name, or a split one ("wei zhang#2")
    name: str  # as shown: the name's most usual spelling, or "Wei Zhang (2)"
    label: str = ""  # what tells a split identity apart ("Tsinghua")

    @property
    def url(self) -> str:
        return author_url(self.key if SPLIT_MARK in self.key else self.name)

    def feed_url(self, kind: str) -> str:
        """Its feed: "atom", "rss" or "json"."""
        return "/feeds/author/" + self.url.removeprefix("/authors/") + "." + kind

    @property
    def split(self) -> bool:
        return SPLIT_MARK in self.key


@dataclass(frozen=True)
class Moved:
    """The name was merged into another author: their page is the one."""

    author: Author


@dataclass(frozen=True)
class AuthorPage:
    author: Author
    papers: list[StoredPaper]  # this page of them, newest first
    total: int
    page: int
    limit: int
    coauthors: list[tuple[Author, int]]  # most frequent first, with papers together
    namesakes: list[Author]  # other identities under the same name (splits, or its base)
    merged: list[str]  # other names whose papers are this author's
    followers: int
    claims: list[Claim]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.limit))


@dataclass(frozen=True)
class PaperAuthor:
    """One author of a paper, as its page links it."""

    name: str  # as written on the paper
    author: Author
    claimed_by: list[Claim]


class AuthorService:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- finding an author --------------------------------------------------------------
    @staticmethod
    def check_name(name: str) -> str:
        """The identity key a name (as given in a URL or a form) stands for; BadAuthorName
        when it cannot be one."""
        if len(name) > MAX_NAME_CHARS:
            raise BadAuthorName(
                f"an author's name has at most {MAX_NAME_CHARS} characters; "
                f"this one has {len(name):,}"
            )
        if _CONTROL.search(name):
            raise BadAuthorName("an author's name has no control characters")
        key = author_key(name)
        if not key:
            raise BadAuthorName("give an author's name")
        return key

    def find(self, name: str) -> Author | Moved:
        """The author a name stands for; Moved when a curator merged it into another;
        NotFound when no stored paper has it."""
        key = self.check_name(name)
        if SPLIT_MARK in key:
            split = self.store.authors.split_identity(key)
            if split is not None:
                return Author(split.key, split.name, split.label)
        alias = self.store.authors.alias_of(key)
        if alias is not None:
            return Moved(self.author(alias))
        found = self.describe([key]).get(key)
        if found is None:
            if splits := self.store.authors.splits_of(key):
                told = ", ".join(f"{s.name} ({s.label})" for s in splits[:10])
                raise NotFound(f"a curator told apart the people named {name[:100]!r}: see {told}")
            raise NotFound(f"no paper here has an author named {name[:100]!r}")
        return found

    def author(self, name: str) -> Author:
        """The author a name stands for, following a merge."""
        found = self.find(name)
        return found.author if isinstance(found, Moved) else found

    def describe(self, keys: Sequence[str]) -> dict[str, Author]:
        """The identities as shown (those with any paper or a split identity)."""
        splits = self.store.authors.split_identities([k for k in keys if SPLIT_MARK in k])
        found = {key: Author(s.key, s.name, s.label) for key, s in splits.items()}
        for key in keys:
            if key in found:
                continue
            names = [row.name for row in self.store.authors.rows(key)]
            # The name's own spellings before those of names merged into it.
            own = [name for name in names if author_key(name) == key]
            if names:
                found[key] = Author(key, Counter(own or names).most_common(1)[0][0])
        return found

    def page(self, author: Author, page: int = 0, limit: int = 30) -> AuthorPage:
        ids = self.store.authors.papers_of(author.key)
        shown = ids[page * limit : (page + 1) * limit]
        rows = self.store.authors.rows(author.key)
        base = author.key.split(SPLIT_MARK, 1)[0]
        namesakes = [
            Author(s.key, s.name, s.label)
            for s in self.store.authors.splits_of(base)
            if s.key != author.key
        ]
        if author.split:
            namesakes = [*self.describe([base]).values(), *namesakes]
        coauthors = self.store.authors.coauthors(author.key)
        splits = self.store.authors.split_identities([k for k, _, _ in coauthors])
        claims = self.store.authors.claims_on(shown)
        return AuthorPage(
            author=author,
            papers=self.store.papers.get_many(shown),
            total=len(ids),
            page=page,
            limit=limit,
            coauthors=[
                (
                    Author(key, splits[key].name, splits[key].label)
                    if key in splits
                    else Author(key, spelling),
                    n,
                )
                for key, spelling, n in coauthors
            ],
            namesakes=namesakes,
            merged=sorted(
                {r.name for r in rows if author_key(r.name) not in (author.key, base)}
                - {author.name}
            ),
            followers=self.store.authors.followers(author.key),
            claims=[c for c in claims if c.identity == author.key],
        )

    def all_papers(self, author: Author, limit: int) -> list[StoredPaper]:
        """The author's newest papers (a feed)."""
        return self.store.papers.get_many(self.store.authors.papers_of(author.key)[:limit])

    def of_paper(self, paper_id: str) -> list[PaperAuthor]:
        """A paper's authors in order, each with the author page it links to and who
        claimed to be them."""
        rows = self.store.authors.at_papers([paper_id])[paper_id]
        splits = self.store.authors.split_identities([r.identity for r in rows])
        claims = self.store.authors.claims_on([paper_id])
        shown = []
        for row in rows:
            if row.identity in splits:
                split = splits[row.identity]
                author = Author(split.key, split.name, split.label)
            elif row.identity == author_key(row.name):
                author = Author(row.identity, row.name)
            else:  # merged into another name: that name's page
                author = self.describe([row.identity]).get(row.identity) or Author(
                    row.identity, row.name
                )
            shown.append(
                PaperAuthor(row.name, author, [c for c in claims if c.identity == row.identity])
            )
        return shown

    # -- following ----------------------------------------------------------------------
    def follow(self, member: Member, name: str, following: bool = True) -> Author:
        author = self.author(name)
        if following:
            self.store.authors.follow(member.id, author.key, utcnow())
        else:
            self.store.authors.unfollow(member.id, author.key)
        return author

    def followed(self, member: Member) -> list[Author]:
        """The authors the member follows, the latest followed first."""
        keys = self.store.authors.followed(member.id)
        found = self.describe(keys)
        return [found.get(key) or Author(key, key) for key in keys]

    def follows(self, member: Member | None, author: Author) -> bool:
        return author.key in self.followed_keys(member)

    def followed_keys(self, member: Member | None) -> list[str]:
        return [] if member is None else self.store.authors.followed(member.id)

    # -- curating -----------------------------------------------------------------------
    def split(self, by: Member | None, name: str, paper_ids: Sequence[str], label: str) -> Author:
        """Give these papers of a name an identity of their own, told apart by `label`
        (an affiliation, a field): "Wei Zhang (2)". `by`: a curator, or None for the
        command line (whoever runs it runs the server)."""
        _curator(by)
        author = self.author(name)
        label = " ".join(label.split())
        if not label or len(label) > MAX_LABEL_CHARS or _CONTROL.search(label):
            raise InvalidInput(
                f"say in 1 to {MAX_LABEL_CHARS} characters what tells this person apart "
                "(an affiliation, a field)"
            )
        wanted = set(paper_ids)
        rows = [r for r in self.store.authors.rows(author.key) if r.paper_id in wanted]
        if missing := sorted(wanted - {r.paper_id for r in rows}):
            raise _not_theirs(author, missing)
        if not rows:
            raise InvalidInput("name the papers that belong to the other person")
        base = author.key.split(SPLIT_MARK, 1)[0]
        shown = self.describe([base]).get(base)
        key = self.store.authors.split(
            base,
            (shown or author).name,
            label,
            [(r.paper_id, r.position) for r in rows],
            utcnow(),
        )
        return self.author(key)

    def merge(self, by: Member | None, name: str, into: str) -> Author:
        """Make the author `name` part of `into` ("J. Smith" into "John Smith"); `by` as
        for `split`."""
        _curator(by)
        source = self.author(name)
        try:
            target = self.author(into)
        except NotFound:
            # A split merged back into the name it came from, which has no paper left.
            if not (source.split and author_key(into) == source.key.split(SPLIT_MARK, 1)[0]):
                raise
            target = Author(author_key(into), into)
        if source.key == target.key:
            raise InvalidInput(f"{source.name} and {target.name} are one author already")
        self.store.authors.merge(source.key, target.key, utcnow())
        return self.author(target.key)

    # -- claims -------------------------------------------------------------------------
    def claim(self, member: Member, name: str, paper_ids: Sequence[str]) -> int:
        """The member says they are this author of these papers; how many claims are new."""
        author = self.author(name)
        mine = {r.paper_id for r in self.store.authors.rows(author.key)}
        if missing := sorted(set(paper_ids) - mine):
            raise _not_theirs(author, missing)
        if not paper_ids:
            raise InvalidInput("pick the papers that are yours")
        return self.store.authors.claim(member.id, author.key, paper_ids, utcnow())

    def unclaim(self, member: Member, paper_id: str, of: str | None = None) -> None:
        """Take back a claim: one's own, or (a curator) anyone's, by their handle `of`."""
        user_id = member.id
        if of is not None and of != member.name:
            if not member.is_curator:
                raise Forbidden("only curators can remove another member's claim")
            claimant = self.store.accounts.by_name(of)
            if claimant is None:
                raise NotFound(f"no member @{of[:40]}")
            user_id = claimant.id
        if not self.store.authors.unclaim(user_id, paper_id):
            raise NotFound(f"no such claim on {paper_id[:40]}")

    def claims_of(self, member: Member) -> list[tuple[Claim, StoredPaper, Author]]:
        claims = self.store.authors.claims_of(member.id)
        papers = {p.id: p for p in self.store.papers.get_many([c.paper_id for c in claims])}
        authors = self.describe([c.identity for c in claims])
        return [
            (c, papers[c.paper_id], authors.get(c.identity) or Author(c.identity, c.identity))
            for c in claims
            if c.paper_id in papers
        ]

    def member(self, handle: str) -> Member:
        """A member by their public handle; NotFound otherwise."""
        found = self.store.accounts.by_name(handle) if len(handle) <= 40 else None
        if found is None:
            raise NotFound(f"no member @{handle[:40]}")
        return found


def _not_theirs(author: Author, paper_ids: Sequence[str]) -> InvalidInput:
    listed = ", ".join(paper_id[:40] for paper_id in paper_ids[:5])
    return InvalidInput(f"not papers of {author.name} here: {listed}")


def _curator(member: Member | None) -> None:
    if member is not None and not member.is_curator:
        raise Forbidden("only curators can tell authors apart or merge them")
