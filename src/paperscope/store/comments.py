"""Discussions: comments on papers, in Markdown as their authors wrote them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update

from paperscope.store import generation
from paperscope.store.models import Comment, User
from paperscope.store.sql import Part, counts_per, insert_or


@dataclass(frozen=True)
class StoredComment:
    id: int
    paper_id: str
    user_id: int
    author_name: str
    author_fullname: str
    body: str
    created_at: datetime
    edited_at: datetime | None
    hidden: bool


_COLUMNS = (
    Comment.id,
    Comment.paper_id,
    Comment.user_id,
    User.name,
    User.fullname,
    Comment.body,
    Comment.created_at,
    Comment.edited_at,
    Comment.hidden,
)


def _comment(row) -> StoredComment:
    return StoredComment(*row)


class Comments(Part):
    def add(self, paper_id: str, user_id: int, body: str, at: datetime) -> int:
        with self.engine.begin() as connection:
            statement = insert_or(connection, Comment.__table__).values(
                paper_id=paper_id, user_id=user_id, body=body, created_at=at, hidden=False
            )
            new_id = connection.execute(statement.returning(Comment.id)).scalar_one()
            generation.bump(connection, generation.COMMUNITY)
        return new_id

    def get(self, comment_id: int) -> StoredComment | None:
        with self.reads.connect() as connection:
            row = connection.execute(
                select(*_COLUMNS)
                .join(User, User.id == Comment.user_id)
                .where(Comment.id == comment_id)
            ).first()
        return _comment(row) if row else None

    def thread(self, paper_id: str, *, include_hidden: bool = False) -> list[StoredComment]:
        query = (
            select(*_COLUMNS)
            .join(User, User.id == Comment.user_id)
            .where(Comment.paper_id == paper_id)
            .order_by(Comment.created_at, Comment.id)
        )
        if not include_hidden:
            query = query.where(Comment.hidden.is_(False))
        with self.reads.connect() as connection:
            return [_comment(row) for row in connection.execute(query).all()]

    def counts(self, paper_ids: Sequence[str]) -> dict[str, int]:
        """Visible comments of each paper that has any."""
        return counts_per(self.reads, Comment.paper_id, paper_ids, Comment.hidden.is_(False))

    def edit(self, comment_id: int, user_id: int, body: str, at: datetime) -> bool:
        """Change one's own comment; False if it is not theirs (or not there)."""
        return self._change(
            update(Comment)
            .where(Comment.id == comment_id, Comment.user_id == user_id)
            .values(body=body, edited_at=at)
        )

    def delete(self, comment_id: int, user_id: int) -> bool:
        return self._change(
            delete(Comment).where(Comment.id == comment_id, Comment.user_id == user_id)
        )

    def set_hidden(self, comment_id: int, hidden: bool) -> bool:
        return self._change(update(Comment).where(Comment.id == comment_id).values(hidden=hidden))

    def _change(self, statement) -> bool:
        with self.engine.begin() as connection:
            changed = connection.execute(statement).rowcount
            if changed:
                generation.bump(connection, generation.COMMUNITY)
        return changed > 0
