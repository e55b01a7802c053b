"""A short-lived cache of rendered GET responses.

A daily list, a paper page or a search result is the same for every reader until the data
changes, so each is rendered once and served from memory for up to `ttl` seconds. Entries
are keyed by the indexes' version too: when an ingest or `paperscope index` changes them,
the next request misses and renders afresh. Responses say `X-Cache: hit` or `miss`.

Never for someone signed in: a request with a session cookie or an API token is passed
through, and its answer is not kept (`personal`); nor is any answer that sets a cookie, nor
one that says it is private (a private feed link's feed, a shared collection's).

Two levels: a dictionary in each server process, and a shared one on disk (diskcache, in
the data directory) so that what one worker rendered the others serve too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path

import diskcache
from cachetools import TTLCache
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# What is worth keeping: pages, feeds, BibTeX and the read API; not docs, health or files.
CACHED_PREFIXES = ("/papers/", "/search", "/feeds/", "/api/daily_papers", "/api/papers/")
CACHED_PATHS = frozenset({"/", "/trending", "/api/trending"})
MAX_BODY = 2_000_000
PERSONAL_COOKIE = b"ps_session="  # web/auth.py's session cookie


@dataclass(frozen=True)
class Cached:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


def private(headers: list[tuple[bytes, bytes]]) -> bool:
    """An answer meant for one reader (its address is its key): never kept or shared."""
    return any(
        name.lower() == b"cache-control" and (b"private" in value or b"no-store" in value)
        for name, value in headers
    )


def cacheable(path: str) -> bool:
    return path in CACHED_PATHS or path.startswith(CACHED_PREFIXES)


def personal(scope: Scope) -> bool:
    """A request from someone signed in (a session cookie) or with an API token: its answer
    may show their own state, so it is neither served from the cache nor stored in it."""
    for name, value in scope["headers"]:
        if name == b"authorization" or (name == b"cookie" and PERSONAL_COOKIE in value):
            return True
    return False


def answer_key(scope: Scope, version: Hashable) -> tuple:
    """Everything an answer depends on: the address asked for, the scheme and host that
    absolute links are built on when no public URL is set (the host is one the allow-list
    accepted, the scheme one a trusted proxy gave), and the data's version."""
    host = next((value for name, value in scope["headers"] if name == b"host"), b"")
    return (
        scope["path"],
        scope["query_string"],
        scope.get("scheme", "http"),
        host.lower(),
        version,
    )


class PageCache:
    """ASGI middleware; `version()` names the data a response was made from."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        ttl: float,
        version: Callable[[], Hashable],
        shared_dir: Path | None = None,
        max_entries: int = 4_096,
        on_write: Callable[[], None] | None = None,
    ) -> None:
        self.app = app
        self.on_write = on_write
        self.ttl = ttl
        self.version = version
        self._entries: TTLCache = TTLCache(maxsize=max_entries, ttl=max(ttl, 0.001))
        self._lock = threading.Lock()
        self._shared_dir = shared_dir
        self._shared: diskcache.Cache | None = None  # opened in the worker, on first use

    def _shared_cache(self) -> diskcache.Cache | None:
        if self._shared is None and self._shared_dir is not None and self.ttl > 0:
            self._shared = diskcache.Cache(str(self._shared_dir), size_limit=512 * 2**20)
        return self._shared

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD") and self.on_write:
            # A write (a vote, a comment) through this server: the pages it serves next must
            # show it, from before the answer leaves.
            on_write = self.on_write

            async def noting(message: Message) -> None:
                if message["type"] == "http.response.start":
                    on_write()
                await send(message)

            await self.app(scope, receive, noting)
            return
        if (
            self.ttl <= 0
            or scope["type"] != "http"
            or scope["method"] != "GET"
            or not cacheable(scope["path"])
            or personal(scope)
        ):
            await self.app(scope, receive, send)
            return
        key = answer_key(scope, self.version())
        with self._lock:
            hit = self._entries.get(key)
        shared = self._shared_cache()
        if hit is None and shared is not None:
            hit = shared.get(repr(key))
            if hit is not None:
                with self._lock:
                    self._entries[key] = hit
        if hit is not None:
            await self._replay(hit, send)
            return

        captured: dict = {"body": []}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = list(message.get("headers", []))
                mark = message["status"] == 200 and not private(captured["headers"])
                marks = self._marks(b"miss") if mark else []
                message = {**message, "headers": [*captured["headers"], *marks]}
            elif message["type"] == "http.response.body":
                captured["body"].append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, capture)
        body = b"".join(captured["body"])
        sets_cookie = any(name.lower() == b"set-cookie" for name, _ in captured.get("headers", []))
        if (
            captured.get("status") == 200
            and len(body) <= MAX_BODY
            and not sets_cookie
            and not private(captured["headers"])
        ):
            entry = Cached(200, captured["headers"], body)
            with self._lock:
                self._entries[key] = entry
            if shared is not None:
                shared.set(repr(key), entry, expire=self.ttl)

    def _marks(self, state: bytes) -> list[tuple[bytes, bytes]]:
        return [
            (b"x-cache", state),
            (b"cache-control", b"public, max-age=%d" % int(self.ttl)),
            (b"vary", b"Cookie, Authorization"),  # a signed-in reader's copy differs
        ]

    async def _replay(self, hit: Cached, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": hit.status,
                "headers": [*hit.headers, *self._marks(b"hit")],
            }
        )
        await send({"type": "http.response.body", "body": hit.body})

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
        if (shared := self._shared_cache()) is not None:
            shared.clear()
