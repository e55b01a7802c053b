"""Listings: the daily (weekly, monthly) papers and the trending papers.

Trending is transparent: score = (upvotes + 1) / (hours since published + 2) ** gravity over
the last week of papers the store holds, so a new paper with a few votes rises above an
older one with more, and with no votes at all the newest papers lead. `Listings.score` is
the definition; the store ranks the whole window by the same value in SQL.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from paperscope.arxiv_ids import parse_arxiv_id
from paperscope.arxiv_taxonomy import known_category
from paperscope.community.annotations import AnnotatedPaper, annotate
from paperscope.errors import InvalidInput, NotFound
from paperscope.settings import Settings
from paperscope.store import Store, StoredPaper

PeriodKind = Literal["day", "week", "month"]
Sort = Literal["publishedAt", "trending"]
# "curated": the papers members submitted, by upvotes; "all": every new arXiv paper.
View = Literal["curated", "all"]
_WEEK = re.compile(r"(\d{4})-W(\d{2})")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# What an arXiv category code can look like (cs.CL, hep-th, cond-mat.stat-mech).
_CATEGORY = re.compile(r"[A-Za-z][A-Za-z0-9.-]{0,63}")


def _moved(day: date, delta: timedelta) -> date:
    """day + delta, stopping at the ends of the calendar (date.min, date.max): the period
    after 9999-12-31 or before 0001-01-01 is the last or first there is."""
    try:
        return day + delta
    except OverflowError:
        return date.max if delta > timedelta(0) else date.min


class PeriodError(InvalidInput, ValueError):
    """A date, week or month that cannot be read, with what was expected."""


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    start: date
    end: date  # exclusive

    @classmethod
    def day(cls, day: date) -> Period:
        return cls("day", day, _moved(day, timedelta(days=1)))

    @classmethod
    def week_of(cls, day: date) -> Period:
        monday = _moved(day, -timedelta(days=day.weekday()))
        return cls("week", monday, _moved(monday, timedelta(days=7)))

    @classmethod
    def month_of(cls, day: date) -> Period:
        first = day.replace(day=1)
        days = calendar.monthrange(first.year, first.month)[1]
        return cls("month", first, _moved(first, timedelta(days=days)))

    def of_kind(self, kind: PeriodKind) -> Period:
        """The day, week or month this period starts in."""
        return {"day": Period.day, "week": Period.week_of, "month": Period.month_of}[kind](
            self.start
        )

    @property
    def label(self) -> str:
        if self.kind == "day":
            return self.start.isoformat()
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year:04d}-W{week:02d}"
        return f"{self.start.year:04d}-{self.start.month:02d}"

    @property
    def title(self) -> str:
        if self.kind == "day":
            return self.start.strftime("%A, %B %-d, %Y")
        if self.kind == "week":
            last = self.end - timedelta(days=1)
            return f"Week of {self.start:%B %-d} – {last:%B %-d, %Y}"
        return self.start.strftime("%B %Y")

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        return datetime.combine(self.start, time.min), datetime.combine(self.end, time.min)


def parse_period(
    day: str | None = None, week: str | None = None, month: str | None = None
) -> Period | None:
    """The period a request names; None for none. Given several, the narrowest wins (a
    date over a week over a month), as a page linking "this day of that month" means."""
    try:
        if day:
            if not _DAY.fullmatch(day.strip()):
                raise ValueError
            return Period.day(date.fromisoformat(day.strip()))
        if week:
            match = _WEEK.fullmatch(week.strip())
            if not match:
                raise ValueError
            year, number = int(match[1]), int(match[2])
            if number == 53 and date(year, 12, 28).isocalendar()[1] == 52:
                # Week 53 of a 52-week year: the week after week 52, as people count on.
                return Period.week_of(date.fromisocalendar(year, 52, 1) + timedelta(weeks=1))
            return Period.week_of(date.fromisocalendar(year, number, 1))
        if month:
            match = _MONTH.fullmatch(month.strip())
            if not match:
                raise ValueError
            return Period.month_of(date(int(match[1]), int(match[2]), 1))
    except ValueError:
        # The branches above try date, week, month in turn: the first one given failed.
        given = (("date", day), ("week", week), ("month", month))
        name, value = next((n, v) for n, v in given if v)
        raise PeriodError(
            f"cannot read {name} {value!r}: expected "
            + {"date": "YYYY-MM-DD", "week": "YYYY-Www (ISO week)", "month": "YYYY-MM"}[name]
        ) from None
    return None


@dataclass(frozen=True)
class Listed(AnnotatedPaper):
    score: float | None = None  # the trending score, on trending lists


@dataclass(frozen=True)
class Listing:
    period: Period | None
    items: list[Listed]
    total: int
    page: int
    limit: int
    view: View = "all"
    # The curated view was asked for and nobody submitted a paper in the period: the items
    # are every new paper instead, so that a quiet day is never an empty page.
    fallback: bool = False

    @property
    def has_more(self) -> bool:
        return (self.page + 1) * self.limit < self.total

    @property
    def shows(self) -> View:
        """What the items are: the submitted papers or all new ones."""
        return "all" if self.fallback else self.view


class Listings:
    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store

    def paper(self, paper_id: str) -> StoredPaper:
        """The stored paper for any spelling of its id (versions, arXiv: prefix, abs URL):
        InvalidArxivId for what is no arXiv id, NotFound for a paper not stored here."""
        base = parse_arxiv_id(paper_id).base
        paper = self.store.papers.get(base)
        if paper is None:
            raise NotFound(f"paper {base} is not in this paperscope")
        return paper

    def papers(self, paper_ids: list[str]) -> list[StoredPaper]:
        """The stored papers of these (base) ids; ids not stored are left out."""
        return self.store.papers.get_many(paper_ids)

    def has_category(self, code: str) -> bool:
        """Whether any stored paper is in the category (one arXiv added after our list).
        What cannot be a category code (a NUL byte, which PostgreSQL refuses) is not asked."""
        return bool(_CATEGORY.fullmatch(code)) and self.store.papers.has_category(code)

    def category(self, code: str, *, limit: int = 50) -> tuple[str, list[StoredPaper]]:
        """The newest papers of an arXiv category, and its code as arXiv spells it;
        NotFound for a code that is neither arXiv's nor on any stored paper."""
        code = code.strip()
        known = known_category(code) if len(code) <= 64 else None
        if known is None and self.has_category(code):
            known = code  # a class arXiv added after our list, already in the store
        if known is None:
            raise NotFound(
                f"no category {code[:64]!r}: use arXiv's codes, such as cs.CL, math.PR or hep-th"
            )
        return known, self.store.papers.newest_in_category(known, limit)

    def latest_day(self) -> date | None:
        newest = self.store.papers.newest_published()
        return newest.date() if newest else None

    def default_view(self) -> View:
        """Curated once members have submitted anything; every new paper until then."""
        return "curated" if self.store.submissions.any() else "all"

    def daily(
        self,
        period: Period | None,
        *,
        sort: Sort = "publishedAt",
        page: int = 0,
        limit: int = 50,
        view: View = "all",
        submitter: str | None = None,
        fall_back: bool = False,
    ) -> Listing:
        """One page of a day's (week's, month's) papers; the latest day when period is None.
        Curated: the papers submitted in the period, featured first, then by upvotes (and
        `submitter`'s only, if given); all: every paper first published in it. With
        `fall_back`, a curated period nobody submitted to lists all its papers (`fallback`)."""
        if view == "curated" or submitter is not None:
            if period is None:
                days = [self.store.submissions.latest_day(), self.latest_day()]
                # Falling back, the newest day of either; else the last day submitted to.
                latest = max(filter(None, days), default=None) if fall_back else days[0] or days[1]
                if latest is None:
                    return Listing(None, [], 0, page, limit, "curated")
                period = Period.day(latest)
            entries, total = self.store.submissions.curated(
                period.start, period.end, submitter=submitter, limit=limit, offset=page * limit
            )
            if fall_back and total == 0 and submitter is None:
                everything = self.daily(period, sort=sort, page=page, limit=limit)
                return replace(everything, view="curated", fallback=True)
            items = self._listed(
                [e.paper for e in entries],
                {e.paper.id: e.upvotes for e in entries},
                {e.paper.id: e.submission for e in entries if e.submission is not None},
            )
            return Listing(period, items, total, page, limit, "curated")
        if period is None:
            latest = self.latest_day()
            if latest is None:
                return Listing(None, [], 0, page, limit)
            period = Period.day(latest)
        start, end = period.bounds
        rows, total = self.store.rankings.published(
            start,
            end,
            order="upvotes" if sort == "trending" else "published",
            limit=limit,
            offset=page * limit,
        )
        items = self._listed([p for p, _ in rows], {p.id: n for p, n in rows})
        return Listing(period, items, total, page, limit)

    def _listed(
        self,
        papers: list[StoredPaper],
        upvotes: dict[str, int],
        submissions: dict | None = None,
        scores: dict[str, float] | None = None,
    ) -> list[Listed]:
        """The papers, annotated (community/annotations.py), with their trending scores."""
        annotated = annotate(self.store, papers, upvotes=upvotes, submissions=submissions)
        return [Listed(**a.annotations(), score=(scores or {}).get(a.paper.id)) for a in annotated]

    def nearest_periods(
        self, period: Period, view: View = "all"
    ) -> tuple[Period | None, Period | None]:
        """The closest earlier and later periods of the same kind (day, week, month) that
        have papers (on the curated view: or submissions), so that the arrows skip empty
        ones."""
        start, end = period.bounds
        before = self.store.papers.published_before(start)
        after = self.store.papers.published_from(end) if period.end < date.max else None
        earlier = [before.date()] if before else []
        later = [after.date()] if after else []
        if view == "curated":
            submitted_before, submitted_after = self.store.submissions.days_around(
                period.start, period.end
            )
            earlier += [submitted_before] if submitted_before else []
            later += [submitted_after] if submitted_after and period.end < date.max else []
        return (
            Period.day(max(earlier)).of_kind(period.kind) if earlier else None,
            Period.day(min(later)).of_kind(period.kind) if later else None,
        )

    def trending(self, *, page: int = 0, limit: int = 50, now: datetime | None = None) -> Listing:
        """Papers of the last week (of what the store holds) by trending score, ties by id."""
        newest = self.store.papers.newest_published()
        if newest is None:
            return Listing(None, [], 0, page, limit)
        now = now or datetime.now(UTC).replace(tzinfo=None)
        # Whole seconds, as the score counts them.
        reference = min(now, newest + timedelta(hours=1)).replace(microsecond=0)
        start = reference - timedelta(days=self.settings.trending_window_days)
        rows, total = self.store.rankings.trending(
            start,
            reference + timedelta(seconds=1),
            reference=reference,
            gravity=self.settings.trending_gravity,
            limit=limit,
            offset=page * limit,
        )
        items = self._listed(
            [paper for paper, _ in rows],
            {paper.id: upvotes for paper, upvotes in rows},
            scores={
                paper.id: self.score(upvotes, paper.published, reference) for paper, upvotes in rows
            },
        )
        window = Period("day", start.date(), reference.date() + timedelta(days=1))
        return Listing(window, items, total, page, limit)

    def score(self, upvotes: int, published: datetime | None, now: datetime) -> float:
        """The trending score: (upvotes + 1) / (hours since published + 2) ** gravity.

        Hours come from whole seconds (both times rounded down to the second) so that
        `Store.rankings.trending` computes this very value in SQL and ranks by it.
        """
        if published is None:
            hours = 1e6
        else:
            since = now.replace(microsecond=0) - published.replace(microsecond=0)
            hours = max(0, since // timedelta(seconds=1)) / 3600
        return (upvotes + 1) / (hours + 2) ** self.settings.trending_gravity
