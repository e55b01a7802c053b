"""The open JSON API, in the shape of Hugging Face's papers API (``/api/daily_papers``,
``/api/papers/search``, ``/api/papers/{id}``) plus paperscope's own additions."""

from __future__ import annotations

import hmac
from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, overload

from fastapi import APIRouter, Header, HTTPException, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from pydantic.dataclasses import dataclass as pydantic_dataclass

from paperscope.community import AnnotatedPaper, Submitted
from paperscope.listings import parse_period
from paperscope.records import PaperMetadata, make_record
from paperscope.search.engine import SearchHit
from paperscope.search.query import SearchFilters
from paperscope.web.services import Svc

router = APIRouter(prefix="/api", tags=["api"])
MAX_LIMIT = 100
WEEK = r"^[1-9]\d{3}-W(0[1-9]|[1-4]\d|5[0-3])$"
MONTH = r"^[1-9]\d{3}-(0[1-9]|1[0-2])$"


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class Author(ApiModel):
    name: str
    hidden: bool = False


class Submitter(ApiModel):
    """Who put a paper on a day's page, as Hugging Face names a user (`user` is the
    handle its client reads)."""

    name: str
    user: str
    fullname: str
    type: str = "user"
    avatar_url: str = ""


def submitter_json(submission: Submitted | None) -> Submitter | None:
    if submission is None or submission.user_name is None:
        return None
    return Submitter(
        name=submission.user_name,
        user=submission.user_name,
        fullname=submission.user_fullname or submission.user_name,
    )


class Paper(ApiModel):
    """A paper as Hugging Face's API describes one, with paperscope's extra fields."""

    id: str
    title: str
    summary: str
    authors: list[Author]
    published_at: datetime | None
    updated_at: datetime | None
    upvotes: int
    categories: list[str]
    primary_category: str | None
    comment: str | None
    journal_ref: str | None
    doi: str | None
    version: int | None
    arxiv_url: str
    pdf_url: str
    code_links: list[str]
    github_repo: str | None = None
    num_comments: int = 0
    submitted_on_daily_by: Submitter | None = None
    submitted_on_daily_at: datetime | None = None


class DailyPaper(ApiModel):
    """One entry of a daily list or of search results: the paper, and the entry's own
    title, summary and date (Hugging Face's ``PaperInfo`` reads both levels)."""

    paper: Paper
    title: str
    summary: str
    published_at: datetime | None
    num_comments: int = 0
    upvotes: int
    submitted_on_daily_by: Submitter | None = None
    submitted_on_daily_at: datetime | None = None


class Explanation(ApiModel):
    lexical_rank: int | None
    lexical_score: float | None
    dense_rank: int | None
    dense_score: float | None
    fused_score: float


class SearchResult(DailyPaper):
    score: float
    explanation: Explanation
    snippet: str
    highlights: list[tuple[int, int]] = Field(
        description="[start, end) character ranges of matching words in the snippet"
    )


class SimilarPaper(ApiModel):
    paper: Paper
    score: float = Field(description="hubness-corrected (CSLS) similarity")
    cosine: float


class Problem(BaseModel):
    error: str


ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "No such paper"},
    413: {"model": Problem, "description": "The request body is too large"},
    414: {"model": Problem, "description": "The address is too long"},
    422: {"model": Problem, "description": "A parameter could not be read"},
    503: {"model": Problem, "description": "Semantic search is not ready; the error says how far"},
}


def paper_json(annotated: AnnotatedPaper) -> Paper:
    """A paper, with what the community added to it, as the API shows one."""
    paper, submission = annotated.paper, annotated.submission
    github = next((link for link in paper.code_links if "github.com" in link), None)
    return Paper(
        num_comments=annotated.comments,
        submitted_on_daily_by=submitter_json(submission),
        submitted_on_daily_at=as_utc(submission.submitted_at) if submission else None,
        id=paper.id,
        title=" ".join(paper.title.split()),
        summary=" ".join(paper.abstract.split()),
        authors=[Author(name=name) for name in paper.authors],
        published_at=as_utc(paper.published),
        updated_at=as_utc(paper.updated),
        upvotes=annotated.upvotes,
        categories=paper.categories,
        primary_category=paper.primary_category,
        comment=paper.comment,
        journal_ref=paper.journal_ref,
        doi=paper.doi,
        version=paper.version,
        arxiv_url=paper.arxiv_url,
        pdf_url=paper.pdf_url,
        code_links=paper.code_links,
        github_repo=github,
    )


def entry_json(annotated: AnnotatedPaper) -> dict:
    """An entry of a list (Hugging Face's ``PaperInfo`` reads both levels)."""
    inner = paper_json(annotated)
    return {
        "paper": inner,
        "title": inner.title,
        "summary": inner.summary,
        "published_at": inner.published_at,
        "upvotes": inner.upvotes,
        "num_comments": inner.num_comments,
        "submitted_on_daily_by": inner.submitted_on_daily_by,
        "submitted_on_daily_at": inner.submitted_on_daily_at,
    }


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value else None


@router.get("/daily_papers", response_model=list[DailyPaper], responses=ERRORS)
def daily_papers(
    svc: Svc,
    date_: Annotated[
        date | None, Query(alias="date", description="YYYY-MM-DD; the latest day by default")
    ] = None,
    week: Annotated[str | None, Query(pattern=WEEK, description="ISO week, YYYY-Www")] = None,
    month: Annotated[str | None, Query(pattern=MONTH, description="YYYY-MM")] = None,
    p: Annotated[int, Query(ge=0, le=10_000, description="page, from 0")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    sort: Literal["publishedAt", "trending"] = "publishedAt",
    submitter: Annotated[
        str | None, Query(max_length=200, description="only papers this member submitted")
    ] = None,
    view: Annotated[
        Literal["curated", "all"] | None,
        Query(
            description="curated: submitted papers by upvotes (the default once there are"
            " any); all: every paper first published in the period"
        ),
    ] = None,
) -> list[dict]:
    """The day's papers (or a week's or month's; given several of date, week and month,
    the narrowest wins): those members submitted, featured first, then by upvotes, once
    the instance has submissions; else every new paper, newest or most upvoted first."""
    period = parse_period(date_.isoformat() if date_ else None, week, month)
    listing = svc.listings.daily(
        period,
        sort=sort,
        page=p,
        limit=limit,
        view=view or svc.listings.default_view(),
        submitter=submitter or None,
    )
    return [entry_json(item) for item in listing.items]


@router.get("/trending", response_model=list[DailyPaper], responses=ERRORS)
def trending(
    svc: Svc,
    p: Annotated[int, Query(ge=0, le=10_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> list[dict]:
    """Trending papers: (upvotes + 1) / (hours since published + 2) ^ gravity."""
    listing = svc.listings.trending(page=p, limit=limit)
    return [entry_json(item) for item in listing.items]


@router.get("/papers/search", response_model=list[SearchResult], responses=ERRORS)
def search_papers(
    svc: Svc,
    q: Annotated[
        str | None, Query(max_length=2_000, description="query; see the README for the syntax")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000)] = 0,
    mode: Literal["hybrid", "lexical", "dense"] = "hybrid",
    category: Annotated[list[str] | None, Query(max_length=20)] = None,
    published_from: Annotated[date | None, Query(alias="from")] = None,
    published_until: Annotated[date | None, Query(alias="until")] = None,
) -> list[dict]:
    """Search by meaning and by words. Each result explains its rank. Without `q`, the
    newest papers (as Hugging Face's client expects of a query-less listing)."""
    if q is None:
        listing = svc.listings.daily(None, limit=limit)
        return [
            entry_json(item)
            | {"score": 0.0, "explanation": _NO_RANK, "snippet": "", "highlights": []}
            for item in listing.items
        ]
    if not q.strip():
        raise HTTPException(422, "q: give some words to search for")
    filters = SearchFilters(
        categories=tuple(c for c in category or () if c.strip()),
        published_from=published_from,
        published_until=published_until,
    )
    hits = svc.search.search(q, mode=mode, limit=limit, offset=offset, filters=filters).hits
    annotated = svc.community.annotate([hit.paper for hit in hits])
    return [_search_result(hit, a) for hit, a in zip(hits, annotated, strict=True)]


_NO_RANK = {
    "lexical_rank": None,
    "lexical_score": None,
    "dense_rank": None,
    "dense_score": None,
    "fused_score": 0.0,
}


def _search_result(hit: SearchHit, annotated: AnnotatedPaper) -> dict:
    """A search hit as the API answers it, shaped here once."""
    data = hit.as_json()
    return entry_json(annotated) | {
        "score": data["score"],
        "explanation": data["explanation"],
        "snippet": data["snippet"],
        "highlights": data["highlights"],
    }


@router.get("/papers/{paper_id:path}/similar", response_model=list[SimilarPaper], responses=ERRORS)
def similar_papers(
    svc: Svc, paper_id: str, limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10
) -> list[dict]:
    """Papers most like this one, by meaning, with hubness reduction (CSLS)."""
    paper = svc.listings.paper(paper_id)
    found = svc.search.similar(paper.id, limit=limit)
    annotated = svc.community.annotate([s.paper for s in found])
    return [
        {"paper": paper_json(a), "score": s.score, "cosine": s.cosine}
        for s, a in zip(found, annotated, strict=True)
    ]


@router.get("/papers/{paper_id:path}", response_model=Paper, responses=ERRORS)
def paper_info(svc: Svc, paper_id: str) -> Paper:
    """One paper, by arXiv id (any version; `arXiv:` prefixes and abs URLs work too)."""
    (annotated,) = svc.community.annotate([svc.listings.paper(paper_id)])
    return paper_json(annotated)


@pydantic_dataclass(config=ConfigDict(extra="forbid"), frozen=True, kw_only=True)
class PaperIn(PaperMetadata):
    """A paper a pipeline pushes: arXiv's metadata, as `paperscope ingest` reads it (and
    checked by the same rules: records.make_record)."""


class StoredOut(ApiModel):
    id: str
    stored: Literal["inserted", "updated", "unchanged"]


WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "No or a wrong ingest token"},
    403: {"model": Problem, "description": "Pushing papers is turned off on this server"},
    413: ERRORS[413],
    422: {"model": Problem, "description": "The paper could not be read"},
}


@router.put(
    "/papers/{paper_id:path}", response_model=StoredOut, responses=WRITE_ERRORS, status_code=200
)
def put_paper(
    svc: Svc,
    paper_id: str,
    paper: PaperIn,
    response: Response,
    authorization: Annotated[str | None, Header()] = None,
) -> StoredOut:
    """Store one paper (new, or a newer version of a stored one), as an ingest would; any
    number of servers may take the same paper at once, it is stored once. Needs
    `Authorization: Bearer <PAPERSCOPE_INGEST_TOKEN>`. 201 when the paper is new."""
    _check_ingest_token(svc.settings, authorization)
    record = make_record(id=paper_id, **asdict(paper))
    result = svc.papers.store_records([record]).stored
    if result.inserted:
        response.status_code = 201
    stored: Literal["inserted", "updated", "unchanged"]
    stored = "inserted" if result.inserted else "updated" if result.updated else "unchanged"
    return StoredOut(id=record.id, stored=stored)


def _check_ingest_token(settings, authorization: str | None) -> None:
    expected = settings.ingest_token
    if expected is None:
        raise HTTPException(
            status_code=403,
            detail="pushing papers is turned off on this server (PAPERSCOPE_INGEST_TOKEN)",
        )
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), expected.get_secret_value().encode()
    ):
        raise HTTPException(
            status_code=401,
            detail="send Authorization: Bearer <the server's ingest token>",
            headers={"WWW-Authenticate": "Bearer"},
        )
