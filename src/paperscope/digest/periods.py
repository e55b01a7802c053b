"""Which digest a day belongs to: daily ones on arXiv's announcement days (Monday to
Friday), weekly ones per ISO week; and the window of papers each looks at."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal, overload

Frequency = Literal["daily", "weekly"]


@dataclass(frozen=True)
class DigestPeriod:
    frequency: Frequency
    key: str  # "daily:2026-12-02", "weekly:2026-W49": one digest per subscriber each
    start: datetime  # papers first published in [start, end)
    end: datetime
    label: str

    @property
    def slug(self) -> str:
        return self.key.replace(":", "-")


@overload
def digest_period(frequency: Literal["weekly"], day: date) -> DigestPeriod: ...
@overload
def digest_period(frequency: Frequency, day: date) -> DigestPeriod | None: ...
def digest_period(frequency: Frequency, day: date) -> DigestPeriod | None:
    """The period a send on `day` is for; None for a daily send on a day arXiv announces
    nothing (Saturday, Sunday)."""
    end = datetime.combine(day, time.min)
    if frequency == "daily":
        if day.weekday() >= 5:
            return None
        # Monday's covers the weekend's papers too; the sent-papers memory stops repeats.
        back = 3 if day.weekday() == 0 else 1
        return DigestPeriod(
            "daily",
            f"daily:{day.isoformat()}",
            end - timedelta(days=back + 1),
            end,
            day.strftime("%A, %B %-d, %Y"),
        )
    year, week, _ = day.isocalendar()
    return DigestPeriod(
        "weekly",
        f"weekly:{year:04d}-W{week:02d}",
        end - timedelta(days=7),
        end,
        f"week {week} of {year}",
    )
