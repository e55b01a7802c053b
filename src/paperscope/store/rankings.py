"""Listings of papers with their upvotes: a window of days newest or most upvoted first,
and trending, each ranked in the database one page at a time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import (
    BigInteger,
    Float,
    Integer,
    case,
    cast,
    extract,
    func,
    literal,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from paperscope.store.models import Paper, Vote
from paperscope.store.papers import StoredPaper
from paperscope.store.sql import Part

Page = tuple[list[tuple[StoredPaper, int]], int]


class Rankings(Part):
    def published(
        self,
        start: datetime,
        end: datetime,
        *,
        order: Literal["published", "upvotes"] = "published",
        limit: int = 50,
        offset: int = 0,
    ) -> Page:
        """(paper, upvotes) of papers first published in [start, end), newest or most
        upvoted first, one page of them; and how many there are in all."""

        def ranking(upvotes):
            newest = [Paper.published.desc(), Paper.id.desc()]
            return [upvotes.desc(), *newest] if order == "upvotes" else newest

        return self._window_page(start, end, ranking, limit, offset)

    def trending(
        self,
        start: datetime,
        end: datetime,
        *,
        reference: datetime,
        gravity: float,
        limit: int = 50,
        offset: int = 0,
    ) -> Page:
        """(paper, upvotes) of papers first published in [start, end), highest trending score
        at `reference` first (ties by id), one page of them; and how many there are in all.

        The score is the one `Listings.score` defines, (upvotes + 1) / (hours + 2) ** gravity
        with hours counted in whole seconds, computed here with the same floating-point
        operations in the same order, so the database ranks every paper of the window by
        exactly the value the page shows (tests/test_listings.py holds the two together).
        """
        since = (reference.replace(microsecond=0) - _EPOCH) // timedelta(seconds=1)
        seconds = literal(since, BigInteger) - _epoch_seconds(Paper.published)
        hours = cast(case((seconds < 0, 0), else_=seconds), Float) / literal(3600.0, Float)

        def ranking(upvotes):
            score = cast(upvotes + 1, Float) / func.power(
                hours + literal(2.0, Float), literal(gravity, Float), type_=Float
            )
            return [score.desc(), Paper.id]

        return self._window_page(start, end, ranking, limit, offset)

    def _window_page(
        self, start: datetime, end: datetime, ranking, limit: int, offset: int
    ) -> Page:
        """One page of (paper, upvotes) published in [start, end), in the order `ranking`
        (given the upvotes column) makes; and how many papers the window holds."""
        votes = (
            select(Vote.paper_id, func.count().label("upvotes")).group_by(Vote.paper_id).subquery()
        )
        upvotes = func.coalesce(votes.c.upvotes, 0)
        window = (Paper.published >= start, Paper.published < end)
        query = (
            select(Paper.__table__, upvotes.label("upvotes"))
            .outerjoin(votes, votes.c.paper_id == Paper.id)
            .where(*window)
            .order_by(*ranking(upvotes))
            .limit(limit)
            .offset(offset)
        )
        with self.reads.connect() as connection:
            total = connection.execute(
                select(func.count()).select_from(Paper).where(*window)
            ).scalar_one()
            rows = connection.execute(query).all()
        return [_with_upvotes(row) for row in rows], total


def _with_upvotes(row) -> tuple[StoredPaper, int]:
    fields = dict(row._mapping)
    upvotes = fields.pop("upvotes")
    return StoredPaper(**fields), int(upvotes)


_EPOCH = datetime(1970, 1, 1)


class _epoch_seconds(FunctionElement):
    """Whole seconds from 1970 to a (naive, UTC) timestamp, rounded down: what trending
    needs for its hours and each database spells differently."""

    type = BigInteger()
    inherit_cache = True


@compiles(_epoch_seconds, "sqlite")
def _epoch_seconds_sqlite(element, compiler, **kw) -> str:
    (moment,) = element.clauses
    return compiler.process(cast(func.strftime("%s", moment), Integer), **kw)


@compiles(_epoch_seconds)
def _epoch_seconds_standard(element, compiler, **kw) -> str:  # PostgreSQL
    (moment,) = element.clauses
    return compiler.process(cast(func.floor(extract("epoch", moment)), BigInteger), **kw)
