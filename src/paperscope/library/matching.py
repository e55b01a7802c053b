"""Which stored paper a reference is: by its arXiv id, else its DOI, else its title.

Titles are compared as keys: LaTeX commands and braces dropped, accents folded, case and
punctuation ignored, so "Attention {Is} {All} {You} {Need}" is "attention is all you need".
Candidates come from the keyword index (the title's words); a stored paper matches when its
key is the same, and, when the reference has a year, the year fits the paper's life on arXiv
(a year before its first version, to two after its last: a journal version comes later).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from paperscope.library.entries import LibraryEntry, readable_title
from paperscope.store import StoredPaper

How = Literal["arxiv id", "doi", "title"]
_NOT_WORD = re.compile(r"[\W_]+")
_LETTERS = str.maketrans({"ı": "i", "ø": "o", "ł": "l", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe"})


def title_key(title: str) -> str:
    """A title as compared: its words, lower case, accents and LaTeX gone."""
    text = unicodedata.normalize("NFKD", readable_title(title))
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return " ".join(_NOT_WORD.sub(" ", text.translate(_LETTERS)).split())


def year_fits(year: int | None, paper: StoredPaper) -> bool:
    if year is None or paper.published is None:
        return True
    last = max(paper.published, paper.updated or paper.published)
    return paper.published.year - 1 <= year <= last.year + 2


class PaperLookup(Protocol):
    """Where matching finds stored papers (the store, and the keyword index for titles)."""

    def known(self, paper_ids: Sequence[str]) -> set[str]: ...

    def by_doi(self, dois: Sequence[str]) -> dict[str, str]:
        """Folded DOI -> paper id, for the DOIs some stored paper has."""
        ...

    def titled(self, words: str) -> list[StoredPaper]:
        """Stored papers whose titles have these words (a few, best first)."""
        ...


@dataclass(frozen=True)
class Match:
    entry: LibraryEntry
    paper_id: str | None  # None: not found
    how: How | None


def match_entries(entries: Sequence[LibraryEntry], lookup: PaperLookup) -> list[Match]:
    """Each reference with the stored paper it is, in the file's order."""
    known = lookup.known(sorted({e.arxiv_id for e in entries if e.arxiv_id}))
    by_doi = lookup.by_doi(sorted({e.doi for e in entries if e.doi}))
    found: list[Match] = []
    for entry in entries:
        if entry.arxiv_id in known:
            found.append(Match(entry, entry.arxiv_id, "arxiv id"))
        elif entry.doi and entry.doi in by_doi:
            found.append(Match(entry, by_doi[entry.doi], "doi"))
        elif paper_id := _by_title(entry, lookup):
            found.append(Match(entry, paper_id, "title"))
        else:
            found.append(Match(entry, None, None))
    return found


def _by_title(entry: LibraryEntry, lookup: PaperLookup) -> str | None:
    key = title_key(entry.title)
    if not key:
        return None
    same = [p for p in lookup.titled(key) if title_key(p.title) == key]
    fitting = [p for p in same if year_fits(entry.year, p)]
    if not fitting:
        return None
    if (year := entry.year) is not None:  # two papers of one title: the nearer year
        fitting.sort(key=lambda p: abs((p.published.year if p.published else year) - year))
    return fitting[0].id
