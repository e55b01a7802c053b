"""Authors in the API: an author's papers and co-authors (open), and the authors a member
follows (``Authorization: Bearer <API token>``, as the rest of the members' API). A name
goes in the path URL-encoded; one a curator merged into another answers 308 to that one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import Field

from paperscope.authors import Author, Moved
from paperscope.web.api import ERRORS, MAX_LIMIT, ApiModel, Paper, paper_json
from paperscope.web.auth import ApiMember
from paperscope.web.community_api import AUTH_ERRORS
from paperscope.web.services import Svc

router = APIRouter(prefix="/api", tags=["members"])
open_router = APIRouter(prefix="/api", tags=["api"])


class AuthorRef(ApiModel):
    name: str = Field(description="as shown: the usual spelling, or “Wei Zhang (2)”")
    key: str = Field(description="the identity: the folded name, or a split one's key")
    label: str = Field(description="what tells a split identity apart; empty for a name")
    url: str = Field(description="the author's page")


class CoAuthor(AuthorRef):
    papers: int = Field(description="papers together")


class AuthorOut(AuthorRef):
    num_papers: int
    followers: int
    papers: list[Paper] = Field(description="this page of them, newest first")
    co_authors: list[CoAuthor]
    namesakes: list[AuthorRef] = Field(description="other people under the same name")
    also_written: list[str] = Field(description="other names merged into this author")
    claimed_by: list[str] = Field(description="handles of members who claim these papers")


def _ref(author: Author) -> AuthorRef:
    return AuthorRef(name=author.name, key=author.key, label=author.label, url=author.url)


def _moved(found: Moved, request: Request) -> RedirectResponse:
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse("/api" + found.author.url + query, status_code=308)


@open_router.get("/authors/{name:path}", response_model=AuthorOut, responses=ERRORS)
def author(
    request: Request,
    svc: Svc,
    name: str,
    p: Annotated[int, Query(ge=0, le=10_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
):
    """An author's papers (newest first, `limit` a page, page `p`) and most frequent
    co-authors. A name can belong to several people: `namesakes` lists those a curator
    told apart."""
    found = svc.authors.find(name)
    if isinstance(found, Moved):
        return _moved(found, request)
    shown = svc.authors.page(found, page=p, limit=limit)
    annotated = svc.community.annotate(shown.papers)
    return AuthorOut(
        **_ref(found).model_dump(),
        num_papers=shown.total,
        followers=shown.followers,
        papers=[paper_json(a) for a in annotated],
        co_authors=[CoAuthor(**_ref(a).model_dump(), papers=n) for a, n in shown.coauthors],
        namesakes=[_ref(a) for a in shown.namesakes],
        also_written=shown.merged,
        claimed_by=sorted({c.user_name for c in shown.claims}),
    )


@router.get("/me/following/authors", response_model=list[AuthorRef], responses=AUTH_ERRORS)
def followed(svc: Svc, member: ApiMember):
    """The authors you follow, the latest followed first: their new papers come first in
    your "for you"."""
    return [_ref(a) for a in svc.authors.followed(member)]


@router.put("/me/following/authors/{name:path}", response_model=AuthorRef, responses=AUTH_ERRORS)
def follow(svc: Svc, member: ApiMember, name: str):
    """Follow an author (again: no change); a merged name follows the author it is part of."""
    return _ref(svc.authors.follow(member, name))


@router.delete("/me/following/authors/{name:path}", status_code=204, responses=AUTH_ERRORS)
def unfollow(svc: Svc, member: ApiMember, name: str):
    """Stop following an author (not following: no change)."""
    svc.authors.follow(member, name, following=False)
    return Response(status_code=204)
