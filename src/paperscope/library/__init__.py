"""A member's own library in and out: a BibTeX, RIS or CSL-JSON file (what Zotero,
Mendeley, JabRef export) imported into a collection, each reference matched to a stored
paper; and any collection exported in those formats. Entry point: ``Library``.

    formats.py    bytes in: which format (by name or by content), decoded, read whole or refused
    bibtex.py     BibTeX / BibLaTeX (bibtexparser)
    ris.py        RIS (rispy), read and written
    csl_json.py   CSL-JSON (checked with pydantic), read and written
    entries.py    one reference: its arXiv id, DOI, title and year, wherever the format keeps them
    matching.py   reference -> stored paper: arXiv id, then DOI, then the title

An import is checked whole before anything is written (a file that does not read, is too
large or holds too many references changes nothing), then its papers go into the collection
in one transaction; importing a file again adds nothing new. A reference whose paper is not
stored here is reported, never fetched from arXiv inside the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from paperscope.community import Community, StoredCollection
from paperscope.errors import NotFound, PaperscopeError, TooLarge
from paperscope.library.entries import LibraryEntry, TooManyEntries, UnreadableLibrary
from paperscope.library.formats import FORMATS, Format, format_named, read_library
from paperscope.library.matching import How, Match, match_entries, title_key
from paperscope.search.engine import SearchEngine
from paperscope.settings import Settings
from paperscope.store import Store, StoredPaper
from paperscope.store.accounts import Member

__all__ = [
    "FORMATS",
    "Format",
    "ImportReport",
    "Library",
    "LibraryEntry",
    "Match",
    "TooManyEntries",
    "UnreadableLibrary",
    "format_named",
    "read_library",
    "title_key",
]

# Words of a title searched for its candidates (the query language takes 64 clauses).
_TITLE_WORDS = 40
_TITLE_CANDIDATES = 10


@dataclass(frozen=True)
class ImportReport:
    collection: StoredCollection
    format: Format
    matches: list[Match]
    added: int  # papers new to the collection (0 when the file was imported before)
    notices: tuple[str, ...] = ()

    @property
    def matched(self) -> list[Match]:
        return [m for m in self.matches if m.paper_id is not None]

    @property
    def not_found(self) -> list[Match]:
        return [m for m in self.matches if m.paper_id is None]

    def count(self, how: How) -> int:
        return sum(1 for m in self.matches if m.how == how)

    @property
    def summary(self) -> str:
        """'5 matched (3 by arXiv id, 1 by DOI, 1 by title), 2 not found; 4 added'"""
        labels: tuple[tuple[How, str], ...] = (
            ("arxiv id", "arXiv id"),
            ("doi", "DOI"),
            ("title", "title"),
        )
        parts = [f"{self.count(how)} by {label}" for how, label in labels]
        return (
            f"{len(self.matched)} matched ({', '.join(parts)}), {len(self.not_found)} not "
            f"found; {self.added} added to “{self.collection.name}”"
        )


class _StoredPapers:
    """Matching's view of this paperscope: the store, and the keyword index for titles."""

    def __init__(self, store: Store, search: SearchEngine) -> None:
        self.store = store
        self.search = search
        self.notices: list[str] = []

    def known(self, paper_ids: Sequence[str]) -> set[str]:
        return {paper.id for paper in self.store.papers.get_many(paper_ids)}

    def by_doi(self, dois: Sequence[str]) -> dict[str, str]:
        return self.store.papers.ids_by_doi(dois)

    def titled(self, words: str) -> list[StoredPaper]:
        query = " ".join(f"ti:{word}" for word in words.split()[:_TITLE_WORDS])
        try:
            found = self.search.search(query, mode="lexical", limit=_TITLE_CANDIDATES)
        except PaperscopeError as error:  # no keyword index yet: ids and DOIs still match
            if not self.notices:
                self.notices.append(f"titles were not matched: {error.message}")
            return []
        return [hit.paper for hit in found.hits]


class Library:
    def __init__(
        self, settings: Settings, store: Store, search: SearchEngine, community: Community
    ) -> None:
        self.settings = settings
        self.store = store
        self.search = search
        self.community = community

    def match(self, entries: Sequence[LibraryEntry]) -> tuple[list[Match], list[str]]:
        """Each reference with its stored paper (or none), and notices about how it went."""
        lookup = _StoredPapers(self.store, self.search)
        return match_entries(entries, lookup), lookup.notices

    def import_file(
        self,
        member: Member,
        data: bytes,
        fmt: str | None = None,
        *,
        collection_id: int | None = None,
        new_collection: str | None = None,
    ) -> ImportReport:
        """Read a library file (format `fmt`, or told by its content), match its references
        and put the papers found into the member's collection `collection_id`, or a new one
        named `new_collection`. Everything is checked before anything is written."""
        if (collection_id is None) == (new_collection is None):
            raise UnreadableLibrary("import into one collection: an existing one or a new name")
        if len(data) > self.settings.library_import_max_bytes:
            raise TooLarge(
                f"the file has {len(data):,} bytes; an import takes at most "
                f"{self.settings.library_import_max_bytes:,}"
            )
        target = (
            self.community.collection(member, collection_id) if collection_id is not None else None
        )
        chosen, entries = read_library(data, fmt, self.settings.library_import_max_entries)
        matches, notices = self.match(entries)
        paper_ids = [m.paper_id for m in matches if m.paper_id is not None]
        if target is None:
            assert new_collection is not None
            made = self.community.create_collection(member, new_collection, paper_ids)
            added = len(set(paper_ids))
        else:
            added = self.community.collect_all(member, target.id, paper_ids)
            made = target
        # As the member's list of collections shows it: with its size after the import.
        collection = next(c for c in self.community.collections_of(member) if c.id == made.id)
        return ImportReport(collection, chosen, matches, added, tuple(notices))

    def import_named(
        self, email: str, data: bytes, fmt: str | None, collection: str
    ) -> ImportReport:
        """`paperscope collections import`: into the member's collection of that name,
        made if they have none."""
        member = self.store.accounts.by_email(email)
        if member is None:
            raise NotFound(f"no member {email}: add them with `paperscope users add {email}`")
        name = " ".join(collection.split())
        existing = next((c for c in self.community.collections_of(member) if c.name == name), None)
        if existing is not None:
            return self.import_file(member, data, fmt, collection_id=existing.id)
        return self.import_file(member, data, fmt, new_collection=name)
