"""Following as feeds: a member's followed searches (followed from the search page), their
private For you feed behind a revocable link, and `/me/following.opml`, every feed they
follow in one file a feed reader imports. The rules are in `paperscope.following`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paperscope.accounts import Member, utcnow
from paperscope.following import SavedSearch
from paperscope.following.imports import FollowImport, import_follows
from paperscope.following.opml import Outline, opml
from paperscope.text import display_title
from paperscope.web.auth import Csrf, SignedIn, resolve_viewer
from paperscope.web.pages import FEED_SIZE, FEED_TYPES, feed_response, page
from paperscope.web.security import absolute_base, read_upload
from paperscope.web.services import Services, Svc

router = APIRouter(include_in_schema=False, dependencies=[Depends(resolve_viewer)])
Line = Annotated[str, Form(max_length=500)]
Query_ = Annotated[str, Form(max_length=2_000)]
MODE_NAMES = {"hybrid": "meaning + words", "lexical": "words only", "dense": "meaning only"}


# -- where a followed search is ----------------------------------------------------------------
def search_query(search: SavedSearch) -> str:
    """The search's query string as the search page and its feeds take it."""
    fields = {
        "q": search.query,
        "category": search.category,
        "from": search.published_from,
        "until": search.published_until,
        "mode": "" if search.mode == "hybrid" else search.mode,
    }
    return urlencode({name: value for name, value in fields.items() if value})


def search_name(search: SavedSearch) -> str:
    """The search in a few words: its query, then its filters."""
    filters = [search.category] if search.category else []
    if search.published_from:
        filters.append(f"from {search.published_from}")
    if search.published_until:
        filters.append(f"until {search.published_until}")
    if search.mode != "hybrid":
        filters.append(MODE_NAMES.get(search.mode, search.mode))
    return search.query + (f" ({', '.join(filters)})" if filters else "")


# -- the OPML export ------------------------------------------------------------------------------
def following_outlines(svc: Services, member: Member, base: str) -> list[Outline]:
    """Every feed the member follows, in the order the OPML file lists them: their followed
    searches, the authors they follow, then their shared collections."""
    return [
        *search_outlines(svc, member, base),
        *author_outlines(svc, member, base),
        *collection_outlines(svc, member, base),
    ]


def author_outlines(svc: Services, member: Member, base: str) -> list[Outline]:
    return [
        Outline(
            text=f"paperscope author: {author.name}",
            xml_url=base + author.feed_url("atom"),
            html_url=base + author.url,
        )
        for author in svc.authors.followed(member)
    ]


def search_outlines(svc: Services, member: Member, base: str) -> list[Outline]:
    return [
        Outline(
            text=f"paperscope search: {search_name(search)}",
            xml_url=f"{base}/feeds/search.atom?{search_query(search)}",
            html_url=f"{base}/search?{search_query(search)}",
        )
        for search in svc.following.searches(member)
    ]


def collection_outlines(svc: Services, member: Member, base: str) -> list[Outline]:
    """The member's shared collections: a private one has no feed anyone could read."""
    return [
        Outline(
            text=f"paperscope collection: {collection.name}",
            xml_url=f"{base}/feeds/collections/{collection.share_token}.atom",
            html_url=f"{base}/c/{collection.share_token}",
        )
        for collection in svc.community.collections_of(member)
        if collection.share_token
    ]


@router.get("/me/following.opml")
def following_opml(request: Request, svc: Svc, member: SignedIn):
    base = absolute_base(svc.settings, request)
    body = opml(
        f"paperscope: what {member.fullname} follows",
        following_outlines(svc, member, base),
        created=datetime.now(UTC),
        owner=member.fullname,
    )
    return Response(
        body,
        media_type="text/x-opml; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="paperscope-following.opml"',
            "Cache-Control": "private, no-store",
        },
    )


@router.post("/me/following.opml", response_class=HTMLResponse, dependencies=[Csrf])
def following_opml_import(
    request: Request, svc: Svc, member: SignedIn, file: Annotated[UploadFile, File()]
):
    """Follow the searches and authors an OPML file lists (another paperscope's export, a
    feed reader's); the page then says what was followed and what was not."""
    done = import_follows(
        svc.following, svc.authors, member, read_upload(file), svc.settings.public_url
    )
    return _following_page(request, svc, member, imported=done)


# -- the settings page -------------------------------------------------------------------------
def _following_page(
    request: Request,
    svc: Services,
    member: Member,
    new_link: str | None = None,
    imported: FollowImport | None = None,
) -> HTMLResponse:
    base = absolute_base(svc.settings, request)
    searches = [
        (search, search_name(search), search_query(search))
        for search in svc.following.searches(member)
    ]
    return page(
        request,
        "following.html",
        searches=searches,
        collections=svc.community.collections_of(member),
        feed_link_made=svc.following.feed_link_made(member),
        new_link=f"{base}/feeds/for-you/{new_link}.atom" if new_link else None,
        imported=imported,
    )


@router.get("/me/following", response_class=HTMLResponse)
def following(request: Request, svc: Svc, member: SignedIn):
    return _following_page(request, svc, member)


@router.post("/me/following/searches", dependencies=[Csrf])
def follow_search(
    svc: Svc,
    member: SignedIn,
    q: Query_ = "",
    category: Line = "",
    published_from: Annotated[str, Form(alias="from", max_length=40)] = "",
    published_until: Annotated[str, Form(alias="until", max_length=40)] = "",
    mode: Line = "hybrid",
):
    svc.following.follow_search(member, q, category, published_from, published_until, mode)
    return RedirectResponse("/me/following#searches", status_code=303)


@router.post("/me/following/searches/{search_id:int}/unfollow", dependencies=[Csrf])
def unfollow_search(svc: Svc, member: SignedIn, search_id: int):
    svc.following.unfollow_search(member, search_id)
    return RedirectResponse("/me/following#searches", status_code=303)


@router.post("/me/feed-link", response_class=HTMLResponse, dependencies=[Csrf])
def new_feed_link(request: Request, svc: Svc, member: SignedIn):
    """A new private feed link, shown this once; the one before stops working."""
    token = svc.following.new_feed_link(member)
    return _following_page(request, svc, member, new_link=token)


# -- the private For you feed ------------------------------------------------------------------
@router.get("/feeds/for-you/{token}.{kind}")
def for_you_feed(request: Request, svc: Svc, token: str, kind: str):
    """A member's For you as a feed, opened by their private link alone (a feed reader
    has no session); a link that was replaced answers 404. The For you page's list
    (recommend/for_you.py), through the ledger's "feed" channel: papers back with news
    first, each ending with why, then the picks; only what is new to the feed, or changed,
    is recorded, so a reader polling it adds nothing (and gets 304 while it is unchanged)."""
    if kind not in FEED_TYPES:  # before anything is recorded as shown
        raise HTTPException(404, "feeds come as .atom, .rss or .json")
    member = svc.following.member_of_feed_link(token)
    found = svc.for_you.page(member, utcnow(), limit=FEED_SIZE, channel="feed")
    back = {item.paper.id: item for item in found.back}
    items = [*found.back, *(item for item in found.items if item.paper.id not in back)]
    because = {item.paper.id: item.because for item in items}

    def note(paper_id: str) -> str | None:
        if paper_id in back:
            return f"Back with news: {back[paper_id].back}"
        liked = because.get(paper_id)
        return f"Because you liked: {display_title(liked.title)}" if liked else None

    return feed_response(
        request,
        kind,
        [item.paper for item in items],
        f"paperscope: for {member.fullname}",
        "Papers like the ones you upvoted and saved",
        page_path="/for-you",
        note=note,
        private=True,
    )
