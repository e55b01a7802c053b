"""Which format a library file is in, and reading it: bytes in, references out."""

from __future__ import annotations

import re
from typing import Literal

from paperscope.library import bibtex, csl_json, ris
from paperscope.library.entries import LibraryEntry, UnreadableLibrary

Format = Literal["bibtex", "ris", "csl-json"]
FORMATS: tuple[Format, ...] = ("bibtex", "ris", "csl-json")
# What people and file names call them.
_ALIASES: dict[str, Format] = {
    "bibtex": "bibtex",
    "bib": "bibtex",
    "biblatex": "bibtex",
    "ris": "ris",
    "csl-json": "csl-json",
    "csl": "csl-json",
    "json": "csl-json",
}
_READERS = {"bibtex": bibtex.read, "ris": ris.read, "csl-json": csl_json.read}
_BIBTEX_ENTRY = re.compile(r"^[ \t]*@[ \t]*\w+[ \t]*[{(]", re.M)


def format_named(name: str) -> Format:
    """A format by any of its names (bib, BibTeX, ris, csl-json, json)."""
    found = _ALIASES.get(name.strip().lower().lstrip("."))
    if found is None:
        raise UnreadableLibrary(f"format {name!r}: one of bibtex, ris or csl-json")
    return found


def decoded(data: bytes) -> str:
    """The file as text: UTF-8 (with or without a byte order mark), as Zotero writes it."""
    if b"\x00" in data:
        raise UnreadableLibrary(
            "this is a binary file, not a library export: export BibTeX, RIS or CSL-JSON"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UnreadableLibrary(
            f"this file is not UTF-8 text (byte {error.start:,}): export it as UTF-8 "
            "(Zotero always does)"
        ) from None


def detect(text: str) -> Format:
    """The format the text is in, by its content."""
    start = text.lstrip()[:1]
    if start in ("[", "{"):
        return "csl-json"
    if ris.count(text):
        return "ris"
    if _BIBTEX_ENTRY.search(text):
        return "bibtex"
    raise UnreadableLibrary(
        "not a library file paperscope reads: export BibTeX (.bib), RIS (.ris) or "
        "CSL-JSON (.json), or say which format it is"
    )


def read_library(
    data: bytes, fmt: str | None, max_entries: int
) -> tuple[Format, list[LibraryEntry]]:
    """The references in a file, in its order; `fmt` None: told by the content. Refuses
    (UnreadableLibrary, TooManyEntries) a file that is not all readable."""
    text = decoded(data)
    if not text.strip():
        raise UnreadableLibrary("the file is empty")
    chosen = format_named(fmt) if fmt else detect(text)
    return chosen, _READERS[chosen](text, max_entries)
