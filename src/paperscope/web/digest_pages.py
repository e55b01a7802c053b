"""Digest pages: subscribe (double opt-in), confirm, preferences, unsubscribe (with RFC
8058's one-click POST), and a preview. Links from mail open pages whose buttons POST; only
the one-click POST acts at once, and it needs no session, cookie or CSRF token (mail
providers send it with none) and answers 200 without a redirect."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse

from paperscope.accounts import BadEmail, RateLimited, utcnow
from paperscope.digest import BadLink
from paperscope.digest.periods import digest_period
from paperscope.search.query import QuerySyntaxError, parse_query
from paperscope.web.auth import Csrf, Viewer, resolve_viewer
from paperscope.web.pages import error_page, page
from paperscope.web.services import Svc, client_address

router = APIRouter(include_in_schema=False, dependencies=[Depends(resolve_viewer)])
Line = Annotated[str, Form(max_length=500)]
Token = Annotated[str, Query(max_length=500)]


@router.get("/subscribe", response_class=HTMLResponse)
def subscribe_form(request: Request, svc: Svc, email: Annotated[str, Query(max_length=320)] = ""):
    return page(request, "subscribe.html", email=email, sent=False, delivery=svc.digests.delivery)


@router.post("/subscribe", response_class=HTMLResponse, dependencies=[Csrf])
def subscribe(request: Request, svc: Svc, email: Line):
    if svc.digests.delivery is None:
        return error_page(
            request, 503, "digests need mail, and this server has none configured", []
        )
    try:
        svc.digests.subscribe(email, client_address(request))
    except BadEmail as error:
        return error_page(request, 422, str(error), [])
    except RateLimited as error:
        return error_page(request, 429, str(error), [])
    return page(request, "subscribe.html", email="", sent=True, delivery=svc.digests.delivery)


@router.get("/digest/confirm", response_class=HTMLResponse)
def confirm_form(request: Request, svc: Svc, token: Token = ""):
    try:
        subscriber = svc.digests.subscriber_of("confirm", token)
    except BadLink as error:
        return error_page(request, 400, str(error), [])
    return page(request, "digest_confirm.html", subscriber=subscriber, token=token)


@router.post("/digest/confirm", response_class=HTMLResponse, dependencies=[Csrf])
def confirm(request: Request, svc: Svc, token: Line):
    try:
        subscriber = svc.digests.confirm(token)
    except BadLink as error:
        return error_page(request, 400, str(error), [])
    return _preferences_page(request, svc, subscriber, saved="You are subscribed.")


def _preferences_page(request, svc, subscriber, saved: str | None = None, status: int = 200):
    return page(
        request,
        "digest_preferences.html",
        status,
        subscriber=subscriber,
        token=svc.digests.token("manage", subscriber.id),
        unsubscribe=svc.digests.token("unsubscribe", subscriber.id),
        saved=saved,
    )


@router.get("/digest/preferences", response_class=HTMLResponse)
def preferences(request: Request, svc: Svc, token: Token = ""):
    try:
        subscriber = svc.digests.subscriber_of("manage", token)
    except BadLink as error:
        return error_page(request, 400, str(error), [])
    return _preferences_page(request, svc, subscriber)


@router.post("/digest/preferences", response_class=HTMLResponse, dependencies=[Csrf])
def save_preferences(
    request: Request,
    svc: Svc,
    token: Line,
    frequency: Line = "daily",
    categories: Annotated[str, Form(max_length=2_000)] = "",
    follows: Annotated[str, Form(max_length=10_000)] = "",
    for_you: Line = "",
    max_papers: Annotated[int, Form(ge=1, le=50)] = 10,
    paused: Line = "",
):
    try:
        subscriber = svc.digests.subscriber_of("manage", token)
    except BadLink as error:
        return error_page(request, 400, str(error), [])
    if frequency not in ("daily", "weekly"):
        return error_page(request, 422, "frequency: daily or weekly", [])
    searches = [line.strip() for line in follows.splitlines() if line.strip()][:20]
    for query in searches:
        try:
            parse_query(query)
        except QuerySyntaxError as error:
            return error_page(request, 422, f"the search {query!r}: {error}", [])
    svc.store.digests.update(
        subscriber.id,
        frequency=frequency,
        categories=[c for c in categories.replace(",", " ").split() if c][:50],
        follows=searches,
        for_you=bool(for_you),
        max_papers=max_papers,
    )
    if subscriber.state in ("active", "paused"):
        svc.store.digests.set_state(subscriber.id, "paused" if paused else "active", utcnow())
    found = svc.store.digests.get(subscriber.id)
    return _preferences_page(request, svc, found, saved="Saved.")


@router.get("/digest/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_form(request: Request, svc: Svc, token: str):
    try:
        subscriber = svc.digests.subscriber_of("unsubscribe", token)
    except BadLink as error:
        return error_page(request, 400, str(error), [])
    return page(request, "digest_unsubscribe.html", subscriber=subscriber, token=token, done=False)


@router.post("/digest/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe(request: Request, svc: Svc, token: str):
    """RFC 8058 one-click: the POST itself unsubscribes (no session, cookie or CSRF token)."""
    try:
        subscriber = svc.digests.unsubscribe(token)
    except BadLink as error:
        return error_page(request, 400, str(error), [])
    return page(request, "digest_unsubscribe.html", subscriber=subscriber, token=token, done=True)


@router.get("/digest/preview", response_class=HTMLResponse)
def preview(request: Request, svc: Svc, viewer: Viewer, token: Token = ""):
    """The next digest as it would be mailed (a subscriber's manage link, or the signed-in
    member's own subscription)."""
    try:
        if token:
            subscriber = svc.digests.subscriber_of("manage", token)
        elif viewer is not None and (found := svc.store.digests.by_email(viewer.email)):
            subscriber = found
        else:
            return error_page(request, 404, "no digest to preview: subscribe first", [])
    except BadLink as error:
        return error_page(request, 400, str(error), [])
    day = utcnow().date()
    period = digest_period(subscriber.frequency, day) or digest_period("weekly", day)
    composer = svc.digests.composer()
    entries = composer.entries(composer.choose(subscriber, period), period)
    return page(
        request, "digest_preview.html", subscriber=subscriber, period=period, entries=entries
    )
