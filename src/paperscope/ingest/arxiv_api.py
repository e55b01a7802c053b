"""The arXiv API (Atom feeds): fetch given papers by id, with their version numbers."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from xml.etree.ElementTree import Element

from paperscope.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperscope.ingest.arxiv_http import ArxivClient, Sleep, parse_xml
from paperscope.ingest.source import Skipped
from paperscope.records import BadRecord, PaperRecord, make_record
from paperscope.settings import Settings

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
# arXiv answers an id it cannot serve with an entry whose id points here.
ERROR_ENTRY_PREFIX = "http://arxiv.org/api/errors"
BATCH_SIZE = 100  # ids per request; arXiv's id_list handles this comfortably
WHERE = "arxiv api"
# Atom <category> terms also carry ACM and MSC classes ("I.2.6", "68T05"); keep arXiv's own.
_ARXIV_CATEGORY = re.compile(r"[a-z][a-z\-]*(?:\.[A-Za-z\-]+)?")


def fetch_papers(
    settings: Settings,
    ids: Iterable[str],
    sleep: Sleep = time.sleep,
    *,
    timeout_s: float | None = None,
    max_retries: int | None = None,
) -> tuple[list[PaperRecord], list[Skipped]]:
    """Fetch papers by arXiv id (with or without version); unknown or malformed ids are Skipped.

    Malformed ids are never sent. Raises ArxivError when arXiv cannot be reached.
    `timeout_s` and `max_retries` override the settings' (see `ArxivClient`).
    """
    skipped: list[Skipped] = []
    asked: dict[str, str] = {}  # base id -> id as sent (keeps an explicit version)
    for text in ids:
        try:
            parsed = parse_arxiv_id(text)
        except InvalidArxivId as error:
            skipped.append(Skipped(WHERE, str(error)))
            continue
        asked.setdefault(
            parsed.base, f"{parsed.base}v{parsed.version}" if parsed.version else parsed.base
        )

    records: list[PaperRecord] = []
    wanted = list(asked.values())
    with ArxivClient(settings, sleep=sleep, timeout_s=timeout_s, max_retries=max_retries) as client:
        for start in range(0, len(wanted), BATCH_SIZE):
            batch = wanted[start : start + BATCH_SIZE]
            response = client.get(
                settings.arxiv_api_url,
                {"id_list": ",".join(batch), "max_results": str(len(batch))},
            )
            answered: set[str] = set()
            for base, item in parse_feed(response.content, str(response.url)):
                answered.add(base)
                if isinstance(item, Skipped):
                    skipped.append(item)
                else:
                    records.append(item)
            skipped.extend(
                Skipped(WHERE, f"unknown arXiv id {paper_id}")
                for paper_id in batch
                if parse_arxiv_id(paper_id).base not in answered
            )
    return records, skipped


class ArxivApiSource:
    """Given papers, by id, from the arXiv API as a Source (`paperscope fetch`)."""

    def __init__(self, settings: Settings, ids: Iterable[str], sleep: Sleep = time.sleep):
        self.settings = settings
        self.ids = list(ids)
        self.sleep = sleep
        self.description = "arXiv API"
        self._done = 0.0

    def position(self) -> tuple[float, float | None]:
        return self._done, 1.0

    def read(self) -> Iterator[PaperRecord | Skipped]:
        # All asked first: when arXiv cannot be reached, nothing is stored and the run says so.
        records, skipped = fetch_papers(self.settings, self.ids, self.sleep)
        self._done = 1.0
        yield from records
        yield from skipped


def parse_feed(content: bytes, url: str) -> list[tuple[str, PaperRecord | Skipped]]:
    """(base id, record or reason) for each paper entry; arXiv's error entries are left out."""
    root = parse_xml(content, url, f"{ATOM}feed", "an Atom feed")
    entries = []
    for entry in root.iterfind(f"{ATOM}entry"):
        entry_id = (entry.findtext(f"{ATOM}id") or "").strip()
        if entry_id.startswith(ERROR_ENTRY_PREFIX):
            continue
        try:
            base = parse_arxiv_id(entry_id).base
        except InvalidArxivId:
            continue  # not an entry about a paper; the id it was for is reported as unknown
        entries.append((base, _parse_entry(entry, entry_id)))
    return entries


def _parse_entry(entry: Element, entry_id: str) -> PaperRecord | Skipped:
    def text(name: str) -> str | None:
        return entry.findtext(name)

    primary = entry.find(f"{ARXIV}primary_category")
    categories = [
        term
        for category in entry.iterfind(f"{ATOM}category")
        if _ARXIV_CATEGORY.fullmatch(term := category.get("term", "").strip())
    ]
    try:
        return make_record(
            id=entry_id,
            title=text(f"{ATOM}title"),
            abstract=text(f"{ATOM}summary"),
            authors=[a.findtext(f"{ATOM}name") or "" for a in entry.iterfind(f"{ATOM}author")],
            categories=categories,
            primary_category=primary.get("term") if primary is not None else None,
            comment=text(f"{ARXIV}comment"),
            journal_ref=text(f"{ARXIV}journal_ref"),
            doi=text(f"{ARXIV}doi"),
            published=(text(f"{ATOM}published") or "").strip(),
            updated=(text(f"{ATOM}updated") or "").strip(),
        )
    except BadRecord as error:
        return Skipped(f"{WHERE} {entry_id}", str(error))
