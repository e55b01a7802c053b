"""BibTeX and BibLaTeX (Zotero, JabRef, Google Scholar, arXiv), read with bibtexparser.

bibtexparser skips what it cannot parse without a word; a file whose entries are not all
read is refused instead, naming the first entry lost, so nothing is imported from half a
file.
"""

from __future__ import annotations

import re

import bibtexparser
from bibtexparser.bparser import BibTexParser

from paperscope.library.entries import (
    LibraryEntry,
    UnreadableLibrary,
    entry,
    too_many,
    year_of,
)

# The start of every entry the file holds (not @comment, @string, @preamble), with its key.
_ENTRY_START = re.compile(r"^[ \t]*@[ \t]*(?P<type>\w+)[ \t]*[{(][ \t]*(?P<key>[^,\s]*)", re.M)
_NOT_ENTRIES = {"comment", "string", "preamble"}


def count(text: str) -> int:
    """How many entries the file says it holds (cheap: counted before parsing)."""
    return len(_starts(text))


def _starts(text: str) -> list[str]:
    return [m["key"] for m in _ENTRY_START.finditer(text) if m["type"].lower() not in _NOT_ENTRIES]


def read(text: str, max_entries: int) -> list[LibraryEntry]:
    keys = _starts(text)
    too_many(len(keys), max_entries)
    if not keys:
        raise UnreadableLibrary("no BibTeX entries found: an entry starts like @article{key,")
    parser = BibTexParser(common_strings=True, ignore_nonstandard_types=False)
    try:
        records = bibtexparser.loads(text, parser).entries
    except RecursionError:
        raise UnreadableLibrary(
            "this BibTeX file cannot be read: its braces are nested too deeply (or never close)"
        ) from None
    except Exception as error:  # pyparsing's errors say where, not what to do
        raise UnreadableLibrary(f"this BibTeX file cannot be read: {error}") from None
    if len(records) < len(keys):
        read_keys = {record.get("ID", "") for record in records}
        lost = next((n for n, key in enumerate(keys) if key not in read_keys), len(records))
        name = f" ({keys[lost]})" if lost < len(keys) and keys[lost] else ""
        raise UnreadableLibrary(
            f"this BibTeX file is malformed: entry {lost + 1}{name} of {len(keys)} cannot be "
            "read (an unclosed brace or a missing comma?); fix it or export the file again"
        )
    return [_entry(position, record) for position, record in enumerate(records, 1)]


def _entry(position: int, record: dict[str, str]) -> LibraryEntry:
    prefix = (record.get("archiveprefix") or record.get("eprinttype") or "").lower()
    eprint = record.get("eprint")
    return entry(
        position,
        record.get("ID"),
        record.get("title"),
        year_of(record.get("year"), record.get("date")),
        # An eprint without a prefix is taken when it reads as an arXiv id.
        arxiv_fields=[
            record.get("arxiv"),
            record.get("arxivid"),
            eprint if prefix in ("arxiv", "") else None,
        ],
        doi=record.get("doi"),
        texts=[
            record.get("url"),
            record.get("note"),
            record.get("journal"),
            record.get("howpublished"),
            record.get("number"),
        ],
    )
