"""CSL-JSON (Zotero's "CSL JSON" export, citeproc, pandoc): a list of items, each checked
against the few fields paperscope reads; anything else in an item is left alone."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from paperscope.library.entries import (
    LibraryEntry,
    UnreadableLibrary,
    entry,
    too_many,
    year_of,
)
from paperscope.store import StoredPaper
from paperscope.text import display_abstract, display_title


class CslDate(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    date_parts: list[list[int | str]] | None = Field(default=None, alias="date-parts")
    raw: str | None = None
    literal: str | None = None


class CslItem(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    id: str | int | None = None
    type: str | None = None
    title: str | None = None
    doi: str | None = Field(default=None, alias="DOI")
    url: str | None = Field(default=None, alias="URL")
    number: str | int | None = None
    note: str | None = None
    container_title: str | None = Field(default=None, alias="container-title")
    issued: CslDate | None = None


_ITEMS = TypeAdapter(list[CslItem])


def read(text: str, max_entries: int) -> list[LibraryEntry]:
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as error:
        raise UnreadableLibrary(f"this is not JSON: {error}") from None
    if not isinstance(data, list):
        kind = "an object" if isinstance(data, dict) else f"a {type(data).__name__}"
        raise UnreadableLibrary(f"CSL-JSON is a list of items ([{{...}}, ...]); this is {kind}")
    too_many(len(data), max_entries)
    try:
        items = _ITEMS.validate_python(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise UnreadableLibrary(
            f"this CSL-JSON does not read: item field {where}: {first['msg']}"
        ) from None
    return [_entry(position, item) for position, item in enumerate(items, 1)]


def _year(issued: CslDate | None) -> int | None:
    if issued is None:
        return None
    first = issued.date_parts[0][0] if issued.date_parts and issued.date_parts[0] else None
    return year_of(str(first) if first is not None else None, issued.raw, issued.literal)


def _entry(position: int, item: CslItem) -> LibraryEntry:
    return entry(
        position,
        str(item.id) if item.id is not None else None,
        item.title,
        _year(item.issued),
        arxiv_fields=[str(item.number) if item.number is not None else None],
        doi=item.doi,
        texts=[item.url, item.note, item.container_title],
    )


def _name(author: str) -> dict[str, str]:
    """ "Ashish Vaswani" as CSL's family and given names (one word: a literal name)."""
    parts = author.split()
    if len(parts) < 2:
        return {"literal": author}
    return {"family": parts[-1], "given": " ".join(parts[:-1])}


def write(papers: Iterable[StoredPaper]) -> str:
    """The papers as CSL-JSON items, as Zotero exports an arXiv preprint."""
    items = []
    for paper in papers:
        item: dict[str, Any] = {
            "id": paper.id,
            "type": "article-journal" if (paper.journal_ref or "").strip() else "article",
            "title": display_title(paper.title),
            "author": [_name(name) for name in paper.authors],
            "abstract": display_abstract(paper.abstract),
            "URL": paper.arxiv_url,
            "number": f"arXiv:{paper.id}",
            "publisher": "arXiv",
        }
        if paper.published:
            day = paper.published
            item["issued"] = {"date-parts": [[day.year, day.month, day.day]]}
        if paper.doi:
            item["DOI"] = paper.doi
        if paper.journal_ref and paper.journal_ref.strip():
            item["container-title"] = " ".join(paper.journal_ref.split())
        items.append(item)
    return json.dumps(items, ensure_ascii=False, indent=2)
