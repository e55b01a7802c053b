"""What every route needs: the app's services, and the request helpers the pages and the
API share (reading a paper id or a period, running a search), each turning bad input into
the HTTP error that says what was wrong."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.templating import Jinja2Templates

from paperscope.accounts import AccountService
from paperscope.app import Paperscope
from paperscope.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperscope.community import Community
from paperscope.digest import DigestService
from paperscope.ingest.source import PapersIn
from paperscope.listings import Listings, Period, PeriodError, parse_period
from paperscope.search.engine import SearchEngine, SearchUnavailable
from paperscope.search.query import QuerySyntaxError
from paperscope.settings import Settings
from paperscope.store import Store, StoredPaper
from paperscope.store.generation import COMMUNITY


@dataclass
class Services:
    """Everything a request handler needs, made once per app."""

    settings: Settings
    store: Store
    search: SearchEngine
    listings: Listings
    templates: Jinja2Templates
    accounts: AccountService
    community: Community
    secret_key: str  # signs CSRF tokens; the same on every server (store/limits.py)
    digests: DigestService
    papers: PapersIn  # the one way papers come in (the PUT API)

    @classmethod
    def of(cls, core: Paperscope, templates: Jinja2Templates) -> Services:
        """The services of the application `core` (made once per process)."""
        settings, store = core.settings, core.store
        secret = (
            settings.secret_key.get_secret_value()
            if settings.secret_key
            else store.limits.secret("csrf")
        )
        return cls(
            settings,
            store,
            core.search,
            core.listings,
            templates,
            core.accounts,
            core.community,
            secret,
            core.digests,
            core.papers,
        )

    @property
    def https(self) -> bool:
        """Whether cookies must be Secure: the site is served over https."""
        return (self.settings.public_url or "").startswith("https://")

    def community_version(self) -> int:
        """The community counter (votes, comments, submissions), read at most once a second
        per process, and after every write through it: pages cached under it show this
        server's changes at once, other servers' within a second."""
        now = time.monotonic()
        if now - self._community_read_at > 1.0:
            self._community_read_at = now
            self._community = self.store.generations.current(COMMUNITY)
        return self._community

    def forget_community_version(self) -> None:
        """Read the counter afresh next time (this server has just written)."""
        self._community_read_at = -1e9

    _community: int = field(default=-1, init=False)
    _community_read_at: float = field(default=-1e9, init=False)


async def services(request: Request) -> Services:
    # async: FastAPI would run a plain function in its thread pool, a hop per request.
    return request.app.state.services


Svc = Annotated[Services, Depends(services)]


def client_address(request: Request) -> str:
    """The client's address (the proxy's word for it where trusted): rate limits count by it."""
    return request.client.host if request.client else "unknown"


def find_paper(svc: Services, paper_id: str) -> StoredPaper:
    """The stored paper for any spelling of its id (versions, arXiv: prefix, abs URL)."""
    try:
        base = parse_arxiv_id(paper_id).base
    except InvalidArxivId as error:
        raise HTTPException(422, str(error)) from None
    paper = svc.store.papers.get(base)
    if paper is None:
        raise HTTPException(404, f"paper {base} is not in this paperscope")
    return paper


def period_or_422(day: str | None, week: str | None, month: str | None) -> Period | None:
    """The period a request names (see `parse_period`), or a 422 saying what was expected."""
    try:
        return parse_period(day, week, month)
    except PeriodError as error:
        raise HTTPException(422, str(error)) from None


def run_search(svc: Services, q: str, *, unavailable_status: int = 503, **options):
    """The search, or an HTTP error: 422 for a query that cannot be read, and
    `unavailable_status` when semantic search is asked for before it is ready."""
    try:
        return svc.search.search(q, **options)
    except QuerySyntaxError as error:
        raise HTTPException(422, str(error)) from None
    except SearchUnavailable as error:
        raise HTTPException(unavailable_status, str(error)) from None
