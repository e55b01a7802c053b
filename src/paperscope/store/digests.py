"""Digests' state: subscribers, the outbox of planned messages, and the papers each
subscriber was sent.

The outbox is how every subscriber gets each period's digest exactly once, however many
senders run, on however many hosts, and wherever one is killed:

- `plan` inserts one row per (subscriber, period) (ON CONFLICT DO NOTHING: planning twice
  plans once);
- `claim` takes due rows with a lease: `FOR UPDATE SKIP LOCKED` on PostgreSQL, so two
  senders never take the same row; on SQLite one UPDATE ... RETURNING under its single
  writer lock does the same. A sender that dies leaves its lease to expire, and the row is
  taken again;
- the record of a message as sent (and of its papers, in the ledger: not sent again unless
  they change, store/ledger.py) is written, for
  the lease's owner only, while the server has all of the message but its last line, and
  committed the moment that line goes out, before the server's answer (`marking_sent`,
  mail.Connection.send): a sender killed anywhere else either sent nothing the record
  misses or recorded nothing it did not hand over; a refusal after the commit is undone
  (`unsend`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import (
    Connection,
    Engine,
    RootTransaction,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from paperscope.errors import Conflict
from paperscope.store.ledger import PaperState, showing_rows
from paperscope.store.models import OutboxMessage, Showing, Subscriber
from paperscope.store.sql import Part, chunks, insert_or

STATES = ("pending", "active", "paused", "unsubscribed", "bouncing")


@dataclass(frozen=True)
class StoredSubscriber:
    id: int
    email: str
    state: str
    frequency: Literal["daily", "weekly"]
    categories: list[str]
    follows: list[str]
    for_you: bool
    max_papers: int
    created_at: datetime
    confirmed_at: datetime | None
    for_you_collection: int | None = None  # "for you" from this collection of the member's


@dataclass(frozen=True)
class Claimed:
    id: int
    subscriber_id: int
    period: str
    message_id: str
    papers: list | None
    attempts: int


class LeaseLost(Conflict, RuntimeError):
    """Another sender holds the message now: this one must not send it."""


# Made once: a sender runs these for every message, and building a statement costs more
# than SQLite takes to run it.
_MARK_SENT = (
    update(OutboxMessage)
    .where(
        OutboxMessage.id == bindparam("m_id"),
        OutboxMessage.lease_owner == bindparam("m_owner"),
        OutboxMessage.state == "pending",
    )
    .values(
        state="sent",
        sent_at=bindparam("m_at"),
        lease_until=None,
        attempts=OutboxMessage.attempts + 1,
    )
)
_KEEP_PAPERS = (
    update(OutboxMessage)
    .where(OutboxMessage.id == bindparam("m_id"), OutboxMessage.lease_owner == bindparam("m_owner"))
    .values(papers=bindparam("m_papers"))
)
_REMEMBER_SENT: dict[str, postgresql.Insert | sqlite.Insert] = {}


def _remember_sent(connection: Connection) -> postgresql.Insert | sqlite.Insert:
    dialect = connection.dialect.name
    if dialect not in _REMEMBER_SENT:
        _REMEMBER_SENT[dialect] = insert_or(connection, Showing.__table__).on_conflict_do_nothing()
    return _REMEMBER_SENT[dialect]


class MarkSent:
    def __init__(
        self,
        engine: Engine,
        message_id: int,
        owner: str,
        subscriber_id: int,
        papers: Sequence[tuple[str, PaperState]],
        at: datetime,
    ) -> None:
        self.engine = engine
        self.message_id, self.owner, self.subscriber_id = message_id, owner, subscriber_id
        self.papers, self.at = list(dict(papers).items()), at
        self._connection: Connection | None = None
        self._transaction: RootTransaction | None = None
        self.committed = False

    def prepare(self) -> None:
        try:
            self._connection = connection = self.engine.connect()
            self._transaction = connection.begin()
            self._record(connection)
        except BaseException:
            self.rollback()
            raise

    def _record(self, connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            # The commit must be as short as can be (a sender killed during it repeats a
            # message): it returns once PostgreSQL has the record, not once it is on disk.
            # A database crash within a fraction of a second may then repeat one message.
            connection.exec_driver_sql("SET LOCAL synchronous_commit TO off")
        done = connection.execute(
            _MARK_SENT, {"m_id": self.message_id, "m_owner": self.owner, "m_at": self.at}
        ).rowcount
        if not done:
            raise LeaseLost(f"message {self.message_id} is another sender's now")
        if self.papers:
            connection.execute(
                _remember_sent(connection),
                showing_rows(
                    "subscriber",
                    self.subscriber_id,
                    "digest",
                    self.papers,
                    self.at,
                    outbox_id=self.message_id,
                ),
            )

    def commit(self) -> None:
        assert self._transaction is not None, "commit() before prepare()"
        self._transaction.commit()
        self.committed = True
        self._close()

    def rollback(self) -> None:
        if self._transaction is not None and not self.committed:
            self._transaction.rollback()
        self._close()

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _subscriber(row) -> StoredSubscriber:
    return StoredSubscriber(
        row.id,
        row.email,
        row.state,
        row.frequency,
        list(row.categories or []),
        list(row.follows or []),
        bool(row.for_you),
        row.max_papers,
        row.created_at,
        row.confirmed_at,
        row.for_you_collection_id,
    )


class Digests(Part):
    def __init__(self, engine: Engine, max_papers: int) -> None:
        super().__init__(engine)
        self.max_papers = max_papers  # a new subscriber's papers an email (digest_max_papers)

    # -- subscribers ------------------------------------------------------------------------
    def subscribe(
        self,
        email: str,
        at: datetime,
        *,
        confirmed: bool = False,
        frequency: str = "daily",
        categories: Sequence[str] = (),
        follows: Sequence[str] = (),
        max_papers: int | None = None,
    ) -> tuple[StoredSubscriber, bool]:
        """The subscriber of this address, made if new; (subscriber, made). An existing one
        keeps its preferences; `confirmed` activates it either way."""
        with self.engine.begin() as connection:
            statement = insert_or(connection, Subscriber.__table__).values(
                email=email,
                state="active" if confirmed else "pending",
                frequency=frequency,
                categories=list(categories),
                follows=list(follows),
                for_you=True,
                max_papers=self.max_papers if max_papers is None else max_papers,
                created_at=at,
                confirmed_at=at if confirmed else None,
            )
            made = connection.execute(
                statement.on_conflict_do_nothing(index_elements=["email"]).returning(Subscriber.id)
            ).first()
        found = self.by_email(email)
        assert found is not None  # made just now, or there before
        if confirmed and found.state != "active":
            self.set_state(found.id, "active", at)
            found = self.get(found.id)
            assert found is not None
        return found, made is not None

    def get(self, subscriber_id: int) -> StoredSubscriber | None:
        return self.get_many([subscriber_id]).get(subscriber_id)

    def get_many(self, subscriber_ids: Sequence[int]) -> dict[int, StoredSubscriber]:
        found: dict[int, StoredSubscriber] = {}
        with self.reads.connect() as connection:
            for chunk in chunks(list(subscriber_ids)):
                rows = connection.execute(select(Subscriber).where(Subscriber.id.in_(chunk)))
                found.update((row.id, _subscriber(row)) for row in rows)
        return found

    def by_email(self, email: str) -> StoredSubscriber | None:
        with self.reads.connect() as connection:
            row = connection.execute(select(Subscriber).where(Subscriber.email == email)).first()
        return _subscriber(row) if row else None

    def set_state(self, subscriber_id: int, state: str, at: datetime) -> None:
        if state not in STATES:
            raise ValueError(f"state {state!r}: one of {', '.join(STATES)}")
        values: dict = {"state": state}
        if state == "active":
            values["confirmed_at"] = func.coalesce(Subscriber.confirmed_at, at)
        with self.engine.begin() as connection:
            connection.execute(
                update(Subscriber).where(Subscriber.id == subscriber_id).values(**values)
            )

    def update(self, subscriber_id: int, **preferences) -> None:
        allowed = {
            "frequency",
            "categories",
            "follows",
            "for_you",
            "max_papers",
            "for_you_collection_id",
        }
        unknown = set(preferences) - allowed
        if unknown:
            raise ValueError(f"not a preference: {', '.join(sorted(unknown))}")
        with self.engine.begin() as connection:
            connection.execute(
                update(Subscriber).where(Subscriber.id == subscriber_id).values(**preferences)
            )

    def active(self, frequency: str) -> list[int]:
        """The ids of the active subscribers of this frequency."""
        with self.reads.connect() as connection:
            return list(
                connection.execute(
                    select(Subscriber.id)
                    .where(Subscriber.state == "active", Subscriber.frequency == frequency)
                    .order_by(Subscriber.id)
                ).scalars()
            )

    def count(self) -> dict[str, int]:
        with self.reads.connect() as connection:
            return dict(
                connection.execute(
                    select(Subscriber.state, func.count()).group_by(Subscriber.state)
                ).all()
            )

    # -- the outbox -------------------------------------------------------------------------
    def plan(self, period: str, rows: Sequence[tuple[int, str]], at: datetime) -> int:
        """One pending message per (subscriber id, Message-ID) for the period; returns how
        many were new (planning again plans nothing twice)."""
        new = 0
        for chunk in chunks(list(rows), 500):
            with self.engine.begin() as connection:
                statement = insert_or(connection, OutboxMessage.__table__).on_conflict_do_nothing()
                result = connection.execute(
                    statement.returning(OutboxMessage.id),
                    [
                        {
                            "subscriber_id": subscriber_id,
                            "period": period,
                            "message_id": message_id,
                            "state": "pending",
                            "papers": None,
                            "lease_owner": None,
                            "lease_until": None,
                            "attempts": 0,
                            "next_attempt_at": at,
                            "last_error": None,
                            "created_at": at,
                            "sent_at": None,
                        }
                        for subscriber_id, message_id in chunk
                    ],
                )
                new += len(result.all())
        return new

    def planned(self, period: str) -> set[int]:
        """The subscribers with a message of the period in the outbox (in any state)."""
        with self.reads.connect() as connection:
            return set(
                connection.execute(
                    select(OutboxMessage.subscriber_id).where(OutboxMessage.period == period)
                ).scalars()
            )

    def claim(
        self, period: str, owner: str, at: datetime, lease: timedelta, limit: int
    ) -> list[Claimed]:
        """Take up to `limit` due messages of the period for `owner` until at + lease."""
        due = and_(
            OutboxMessage.period == period,
            OutboxMessage.state == "pending",
            OutboxMessage.next_attempt_at <= at,
            or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < at),
        )
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                ids = (
                    connection.execute(
                        select(OutboxMessage.id)
                        .where(due)
                        .order_by(OutboxMessage.id)
                        .limit(limit)
                        .with_for_update(skip_locked=True)
                    )
                    .scalars()
                    .all()
                )
                where = OutboxMessage.id.in_(ids) if ids else None
            else:  # SQLite: one writer at a time, so the UPDATE's own subquery is the claim
                where = OutboxMessage.id.in_(
                    select(OutboxMessage.id).where(due).order_by(OutboxMessage.id).limit(limit)
                )
            if where is None:
                return []
            rows = connection.execute(
                update(OutboxMessage)
                .where(where)
                .values(lease_owner=owner, lease_until=at + lease)
                .returning(
                    OutboxMessage.id,
                    OutboxMessage.subscriber_id,
                    OutboxMessage.period,
                    OutboxMessage.message_id,
                    OutboxMessage.papers,
                    OutboxMessage.attempts,
                )
            ).all()
        return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)

    def keep_papers(self, owner: str, papers: dict[int, list]) -> None:
        """Remember what messages hold (their first composition; message id -> papers), so
        a retry sends the same: one transaction for a batch."""
        if not papers:
            return
        with self.engine.begin() as connection:
            connection.execute(
                _KEEP_PAPERS,
                [{"m_id": mid, "m_owner": owner, "m_papers": held} for mid, held in papers.items()],
            )

    def marking_sent(
        self,
        message_id: int,
        owner: str,
        subscriber_id: int,
        papers: Sequence[tuple[str, PaperState]],
        at: datetime,
    ) -> MarkSent:
        """The record of a message as sent (and of its papers, each as it was when sent, in
        the ledger), in a transaction of its own:
        `prepare()` writes it, `commit()` commits it (mail.Connection.send calls both at the
        last moment), `rollback()` drops it if the send failed first."""
        return MarkSent(self.engine, message_id, owner, subscriber_id, papers, at)

    def unsend(self, message_id: int) -> None:
        """The server refused a message already recorded as sent: pending again (the
        caller then records why)."""
        with self.engine.begin() as connection:
            connection.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id)
                .values(state="pending", sent_at=None)
            )
            # Its showings go with it: the papers are as unseen as before it.
            connection.execute(delete(Showing).where(Showing.outbox_id == message_id))

    def finish(
        self, message_ids: Sequence[int], owner: str, state: str, error: str | None = None
    ) -> None:
        """Messages that will not be sent: "empty" (nothing new for them), "skipped" (not
        active any more) or "failed" (refused for good)."""
        if not message_ids:
            return
        with self.engine.begin() as connection:
            connection.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(list(message_ids)), OutboxMessage.lease_owner == owner)
                .values(state=state, lease_until=None, last_error=error)
            )

    def retry_later(self, message_id: int, owner: str, at: datetime, error: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id, OutboxMessage.lease_owner == owner)
                .values(
                    attempts=OutboxMessage.attempts + 1,
                    next_attempt_at=at,
                    lease_until=None,
                    last_error=error[:2000],
                )
            )

    def outbox(self, period: str) -> dict[str, int]:
        with self.reads.connect() as connection:
            return dict(
                connection.execute(
                    select(OutboxMessage.state, func.count())
                    .where(OutboxMessage.period == period)
                    .group_by(OutboxMessage.state)
                ).all()
            )
