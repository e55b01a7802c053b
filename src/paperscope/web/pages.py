"""Server-rendered pages (they work without JavaScript), BibTeX downloads and feeds."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date
from email.utils import format_datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BeforeValidator
from starlette.concurrency import run_in_threadpool

from paperscope.listings import Listing, Period, View, parse_period
from paperscope.search.engine import MODES, EmbeddingProgress, SearchUnavailable
from paperscope.search.query import MAX_QUERY_CHARS, QuerySyntaxError, SearchFilters
from paperscope.text import paper_url
from paperscope.web.auth import Viewer, csrf_token, remember_csrf_cookie, resolve_viewer
from paperscope.web.feeds import bibtex, bibtex_list, feed, feed_updated
from paperscope.web.security import absolute_base
from paperscope.web.services import Services, Svc

# Every page knows who is reading (None for a reader not signed in; no query without a
# session cookie).
router = APIRouter(include_in_schema=False, dependencies=[Depends(resolve_viewer)])
# A date filter left empty (`from=`, as the search form's empty date field and its pager
# links send it) is no filter. The JSON API stays strict, as its schema says.
OptionalDate = Annotated[date | None, BeforeValidator(lambda value: value or None)]
PAGE_SIZE = 30
SEARCH_PAGE = 20
MAX_SEARCH_PAGE = 99
FEED_SIZE = 50
FEED_TYPES = {
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "json": "application/feed+json",
}


def page(request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
    """A rendered page. Signed in, it carries the member's own state (and says so to
    caches); forms take their CSRF token from `csrf_token()`."""
    svc: Services = request.app.state.services
    viewer = getattr(request.state, "viewer", None)
    context.setdefault("viewer", viewer)
    context.setdefault("voted", set())
    context["csrf_token"] = lambda: csrf_token(request)
    context["here"] = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    response = svc.templates.TemplateResponse(request, template, context, status_code=status_code)
    if viewer is not None or getattr(request.state, "new_csrf", None):
        response.headers["Cache-Control"] = "private, no-store"
    remember_csrf_cookie(request, response, svc.https)
    return response


def error_page(
    request: Request,
    status: int,
    message: str,
    problems: list[str],
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The site's page (navigation, no subscribe box) saying what went wrong."""
    response = page(
        request, "error.html", status, status=status, message=message, problems=problems
    )
    response.headers.update(headers or {})
    return response


@router.get("/", response_class=HTMLResponse)
def daily(
    request: Request,
    svc: Svc,
    date_: Annotated[str | None, Query(alias="date", max_length=40)] = None,
    week: Annotated[str | None, Query(max_length=40)] = None,
    month: Annotated[str | None, Query(max_length=40)] = None,
    sort: Literal["publishedAt", "trending"] = "publishedAt",
    p: Annotated[int, Query(ge=0, le=10_000)] = 0,
    view: Literal["curated", "all"] | None = None,
    viewer: Viewer = None,
):
    default_view = svc.listings.default_view()
    listing = svc.listings.daily(
        parse_period(date_, week, month),
        sort=sort,
        page=p,
        limit=PAGE_SIZE,
        view=view or default_view,
        fall_back=True,
    )
    listing = _for(svc, viewer, listing)
    earlier = later = None
    if listing.period is not None:
        earlier, later = svc.listings.nearest_periods(listing.period, listing.view)
    return page(
        request,
        "daily.html",
        listing=listing,
        earlier=earlier,
        later=later,
        sort=sort,
        feed_query=_feed_query(listing.period if date_ or week or month else None, view),
        default_view=default_view,
        voted=svc.community.voted(viewer, [item.paper.id for item in listing.items]),
    )


def _for(svc: Services, viewer, listing: Listing) -> Listing:
    """The listing as a signed-in member sees it: less the papers they are not interested
    in."""
    if viewer is None:
        return listing
    dismissed = svc.community.dismissed(viewer)
    if not dismissed:
        return listing
    return replace(listing, items=[i for i in listing.items if i.paper.id not in dismissed])


def _feed_query(period: Period | None, view: str | None) -> str:
    """The query of a daily page's feeds: its period when one was asked for (the latest
    day's page has the feed that moves on each day), and its view when one was."""
    query = _period_query(period)
    if view:
        query += f"{'&' if query else '?'}view={view}"
    return query


def _period_query(period: Period | None) -> str:
    if period is None:
        return ""
    return f"?{ {'day': 'date'}.get(period.kind, period.kind) }={period.label}"


@router.get("/trending", response_class=HTMLResponse)
def trending(
    request: Request, svc: Svc, p: Annotated[int, Query(ge=0, le=10_000)] = 0, viewer: Viewer = None
):
    listing = _for(svc, viewer, svc.listings.trending(page=p, limit=PAGE_SIZE))
    return page(
        request,
        "trending.html",
        listing=listing,
        voted=svc.community.voted(viewer, [item.paper.id for item in listing.items]),
        gravity=svc.settings.trending_gravity,
        window=svc.settings.trending_window_days,
    )


@router.get("/search", response_class=HTMLResponse)
def search(
    request: Request,
    svc: Svc,
    # Read as text and checked here, so a wrong value is answered in the form, with what
    # was typed kept and a message saying what to change.
    q: str = "",
    category: str = "",
    published_from: Annotated[str, Query(alias="from")] = "",
    published_until: Annotated[str, Query(alias="until")] = "",
    mode: str = "hybrid",
    p: str = "0",
):
    problems: list[str] = []
    if len(q) > MAX_QUERY_CHARS:
        problems.append(
            f"A query holds at most {MAX_QUERY_CHARS:,} characters; yours has {len(q):,}: "
            "shorten it."
        )
    if len(category) > 200:
        problems.append(f"Categories take at most 200 characters; these have {len(category):,}.")
    start, problem = _form_day(published_from, "From")
    problems += problem
    end, problem = _form_day(published_until, "Until")
    problems += problem
    if mode not in MODES:
        problems.append(f"The mode is one of {', '.join(MODES)}, not {mode[:40]!r}.")
        mode = "hybrid"
    p = p.strip() or "0"  # left empty, as for the dates: the first page
    page_number = int(p) if re.fullmatch(r"[0-9]{1,3}", p) else MAX_SEARCH_PAGE + 1
    if page_number > MAX_SEARCH_PAGE:
        problems.append(
            f"The page number must be a whole number from 0 to {MAX_SEARCH_PAGE}, not {p[:40]!r}."
        )
        page_number = 0
    semantic = svc.search.semantic
    progress = svc.search.embedding_progress()
    context: dict[str, Any] = {
        "q": q,
        "category": category,
        "published_from": published_from,
        "published_until": published_until,
        "mode": mode,
        "results": None,
        "error": " ".join(problems) or None,
        "page_number": page_number,
        "max_query_chars": MAX_QUERY_CHARS,
        "semantic": semantic,
        # How far semantic search is while it is off, or while it covers only some papers
        # (vectors in PostgreSQL are searched as they arrive).
        "preparing": progress if not semantic or progress.partial else None,
    }
    if problems:
        return page(request, "search.html", 422, **context)
    if not q.strip():
        return page(request, "search.html", **context)
    try:
        results = svc.search.search(
            q,
            mode=mode,  # type: ignore[arg-type]
            limit=SEARCH_PAGE,
            offset=page_number * SEARCH_PAGE,
            filters=_filters(category, start, end),
        )
    except (QuerySyntaxError, SearchUnavailable) as error:
        return page(request, "search.html", 422, **(context | {"error": str(error)}))
    return page(request, "search.html", **(context | {"results": results}))


def _form_day(value: str, label: str) -> tuple[date | None, list[str]]:
    """A date from the search form (empty: none), or the problem with it."""
    if not value.strip():
        return None, []
    try:
        return date.fromisoformat(value.strip()), []
    except ValueError:
        return None, [f"{label} takes a date like 2026-01-31, not {value[:40]!r}."]


def _filters(category: str, start: date | None, end: date | None) -> SearchFilters:
    categories = tuple(c for c in category.replace(",", " ").split() if c)
    return SearchFilters(categories=categories, published_from=start, published_until=end)


@router.get("/papers/{paper_id:path}", response_class=HTMLResponse)
def paper_page(request: Request, svc: Svc, paper_id: str, viewer: Viewer = None):
    if paper_id.endswith(".bib"):
        paper = svc.listings.paper(paper_id.removesuffix(".bib"))
        return Response(bibtex(paper), media_type="application/x-bibtex; charset=utf-8")
    paper = svc.listings.paper(paper_id)
    if paper.id != paper_id:  # a version, prefix or URL: one canonical address per paper
        return Response(status_code=308, headers={"Location": paper_url(paper.id)})
    similar: list | None = None
    preparing: EmbeddingProgress | None
    try:
        # CSLS picks the papers (hubs, near everything, held back); they are listed by the
        # similarity shown beside each, so the order and the numbers agree.
        similar = sorted(svc.search.similar(paper.id, limit=8), key=lambda s: -s.cosine)
    except SearchUnavailable:
        preparing = svc.search.embedding_progress()
    else:
        preparing = None
    (annotated,) = svc.community.annotate([paper], viewer)
    mine = {}
    if viewer is not None:
        mine = {
            "collections": svc.community.collections_of(viewer),
            "holding": svc.community.collections_holding(viewer, paper.id),
            "dismissed": paper.id in svc.community.dismissed(viewer),
        }
    return page(
        request,
        "paper.html",
        paper=paper,
        similar=similar,
        preparing=preparing,
        upvotes=annotated.upvotes,
        bib=bibtex(paper),
        voted={paper.id} if annotated.voted else set(),
        submission=annotated.submission,
        comments=svc.community.thread(paper.id, viewer),
        mine=mine,
        authors=svc.authors.of_paper(paper.id),
        following=set(svc.authors.followed_keys(viewer)),
    )


@router.get("/search.bib")
def search_bibtex(
    svc: Svc,
    q: Annotated[str, Query(min_length=1, max_length=2_000)],
    category: Annotated[str, Query(max_length=200)] = "",
    published_from: Annotated[OptionalDate, Query(alias="from")] = None,
    published_until: Annotated[OptionalDate, Query(alias="until")] = None,
    mode: Literal["hybrid", "lexical", "dense"] = "hybrid",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
):
    filters = _filters(category, published_from, published_until)
    results = svc.search.search(q, mode=mode, limit=limit, filters=filters)
    return Response(
        bibtex_list([hit.paper for hit in results.hits]),
        media_type="application/x-bibtex; charset=utf-8",
        headers={"Content-Disposition": 'inline; filename="paperscope-search.bib"'},
    )


# -- feeds ------------------------------------------------------------------------------
FeedLimit = Annotated[int, Query(ge=1, le=10_000)]


def feed_response(
    request: Request,
    kind: str,
    papers,
    title: str,
    description: str,
    *,
    page_path: str | None = None,
    note: Callable[[str], str | None] | None = None,
    private: bool = False,
) -> Response:
    """A feed of `papers` as `kind` (rss, atom, json), with the validators conditional GET
    needs (web/conditional.py): an ETag of the body and Last-Modified of its newest paper.
    `page_path` is the HTML page it mirrors (the home page if not given); `note(paper_id)`
    ends each entry (default: its upvotes and comments); a `private` feed (its address is
    its key) is kept by no shared cache."""
    if kind not in FEED_TYPES:
        raise HTTPException(404, "feeds come as .atom, .rss or .json")
    svc: Services = request.app.state.services
    papers = list(papers)
    base = absolute_base(svc.settings, request)
    query = request.url.query
    if note is None:
        annotated = {a.paper.id: a for a in svc.community.annotate(papers)}

        def note(paper_id: str) -> str:
            votes, said = annotated[paper_id].upvotes, annotated[paper_id].comments
            return f"▲ {votes} upvote{'s' * (votes != 1)} · {said} comment{'s' * (said != 1)}"

    if page_path is None:
        page_path = request.url.path.rsplit("/feeds/", 1)[0] + "/"
    body = feed(
        papers,
        title=title,
        link=base + page_path,
        # The path as a link writes it (request.url.path is decoded: "/feeds/author/A B").
        feed_url=base + quote(request.url.path) + (f"?{query}" if query else ""),
        description=description,
        kind=kind,  # type: ignore[arg-type]
        paper_url=lambda paper_id: base + paper_url(paper_id),
        note=note,
    )
    headers = {
        "ETag": f'"{hashlib.sha256(body).hexdigest()[:32]}"',
        "Last-Modified": format_datetime(feed_updated(papers), usegmt=True),
    }
    if private:
        # Readers may keep it and ask again with its ETag; no proxy or shared cache may.
        headers["Cache-Control"] = "private, no-cache"
        headers["Referrer-Policy"] = "no-referrer"
    return Response(body, media_type=f"{FEED_TYPES[kind]}; charset=utf-8", headers=headers)


def _feed_size(limit: int) -> int:
    """A feed's length: as asked, at most FEED_SIZE."""
    return min(limit, FEED_SIZE)


@router.get("/feeds/daily.{kind}")
def daily_feed(
    request: Request,
    svc: Svc,
    kind: str,
    date_: Annotated[str | None, Query(alias="date", max_length=40)] = None,
    week: Annotated[str | None, Query(max_length=40)] = None,
    month: Annotated[str | None, Query(max_length=40)] = None,
    view: Literal["curated", "all"] | None = None,
    limit: FeedLimit = FEED_SIZE,
):
    return _period_feed(request, svc, kind, parse_period(date_, week, month), view, limit)


def _period_feed(
    request: Request,
    svc: Services,
    kind: str,
    period: Period | None,
    view: View | None,
    limit: int,
    latest: Literal["week", "month"] | None = None,
) -> Response:
    """The papers of a day, week or month; with `latest`, of the latest week or month."""
    chosen = view or svc.listings.default_view()
    listing: Listing = svc.listings.daily(period, limit=_feed_size(limit), view=chosen)
    if latest is not None and listing.period is not None:
        period = listing.period.of_kind(latest)
        listing = svc.listings.daily(period, limit=_feed_size(limit), view=chosen)
    label = listing.period.title if listing.period else "no papers yet"
    papers = [item.paper for item in listing.items]
    page_path = "/" + _period_query(listing.period if latest or period else None)
    what = {"week": "Weekly papers", "month": "Monthly papers"}.get(latest or "", "Daily papers")
    return feed_response(
        request, kind, papers, f"paperscope: papers of {label}", what, page_path=page_path
    )


@router.get("/feeds/weekly.{kind}")
def weekly_feed(
    request: Request,
    svc: Svc,
    kind: str,
    view: Literal["curated", "all"] | None = None,
    limit: FeedLimit = FEED_SIZE,
):
    """The latest week's papers: the week of the latest day with papers."""
    return _period_feed(request, svc, kind, None, view, limit, latest="week")


@router.get("/feeds/monthly.{kind}")
def monthly_feed(
    request: Request,
    svc: Svc,
    kind: str,
    view: Literal["curated", "all"] | None = None,
    limit: FeedLimit = FEED_SIZE,
):
    """The latest month's papers."""
    return _period_feed(request, svc, kind, None, view, limit, latest="month")


@router.get("/feeds/trending.{kind}")
def trending_feed(request: Request, svc: Svc, kind: str, limit: FeedLimit = FEED_SIZE):
    papers = [item.paper for item in svc.listings.trending(limit=_feed_size(limit)).items]
    return feed_response(
        request,
        kind,
        papers,
        "paperscope: trending papers",
        "Trending papers",
        page_path="/trending",
    )


@router.get("/feeds/search.{kind}")
def search_feed(
    request: Request,
    svc: Svc,
    kind: str,
    q: Annotated[str, Query(min_length=1, max_length=2_000)],
    category: Annotated[str, Query(max_length=200)] = "",
    published_from: Annotated[OptionalDate, Query(alias="from")] = None,
    published_until: Annotated[OptionalDate, Query(alias="until")] = None,
    mode: Literal["hybrid", "lexical", "dense"] = "hybrid",
    limit: FeedLimit = FEED_SIZE,
):
    if kind not in FEED_TYPES:  # before any search is run
        raise HTTPException(404, "feeds come as .atom, .rss or .json")
    filters = _filters(category, published_from, published_until)
    results = svc.search.search(q, mode=mode, limit=_feed_size(limit), filters=filters)
    papers = [hit.paper for hit in results.hits]
    page_path = "/search?" + urlencode(
        {
            "q": q,
            "category": category,
            "from": published_from or "",
            "until": published_until or "",
            "mode": mode,
        }
    )
    return feed_response(
        request,
        kind,
        papers,
        f"paperscope: {q}",
        f"Papers matching {q!r}",
        page_path=page_path,
    )


@router.get("/feeds/category/{category}.{kind}")
def category_feed(
    request: Request, svc: Svc, category: str, kind: str, limit: FeedLimit = FEED_SIZE
):
    """The newest papers of an arXiv category (any of a paper's categories)."""
    if kind not in FEED_TYPES:
        raise HTTPException(404, "feeds come as .atom, .rss or .json")
    code, papers = svc.listings.category(category, limit=_feed_size(limit))
    return feed_response(
        request,
        kind,
        papers,
        f"paperscope: {code}",
        f"The newest papers in {code}",
        page_path="/search?" + urlencode({"q": f"cat:{code}"}),
    )


@router.get("/healthz")
async def health(svc: Svc) -> dict:
    """For load balancers: answers as soon as the app has started, touching no index.
    `semantic` says whether searches use meaning yet or keywords only; `papers` and
    `embedded` how many papers are stored and how many have a vector (two counts, asked
    at most every two seconds; `embedded` is null without an embedding model);
    `keyword_index` where this node's keyword index came from: a published snapshot (which,
    of which generation), this node's own, or built here at start."""
    progress = await run_in_threadpool(svc.search.embedding_progress)
    return {
        "ok": True,
        "semantic": svc.search.semantic,
        "papers": progress.papers,
        "embedded": progress.embedded,
        "keyword_index": svc.search.lexical_origin,
    }
