"""The demo corpus, loaded so that it is live: real arXiv papers of four weeks, their dates
moved forward when they are loaded so that the newest were published yesterday.

Everything that makes paperscope more than a search box counts back from now: a member may
submit papers of the last days only, trending weighs hours since publication, "for you"
and the digests look at the last day or week. A corpus frozen on the day it was cut would
leave all of that empty on every later day. The dates move by whole days, so each paper
keeps its time of day and the papers keep their order and gaps; the newest day is
yesterday rather than today so that no paper is published in the future.

Loading again (`scripts/run` does at every start) is idempotent on the same day and moves
the dates forward on a later one: a re-dated paper has a later update time than the stored
one, so the store's usual "the newer wins" replaces the row (same id: no duplicates). Only
dates change, so the vectors made from a paper's text are kept (`carry_over`), and a
restart on a new day does not embed the corpus again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from paperscope.ingest import IngestReport, JsonlFileSource, Skipped, ingest
from paperscope.ingest.source import ProgressCallback
from paperscope.records import PaperRecord
from paperscope.search.vectors.embed import paper_text
from paperscope.store import Store

DEMO_CORPUS = Path(__file__).parent / "papers.jsonl.gz"


def demo_shift(newest: date, today: date) -> timedelta:
    """How far the demo's dates move so that its newest day is the day before `today`;
    never backwards (a clock set before the corpus was cut leaves it as it is)."""
    return max(timedelta(0), today - timedelta(days=1) - newest)


def _moved(record: PaperRecord, shift: timedelta) -> PaperRecord:
    return replace(
        record,
        published=record.published + shift if record.published else None,
        updated=record.updated + shift if record.updated else None,
    )


class DemoSource:
    """The demo corpus with its dates moved to end on the day before `today`."""

    def __init__(self, today: date, path: Path = DEMO_CORPUS) -> None:
        self._file = JsonlFileSource(path)
        self.description = self._file.description
        # 3,622 records: read once, to know the newest day before moving any.
        self._items = list(self._file.read())
        records = [item for item in self._items if isinstance(item, PaperRecord)]
        newest = max((r.published for r in records if r.published), default=None)
        self.shift = demo_shift(newest.date(), today) if newest else timedelta(0)
        self.newest_day = (newest + self.shift).date() if newest else None
        self._done = 0

    def read(self) -> Iterator[PaperRecord | Skipped]:
        for number, item in enumerate(self._items, 1):
            self._done = number
            yield item if isinstance(item, Skipped) else _moved(item, self.shift)

    def position(self) -> tuple[float, float | None]:
        return float(self._done), float(len(self._items))

    @property
    def ids(self) -> list[str]:
        return [item.id for item in self._items if isinstance(item, PaperRecord)]


@dataclass(frozen=True)
class DemoLoad:
    report: IngestReport
    shift: timedelta
    newest_day: date | None
    vectors_kept: int


def load_demo(
    store: Store,
    today: date | None = None,
    *,
    batch_size: int = 2000,
    on_progress: ProgressCallback | None = None,
    source: DemoSource | None = None,
) -> DemoLoad:
    """Store the demo papers dated to end yesterday (or `source`'s papers), keeping the
    vectors of those whose text did not change."""
    source = source or DemoSource(today or datetime.now(UTC).date())
    before = {p.id: p for p in store.papers.get_many(source.ids)}
    report = ingest(store, source, batch_size=batch_size, on_progress=on_progress)
    kept = carry_over(store, before)
    return DemoLoad(report, source.shift, source.newest_day, kept)


def carry_over(store: Store, before: dict) -> int:
    """Let the vectors of papers that were re-dated, and nothing else, stand for their new
    content hash (a vector is made from the title and abstract alone)."""
    moved = [
        (paper.id, before[paper.id].content_hash, paper.content_hash)
        for paper in store.papers.get_many(list(before))
        if paper.content_hash != before[paper.id].content_hash
        and paper_text(paper.title, paper.abstract)
        == paper_text(before[paper.id].title, before[paper.id].abstract)
    ]
    return store.embeddings.carry_over(moved)
