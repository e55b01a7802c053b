"""The admission limit: at most N requests at work per process, the rest served in
arrival order."""

from __future__ import annotations

import asyncio

from paperscope.web.admission import Admission


def test_requests_are_worked_on_at_most_limit_at_once_in_arrival_order():
    active, most, finished = 0, 0, []

    async def app(scope, receive, send):
        nonlocal active, most
        active += 1
        most = max(most, active)
        await asyncio.sleep(0.01)
        finished.append(scope["path"])
        active -= 1

    limited = Admission(app, limit=2)

    async def main():
        scopes = [{"type": "http", "path": f"/{i}"} for i in range(8)]
        await asyncio.gather(*(limited(scope, None, None) for scope in scopes))

    asyncio.run(main())
    assert most == 2
    assert finished == [f"/{i}" for i in range(8)]


def test_no_limit_lets_everything_through_at_once():
    active, most = 0, 0

    async def app(scope, receive, send):
        nonlocal active, most
        active += 1
        most = max(most, active)
        await asyncio.sleep(0.01)
        active -= 1

    async def main():
        limited = Admission(app, limit=0)
        await asyncio.gather(*(limited({"type": "http"}, None, None) for _ in range(5)))

    asyncio.run(main())
    assert most == 5
