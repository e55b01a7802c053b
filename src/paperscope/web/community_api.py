"""The API for members (``Authorization: Bearer <API token>``, made on the account page or
with `paperscope tokens create`): submit, upvote, comment, collections. Hugging Face's
shape where it has one (`POST /api/papers/submit`, `upvotes`, `numComments`,
`submittedOnDailyBy`); errors are ``{"error": message}`` with the status saying which."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from paperscope.accounts import utcnow
from paperscope.arxiv_ids import parse_arxiv_id
from paperscope.community import (
    Refused,
    Requested,
    StoredCollection,
    StoredComment,
    render_markdown,
)
from paperscope.errors import NotFound
from paperscope.recommend import Explanation, published_days
from paperscope.text import paper_url
from paperscope.web.api import (
    ERRORS,
    ApiModel,
    DailyPaper,
    Paper,
    Problem,
    as_utc,
    entry_json,
    paper_json,
)
from paperscope.web.auth import ApiMember
from paperscope.web.services import Services, Svc

router = APIRouter(prefix="/api", tags=["members"])
# Open to everyone, so listed with the open API (under one tag: Swagger UI lists an
# operation once per tag).
open_router = APIRouter(prefix="/api", tags=["api"])
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "No or a wrong API token"},
    403: {"model": Problem, "description": "Only curators may"},
    404: ERRORS[404],
    409: {"model": Problem, "description": "Submitted already, or a name in use"},
    422: ERRORS[422],
    429: {"model": Problem, "description": "Too many requests of this kind; try later"},
}


class SubmitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    paper_id: str = Field(max_length=500, description="arXiv id or URL, any version")
    comment: str = Field(default="", max_length=100_000)


class SubmissionRequest(ApiModel):
    """A submission of a paper this paperscope lacked: fetched from arXiv off the request
    path, then on the page (`submitted`) or refused with the reason (`failed`)."""

    id: int
    paper_id: str
    status: Literal["pending", "submitted", "failed"]
    reason: str | None = Field(description="why it failed, or the last try's problem")
    requested_at: datetime
    attempts: int
    url: str = Field(description="the paper's page once submitted")


def _request_json(requested: Requested) -> SubmissionRequest:
    return SubmissionRequest(
        id=requested.id,
        paper_id=requested.paper_id,
        status=requested.state,
        reason=requested.reason,
        requested_at=as_utc(requested.requested_at),
        attempts=requested.attempts,
        url=paper_url(requested.paper_id),
    )


@router.post(
    "/papers/submit",
    response_model=DailyPaper,
    status_code=201,
    responses={
        **AUTH_ERRORS,
        202: {
            "model": SubmissionRequest,
            "description": "Not in this paperscope yet: being fetched from arXiv; "
            "`GET /api/submissions` says how it went",
        },
    },
)
def submit_paper(svc: Svc, member: ApiMember, body: SubmitIn):
    """Put a paper on today's page. A paper this paperscope lacks is fetched from arXiv
    off the request path: 202, pending (see `GET /api/submissions`). 409 when it was
    submitted before: the answer names the first submission."""
    try:
        submitted = svc.community.submit(member, body.paper_id, body.comment)
    except Refused as error:
        if error.earlier is not None:
            return JSONResponse(
                {
                    "error": error.message,
                    "paperId": error.earlier.paper_id,
                    "submittedOnDailyAt": as_utc(error.earlier.submitted_at).isoformat(),
                    "url": paper_url(error.earlier.paper_id),
                },
                409,
            )
        raise
    if isinstance(submitted, Requested):
        return JSONResponse(_request_json(submitted).model_dump(mode="json", by_alias=True), 202)
    (annotated,) = svc.community.annotate([svc.community.paper(submitted.paper_id)])
    return entry_json(annotated)


@router.get("/submissions", response_model=list[SubmissionRequest], responses=AUTH_ERRORS)
def submission_requests(svc: Svc, member: ApiMember):
    """Your submissions of the last days that had to be fetched from arXiv, newest first:
    pending, submitted, or failed with the reason."""
    return [_request_json(r) for r in svc.community.pending(member)]


class VoteOut(ApiModel):
    upvotes: int
    upvoted: bool


def _vote(svc: Services, member, paper_id: str, up: bool) -> VoteOut:
    vote = svc.community.vote(member, paper_id, up)
    return VoteOut(upvotes=vote.upvotes, upvoted=vote.upvoted)


@router.post("/papers/{paper_id:path}/upvote", response_model=VoteOut, responses=AUTH_ERRORS)
def upvote(svc: Svc, member: ApiMember, paper_id: str):
    """Upvote a paper (again: no change)."""
    return _vote(svc, member, paper_id, True)


@router.delete("/papers/{paper_id:path}/upvote", response_model=VoteOut, responses=AUTH_ERRORS)
def remove_upvote(svc: Svc, member: ApiMember, paper_id: str):
    """Take an upvote back (none: no change)."""
    return _vote(svc, member, paper_id, False)


class CommentAuthor(ApiModel):
    user: str
    fullname: str


class CommentOut(ApiModel):
    id: int
    paper_id: str
    author: CommentAuthor
    body: str = Field(description="as written (Markdown)")
    html: str = Field(description="rendered and sanitised")
    created_at: datetime
    edited_at: datetime | None
    hidden: bool


def comment_json(comment: StoredComment) -> CommentOut:
    return CommentOut(
        id=comment.id,
        paper_id=comment.paper_id,
        author=CommentAuthor(user=comment.author_name, fullname=comment.author_fullname),
        body=comment.body,
        html=str(render_markdown(comment.body)),
        created_at=as_utc(comment.created_at),
        edited_at=as_utc(comment.edited_at),
        hidden=comment.hidden,
    )


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str = Field(max_length=100_000)


@router.get("/papers/{paper_id:path}/comments", response_model=list[CommentOut], responses=ERRORS)
def comments(svc: Svc, paper_id: str):
    """A paper's discussion, oldest first (comments a curator hid are left out)."""
    paper = svc.community.paper(paper_id)
    return [comment_json(c) for c in svc.community.thread(paper.id)]


@router.post(
    "/papers/{paper_id:path}/comments",
    response_model=CommentOut,
    status_code=201,
    responses=AUTH_ERRORS,
)
def add_comment(svc: Svc, member: ApiMember, paper_id: str, body: CommentIn):
    return comment_json(svc.community.comment(member, paper_id, body.body))


@router.patch("/comments/{comment_id}", response_model=CommentOut, responses=AUTH_ERRORS)
def edit_comment(svc: Svc, member: ApiMember, comment_id: int, body: CommentIn):
    return comment_json(svc.community.edit_comment(member, comment_id, body.body))


@router.delete("/comments/{comment_id}", status_code=204, responses=AUTH_ERRORS)
def delete_comment(svc: Svc, member: ApiMember, comment_id: int):
    svc.community.delete_comment(member, comment_id)
    return Response(status_code=204)


# -- collections -----------------------------------------------------------------------------
class CollectionOut(ApiModel):
    id: int
    name: str
    shared: bool
    share_url: str | None
    size: int
    created_at: datetime


class CollectionDetail(CollectionOut):
    papers: list[Paper]


class CollectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=500)
    shared: bool = False


class CollectionChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=500)
    shared: bool | None = None


class PaperRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    paper_id: str = Field(max_length=500)


def _collection_json(svc: Services, found: StoredCollection, size: int | None = None) -> dict:
    base = svc.settings.public_url or ""
    return {
        "id": found.id,
        "name": found.name,
        "shared": found.share_token is not None,
        "share_url": f"{base}/c/{found.share_token}" if found.share_token else None,
        "size": found.size if size is None else size,
        "created_at": as_utc(found.created_at),
    }


def _own(svc: Services, member, collection_id: int) -> StoredCollection:
    return svc.community.collection(member, collection_id)


def _detail(svc: Services, found: StoredCollection) -> dict:
    papers = svc.community.annotate(svc.community.collection_papers(found))
    return _collection_json(svc, found, len(papers)) | {"papers": [paper_json(a) for a in papers]}


@router.get("/collections", response_model=list[CollectionOut], responses=AUTH_ERRORS)
def list_collections(svc: Svc, member: ApiMember):
    """Your collections."""
    return [_collection_json(svc, c) for c in svc.community.collections_of(member)]


@router.post(
    "/collections", response_model=CollectionDetail, status_code=201, responses=AUTH_ERRORS
)
def create_collection(svc: Svc, member: ApiMember, body: CollectionIn):
    made = svc.community.create_collection(member, body.name)
    if body.shared:
        svc.community.share_collection(member, made.id, True)
    return _detail(svc, _own(svc, member, made.id))


@router.get("/collections/{collection_id}", response_model=CollectionDetail, responses=AUTH_ERRORS)
def get_collection(svc: Svc, member: ApiMember, collection_id: int):
    """One of your collections with its papers (another member's: 404)."""
    return _detail(svc, _own(svc, member, collection_id))


@router.patch(
    "/collections/{collection_id}", response_model=CollectionDetail, responses=AUTH_ERRORS
)
def change_collection(
    svc: Svc, member: ApiMember, collection_id: int, body: Annotated[CollectionChange, Body()]
):
    """Rename it, or share (a new unguessable link) or stop sharing it."""
    if body.name is not None:
        svc.community.rename_collection(member, collection_id, body.name)
    if body.shared is not None:
        svc.community.share_collection(member, collection_id, body.shared)
    return _detail(svc, _own(svc, member, collection_id))


@router.delete("/collections/{collection_id}", status_code=204, responses=AUTH_ERRORS)
def delete_collection(svc: Svc, member: ApiMember, collection_id: int):
    svc.community.delete_collection(member, collection_id)
    return Response(status_code=204)


@router.post(
    "/collections/{collection_id}/papers", response_model=CollectionDetail, responses=AUTH_ERRORS
)
def add_to_collection(svc: Svc, member: ApiMember, collection_id: int, body: PaperRef):
    svc.community.collect(member, collection_id, body.paper_id, keep=True)
    return _detail(svc, _own(svc, member, collection_id))


@router.delete(
    "/collections/{collection_id}/papers/{paper_id:path}",
    response_model=CollectionDetail,
    responses=AUTH_ERRORS,
)
def remove_from_collection(svc: Svc, member: ApiMember, collection_id: int, paper_id: str):
    svc.community.collect(member, collection_id, paper_id, keep=False)
    return _detail(svc, _own(svc, member, collection_id))


class Whoami(ApiModel):
    name: str
    fullname: str
    type: str = "user"
    role: str


@router.get("/whoami", response_model=Whoami, responses=AUTH_ERRORS)
def whoami(member: ApiMember):
    """The member the token belongs to (Hugging Face has /api/whoami-v2)."""
    return Whoami(name=member.name, fullname=member.fullname, role=member.role)


# -- recommendations (Semantic Scholar's shape) ----------------------------------------------
class RecommendationsIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    positive_paper_ids: list[str] = Field(
        alias="positivePaperIds", min_length=1, max_length=500, description="papers liked"
    )
    negative_paper_ids: list[str] = Field(
        default_factory=list, alias="negativePaperIds", max_length=500
    )
    candidate_paper_ids: list[str] | None = Field(
        default=None,
        alias="candidatePaperIds",
        max_length=20_000,
        description="rank these papers (those with a vector) instead of the recent ones",
    )


class LikedPaperOut(ApiModel):
    id: str
    title: str
    similarity: float = Field(description="cosine of the two papers' embeddings")


class WordOut(ApiModel):
    word: str
    weight: float = Field(description="the words model's weight of it times the paper's tf-idf")


class ExplanationOut(ApiModel):
    summary: str = Field(description='one line: "because you liked …; by …; on …"')
    liked_papers: list[LikedPaperOut] = Field(description="the liked papers nearest to it (≤ 3)")
    words: list[WordOut] = Field(description="the words that weighed most for it (≤ 5)")
    authors: list[str] = Field(description="its authors who wrote papers you liked")


class Recommended(Paper):
    score: float
    because: str | None = Field(description="the liked paper it is most like")
    explanation: ExplanationOut | None = Field(
        None, description="why it is recommended (not given with all=true)"
    )


def explanation_json(explanation: Explanation | None) -> dict | None:
    if explanation is None:
        return None
    return ExplanationOut(
        summary=explanation.summary(),
        liked_papers=[
            LikedPaperOut(id=p.id, title=p.title, similarity=p.similarity)
            for p in explanation.liked
        ],
        words=[WordOut(word=w, weight=v) for w, v in explanation.words],
        authors=explanation.authors,
    ).model_dump()


class RecommendationsOut(ApiModel):
    recommended_papers: list[Recommended]


@open_router.post("/recommendations", response_model=RecommendationsOut, responses=ERRORS)
def recommendations(
    svc: Svc,
    body: RecommendationsIn,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    from_: Annotated[
        date | None, Query(alias="from", description="papers published from this day")
    ] = None,
    every: Annotated[
        bool, Query(alias="all", description="every candidate with its score, not the top")
    ] = False,
):
    """Papers like the liked ones (a model learned from them on the stored embeddings),
    as Semantic Scholar's recommendations API answers: `{"recommendedPapers": [...]}`.
    `candidatePaperIds` ranks those papers instead; `all=true` returns every candidate."""
    likes = [parse_arxiv_id(i).base for i in body.positive_paper_ids]
    dislikes = [parse_arxiv_id(i).base for i in body.negative_paper_ids]
    candidates = (
        [parse_arxiv_id(i).base for i in body.candidate_paper_ids]
        if body.candidate_paper_ids is not None
        else None
    )
    known = {p.id for p in svc.listings.papers(likes)}
    if missing := [pid for pid in likes if pid not in known]:
        raise NotFound(f"not in this paperscope: {', '.join(missing[:5])}")
    recommender = svc.recommender()
    found = recommender.recommend(
        likes,
        dislikes,
        start=published_days(from_, None)[0],
        candidates=candidates,
        limit=None if every else limit,
    )
    papers = recommender.papers([r.paper_id for r in found])
    annotated = {a.paper.id: a for a in svc.community.annotate(list(papers.values()))}
    return {
        "recommended_papers": [
            paper_json(annotated[r.paper_id]).model_dump()
            | {
                "score": r.score,
                "because": r.because,
                "explanation": explanation_json(r.explanation),
            }
            for r in found
            if r.paper_id in annotated
        ]
    }


# -- for you ---------------------------------------------------------------------------------
class ForYouOut(ApiModel):
    collection: CollectionOut | None = Field(description="the collection learned from, if chosen")
    recommended_papers: list[Recommended]


@router.get("/for-you", response_model=ForYouOut, responses=AUTH_ERRORS)
def for_you(
    svc: Svc,
    member: ApiMember,
    collection: Annotated[
        int | None,
        Query(ge=1, description="learn from this collection's papers, not all upvotes and saves"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 30,
):
    """Papers of the trending window most like the ones you upvoted and saved (or, with
    `collection`, the ones in that collection of yours), best first."""
    chosen = svc.community.collection(member, collection) if collection is not None else None
    now = utcnow()
    recommender = svc.recommender()
    found = recommender.for_member(
        member,
        start=now - timedelta(days=svc.settings.trending_window_days),
        limit=limit,
        likes=None if chosen is None else svc.community.collection_ids(chosen),
    )
    papers = recommender.papers([r.paper_id for r in found])
    annotated = {a.paper.id: a for a in svc.community.annotate(list(papers.values()), member)}
    return {
        "collection": _collection_json(svc, chosen) if chosen else None,
        "recommended_papers": [
            paper_json(annotated[r.paper_id]).model_dump()
            | {"score": r.score, "because": r.because}
            for r in found
            if r.paper_id in annotated
        ],
    }
