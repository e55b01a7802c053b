"""The interface every ingest source implements, and `PapersIn`: the one loop that stores
what any source reads, and the one way any paper is stored."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from paperscope.records import PaperRecord
from paperscope.store import Store, UpsertResult

if TYPE_CHECKING:
    pass

# How many skipped records a report keeps word for word; the rest are only counted.
_KEPT_EXAMPLES = 20


@dataclass(frozen=True)
class Skipped:
    """A record a source could not use: where it was and why."""

    where: str
    reason: str

    @property
    def kind(self) -> str:
        # "title has 5,000 characters (limit 1,000)" -> "title has"; keeps the counts readable.
        return " ".join(self.reason.split()[:2]).rstrip(":")


@dataclass(frozen=True)
class Checkpoint:
    """Where a source stands (an OAI-PMH page and its resumption token): `reached` runs
    once every record read before it is stored, so a restart resumes after it."""

    reached: Callable[[], object]


class Source(Protocol):
    """Yields records (or Skipped notices, or Checkpoints) and says how far along it is."""

    description: str

    def read(self) -> Iterator[PaperRecord | Skipped | Checkpoint]: ...

    def position(self) -> tuple[float, float | None]:
        """(done, total) in the source's own unit, for a progress bar; total may be unknown."""
        ...


ProgressCallback = Callable[[float, "float | None", "IngestReport"], None]


@dataclass
class IngestReport:
    stored: UpsertResult = field(default_factory=UpsertResult)
    read: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    skipped_count: int = 0
    skipped_by_kind: Counter = field(default_factory=Counter)

    def skip(self, notice: Skipped) -> None:
        self.skipped_count += 1
        self.skipped_by_kind[notice.kind] += 1
        if len(self.skipped) < _KEPT_EXAMPLES:
            self.skipped.append(notice)

    def merge(self, other: IngestReport) -> None:
        self.stored += other.stored
        self.read += other.read
        self.skipped_count += other.skipped_count
        self.skipped_by_kind.update(other.skipped_by_kind)
        self.skipped.extend(other.skipped[: _KEPT_EXAMPLES - len(self.skipped)])

    def as_json(self) -> dict:
        return {
            "read": self.read,
            "inserted": self.stored.inserted,
            "updated": self.stored.updated,
            "unchanged": self.stored.unchanged,
            "skipped": self.skipped_count,
            "skipped_by_kind": dict(self.skipped_by_kind),
            "skipped_examples": [{"where": s.where, "reason": s.reason} for s in self.skipped],
        }


class PapersIn:
    """The one way papers come in: every source, the PUT API and members' submissions store
    their records here (`store_records`); an ingest run then brings the indexes up
    (`Indexer.update`, which decides whether to embed)."""

    def __init__(self, store: Store, *, batch_size: int = 2000):
        self.store = store
        self.batch_size = batch_size

    def store_records(self, records: Iterable[PaperRecord | Skipped]) -> IngestReport:
        """Store one batch atomically (newer versions replace older ones, re-storing changes
        nothing); Skipped notices are counted in the report."""
        report = IngestReport()
        batch: list[PaperRecord] = []
        for item in records:
            if isinstance(item, Skipped):
                report.skip(item)
            else:
                batch.append(item)
        report.read = len(batch)
        if batch:
            report.stored = self.store.papers.upsert(batch)
        return report

    def ingest(
        self, source: Source, *, on_progress: ProgressCallback | None = None
    ) -> IngestReport:
        """Read a source to the end, storing records in atomic batches.

        Each batch commits on its own and storing is idempotent, so a run killed at any point
        and started again ends with the same database as one that was never interrupted. A
        `Checkpoint` the source yields runs once everything read before it is stored.
        """
        report = IngestReport()
        batch: list[PaperRecord | Skipped] = []
        reported: tuple[float, float | None] | None = None

        def flush() -> None:
            nonlocal reported
            if batch:
                report.merge(self.store_records(batch))
                batch.clear()
            position = source.position()
            if on_progress and position != reported:
                reported = position
                on_progress(position[0], position[1], report)

        for item in source.read():
            if isinstance(item, Checkpoint):
                flush()
                item.reached()
                continue
            batch.append(item)
            if len(batch) >= self.batch_size:
                flush()
        flush()
        return report


def ingest(
    store: Store,
    source: Source,
    *,
    batch_size: int = 2000,
    on_progress: ProgressCallback | None = None,
) -> IngestReport:
    """Read a source to the end into `store` (see `PapersIn.ingest`)."""
    return PapersIn(store, batch_size=batch_size).ingest(source, on_progress=on_progress)
