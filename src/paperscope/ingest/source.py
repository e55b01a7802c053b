"""The interface every ingest source implements, and the loop that stores what it reads."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from paperscope.records import PaperRecord
from paperscope.store import Store, UpsertResult

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


class Source(Protocol):
    """Yields records (or Skipped notices) and says how far along it is."""

    description: str

    def read(self) -> Iterator[PaperRecord | Skipped]: ...

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


def ingest(
    store: Store,
    source: Source,
    *,
    batch_size: int = 2000,
    on_progress: ProgressCallback | None = None,
) -> IngestReport:
    """Read a source to the end, storing records in atomic batches.

    Each batch commits on its own and storing is idempotent, so a run killed at any point
    and started again ends with the same database as one that was never interrupted.
    """
    report = IngestReport()
    batch: list[PaperRecord] = []

    def flush() -> None:
        if batch:
            report.stored += store.papers.upsert(batch)
            batch.clear()
        if on_progress:
            done, total = source.position()
            on_progress(done, total, report)

    for item in source.read():
        if isinstance(item, Skipped):
            report.skip(item)
            continue
        report.read += 1
        batch.append(item)
        if len(batch) >= batch_size:
            flush()
    flush()
    return report
