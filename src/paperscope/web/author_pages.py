"""Author pages, their feeds, following an author, claiming one's papers, curators telling
authors apart or merging them, and members' public pages. Forms POST with a CSRF token and
answer with a redirect (303) to the page that shows the result; the rules are in
`paperscope.authors`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paperscope.authors import Author, Moved
from paperscope.web.auth import Csrf, SignedIn, Viewer, resolve_viewer, safe_next
from paperscope.web.pages import FEED_SIZE, PAGE_SIZE, feed_response, page
from paperscope.web.services import Svc

router = APIRouter(include_in_schema=False, dependencies=[Depends(resolve_viewer)])
Line = Annotated[str, Form(max_length=500)]
Next = Annotated[str, Form(max_length=2_000)]
# A form's checked papers: at most a page of them (none checked: the field is absent).
Papers = Annotated[list[str] | None, Form(max_length=PAGE_SIZE)]


def _moved(author: Author, request: Request, suffix: str = "") -> RedirectResponse:
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(author.url + suffix + query, status_code=308)


@router.get("/authors/{name:path}", response_class=HTMLResponse)
def author_page(
    request: Request,
    svc: Svc,
    name: str,
    viewer: Viewer = None,
    p: Annotated[int, Query(ge=0, le=10_000)] = 0,
):
    found = svc.authors.find(name)
    if isinstance(found, Moved):
        return _moved(found.author, request)
    shown = svc.authors.page(found, page=p, limit=PAGE_SIZE)
    annotated = svc.community.annotate(shown.papers, viewer)
    claimed = {c.paper_id for c in shown.claims if viewer and c.user_id == viewer.id}
    return page(
        request,
        "author.html",
        shown=shown,
        author=found,
        items=annotated,
        following=svc.authors.follows(viewer, found),
        claimed=claimed,
        voted={a.paper.id for a in annotated if a.voted},
    )


@router.get("/feeds/author/{name:path}.{kind}")
def author_feed(request: Request, svc: Svc, name: str, kind: str):
    found = svc.authors.find(name)
    if isinstance(found, Moved):
        return _moved(found.author, request)
    papers = svc.authors.all_papers(found, FEED_SIZE)
    title = f"paperscope: papers by {found.name}"
    return feed_response(
        request, kind, papers, title, f"New papers by {found.name}", page_path=found.url
    )


@router.post("/following/authors", dependencies=[Csrf])
def follow(svc: Svc, member: SignedIn, name: Line, undo: Line = "", next: Next = ""):
    """Follow an author (or, with `undo`, stop): from an author's page or a paper's."""
    author = svc.authors.follow(member, name, following=not undo)
    return RedirectResponse(safe_next(next, author.url), status_code=303)


@router.post("/authors/{name:path}/claim", dependencies=[Csrf])
def claim(svc: Svc, member: SignedIn, name: str, papers: Papers = None, next: Next = ""):
    """ "These papers are mine": a statement shown on them and on the member's page."""
    author = svc.authors.author(name)
    svc.authors.claim(member, name, papers or [])
    return RedirectResponse(safe_next(next, author.url), status_code=303)


@router.post("/claims/remove", dependencies=[Csrf])
def remove_claim(svc: Svc, member: SignedIn, paper_id: Line, of: Line = "", next: Next = ""):
    """Take a claim back: one's own, or (a curator) the member `of`'s."""
    svc.authors.unclaim(member, paper_id, of or None)
    return RedirectResponse(safe_next(next, f"/members/{of or member.name}"), status_code=303)


@router.post("/authors/{name:path}/split", dependencies=[Csrf])
def split(svc: Svc, member: SignedIn, name: str, label: Line, papers: Papers = None):
    """A curator gives some of a name's papers an identity of their own."""
    made = svc.authors.split(member, name, papers or [], label)
    return RedirectResponse(made.url, status_code=303)


@router.post("/authors/{name:path}/merge", dependencies=[Csrf])
def merge(svc: Svc, member: SignedIn, name: str, into: Line):
    """A curator makes this author part of another ("J. Smith" into "John Smith")."""
    merged = svc.authors.merge(member, name, into)
    return RedirectResponse(merged.url, status_code=303)


@router.get("/members/{handle}", response_class=HTMLResponse)
def member_page(request: Request, svc: Svc, handle: str, viewer: Viewer = None) -> Response:
    """A member's public page: who they are, and the papers they claim as theirs."""
    shown = svc.authors.member(handle)
    return page(request, "member.html", member=shown, claims=svc.authors.claims_of(shown))
