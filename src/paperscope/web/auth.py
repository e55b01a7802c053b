"""Who is asking, and may they: session cookies for pages, bearer tokens for the API, CSRF
tokens on every form that changes something.

- The session cookie (`ps_session`) holds a random token; the database keeps its hash.
  HttpOnly, SameSite=Lax, Secure when the public URL is https.
- CSRF: each form carries a token that itsdangerous signed with the shared secret, bound
  to the signed-in session (or, before sign-in, to a random `ps_csrf` cookie) and valid for
  a day. A POST without a valid one gets 403 before anything changes.
- The API takes `Authorization: Bearer <API token>` only, never the cookie, so a page of
  another site cannot make a reader's browser call it.
- A members' page (or form) asked for without a session answers 303 to
  `/signin?next=<where they were>`: one rule, `SignedIn`; the API answers 401.
- A request with a session cookie or a token is never answered from the page cache, nor is
  its answer stored (web/cache.py); such pages say `Cache-Control: private, no-store`.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, HTTPException, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool

from paperscope.accounts import Member
from paperscope.errors import Unauthorized
from paperscope.web.services import Services, services

SESSION_COOKIE = "ps_session"
CSRF_COOKIE = "ps_csrf"
CSRF_FIELD = "csrf_token"
CSRF_MAX_AGE_S = 24 * 3600


def resolve_viewer(request: Request) -> Member | None:
    """The signed-in member (None for a reader who is not), kept on the request."""
    if hasattr(request.state, "viewer"):
        return request.state.viewer
    svc: Services = request.app.state.services
    member, session_hash = None, None
    token = request.cookies.get(SESSION_COOKIE)
    if token and len(token) < 200:
        found = svc.accounts.session_member(token)
        if found is not None:
            member, session_hash = found
    request.state.viewer = member
    request.state.session_hash = session_hash
    return member


Viewer = Annotated[Member | None, Depends(resolve_viewer)]


class SignInFirst(Unauthorized):
    """A members' page asked for by someone not signed in: app.py answers it with a 303 to
    the sign-in page, which brings them back to `next` afterwards."""

    def __init__(self, next: str) -> None:
        super().__init__(next)
        self.next = next


def sign_in_url(next: str) -> str:
    return "/signin?" + urlencode({"next": safe_next(next)})


def coming_from(request: Request) -> str:
    """Where to come back to after signing in: the page asked for, or for a form (a POST,
    which cannot be repeated by a redirect) the page of this site the form was on."""
    if request.method in ("GET", "HEAD"):
        here = request.url.path
        return here + (f"?{request.url.query}" if request.url.query else "")
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc and referer.netloc == request.url.netloc:
        return safe_next(referer.path + (f"?{referer.query}" if referer.query else ""))
    return "/"


def signed_in(request: Request, viewer: Viewer) -> Member:
    """The signed-in member. Everyone else is sent to sign in (303), on every members' page
    and form alike; the API answers 401 instead (`api_member`)."""
    if viewer is None:
        raise SignInFirst(coming_from(request))
    return viewer


SignedIn = Annotated[Member, Depends(signed_in)]


BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="API token",
    description="A member's API token: the account page or `paperscope tokens create` makes one.",
)


def api_member(
    svc: Annotated[Services, Depends(services)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
) -> Member:
    """The member whose API token the request carries; 401 without a valid one."""
    member = None
    token = credentials.credentials.strip() if credentials else ""
    if token and len(token) < 200:
        member = svc.accounts.token_member(token)
    if member is None:
        raise HTTPException(
            401,
            "send Authorization: Bearer <your API token> (make one on your account page)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return member


ApiMember = Annotated[Member, Depends(api_member)]


# -- CSRF ------------------------------------------------------------------------------------
def _serializer(request: Request) -> URLSafeTimedSerializer:
    svc: Services = request.app.state.services
    return URLSafeTimedSerializer(svc.secret_key, salt="paperscope-csrf")


def _binding(request: Request) -> str:
    """What a form's token is tied to: the session, else the reader's csrf cookie (made
    now if there is none; `remember_csrf_cookie` sets it on the response)."""
    resolve_viewer(request)
    if request.state.session_hash:
        return "session:" + request.state.session_hash
    value = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not value:
        value = secrets.token_urlsafe(24)
        request.state.new_csrf = value
    return "reader:" + value


def csrf_token(request: Request) -> str:
    return _serializer(request).dumps(_binding(request))


async def check_csrf(request: Request) -> None:
    """403 unless the form carries a valid token for this session (or reader)."""
    form = await request.form()
    given = form.get(CSRF_FIELD)
    expected = None
    if isinstance(given, str) and len(given) < 500:
        try:
            expected = _serializer(request).loads(given, max_age=CSRF_MAX_AGE_S)
        except BadSignature:
            expected = None
    binding = await _async_binding(request)
    if not isinstance(expected, str) or not hmac.compare_digest(expected, binding):
        raise HTTPException(403, "this form has expired or did not come from this site: reload")


async def _async_binding(request: Request) -> str:
    # The binding may read the session from the database: off the event loop.
    return await run_in_threadpool(_binding, request)


Csrf = Depends(check_csrf)


def remember_csrf_cookie(request: Request, response: Response, https: bool) -> None:
    new = getattr(request.state, "new_csrf", None)
    if new:
        response.set_cookie(
            CSRF_COOKIE, new, max_age=CSRF_MAX_AGE_S, httponly=True, samesite="lax", secure=https
        )


def set_session_cookie(response: Response, token: str, days: int, https: bool) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=days * 86400,
        httponly=True,
        samesite="lax",
        secure=https,
        path="/",
    )


def clear_session_cookie(response: Response, https: bool) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=https, path="/")


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go on to after a form (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target
