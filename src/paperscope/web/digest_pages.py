"""Digest pages: subscribe (double opt-in), confirm, preferences, unsubscribe (with RFC
8058's one-click POST), and a preview. Links from mail open pages whose buttons POST; only
the one-click POST acts at once, and it needs no session, cookie or CSRF token (mail
providers send it with none) and answers 200 without a redirect."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from paperscope.accounts import BadEmail, Member, utcnow
from paperscope.arxiv_taxonomy import archive_subjects, known_category
from paperscope.digest import StoredSubscriber
from paperscope.digest.periods import digest_period
from paperscope.errors import InvalidInput
from paperscope.search.query import QuerySyntaxError, parse_query
from paperscope.web.auth import Csrf, SignInFirst, Viewer, coming_from, resolve_viewer
from paperscope.web.pages import error_page, page
from paperscope.web.services import Services, Svc, client_address

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
    except BadEmail as error:  # answered in the form, the address kept
        return page(
            request,
            "subscribe.html",
            422,
            email=email,
            sent=False,
            delivery=svc.digests.delivery,
            problem=f"{str(error)[:1].upper()}{str(error)[1:]}: correct the address and subscribe"
            " again.",
        )
    return page(request, "subscribe.html", email="", sent=True, delivery=svc.digests.delivery)


@router.get("/digest/confirm", response_class=HTMLResponse)
def confirm_form(request: Request, svc: Svc, token: Token = ""):
    subscriber = svc.digests.subscriber_of("confirm", token)
    return page(request, "digest_confirm.html", subscriber=subscriber, token=token)


@router.post("/digest/confirm", response_class=HTMLResponse, dependencies=[Csrf])
def confirm(request: Request, svc: Svc, token: Line):
    subscriber = svc.digests.confirm(token)
    return _preferences_page(request, svc, subscriber, saved="You are subscribed.")


MAX_FOLLOWS = 20
MAX_CATEGORIES = 50


@dataclass
class PreferencesForm:
    """The preferences form's fields as text, as typed (or as stored)."""

    frequency: str = "daily"
    categories: str = ""
    follows: str = ""
    for_you: bool = False
    max_papers: str = "10"
    paused: bool = False
    for_you_collection: str = ""  # a collection's id; empty: all upvotes and saves

    @classmethod
    def of(cls, subscriber: StoredSubscriber) -> PreferencesForm:
        return cls(
            subscriber.frequency,
            " ".join(subscriber.categories),
            "\n".join(subscriber.follows),
            subscriber.for_you,
            str(subscriber.max_papers),
            subscriber.state == "paused",
            str(subscriber.for_you_collection or ""),
        )


@dataclass
class Preferences:
    frequency: str
    categories: list[str]
    follows: list[str]
    for_you: bool
    max_papers: int
    for_you_collection: int | None = None


def _read_preferences(svc: Services, form: PreferencesForm) -> Preferences | tuple[str, str]:
    """The preferences the form asks for, or (field, what to change) for the first field
    that cannot be saved as typed."""
    if form.frequency not in ("daily", "weekly"):
        return "frequency", "How often: pick daily or weekly."
    categories: list[str] = []
    for code in form.categories.replace(",", " ").split():
        known = known_category(code)
        if known is None and svc.listings.has_category(code):
            known = code  # a class arXiv added after this list, already in the store
        if known is None:
            classes = archive_subjects(code)
            if classes:
                example = ", ".join(classes[:3])
                return "categories", (
                    f"Categories: {code} is a whole archive; name its classes instead, such as"
                    f" {example}."
                )
            return "categories", (
                f"Categories: {code} is not an arXiv category. Use arXiv's codes, such as"
                " cs.CL, math.PR or hep-th, or remove it."
            )
        if known not in categories:
            categories.append(known)
    if len(categories) > MAX_CATEGORIES:
        return "categories", f"Categories: at most {MAX_CATEGORIES}; you named {len(categories)}."
    follows = [line.strip() for line in form.follows.splitlines() if line.strip()]
    if len(follows) > MAX_FOLLOWS:
        return "follows", (
            f"Searches you follow: at most {MAX_FOLLOWS}, one a line; you wrote {len(follows)}."
        )
    for number, query in enumerate(follows, 1):
        try:
            parse_query(query)
        except QuerySyntaxError as error:
            return "follows", (
                f"Searches you follow, search {number} ({query}): {error}. Correct it or remove"
                " the line."
            )
    try:
        max_papers = int(form.max_papers.strip())
    except ValueError:
        max_papers = 0
    if not 1 <= max_papers <= 50:
        return "max_papers", "Papers an email: a whole number from 1 to 50."
    chosen = form.for_you_collection.strip()
    if chosen and (not chosen.isdigit() or len(chosen) > 18):
        return "for_you_collection", "For you: pick one of your collections, or none."
    collection = int(chosen) if chosen else None
    return Preferences(form.frequency, categories, follows, form.for_you, max_papers, collection)


def _preferences_page(
    request,
    svc,
    subscriber,
    saved: str | None = None,
    status: int = 200,
    form: PreferencesForm | None = None,
    problem: tuple[str, str] | None = None,
):
    return page(
        request,
        "digest_preferences.html",
        status,
        subscriber=subscriber,
        form=form or PreferencesForm.of(subscriber),
        problem_field=problem[0] if problem else None,
        problem=problem[1] if problem else None,
        token=svc.digests.token("manage", subscriber.id),
        unsubscribe=svc.digests.token("unsubscribe", subscriber.id),
        saved=saved,
        collections=svc.digests.collections_of(subscriber),
    )


def _own_subscription(svc: Services, member: Member) -> StoredSubscriber | None:
    found = svc.digests.subscription_of(member)
    return found if found is not None and found.state != "unsubscribed" else None


@router.get("/digest/preferences", response_class=HTMLResponse)
def preferences(request: Request, svc: Svc, viewer: Viewer, token: Token = ""):
    """A subscriber's preferences: from the link in every digest, or for a signed-in
    member their own subscription."""
    if not token:
        if viewer is None:
            raise SignInFirst(coming_from(request))
        subscriber = _own_subscription(svc, viewer)
        if subscriber is None:
            return RedirectResponse(
                "/subscribe?" + urlencode({"email": viewer.email}), status_code=303
            )
        return _preferences_page(request, svc, subscriber)
    subscriber = svc.digests.subscriber_of("manage", token)
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
    max_papers: Line = "10",
    paused: Line = "",
    for_you_collection: Line = "",
):
    subscriber = svc.digests.subscriber_of("manage", token)
    form = PreferencesForm(
        frequency,
        categories,
        follows,
        bool(for_you),
        max_papers,
        bool(paused),
        for_you_collection,
    )
    wanted = _read_preferences(svc, form)
    if not isinstance(wanted, Preferences):  # nothing saved: the form again, as typed
        return _preferences_page(request, svc, subscriber, status=422, form=form, problem=wanted)
    try:
        found = svc.digests.save_preferences(
            subscriber,
            frequency=wanted.frequency,
            categories=wanted.categories,
            follows=wanted.follows,
            for_you=wanted.for_you,
            max_papers=wanted.max_papers,
            paused=bool(paused),
            for_you_collection=wanted.for_you_collection,
        )
    except InvalidInput as error:  # not a collection of theirs
        problem = ("for_you_collection", error.message)
        return _preferences_page(request, svc, subscriber, status=422, form=form, problem=problem)
    return _preferences_page(request, svc, found, saved="Saved.")


@router.get("/digest/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_form(request: Request, svc: Svc, token: str):
    subscriber = svc.digests.subscriber_of("unsubscribe", token)
    return page(request, "digest_unsubscribe.html", subscriber=subscriber, token=token, done=False)


@router.post("/digest/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe(request: Request, svc: Svc, token: str):
    """RFC 8058 one-click: the POST itself unsubscribes (no session, cookie or CSRF token)."""
    subscriber = svc.digests.unsubscribe(token)
    return page(request, "digest_unsubscribe.html", subscriber=subscriber, token=token, done=True)


@router.get("/digest/preview", response_class=HTMLResponse)
def preview(request: Request, svc: Svc, viewer: Viewer, token: Token = ""):
    """The next digest as it would be mailed (a subscriber's manage link, or the signed-in
    member's own subscription)."""
    if token:
        subscriber = svc.digests.subscriber_of("manage", token)
    elif viewer is None:
        raise SignInFirst(coming_from(request))
    elif found := _own_subscription(svc, viewer):
        subscriber = found
    else:
        return RedirectResponse("/subscribe?" + urlencode({"email": viewer.email}), status_code=303)
    day = utcnow().date()
    period = digest_period(subscriber.frequency, day) or digest_period("weekly", day)
    composer = svc.digests.composer()
    entries = composer.entries(composer.choose(subscriber, period), period)
    return page(
        request,
        "digest_preview.html",
        subscriber=subscriber,
        period=period,
        entries=entries,
        token=token,
    )
