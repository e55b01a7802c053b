"""Submissions: the papers members put on a day's curated page, each paper once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine, func, select, update

from paperscope.store import generation
from paperscope.store.models import Paper, Submission, User, Vote
from paperscope.store.papers import StoredPaper
from paperscope.store.sql import chunks, insert_or

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


class Submissions:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

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
        with self.engine.connect() as connection:
            for chunk in chunks(list(paper_ids)):
                rows = connection.execute(
                    select(*_COLUMNS)
                    .outerjoin(User, User.id == Submission.user_id)
                    .where(Submission.paper_id.in_(chunk))
                ).all()
                found.update((row.paper_id, _submitted(row)) for row in rows)
        return found

    def count_by(self, user_id: int, since: datetime) -> int:
        with self.engine.connect() as connection:
            return connection.execute(
                select(func.count())
                .select_from(Submission)
                .where(Submission.user_id == user_id, Submission.submitted_at >= since)
            ).scalar_one()

    def any(self) -> bool:
        with self.engine.connect() as connection:
            return connection.execute(select(Submission.paper_id).limit(1)).first() is not None

    def latest_day(self) -> date | None:
        with self.engine.connect() as connection:
            return connection.execute(
                select(func.max(Submission.day)).where(Submission.state != "hidden")
            ).scalar()

    def days_around(self, start: date, end: date) -> tuple[date | None, date | None]:
        """The last day before `start` and the first from `end` on that have a listed
        submission (the curated page's arrows step to them)."""
        listed = Submission.state != "hidden"
        with self.engine.connect() as connection:
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
        include_hidden: bool = False,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[CuratedEntry], int]:
        """Papers submitted on days [start, end): featured first, then most upvoted, then
        the earliest submitted; one page of them, and how many there are in all."""
        votes = (
            select(Vote.paper_id, func.count().label("upvotes")).group_by(Vote.paper_id).subquery()
        )
        upvotes = func.coalesce(votes.c.upvotes, 0)
        where = [Submission.day >= start, Submission.day < end]
        if not include_hidden:
            where.append(Submission.state != "hidden")
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
        with self.engine.connect() as connection:
            total = connection.execute(counted).scalar_one()
            rows = connection.execute(query).all()
        paper_fields = [c.name for c in Paper.__table__.columns]
        entries = []
        for row in rows:
            values = row._mapping
            paper = StoredPaper(**{name: values[Paper.__table__.c[name]] for name in paper_fields})
            entries.append(CuratedEntry(paper, int(values["upvotes"]), _submitted(row)))
        return entries, total
