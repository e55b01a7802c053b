"""What every route needs: the app's services, and the request helpers the pages and the
API share (reading a paper id or a period, running a search), each turning bad input into
the HTTP error that says what was wrong."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.templating import Jinja2Templates

from paperscope.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperscope.listings import Listings, Period, PeriodError, parse_period
from paperscope.search.engine import SearchEngine, SearchUnavailable
from paperscope.search.query import QuerySyntaxError
from paperscope.settings import Settings
from paperscope.store import Store, StoredPaper


@dataclass
class Services:
    """Everything a request handler needs, made once per app."""

    settings: Settings
    store: Store
    search: SearchEngine
    listings: Listings
    templates: Jinja2Templates


async def services(request: Request) -> Services:
    # async: FastAPI would run a plain function in its thread pool, a hop per request.
    return request.app.state.services


Svc = Annotated[Services, Depends(services)]


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
