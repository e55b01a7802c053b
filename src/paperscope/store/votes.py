"""Upvotes: one per member and paper (the voter is the member's id)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select

from paperscope.store import generation
from paperscope.store.models import Vote
from paperscope.store.sql import Part, chunks, counts_per, grouped, insert_or


class Votes(Part):
    def counts(self, paper_ids: Sequence[str]) -> dict[str, int]:
        """Upvotes of each paper that has any."""
        return counts_per(self.reads, Vote.paper_id, paper_ids)

    def add(self, paper_id: str, voter: str, at: datetime) -> bool:
        """Record an upvote; False when this voter had already upvoted this paper (however
        many requests race to cast it)."""
        with self.engine.begin() as connection:
            statement = insert_or(connection, Vote.__table__).values(
                paper_id=paper_id, voter=voter, created_at=at
            )
            added = statement.on_conflict_do_nothing().returning(Vote.paper_id)
            done = connection.execute(added).first() is not None
            if done:
                generation.bump(connection, generation.COMMUNITY)
            return done

    def remove(self, paper_id: str, voter: str) -> bool:
        """Take an upvote back; False when there was none."""
        with self.engine.begin() as connection:
            gone = connection.execute(
                delete(Vote).where(Vote.paper_id == paper_id, Vote.voter == voter)
            ).rowcount
            if gone:
                generation.bump(connection, generation.COMMUNITY)
            return gone > 0

    def of_voters(self, voters: Sequence[str]) -> dict[str, list[str]]:
        """The papers each voter upvoted, most recent first."""
        statement = select(Vote.voter, Vote.paper_id).order_by(
            Vote.created_at.desc(), Vote.paper_id
        )
        return grouped(statement, Vote.voter, voters, self.reads)

    def when(self, voter: str) -> list[tuple[str, datetime]]:
        """The papers this voter upvoted, and when, oldest first."""
        with self.reads.connect() as connection:
            return [
                (row.paper_id, row.created_at)
                for row in connection.execute(
                    select(Vote.paper_id, Vote.created_at)
                    .where(Vote.voter == voter)
                    .order_by(Vote.created_at, Vote.paper_id)
                )
            ]

    def voted(self, voter: str, paper_ids: Sequence[str]) -> set[str]:
        """Which of these papers this voter has upvoted."""
        found: set[str] = set()
        with self.reads.connect() as connection:
            for chunk in chunks(list(paper_ids)):
                found.update(
                    connection.execute(
                        select(Vote.paper_id).where(Vote.voter == voter, Vote.paper_id.in_(chunk))
                    ).scalars()
                )
        return found
