"""Submissions: the papers members put on a day's curated page, each paper once; and the
submissions still waiting for arXiv (`PendingSubmissions`).

A pending submission is completed off the request path by whichever fetcher claims it:
`claim` takes due rows with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL; on SQLite one
UPDATE ... RETURNING under its single writer lock), and `finish` / `retry` change a row only
for the lease's owner while it is still pending, so two app servers never complete one
twice, and a fetcher that dies leaves its lease to expire and the row to be taken again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from sqlalchemy import Engine, and_, func, or_, select, update

from paperscope.store import generation
from paperscope.store.models import Paper, PendingSubmission, Submission, User, Vote
from paperscope.store.papers import StoredPaper
from paperscope.store.sql import Part, chunks, insert_or

STATES = ("listed", "featured", "hidden")


@dataclass(frozen=True)
class Submitted:
    paper_id: str
    day: date
    submitted_at: datetime
    state: str
    user_id: int | None
    user_name: str | None  # handle; None once the account is deleted
    user_fullname: str | None


@dataclass(frozen=True)
class CuratedEntry:
    paper: StoredPaper
    upvotes: int
    submission: Submitted


def _submitted(row) -> Submitted:
    return Submitted(
        row.paper_id, row.day, row.submitted_at, row.state, row.user_id, row.name, row.fullname
    )


_COLUMNS = (
    Submission.paper_id,
    Submission.day,
    Submission.submitted_at,
    Submission.state,
    Submission.user_id,
    User.name,
    User.fullname,
)


class Submissions(Part):
    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.pending = PendingSubmissions(engine)

    def add(self, paper_id: str, user_id: int, day: date, at: datetime) -> tuple[Submitted, bool]:
        """Put the paper on `day`'s page; (the submission, True), or (the earlier one, False)
        when it was submitted before (however many requests race)."""
        with self.engine.begin() as connection:
            statement = insert_or(connection, Submission.__table__).values(
                paper_id=paper_id, user_id=user_id, day=day, submitted_at=at, state="listed"
            )
            added = connection.execute(
                statement.on_conflict_do_nothing().returning(Submission.paper_id)
            ).first()
            if added is not None:
                generation.bump(connection, generation.COMMUNITY)
        found = self.of([paper_id])[paper_id]
        return found, added is not None

    def of(self, paper_ids: Sequence[str]) -> dict[str, Submitted]:
        found: dict[str, Submitted] = {}
        with self.reads.connect() as connection:
            for chunk in chunks(list(paper_ids)):
                rows = connection.execute(
                    select(*_COLUMNS)
                    .outerjoin(User, User.id == Submission.user_id)
                    .where(Submission.paper_id.in_(chunk))
                ).all()
                found.update((row.paper_id, _submitted(row)) for row in rows)
        return found

    def count_by(self, user_id: int, since: datetime) -> int:
        with self.reads.connect() as connection:
            return connection.execute(
                select(func.count())
                .select_from(Submission)
                .where(Submission.user_id == user_id, Submission.submitted_at >= since)
            ).scalar_one()

    def any(self) -> bool:
        with self.reads.connect() as connection:
            return connection.execute(select(Submission.paper_id).limit(1)).first() is not None

    def latest_day(self) -> date | None:
        with self.reads.connect() as connection:
            return connection.execute(
                select(func.max(Submission.day)).where(Submission.state != "hidden")
            ).scalar()

    def days_around(self, start: date, end: date) -> tuple[date | None, date | None]:
        """The last day before `start` and the first from `end` on that have a listed
        submission (the curated page's arrows step to them)."""
        listed = Submission.state != "hidden"
        with self.reads.connect() as connection:
            before = connection.execute(
                select(func.max(Submission.day)).where(listed, Submission.day < start)
            ).scalar()
            after = connection.execute(
                select(func.min(Submission.day)).where(listed, Submission.day >= end)
            ).scalar()
        return before, after

    def set_state(self, paper_id: str, state: str) -> bool:
        if state not in STATES:
            raise ValueError(f"state {state!r}: one of {', '.join(STATES)}")
        with self.engine.begin() as connection:
            changed = connection.execute(
                update(Submission).where(Submission.paper_id == paper_id).values(state=state)
            ).rowcount
            generation.bump(connection, generation.COMMUNITY)
        return changed > 0

    def curated(
        self,
        start: date,
        end: date,
        *,
        submitter: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[CuratedEntry], int]:
        """Papers submitted on days [start, end), hidden ones left out: featured first, then
        most upvoted, then the earliest submitted; one page of them, and how many in all."""
        votes = (
            select(Vote.paper_id, func.count().label("upvotes")).group_by(Vote.paper_id).subquery()
        )
        upvotes = func.coalesce(votes.c.upvotes, 0)
        where = [Submission.day >= start, Submission.day < end, Submission.state != "hidden"]
        if submitter is not None:
            where.append(User.name == submitter)
        featured = func.coalesce(func.nullif(Submission.state, "featured"), "")  # "" first
        query = (
            select(Paper.__table__, upvotes.label("upvotes"), *_COLUMNS)
            .join(Paper, Paper.id == Submission.paper_id)
            .outerjoin(User, User.id == Submission.user_id)
            .outerjoin(votes, votes.c.paper_id == Submission.paper_id)
            .where(*where)
            .order_by(featured, upvotes.desc(), Submission.submitted_at, Submission.paper_id)
            .limit(limit)
            .offset(offset)
        )
        counted = (
            select(func.count())
            .select_from(Submission)
            .outerjoin(User, User.id == Submission.user_id)
            .where(*where)
        )
        with self.reads.connect() as connection:
            total = connection.execute(counted).scalar_one()
            rows = connection.execute(query).all()
        paper_fields = [c.name for c in Paper.__table__.columns]
        entries = []
        for row in rows:
            values = row._mapping
            paper = StoredPaper(**{name: values[Paper.__table__.c[name]] for name in paper_fields})
            entries.append(CuratedEntry(paper, int(values["upvotes"]), _submitted(row)))
        return entries, total


# -- submissions waiting for arXiv -----------------------------------------------------------
@dataclass(frozen=True)
class Requested:
    """A submission of a paper that was not stored yet: pending, submitted, or failed."""

    id: int
    paper_id: str
    user_id: int
    user_name: str
    user_fullname: str
    comment: str
    state: Literal["pending", "submitted", "failed"]
    reason: str | None
    requested_at: datetime
    attempts: int
    finished_at: datetime | None


_REQUESTED = (
    PendingSubmission.id,
    PendingSubmission.paper_id,
    PendingSubmission.user_id,
    User.name,
    User.fullname,
    PendingSubmission.comment,
    PendingSubmission.state,
    PendingSubmission.reason,
    PendingSubmission.requested_at,
    PendingSubmission.attempts,
    PendingSubmission.finished_at,
)


def _requested(connection, where) -> list[Requested]:
    rows = connection.execute(
        select(*_REQUESTED)
        .join(User, User.id == PendingSubmission.user_id)
        .where(where)
        .order_by(PendingSubmission.requested_at, PendingSubmission.id)
    ).all()
    return [Requested(*row) for row in rows]


class PendingSubmissions(Part):
    def add(self, paper_id: str, user_id: int, comment: str, at: datetime) -> Requested:
        with self.engine.begin() as connection:
            new_id = connection.execute(
                PendingSubmission.__table__.insert()
                .values(
                    paper_id=paper_id,
                    user_id=user_id,
                    comment=comment,
                    state="pending",
                    requested_at=at,
                    attempts=0,
                    next_attempt_at=at,
                )
                .returning(PendingSubmission.id)
            ).scalar_one()
            return _requested(connection, PendingSubmission.id == new_id)[0]

    def get(self, request_id: int) -> Requested | None:
        with self.reads.connect() as connection:
            found = _requested(connection, PendingSubmission.id == request_id)
        return found[0] if found else None

    def waiting_for(self, paper_id: str) -> Requested | None:
        """The first submission of this paper still waiting for arXiv, if any."""
        with self.reads.connect() as connection:
            found = _requested(
                connection,
                and_(PendingSubmission.paper_id == paper_id, PendingSubmission.state == "pending"),
            )
        return found[0] if found else None

    def of_member(self, user_id: int, since: datetime) -> list[Requested]:
        """The member's requests made since `since`, newest first."""
        with self.reads.connect() as connection:
            found = _requested(
                connection,
                and_(PendingSubmission.user_id == user_id, PendingSubmission.requested_at >= since),
            )
        return found[::-1]

    def count_waiting(self, user_id: int, since: datetime) -> int:
        """The member's requests since `since` still waiting: they count against the day's cap."""
        with self.reads.connect() as connection:
            return connection.execute(
                select(func.count())
                .select_from(PendingSubmission)
                .where(
                    PendingSubmission.user_id == user_id,
                    PendingSubmission.requested_at >= since,
                    PendingSubmission.state == "pending",
                )
            ).scalar_one()

    def next_due(self) -> datetime | None:
        """When the next pending one may be claimed (its retry time or its lease's end)."""
        with self.reads.connect() as connection:
            rows = connection.execute(
                select(PendingSubmission.next_attempt_at, PendingSubmission.lease_until).where(
                    PendingSubmission.state == "pending"
                )
            ).all()
        return min((max(due, lease or due) for due, lease in rows), default=None)

    def claim(self, owner: str, at: datetime, lease: timedelta, limit: int) -> list[Requested]:
        """Take up to `limit` due pending submissions for `owner` until at + lease."""
        due = and_(
            PendingSubmission.state == "pending",
            PendingSubmission.next_attempt_at <= at,
            or_(PendingSubmission.lease_until.is_(None), PendingSubmission.lease_until < at),
        )
        first = select(PendingSubmission.id).where(due).order_by(PendingSubmission.id).limit(limit)
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                ids = connection.execute(first.with_for_update(skip_locked=True)).scalars().all()
                if not ids:
                    return []
                where = PendingSubmission.id.in_(ids)
            else:  # SQLite: one writer at a time, so the UPDATE's own subquery is the claim
                where = PendingSubmission.id.in_(first)
            claimed = (
                connection.execute(
                    update(PendingSubmission)
                    .where(where)
                    .values(lease_owner=owner, lease_until=at + lease)
                    .returning(PendingSubmission.id)
                )
                .scalars()
                .all()
            )
            if not claimed:
                return []
            return _requested(connection, PendingSubmission.id.in_(claimed))

    def retry(self, request_id: int, owner: str, at: datetime, problem: str) -> bool:
        """Give the claim back to be tried again at `at`; `problem` says what went wrong."""
        return self._update_claimed(
            request_id,
            owner,
            attempts=PendingSubmission.attempts + 1,
            next_attempt_at=at,
            lease_owner=None,
            lease_until=None,
            reason=problem,
        )

    def finish(
        self, request_id: int, owner: str, state: str, reason: str | None, at: datetime
    ) -> bool:
        """Mark the claimed request "submitted" or "failed" (with the reason); False if the
        lease was lost (another fetcher has it, or finished it)."""
        if state not in ("submitted", "failed"):
            raise ValueError(f"state {state!r}: submitted or failed")
        return self._update_claimed(
            request_id,
            owner,
            state=state,
            reason=reason,
            attempts=PendingSubmission.attempts + 1,
            lease_until=None,
            finished_at=at,
        )

    def _update_claimed(self, request_id: int, owner: str, **values) -> bool:
        """Change a pending request this owner holds the lease on; False if it does not."""
        with self.engine.begin() as connection:
            return (
                connection.execute(
                    update(PendingSubmission)
                    .where(
                        PendingSubmission.id == request_id,
                        PendingSubmission.lease_owner == owner,
                        PendingSubmission.state == "pending",
                    )
                    .values(**values)
                ).rowcount
                > 0
            )
