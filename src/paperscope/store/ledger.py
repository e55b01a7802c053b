"""The ledger: which papers each person was shown, through which channel ("digest",
"for-you", "feed"), and what each paper was like then (its `PaperState`), so that a paper is
shown to a person once, and again only when it changed in a way that matters
(recommend/returns.py says which).

A person is a digest's subscriber or a member (`Reader`). A row per showing: a digest
records its papers in the transaction that marks it sent (store/digests.py `MarkSent`,
`showing_rows`), and a message taken back (`Digests.unsend`) deletes the showings that name
it; a page records what it showed when it was new to the member or changed since.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import ColumnElement, Engine, and_, exists, select
from sqlalchemy.orm import aliased

from paperscope.store.models import Paper, Showing
from paperscope.store.papers import StoredPaper
from paperscope.store.sql import Part, chunks, grouped

Reader = Literal["subscriber", "member"]
CHANNELS = ("digest", "for-you", "feed")


def abstract_hash(abstract: str) -> str:
    """The abstract's hash, blind to how its lines are wrapped (arXiv rewraps them)."""
    return hashlib.md5(" ".join(abstract.split()).encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class PaperState:
    """What a paper was like when it was shown: the fingerprint a return is judged on.
    Fields are None where unknown (showings recorded before the ledger kept them)."""

    version: int | None
    abstract_hash: str | None
    has_code: bool | None
    comments: int | None
    content_hash: str | None = None

    @classmethod
    def of(cls, paper: StoredPaper, comments: int) -> PaperState:
        return cls(
            paper.version,
            abstract_hash(paper.abstract),
            bool(paper.code_links),
            comments,
            paper.content_hash,
        )

    def columns(self) -> dict:
        return {
            "version": self.version,
            "abstract_hash": self.abstract_hash,
            "had_code": self.has_code,
            "comments": self.comments,
            "content_hash": self.content_hash,
        }


@dataclass(frozen=True)
class Shown:
    """A paper's last showing to one person through one channel."""

    paper_id: str
    shown_at: datetime
    state: PaperState


def _state(row) -> PaperState:
    return PaperState(row.version, row.abstract_hash, row.had_code, row.comments, row.content_hash)


def _column(reader: Reader):
    return Showing.subscriber_id if reader == "subscriber" else Showing.user_id


def showing_rows(
    reader: Reader,
    reader_id: int,
    channel: str,
    shown: Sequence[tuple[str, PaperState]],
    at: datetime,
    outbox_id: int | None = None,
) -> list[dict]:
    """The ledger's rows for papers shown now (a digest inserts them in its own transaction)."""
    if channel not in CHANNELS:
        raise ValueError(f"channel {channel!r}: one of {', '.join(CHANNELS)}")
    person: dict[str, int | None] = {"subscriber_id": None, "user_id": None}
    person["subscriber_id" if reader == "subscriber" else "user_id"] = reader_id
    return [
        person
        | {
            "paper_id": paper_id,
            "channel": channel,
            "shown_at": at,
            "outbox_id": outbox_id,
        }
        | state.columns()
        for paper_id, state in dict(shown).items()
    ]


def _latest(reader: Reader, channel: str) -> ColumnElement[bool]:
    """Rows that are their person's last showing of the paper through the channel."""
    later = aliased(Showing)
    person = _column(reader)
    return and_(
        Showing.channel == channel,
        ~exists().where(
            getattr(later, person.key) == person,
            later.paper_id == Showing.paper_id,
            later.channel == channel,
            later.id > Showing.id,
        ),
    )


class Ledger(Part):
    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)

    def shown_ids(
        self, reader: Reader, reader_ids: Sequence[int], channel: str
    ) -> dict[int, set[str]]:
        """The papers each person was ever shown through the channel (any version)."""
        person = _column(reader)
        statement = select(person, Showing.paper_id).where(Showing.channel == channel)
        found = grouped(statement, person, reader_ids, self.reads)
        return {who: set(papers) for who, papers in found.items()}

    def last_shown(
        self, reader: Reader, reader_id: int, channel: str, paper_ids: Sequence[str]
    ) -> dict[str, Shown]:
        """The last showing of each of these papers that the person was shown."""
        person = _column(reader)
        found: dict[str, Shown] = {}
        with self.reads.connect() as connection:
            for chunk in chunks(list(dict.fromkeys(paper_ids))):
                rows = connection.execute(
                    select(Showing).where(
                        person == reader_id, Showing.paper_id.in_(chunk), _latest(reader, channel)
                    )
                )
                found.update((r.paper_id, Shown(r.paper_id, r.shown_at, _state(r))) for r in rows)
        return found

    def changed(
        self, reader: Reader, reader_ids: Sequence[int], channel: str
    ) -> dict[int, list[Shown]]:
        """Each person's papers that changed in any stored field since they last saw them
        (recommend/returns.py tells which of the changes matter), oldest showing first."""
        person = _column(reader)
        statement = (
            select(person.label("who"), *Showing.__table__.c)
            .join(Paper, Paper.id == Showing.paper_id)
            .where(
                Showing.content_hash.is_not(None),
                Paper.content_hash != Showing.content_hash,
                _latest(reader, channel),
            )
            .order_by(Showing.shown_at, Showing.id)
        )
        found: dict[int, list[Shown]] = {i: [] for i in reader_ids}
        with self.reads.connect() as connection:
            for chunk in chunks(list(found)):
                for row in connection.execute(statement.where(person.in_(chunk))):
                    found[row[0]].append(Shown(row.paper_id, row.shown_at, _state(row)))
        return found

    def record(
        self,
        reader: Reader,
        reader_id: int,
        channel: str,
        shown: Sequence[tuple[str, PaperState]],
        at: datetime,
    ) -> int:
        """Record papers shown now, those new to the person or changed since they were last
        shown them (a page shown again records nothing); how many rows were added."""
        shown = list(dict(shown).items())
        before = self.last_shown(reader, reader_id, channel, [pid for pid, _ in shown])
        fresh = [
            (pid, state)
            for pid, state in shown
            if pid not in before
            or (before[pid].state.content_hash, before[pid].state.comments)
            != (state.content_hash, state.comments)
        ]
        if fresh:
            with self.engine.begin() as connection:
                connection.execute(
                    Showing.__table__.insert(),
                    showing_rows(reader, reader_id, channel, fresh, at),
                )
        return len(fresh)
