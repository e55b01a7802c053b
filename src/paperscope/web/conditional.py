"""Conditional GET (RFC 9110, section 13): a reader that sends back a response's ETag
(`If-None-Match`) or its Last-Modified date (`If-Modified-Since`) gets 304 Not Modified
with no body while it is unchanged. Feed readers poll every few minutes; most polls then
cost a few headers.

ASGI middleware outside the page cache, so an answer from the cache is checked too. It
looks only at responses that carry a validator (the feeds set ETag and Last-Modified);
every other response passes untouched.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import parsedate_to_datetime

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# What a 304 keeps of the 200 it stands for (RFC 9110 15.4.5).
KEPT = frozenset(
    {b"etag", b"last-modified", b"cache-control", b"vary", b"expires", b"content-location"}
)


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo is not None else None


def _opaque(tag: str) -> str:
    return tag.strip().removeprefix("W/")


def not_modified(request: Headers, response: Headers) -> bool:
    """Whether the request's validators say the reader already has this response.
    If-None-Match wins when both are sent (RFC 9110 13.2.2); it compares weakly."""
    etag = response.get("etag")
    if "if-none-match" in request:
        if etag is None:
            return False
        wanted = request["if-none-match"].strip()
        return wanted == "*" or _opaque(etag) in {_opaque(t) for t in wanted.split(",")}
    since = _http_date(request.get("if-modified-since"))
    modified = _http_date(response.get("last-modified"))
    return since is not None and modified is not None and modified <= since


class ConditionalGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        request = Headers(scope=scope)
        if "if-none-match" not in request and "if-modified-since" not in request:
            await self.app(scope, receive, send)
            return
        swallowing = False

        async def checked(message: Message) -> None:
            nonlocal swallowing
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                if message["status"] == 200 and not_modified(request, Headers(raw=headers)):
                    swallowing = True
                    kept = [(name, value) for name, value in headers if name.lower() in KEPT]
                    await send({"type": "http.response.start", "status": 304, "headers": kept})
                    await send({"type": "http.response.body", "body": b""})
                    return
            elif swallowing:
                return  # the body the 304 stands for
            await send(message)

        await self.app(scope, receive, checked)
