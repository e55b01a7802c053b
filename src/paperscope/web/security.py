"""What makes the app safe to put on the internet, as ASGI middleware: which Host a request
may name, the headers every response carries, and how large a request may be.

Links in feeds (and later in mail) are built on `absolute_base`: the configured public URL,
else the request's own address, which `allowed_hosts` has already vouched for. A forged
Host gets 400 before anything is rendered or cached; X-Forwarded-* is believed only from
`forwarded_allow_ips` (uvicorn's ProxyHeadersMiddleware; the app installs both it and
Starlette's TrustedHostMiddleware with `host_patterns`).
"""

from __future__ import annotations

import re

from fastapi import Request
from starlette.datastructures import Headers, UploadFile
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paperscope.errors import InvalidInput, TooLarge
from paperscope.following.opml import MAX_OPML_BYTES
from paperscope.settings import Settings

# Pages work without JavaScript; the one script (the API docs) is a static file.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HSTS = "max-age=31536000; includeSubDomains"


def host_patterns(settings: Settings) -> list[str]:
    """The trusted hosts as TrustedHostMiddleware matches them (IPv6 in brackets)."""
    return [f"[{host}]" if ":" in host else host for host in settings.trusted_hosts]


def absolute_base(settings: Settings, request: Request) -> str:
    """Scheme, host and port that absolute links start with (no trailing slash)."""
    return settings.public_url or str(request.base_url).rstrip("/")


class SecurityHeaders:
    """Adds the security headers to every response, errors and cached pages included."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
            (b"x-frame-options", b"DENY"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if https:
            self.headers.append((b"strict-transport-security", HSTS.encode()))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


class RequestTooLarge(TooLarge):
    pass


# Where a member uploads a library file (web/library_pages.py, the API): these take up to
# `library_import_max_bytes`, and a form's few fields besides.
UPLOAD_PATHS = re.compile(r"/(?:api/)?collections/(?:\d+/)?import")
UPLOAD_FORM_BYTES = 64 * 1024
# Where a member uploads an OPML file of follows (web/following_pages.py, the API).
OPML_PATHS = re.compile(r"/me/following\.opml|/api/me/following/import")


class RequestLimits:
    """Refuses a URL longer than `max_url_chars` (414) and a body larger than
    `max_body_bytes` (413), or on an upload path `max_upload_bytes`, whether it says its
    length up front or streams it."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_url_chars: int,
        max_body_bytes: int,
        max_upload_bytes: int | None = None,
    ) -> None:
        self.app = app
        self.max_url_chars = max_url_chars
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes

    def _limit(self, scope: Scope) -> tuple[int, str]:
        """The most bytes this request's body may have, and what a refusal says."""
        if self.max_upload_bytes is not None and UPLOAD_PATHS.fullmatch(scope["path"]):
            return (
                max(self.max_body_bytes, self.max_upload_bytes + UPLOAD_FORM_BYTES),
                f"the file is too large: an import takes at most {self.max_upload_bytes:,} bytes",
            )
        if scope["method"] == "POST" and OPML_PATHS.fullmatch(scope["path"]):
            return (
                MAX_OPML_BYTES + UPLOAD_FORM_BYTES,
                f"the file is too large: an OPML import takes at most {MAX_OPML_BYTES:,} bytes",
            )
        return (
            self.max_body_bytes,
            f"the request body is too large (at most {self.max_body_bytes:,} bytes)",
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        url_chars = len(scope.get("raw_path") or scope["path"]) + len(scope["query_string"])
        if url_chars > self.max_url_chars:
            await refusal(
                scope, 414, f"the address is too long (at most {self.max_url_chars:,} characters)"
            )(scope, receive, send)
            return
        limit, too_large = self._limit(scope)
        length = Headers(scope=scope).get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await refusal(scope, 413, too_large)(scope, receive, send)
            return

        seen = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:  # an app reading the body answers with this message
                    raise RequestTooLarge(too_large)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except RequestTooLarge:
            if not started:
                await refusal(scope, 413, too_large)(scope, receive, send)


def refusal(scope: Scope, status: int, message: str) -> Response:
    """A short error before routing: JSON for the API, the site's error page elsewhere
    (plain text until the app has started)."""
    if scope["path"].startswith("/api/"):
        return JSONResponse({"error": message}, status)
    app = scope.get("app")
    if app is not None and hasattr(app.state, "services"):
        from paperscope.web.pages import error_page  # pages import this module

        return error_page(Request(scope), status, message[:1].upper() + message[1:], [])
    return PlainTextResponse(message, status)


# -- uploads (library files, OPML): capped as they arrive by RequestLimits above -----------
async def uploaded_file(request: Request, what: str) -> tuple[bytes, str | None]:
    """An API upload: a multipart form's `file` (and its `format` field, if any) or the whole
    body (no format). `what` names the file in the error for a form without one."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput(f"send the {what} as the form's `file` field")
        named = form.get("format")
        return await upload.read(), named if isinstance(named, str) and named else None
    return await request.body(), None


def read_upload(upload: UploadFile) -> bytes:
    """A page form's uploaded file, whole: the body was capped as it arrived, so this reads
    at most that."""
    upload.file.seek(0)
    return upload.file.read()
