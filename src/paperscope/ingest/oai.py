"""arXiv OAI-PMH harvesting: ListRecords in the ``arXiv`` metadata format.

Incremental: a harvest starts from the day the last one of the same set reached.
Resumable: every page is stored together with the token of the next one, so a harvest
killed at any point continues where it stopped instead of starting over.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from xml.etree.ElementTree import Element

from paperscope.ingest.arxiv_http import ArxivClient, ArxivError, Sleep, parse_xml
from paperscope.ingest.source import (
    Checkpoint,
    IngestReport,
    PapersIn,
    ProgressCallback,
    Skipped,
)
from paperscope.records import BadRecord, PaperRecord, make_record
from paperscope.settings import Settings
from paperscope.store import Store

OAI = "{http://www.openarchives.org/OAI/2.0/}"
ARXIV = "{http://arxiv.org/OAI/arXiv/}"


class OaiError(ArxivError):
    """An OAI-PMH error answer; ``code`` is the protocol's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class OaiPage:
    response_date: date
    items: list[PaperRecord | Skipped]
    deleted: int
    token: str | None
    cursor: int | None
    complete_list_size: int | None

    @property
    def size(self) -> int:
        return len(self.items) + self.deleted


def parse_list_records(content: bytes, url: str) -> OaiPage:
    """One ListRecords answer; raises ArxivError for anything but a usable page."""
    root = parse_xml(content, url, f"{OAI}OAI-PMH", "an OAI-PMH document")
    response_date = _response_day(root, url)

    error = root.find(f"{OAI}error")
    if error is not None:
        code = error.get("code", "")
        if code == "noRecordsMatch":  # an empty list, which OAI-PMH reports as an error
            return OaiPage(response_date, [], 0, None, None, 0)
        detail = (error.text or "").strip()
        raise OaiError(code, f"arXiv OAI-PMH error {code!r} for {url}: {detail}")

    listing = root.find(f"{OAI}ListRecords")
    if listing is None:
        raise ArxivError(f"{url} answered without a ListRecords element")
    items: list[PaperRecord | Skipped] = []
    deleted = 0
    for record in listing.iterfind(f"{OAI}record"):
        if record.find(f"{OAI}header[@status='deleted']") is not None:
            deleted += 1
        else:
            items.append(_parse_record(record))

    token_element = listing.find(f"{OAI}resumptionToken")
    token = cursor = size = None
    if token_element is not None:
        token = (token_element.text or "").strip() or None
        cursor = _int_attribute(token_element, "cursor")
        size = _int_attribute(token_element, "completeListSize")
    return OaiPage(response_date, items, deleted, token, cursor, size)


def _response_day(root: Element, url: str) -> date:
    text = (root.findtext(f"{OAI}responseDate") or "").strip()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError as error:
        raise ArxivError(f"{url} answered with an unreadable responseDate {text!r}") from error


def _int_attribute(element: Element, name: str) -> int | None:
    value = element.get(name, "").strip()
    return int(value) if value.isdigit() else None


def _parse_record(record: Element) -> PaperRecord | Skipped:
    identifier = (record.findtext(f"{OAI}header/{OAI}identifier") or "?").strip()
    where = f"oai {identifier}"
    metadata = record.find(f"{OAI}metadata/{ARXIV}arXiv")
    if metadata is None:
        return Skipped(where, "no arXiv metadata in record")

    def text(name: str) -> str | None:
        return metadata.findtext(f"{ARXIV}{name}")

    try:
        return make_record(
            id=(text("id") or "").strip(),
            title=text("title"),
            abstract=text("abstract"),
            authors=[_author_name(a) for a in metadata.iterfind(f"{ARXIV}authors/{ARXIV}author")],
            categories=text("categories") or "",
            comment=text("comments"),
            journal_ref=text("journal-ref"),
            doi=text("doi"),
            published=(text("created") or "").strip(),
            updated=(text("updated") or text("created") or "").strip(),
        )
    except BadRecord as error:
        return Skipped(where, str(error))


def _author_name(author: Element) -> str:
    parts = (author.findtext(f"{ARXIV}{part}") for part in ("forenames", "keyname", "suffix"))
    return " ".join(p.strip() for p in parts if p and p.strip())


def fetch_page(client: ArxivClient, url: str, params: dict[str, str]) -> OaiPage:
    response = client.get(url, params)
    return parse_list_records(response.content, str(response.url))


class OaiSource:
    """One OAI set (e.g. ``cs``, ``physics:hep-th``) as a Source: its records page by page,
    each page followed by a Checkpoint that saves where the harvest stands.

    Without ``from_date`` the harvest continues from the stored ``harvested_until`` of the
    set (a full harvest the first time). A saved resumption token of an interrupted
    harvest with the same window is followed first.
    """

    def __init__(
        self,
        store: Store,
        settings: Settings,
        set_spec: str,
        from_date: date | None = None,
        until_date: date | None = None,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.store = store
        self.settings = settings
        self.set_spec = set_spec
        self.description = f"harvest {set_spec}"
        self.from_date, self.until_date = from_date, until_date
        self.sleep = sleep
        self._done = 0.0
        self._total: float | None = None

    def position(self) -> tuple[float, float | None]:
        return self._done, self._total

    def read(self) -> Iterator[PaperRecord | Skipped | Checkpoint]:
        source = f"oai:{self.set_spec}"
        from_date, until_date = self.from_date, self.until_date
        harvests = self.store.harvests
        state = harvests.state(source)
        harvested_until = state.harvested_until if state else None
        token: str | None = None
        if (
            state is not None
            and state.resumption_token
            and from_date in (None, state.resumption_from)
            and until_date in (None, state.resumption_until)
        ):
            token = state.resumption_token
            from_date, until_date = state.resumption_from, state.resumption_until
        elif from_date is None:
            from_date = harvested_until
        started_from = from_date
        resuming = token is not None

        with ArxivClient(self.settings, sleep=self.sleep) as client:
            while True:
                if token:
                    params = {"verb": "ListRecords", "resumptionToken": token}
                else:
                    params = _first_request(self.set_spec, from_date, until_date)
                try:
                    page = fetch_page(client, self.settings.arxiv_oai_url, params)
                except OaiError as error:
                    if error.code == "badResumptionToken" and resuming:
                        # The saved token expired; harvest the saved window again from its start.
                        token, resuming = None, False
                        continue
                    raise
                resuming = False
                # The window ends on the day of the first answer, so a restart (after a lost
                # token) asks for the same window and never leaves a gap before the next run.
                until_date = until_date or page.response_date
                yield from page.items
                start = page.cursor if page.cursor is not None else self._done
                self._done = float(start + page.size)
                size = page.complete_list_size
                self._total = float(size) if size is not None else None
                # Papers first: a crash before the state is saved only repeats the page.
                yield Checkpoint(
                    functools.partial(
                        harvests.save,
                        source,
                        harvested_until=harvested_until,
                        resumption_token=page.token,
                        resumption_from=from_date,
                        resumption_until=until_date,
                    )
                )
                if not page.token:
                    break
                token = page.token

        advanced = _advance(harvested_until, started_from, until_date)
        yield Checkpoint(functools.partial(harvests.save, source, harvested_until=advanced))


def harvest(
    store: Store,
    settings: Settings,
    set_spec: str,
    from_date: date | None = None,
    until_date: date | None = None,
    on_progress: ProgressCallback | None = None,
    sleep: Sleep = time.sleep,
) -> IngestReport:
    """Harvest one OAI set into the store (see `OaiSource`)."""
    source = OaiSource(store, settings, set_spec, from_date, until_date, sleep)
    return PapersIn(store).ingest(source, on_progress=on_progress)


def _first_request(
    set_spec: str, from_date: date | None, until_date: date | None
) -> dict[str, str]:
    params = {"verb": "ListRecords", "metadataPrefix": "arXiv", "set": set_spec}
    if from_date is not None:
        params["from"] = from_date.strftime("%Y-%m-%d")
    if until_date is not None:
        params["until"] = until_date.strftime("%Y-%m-%d")
    return params


def _advance(old: date | None, started_from: date | None, until: date | None) -> date | None:
    """The new harvested_until: moved forward only when no gap was left after the old one."""
    if old is None or until is None:
        return until or old
    if started_from is not None and started_from > old:
        return old
    return max(old, until)
