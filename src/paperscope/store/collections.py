"""Collections: a member's named lists of papers; and the papers they are not interested in."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from paperscope.errors import Conflict
from paperscope.store.models import Collection, CollectionItem, Dismissal, Paper
from paperscope.store.papers import StoredPaper
from paperscope.store.sql import Part, chunks, grouped, insert_or


class DuplicateName(Conflict, ValueError):
    """The member has a collection of that name already."""


@dataclass(frozen=True)
class StoredCollection:
    id: int
    user_id: int
    name: str
    share_token: str | None
    created_at: datetime
    size: int = 0


def _collection(row, size: int = 0) -> StoredCollection:
    return StoredCollection(row.id, row.user_id, row.name, row.share_token, row.created_at, size)


def _add_all(connection: Connection, collection_id: int, paper_ids: Sequence[str], at) -> int:
    # One added_at a batch, a microsecond apart in the given order, so that "most recently
    # added first" lists them as they were given.
    ordered = list(dict.fromkeys(paper_ids))
    statement = (
        insert_or(connection, CollectionItem.__table__)
        .on_conflict_do_nothing()
        .returning(CollectionItem.paper_id)
    )
    added = 0
    for batch in chunks(list(enumerate(ordered)), 500):
        rows = [
            {
                "collection_id": collection_id,
                "paper_id": paper_id,
                "added_at": at - timedelta(microseconds=n),
            }
            for n, paper_id in batch
        ]
        added += len(connection.execute(statement, rows).all())
    return added


class Collections(Part):
    def create(
        self, user_id: int, name: str, at: datetime, paper_ids: Sequence[str] = ()
    ) -> StoredCollection:
        """A new collection, with these papers in it (all or nothing: one transaction)."""
        try:
            with self.engine.begin() as connection:
                statement = insert_or(connection, Collection.__table__).values(
                    user_id=user_id, name=name, share_token=None, created_at=at
                )
                new_id = connection.execute(statement.returning(Collection.id)).scalar_one()
                _add_all(connection, new_id, paper_ids, at)
        except IntegrityError:
            raise DuplicateName(f"you have a collection named {name!r} already") from None
        found = self.get(new_id)
        assert found is not None
        return found

    def get(self, collection_id: int) -> StoredCollection | None:
        return self._one(Collection.id == collection_id)

    def by_share_token(self, token: str) -> StoredCollection | None:
        return self._one(Collection.share_token == token)

    def _one(self, condition: ColumnElement[bool]) -> StoredCollection | None:
        with self.reads.connect() as connection:
            row = connection.execute(select(Collection).where(condition)).first()
        return _collection(row) if row else None

    def of_member(self, user_id: int) -> list[StoredCollection]:
        sizes = (
            select(CollectionItem.collection_id, func.count().label("size"))
            .group_by(CollectionItem.collection_id)
            .subquery()
        )
        with self.reads.connect() as connection:
            rows = connection.execute(
                select(Collection.__table__, func.coalesce(sizes.c.size, 0).label("size"))
                .outerjoin(sizes, sizes.c.collection_id == Collection.id)
                .where(Collection.user_id == user_id)
                .order_by(Collection.name, Collection.id)
            ).all()
        return [_collection(row, int(row.size)) for row in rows]

    def rename(self, collection_id: int, name: str) -> None:
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    update(Collection).where(Collection.id == collection_id).values(name=name)
                )
        except IntegrityError:
            raise DuplicateName(f"you have a collection named {name!r} already") from None

    def share(self, collection_id: int, shared: bool) -> str | None:
        """Share by an unguessable link (a new one each time), or stop sharing."""
        token = secrets.token_urlsafe(24) if shared else None
        with self.engine.begin() as connection:
            connection.execute(
                update(Collection).where(Collection.id == collection_id).values(share_token=token)
            )
        return token

    def delete(self, collection_id: int) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(Collection).where(Collection.id == collection_id))

    def add(self, collection_id: int, paper_id: str, at: datetime) -> bool:
        with self.engine.begin() as connection:
            statement = insert_or(connection, CollectionItem.__table__).values(
                collection_id=collection_id, paper_id=paper_id, added_at=at
            )
            added = statement.on_conflict_do_nothing().returning(CollectionItem.paper_id)
            return connection.execute(added).first() is not None

    def add_all(self, collection_id: int, paper_ids: Sequence[str], at: datetime) -> int:
        """Put these papers in the collection in one transaction (those in it already stay
        as they are); how many were new to it."""
        with self.engine.begin() as connection:
            return _add_all(connection, collection_id, paper_ids, at)

    def remove(self, collection_id: int, paper_id: str) -> bool:
        with self.engine.begin() as connection:
            gone = connection.execute(
                delete(CollectionItem).where(
                    CollectionItem.collection_id == collection_id,
                    CollectionItem.paper_id == paper_id,
                )
            )
        return gone.rowcount > 0

    def papers(self, collection_id: int) -> list[StoredPaper]:
        """The collection's papers, most recently added first."""
        with self.reads.connect() as connection:
            rows = connection.execute(
                select(Paper.__table__)
                .join(CollectionItem, CollectionItem.paper_id == Paper.id)
                .where(CollectionItem.collection_id == collection_id)
                .order_by(CollectionItem.added_at.desc(), Paper.id)
            ).all()
        return [StoredPaper(**row._mapping) for row in rows]

    def paper_ids_of(self, collection_ids: Sequence[int]) -> dict[int, list[str]]:
        """Each collection's paper ids, most recently added first."""
        statement = select(CollectionItem.collection_id, CollectionItem.paper_id).order_by(
            CollectionItem.added_at.desc(), CollectionItem.paper_id
        )
        return grouped(statement, CollectionItem.collection_id, collection_ids, self.reads)

    def holding(self, user_id: int, paper_id: str) -> set[int]:
        """Which of the member's collections hold the paper."""
        with self.reads.connect() as connection:
            return set(
                connection.execute(
                    select(CollectionItem.collection_id)
                    .join(Collection, Collection.id == CollectionItem.collection_id)
                    .where(Collection.user_id == user_id, CollectionItem.paper_id == paper_id)
                ).scalars()
            )

    def saved_by_many(self, user_ids: Sequence[int]) -> dict[int, list[str]]:
        """Every paper in any of each member's collections, most recently added first."""
        statement = (
            select(Collection.user_id, CollectionItem.paper_id)
            .join(Collection, Collection.id == CollectionItem.collection_id)
            .order_by(CollectionItem.added_at.desc(), CollectionItem.paper_id)
        )
        found = grouped(statement, Collection.user_id, user_ids, self.reads)
        return {user: list(dict.fromkeys(papers)) for user, papers in found.items()}

    def saved_when(self, user_id: int) -> list[tuple[str, datetime]]:
        """The papers in any of a member's collections, and when each was first added,
        oldest first."""
        with self.reads.connect() as connection:
            rows = connection.execute(
                select(CollectionItem.paper_id, func.min(CollectionItem.added_at).label("at"))
                .join(Collection, Collection.id == CollectionItem.collection_id)
                .where(Collection.user_id == user_id)
                .group_by(CollectionItem.paper_id)
                .order_by("at", CollectionItem.paper_id)
            )
            return [(row.paper_id, row.at) for row in rows]

    # -- not interested ---------------------------------------------------------------------
    def dismiss(self, user_id: int, paper_id: str, at: datetime) -> None:
        with self.engine.begin() as connection:
            statement = insert_or(connection, Dismissal.__table__).values(
                user_id=user_id, paper_id=paper_id, created_at=at
            )
            connection.execute(statement.on_conflict_do_nothing())

    def undismiss(self, user_id: int, paper_id: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                delete(Dismissal).where(
                    Dismissal.user_id == user_id, Dismissal.paper_id == paper_id
                )
            )

    def dismissed(self, user_id: int) -> set[str]:
        return self.dismissed_many([user_id])[user_id]

    def dismissed_many(self, user_ids: Sequence[int]) -> dict[int, set[str]]:
        """The papers each member is not interested in."""
        statement = select(Dismissal.user_id, Dismissal.paper_id)
        found = grouped(statement, Dismissal.user_id, user_ids, self.reads)
        return {user: set(papers) for user, papers in found.items()}
