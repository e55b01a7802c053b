"""What every app server must agree on: request counts for rate limits, and shared secrets.

Both live in the database, so a limit holds however many servers a client's requests are
spread over, and a CSRF token one server signed another accepts.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import delete, select

from paperscope.store.models import AppSecret, RateLimit
from paperscope.store.sql import Part, insert_or


class Limits(Part):
    def hit(self, key: str, limit: int, window_s: int, at: datetime) -> bool:
        """Count one request under `key` in the current fixed window of `window_s` seconds;
        False when that makes more than `limit` (the request should be refused)."""
        now = int(at.timestamp())
        window = now - now % window_s
        with self.engine.begin() as connection:
            statement = insert_or(connection, RateLimit.__table__).values(
                key=key[:200], window=window, hits=1
            )
            hits = connection.execute(
                statement.on_conflict_do_update(
                    index_elements=["key", "window"],
                    set_={"hits": RateLimit.__table__.c.hits + 1},
                ).returning(RateLimit.hits)
            ).scalar_one()
            if hits == 1:  # a new window: forget the finished ones of this key
                connection.execute(
                    delete(RateLimit).where(RateLimit.key == key[:200], RateLimit.window < window)
                )
        return hits <= limit

    def secret(self, name: str) -> str:
        """The named secret, made (256 random bits) by whichever process asks first."""
        with self.engine.begin() as connection:
            statement = insert_or(connection, AppSecret.__table__).values(
                name=name, value=secrets.token_urlsafe(32)
            )
            connection.execute(statement.on_conflict_do_nothing(index_elements=["name"]))
            return connection.execute(
                select(AppSecret.value).where(AppSecret.name == name)
            ).scalar_one()
