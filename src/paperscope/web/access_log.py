"""One structured line per request on the ``paperscope.access`` logger.

Each line is a JSON object: method, path, route, query parameter names, status, time in
milliseconds, whether the page cache answered, and the client's address. Query values are
never written (a search is a reader's business, and sign-in or unsubscribe links carry
tokens), and neither is any path parameter whose name says it is a secret.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qsl

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("paperscope.access")
SECRET_WORDS = ("token", "secret", "key", "password", "signature")
REDACTED = "[redacted]"


def is_secret(name: str) -> bool:
    return any(word in name.lower() for word in SECRET_WORDS)


def loggable_path(scope: Scope) -> str:
    """The request's path with the values of secret path parameters replaced."""
    path: str = scope["path"]
    for name, value in (scope.get("path_params") or {}).items():
        if is_secret(name) and isinstance(value, str) and value:
            path = path.replace(value, REDACTED)
    return path


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not logger.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        response: dict = {"status": 500, "cache": None}

        async def observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                response["status"] = message["status"]
                for name, value in message.get("headers", []):
                    if name == b"x-cache":
                        response["cache"] = value.decode("latin-1")
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            logger.info(self.line(scope, response, started))

    @staticmethod
    def line(scope: Scope, response: dict, started: float) -> str:
        route = scope.get("route")
        query = scope.get("query_string", b"").decode("latin-1")
        client = scope.get("client")
        record = {
            "method": scope["method"],
            "path": loggable_path(scope),
            "route": getattr(route, "path", None),
            "params": sorted({name for name, _ in parse_qsl(query, keep_blank_values=True)}),
            "status": response["status"],
            "ms": round((time.perf_counter() - started) * 1000, 2),
            "cache": response["cache"],
            "client": client[0] if client else None,
        }
        return orjson.dumps(record).decode()
