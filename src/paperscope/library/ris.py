"""RIS (Zotero, Mendeley, EndNote, publishers' "cite" buttons), read and written with
rispy. A record runs from its TY line to its ER line; rispy drops a record without both, so
a file whose records are not all read is refused instead."""

from __future__ import annotations

import re
from collections.abc import Iterable

import rispy

from paperscope.library.entries import (
    LibraryEntry,
    UnreadableLibrary,
    entry,
    too_many,
    year_of,
)
from paperscope.store import StoredPaper
from paperscope.text import display_abstract, display_title

_START = re.compile(r"^TY  - ", re.M)
_END = re.compile(r"^ER  -", re.M)


def count(text: str) -> int:
    return len(_START.findall(text))


def read(text: str, max_entries: int) -> list[LibraryEntry]:
    starts, ends = count(text), len(_END.findall(text))
    too_many(starts, max_entries)
    if not starts or not ends:
        raise UnreadableLibrary(
            "not a RIS file: each record starts with a 'TY  - ' line and ends with 'ER  - '"
        )
    try:
        records = rispy.loads(text)
    except Exception as error:  # rispy raises plain errors on odd lines
        raise UnreadableLibrary(f"this RIS file cannot be read: {error}") from None
    if len(records) < starts or starts != ends:
        raise UnreadableLibrary(
            f"this RIS file is malformed: {starts} records start (TY) and {ends} end (ER), "
            f"{len(records)} could be read; each record needs both lines"
        )
    return [_entry(position, record) for position, record in enumerate(records, 1)]


def _texts(record: dict, *names: str) -> list[str]:
    found: list[str] = []
    for name in names:
        value = record.get(name)
        if isinstance(value, list):
            found += [str(v) for v in value]
        elif value:
            found.append(str(value))
    return found


def _entry(position: int, record: dict) -> LibraryEntry:
    title = record.get("title") or record.get("primary_title") or record.get("translated_title")
    return entry(
        position,
        record.get("id"),
        title,
        year_of(record.get("year"), record.get("date"), record.get("publication_year")),
        doi=record.get("doi"),
        texts=_texts(
            record,
            "urls",
            "url",
            "notes",
            "note",
            "number",
            "journal_name",
            "secondary_title",
            "publisher",
        ),
    )


def write(papers: Iterable[StoredPaper]) -> str:
    """The papers as RIS records: preprints (GEN), or journal articles (JOUR) where the
    paper names its journal; each with its arXiv URL, so importing it finds it again."""
    records = []
    for paper in papers:
        record: dict = {
            "type_of_reference": "JOUR" if (paper.journal_ref or "").strip() else "GEN",
            "id": paper.id,
            "title": display_title(paper.title),
            "authors": list(paper.authors),
            "abstract": display_abstract(paper.abstract),
            "urls": [paper.arxiv_url],
            "notes": [f"arXiv:{paper.id}"],
            "publisher": "arXiv",
        }
        if paper.published:
            record["year"] = str(paper.published.year)
            record["date"] = f"{paper.published:%Y/%m/%d}/"
        if paper.doi:
            record["doi"] = paper.doi
        if paper.journal_ref and paper.journal_ref.strip():
            record["journal_name"] = " ".join(paper.journal_ref.split())
        records.append(record)
    return rispy.dumps(records)
