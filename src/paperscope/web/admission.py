"""First come, first served: at most `limit` requests are worked on at once per server
process; the rest wait their turn in arrival order.

Without it a process starts every request at once: dozens of threads fight over the GIL
and the cores, and cheap requests (a cached page) keep overtaking expensive ones (a search
nobody asked before), which then wait far longer than their work takes. With it every
request waits about as long as the queue in front of it, so the slowest answers stay close
to the typical ones, and less time goes to switching between threads.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send


class Admission:
    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._slots: asyncio.Semaphore | None = None  # made in the server's event loop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.limit <= 0:
            await self.app(scope, receive, send)
            return
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limit)
        async with self._slots:  # asyncio's semaphore wakes waiters in arrival order
            await self.app(scope, receive, send)
