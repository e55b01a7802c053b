"""The pages people act on: sign in and out, their account, submitting, upvoting,
discussing, collections, curating. Every form POSTs with a CSRF token (web/auth.py), every
change is a POST, and each answers with a redirect (303) to a page that shows the result.
The rules themselves are in `paperscope.community` and `paperscope.accounts`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from paperscope.accounts import LinkRefused, Member, utcnow
from paperscope.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperscope.community import Refused, Requested
from paperscope.errors import InvalidInput
from paperscope.text import paper_url
from paperscope.web.auth import (
    Csrf,
    SignedIn,
    Viewer,
    clear_session_cookie,
    resolve_viewer,
    safe_next,
    set_session_cookie,
)
from paperscope.web.pages import FEED_SIZE, feed_response, page, paper_page
from paperscope.web.services import Services, Svc, client_address

router = APIRouter(include_in_schema=False, dependencies=[Depends(resolve_viewer)])
Next = Annotated[str, Form(max_length=2_000)]
Text = Annotated[str, Form(max_length=200_000)]
Line = Annotated[str, Form(max_length=500)]


@dataclass(frozen=True)
class CommentDraft:
    """A comment that was not posted, shown again in the paper page's form."""

    body: str
    problem: str


def _back(target: str | None, default: str = "/") -> RedirectResponse:
    return RedirectResponse(safe_next(target, default), status_code=303)


# -- sign in and out -------------------------------------------------------------------------
@router.get("/signin", response_class=HTMLResponse)
def sign_in_form(request: Request, svc: Svc, next: Annotated[str, Query(max_length=2_000)] = "/"):
    return page(
        request, "signin.html", next=safe_next(next), delivery=svc.accounts.delivery, sent=False
    )


@router.post("/signin", response_class=HTMLResponse, dependencies=[Csrf])
def sign_in_request(request: Request, svc: Svc, email: Line, next: Next = "/"):
    if svc.accounts.delivery is None:
        return page(request, "signin.html", 503, next="/", delivery=None, sent=False)
    svc.accounts.request_link(email, client_address(request), next=safe_next(next))
    # The same page whether or not the address has an account.
    return page(
        request, "signin.html", next=safe_next(next), delivery=svc.accounts.delivery, sent=True
    )


@router.get("/signin/confirm", response_class=HTMLResponse)
def sign_in_confirm_form(
    request: Request,
    svc: Svc,
    token: Annotated[str, Query(max_length=200)] = "",
    next: Annotated[str, Query(max_length=2_000)] = "/",
):
    """What a sign-in link opens: a button. Nothing is used until it is pressed (mail
    scanners open links too)."""
    state = svc.accounts.link_state(token) if token else "unknown"
    if state != "valid":
        raise LinkRefused(state)
    return page(request, "signin_confirm.html", token=token, next=safe_next(next))


@router.post("/signin/confirm", dependencies=[Csrf])
def sign_in_confirm(request: Request, svc: Svc, token: Line, next: Next = "/"):
    _member, session = svc.accounts.redeem(token)
    response = _back(next)
    set_session_cookie(response, session, svc.settings.session_days, svc.https)
    return response


@router.post("/signout", dependencies=[Csrf])
def sign_out(request: Request, svc: Svc):
    token = request.cookies.get("ps_session")
    if token:
        svc.accounts.sign_out(token)
    response = _back("/")
    clear_session_cookie(response, svc.https)
    return response


@router.post("/signout/everywhere", dependencies=[Csrf])
def sign_out_everywhere(svc: Svc, member: SignedIn):
    svc.accounts.sign_out_everywhere(member)
    response = _back("/")
    clear_session_cookie(response, svc.https)
    return response


# -- account -------------------------------------------------------------------------------
def _account_page(
    request: Request, svc: Services, member: Member, status: int = 200, **extra
) -> HTMLResponse:
    return page(
        request,
        "account.html",
        status,
        member=member,
        tokens=svc.accounts.tokens(member),
        sessions=svc.accounts.session_count(member),
        digest=svc.digests.subscription_of(member),
        followed=svc.authors.followed(member),
        **extra,
    )


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, svc: Svc, member: SignedIn):
    return _account_page(request, svc, member)


@router.post("/account/name", dependencies=[Csrf])
def account_name(request: Request, svc: Svc, member: SignedIn, fullname: Line):
    fullname = " ".join(fullname.split())
    if not 1 <= len(fullname) <= 100:
        return _account_page(
            request,
            svc,
            member,
            422,
            name_problem="A display name has 1 to 100 characters: type one and save again.",
        )
    svc.accounts.rename(member, fullname)
    return _back("/account")


@router.post("/account/tokens", response_class=HTMLResponse, dependencies=[Csrf])
def account_new_token(request: Request, svc: Svc, member: SignedIn, name: Line = "API token"):
    token = svc.accounts.add_token(member, " ".join(name.split()) or "API token")
    return _account_page(request, svc, member, new_token=token)


@router.post("/account/tokens/{token_id:int}/revoke", dependencies=[Csrf])
def account_revoke_token(svc: Svc, member: SignedIn, token_id: int):
    svc.accounts.revoke_token(member, token_id)
    return _back("/account")


@router.post("/account/delete", dependencies=[Csrf])
def account_delete(request: Request, svc: Svc, member: SignedIn, confirm: Line = ""):
    if confirm.strip().lower() != member.email:
        return _account_page(
            request,
            svc,
            member,
            422,
            delete_problem=f"To delete your account, type its address, {member.email}, exactly.",
        )
    svc.accounts.delete(member)
    response = _back("/")
    clear_session_cookie(response, svc.https)
    return response


# -- submitting, voting, curating ------------------------------------------------------------
@router.get("/submit", response_class=HTMLResponse)
def submit_form(
    request: Request,
    svc: Svc,
    member: SignedIn,
    fetching: Annotated[str, Query(max_length=100)] = "",
):
    try:  # the id just submitted, named in the "we are fetching it" note
        fetching = parse_arxiv_id(fetching).base if fetching else ""
    except InvalidArxivId:
        fetching = ""
    return _submit_page(request, svc, member, fetching=fetching)


def _submit_page(
    request: Request,
    svc: Services,
    member: Member,
    status: int = 200,
    *,
    fetching: str = "",
    paper_id: str = "",
    comment: str = "",
    problem: str = "",
) -> HTMLResponse:
    """The submit form; after a refusal it holds what was typed and says what to change."""
    return page(
        request,
        "submit.html",
        status,
        max_age=svc.settings.submission_max_age_days,
        per_day=svc.settings.submissions_per_day,
        fetching=fetching,
        requests=svc.community.pending(member),
        paper_id=paper_id,
        comment=comment,
        problem=problem,
    )


@router.post("/submit", dependencies=[Csrf])
def submit(request: Request, svc: Svc, member: SignedIn, paper_id: Line, comment: Text = ""):
    try:
        submitted = svc.community.submit(member, paper_id, comment)
    except Refused as error:
        return _submit_page(
            request,
            svc,
            member,
            error.status,
            paper_id=paper_id,
            comment=comment,
            problem=error.message,
        )
    if isinstance(submitted, Requested):  # arXiv is asked off the request path
        return RedirectResponse(
            "/submit?" + urlencode({"fetching": submitted.paper_id}), status_code=303
        )
    return RedirectResponse(paper_url(submitted.paper_id), status_code=303)


@router.post("/papers/{paper_id:path}/upvote", dependencies=[Csrf])
def upvote(request: Request, svc: Svc, member: SignedIn, paper_id: str, next: Next = ""):
    svc.community.vote(member, paper_id)
    return _back(next, paper_url(paper_id))


@router.post("/papers/{paper_id:path}/dismiss", dependencies=[Csrf])
def dismiss(
    request: Request, svc: Svc, member: SignedIn, paper_id: str, undo: Line = "", next: Next = ""
):
    svc.community.dismiss(member, paper_id, dismissed=not undo)
    return _back(next, paper_url(paper_id))


@router.post("/papers/{paper_id:path}/curate", dependencies=[Csrf])
def curate(request: Request, svc: Svc, member: SignedIn, paper_id: str, state: Line):
    svc.community.curate(member, paper_id, state)
    return _back(paper_url(paper_id))


# -- discussion ------------------------------------------------------------------------------
@router.post("/papers/{paper_id:path}/comments", dependencies=[Csrf])
def add_comment(request: Request, svc: Svc, member: SignedIn, paper_id: str, body: Text):
    try:
        comment = svc.community.comment(member, paper_id, body)
    except Refused as error:
        if error.status == 404:
            raise
        # The paper's page again, its form holding what they wrote and saying what to change.
        request.state.comment_draft = CommentDraft(body, error.message)
        answer = paper_page(request, svc, paper_id, member)
        answer.status_code = error.status if answer.status_code == 200 else answer.status_code
        return answer
    return RedirectResponse(f"{paper_url(comment.paper_id)}#comment-{comment.id}", 303)


@router.get("/comments/{comment_id:int}/edit", response_class=HTMLResponse)
def edit_comment_form(request: Request, svc: Svc, member: SignedIn, comment_id: int):
    comment = svc.community.own_comment(member, comment_id)
    return page(request, "comment_edit.html", comment=comment, body=comment.body, problem=None)


@router.post("/comments/{comment_id:int}/edit", dependencies=[Csrf])
def edit_comment(request: Request, svc: Svc, member: SignedIn, comment_id: int, body: Text):
    try:
        comment = svc.community.edit_comment(member, comment_id, body)
    except Refused as error:
        if error.status != 422:
            raise
        comment = svc.community.own_comment(member, comment_id)
        return page(
            request,
            "comment_edit.html",
            error.status,
            comment=comment,
            body=body,
            problem=error.message,
        )
    return RedirectResponse(f"{paper_url(comment.paper_id)}#comment-{comment.id}", 303)


@router.post("/comments/{comment_id:int}/delete", dependencies=[Csrf])
def delete_comment(request: Request, svc: Svc, member: SignedIn, comment_id: int):
    comment = svc.community.own_comment(member, comment_id)
    svc.community.delete_comment(member, comment_id)
    return RedirectResponse(f"{paper_url(comment.paper_id)}#discussion", 303)


@router.post("/comments/{comment_id:int}/hide", dependencies=[Csrf])
def hide_comment(request: Request, svc: Svc, member: SignedIn, comment_id: int, hidden: Line = "1"):
    comment = svc.community.hide_comment(member, comment_id, hidden == "1")
    return _back(f"{paper_url(comment.paper_id)}#comment-{comment_id}")


# -- collections -----------------------------------------------------------------------------
@router.get("/collections", response_class=HTMLResponse)
def collections(request: Request, svc: Svc, member: SignedIn):
    return page(request, "collections.html", collections=svc.community.collections_of(member))


@router.post("/collections", dependencies=[Csrf])
def create_collection(
    request: Request, svc: Svc, member: SignedIn, name: Line, paper_id: Line = ""
):
    made = svc.community.create_collection(member, name)
    if paper_id:
        svc.community.collect(member, made.id, paper_id, keep=True)
    return _back(paper_url(paper_id) if paper_id else f"/collections/{made.id}")


@router.get("/collections/{collection_id:int}", response_class=HTMLResponse)
def collection(request: Request, svc: Svc, viewer: Viewer, collection_id: int):
    found = svc.community.collection(viewer, collection_id)
    return _collection_page(request, svc, found, own=True)


def _collection_page(request: Request, svc: Services, found, *, own: bool) -> HTMLResponse:
    papers = svc.community.collection_papers(found)
    share_url = None
    if own and found.share_token:
        share_url = f"{svc.settings.public_url or str(request.base_url).rstrip('/')}"
        share_url += f"/c/{found.share_token}"
    return page(
        request, "collection.html", collection=found, papers=papers, own=own, share_url=share_url
    )


@router.get("/c/{token}", response_class=HTMLResponse)
def shared_collection(request: Request, svc: Svc, token: str):
    found = svc.community.shared_collection(token)
    response = _collection_page(request, svc, found, own=False)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the link is the key
    return response


@router.get("/feeds/collections/{token}.{kind}")
def shared_collection_feed(request: Request, svc: Svc, token: str, kind: str):
    """A shared collection as a feed, most recently added first: its address holds the
    share link's key, so it is private (no shared cache keeps it) and dies with the link."""
    found = svc.community.shared_collection(token)
    papers = svc.community.collection_papers(found)[:FEED_SIZE]
    return feed_response(
        request,
        kind,
        papers,
        f"paperscope: {found.name}",
        f"The papers of the collection {found.name!r}",
        page_path=f"/c/{token}",
        private=True,
    )


@router.post("/collections/{collection_id:int}/rename", dependencies=[Csrf])
def rename_collection(request: Request, svc: Svc, member: SignedIn, collection_id: int, name: Line):
    svc.community.rename_collection(member, collection_id, name)
    return _back(f"/collections/{collection_id}")


@router.post("/collections/{collection_id:int}/share", dependencies=[Csrf])
def share_collection(
    request: Request, svc: Svc, member: SignedIn, collection_id: int, shared: Line = "1"
):
    svc.community.share_collection(member, collection_id, shared == "1")
    return _back(f"/collections/{collection_id}")


@router.post("/collections/{collection_id:int}/delete", dependencies=[Csrf])
def delete_collection(request: Request, svc: Svc, member: SignedIn, collection_id: int):
    svc.community.delete_collection(member, collection_id)
    return _back("/collections")


@router.post("/collections/{collection_id:int}/papers", dependencies=[Csrf])
def collect(
    request: Request,
    svc: Svc,
    member: SignedIn,
    collection_id: int,
    paper_id: Line,
    remove: Line = "",
    next: Next = "",
):
    svc.community.collect(member, collection_id, paper_id, keep=not remove)
    return _back(next, f"/collections/{collection_id}")


# -- for you -------------------------------------------------------------------------------
def _number(text: str) -> int:
    if not text.isdigit() or len(text) > 18:
        raise InvalidInput(f"collection {text!r}: the number of one of your collections")
    return int(text)


@router.get("/for-you", response_class=HTMLResponse)
def for_you(
    request: Request,
    svc: Svc,
    viewer: SignedIn,
    collection: Annotated[str, Query(max_length=20)] = "",
):
    """Papers of the trending window picked for the member: those of the authors they
    follow first, then those like what they upvoted and saved (and not what they are not
    interested in), each with why, and papers shown before that came back with news;
    `?collection=ID`: like that one collection's papers instead."""
    # Empty (the form's "everything you upvoted and saved"): the upvotes and saves.
    chosen = svc.community.collection(viewer, _number(collection)) if collection else None
    likes = None if chosen is None else svc.community.collection_ids(chosen)
    found = svc.for_you.page(viewer, utcnow(), likes=likes)
    followed = svc.authors.describe([i.author for i in found.items if i.author])
    mine: dict[str, Any] = {"collections": svc.community.collections_of(viewer), "chosen": chosen}
    return page(request, "for_you.html", found=found, voted=found.voted, followed=followed, **mine)


@router.get("/for-you/how-it-does", response_class=HTMLResponse)
def for_you_how_it_does(request: Request, svc: Svc, viewer: SignedIn):
    """How well For you does on the member's own votes: each signal's AUC on their later
    likes, learned from their earlier ones."""
    return page(request, "for_you_how.html", result=svc.for_you.how_it_does(viewer))


# -- about -----------------------------------------------------------------------------------
@router.get("/about/trending", response_class=HTMLResponse)
def about_trending(request: Request, svc: Svc):
    return page(
        request,
        "about_trending.html",
        gravity=svc.settings.trending_gravity,
        window=svc.settings.trending_window_days,
    )
