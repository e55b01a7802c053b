"""What members follow outside digests: searches (with the search page's filters) and their
private feed link. The link's token is kept only as a SHA-256 hash (store/accounts.py's
rule): a copy of the database opens nobody's feed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select

from paperscope.store.accounts import Member, _member, token_hash
from paperscope.store.models import FeedToken, FollowedSearch, User
from paperscope.store.sql import Part, insert_or


@dataclass(frozen=True)
class SavedSearch:
    """A followed search as the search page takes it: filters are "" when not set."""

    id: int
    user_id: int
    query: str
    category: str
    published_from: str
    published_until: str
    mode: str
    created_at: datetime


def _saved(row) -> SavedSearch:
    return SavedSearch(
        row.id,
        row.user_id,
        row.query,
        row.category,
        row.published_from,
        row.published_until,
        row.mode,
        row.created_at,
    )


class Following(Part):
    # -- followed searches -------------------------------------------------------------------
    def follow(
        self,
        user_id: int,
        query: str,
        category: str,
        published_from: str,
        published_until: str,
        mode: str,
        at: datetime,
    ) -> SavedSearch:
        """Follow a search (following it again changes nothing); the saved search."""
        values = {
            "user_id": user_id,
            "query": query,
            "category": category,
            "published_from": published_from,
            "published_until": published_until,
            "mode": mode,
        }
        with self.engine.begin() as connection:
            statement = insert_or(connection, FollowedSearch.__table__).values(
                **values, created_at=at
            )
            connection.execute(statement.on_conflict_do_nothing())
            row = connection.execute(
                select(FollowedSearch).where(
                    *(getattr(FollowedSearch, name) == value for name, value in values.items())
                )
            ).one()
        return _saved(row)

    def searches(self, user_id: int) -> list[SavedSearch]:
        """The member's followed searches, oldest first."""
        with self.reads.connect() as connection:
            rows = connection.execute(
                select(FollowedSearch)
                .where(FollowedSearch.user_id == user_id)
                .order_by(FollowedSearch.created_at, FollowedSearch.id)
            ).all()
        return [_saved(row) for row in rows]

    def count(self, user_id: int) -> int:
        with self.reads.connect() as connection:
            return connection.execute(
                select(func.count()).where(FollowedSearch.user_id == user_id)
            ).scalar_one()

    def unfollow(self, user_id: int, search_id: int) -> bool:
        """Stop following one of the member's searches; whether there was one."""
        with self.engine.begin() as connection:
            gone = connection.execute(
                delete(FollowedSearch).where(
                    FollowedSearch.id == search_id, FollowedSearch.user_id == user_id
                )
            )
        return gone.rowcount > 0

    # -- the private feed link ---------------------------------------------------------------
    def set_feed_token(self, user_id: int, token: str, at: datetime) -> None:
        """The member's feed link is now `token`; any earlier one stops working."""
        with self.engine.begin() as connection:
            statement = insert_or(connection, FeedToken.__table__).values(
                user_id=user_id, token_hash=token_hash(token), created_at=at
            )
            connection.execute(
                statement.on_conflict_do_update(
                    index_elements=["user_id"],
                    set_={"token_hash": token_hash(token), "created_at": at},
                )
            )

    def drop_feed_token(self, user_id: int) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(FeedToken).where(FeedToken.user_id == user_id))

    def feed_token_made(self, user_id: int) -> datetime | None:
        """When the member's current feed link was made (None: they have none)."""
        with self.reads.connect() as connection:
            return connection.execute(
                select(FeedToken.created_at).where(FeedToken.user_id == user_id)
            ).scalar_one_or_none()

    def member_of_feed_token(self, token: str) -> Member | None:
        """The member whose current feed link this is."""
        with self.reads.connect() as connection:
            row = connection.execute(
                select(User)
                .join(FeedToken, FeedToken.user_id == User.id)
                .where(FeedToken.token_hash == token_hash(token))
            ).first()
        return _member(row) if row else None
