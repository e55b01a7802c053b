"""Trending over a busy week: the database ranks every paper of the window by the score the
page shows, ties by id, and paging through it loses or repeats nothing; at equal votes the
newer paper is higher, at equal age the one with more votes."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st
from sqlalchemy import insert

from paperscope.errors import NotFound
from paperscope.listings import Listings, Period
from paperscope.records import PaperRecord
from paperscope.settings import Settings
from paperscope.store import Store, open_store
from paperscope.store.models import Vote

NOW = datetime(2026, 1, 8, 12, 0, 0, 250_000)
REFERENCE = NOW.replace(microsecond=0)  # newest paper + 1 h is later: `now` decides
START = REFERENCE - timedelta(days=7)
IN_WINDOW = 6_000  # more than the 5,000 rows trending once read


def _paper(number: int, published: datetime) -> PaperRecord:
    return PaperRecord(
        id=f"2601.{number:05d}",
        title=f"Paper {number}",
        abstract="An abstract.",
        authors=("Ada Lovelace",),
        categories=("cs.LG",),
        primary_category="cs.LG",
        version=1,
        published=published,
        updated=published,
    )


@pytest.fixture(scope="module")
def busy_week(tmp_path_factory, new_database) -> tuple[Settings, Store, dict[str, int]]:
    """6,000 papers in the window at 300 instants (so many share one): whole hours before
    the reference (where unequal ages and votes can tie) and any second, thrice with parts of
    a second; plus papers just inside and just outside both ends. Upvotes 0 to 4."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("listings") / "data", database_url=new_database()
    )
    store = open_store(settings)
    rng = random.Random(7)
    instants = [REFERENCE - timedelta(hours=hours) for hours in range(0, 7 * 24, 2)]
    instants += [
        START + timedelta(seconds=second, microseconds=part)
        for second in rng.sample(range(7 * 86_400), 72)
        for part in (0, 400_000, 900_000)  # the same whole second: the same age
    ]
    papers = [_paper(n, rng.choice(instants)) for n in range(IN_WINDOW - 2)]
    papers += [
        _paper(90_001, START),  # the first moment of the window
        _paper(90_002, REFERENCE + timedelta(microseconds=999_999)),  # its last
        _paper(90_003, START - timedelta(microseconds=1)),  # just before it
        _paper(90_004, REFERENCE + timedelta(seconds=1)),  # just after it
        _paper(90_005, START - timedelta(days=3)),
    ]
    store.papers.upsert(papers)
    upvotes = {p.id: rng.choice([0, 0, 0, 1, 2, 4]) for p in papers}
    votes = [
        {"paper_id": pid, "voter": f"reader-{i}", "created_at": NOW}
        for pid, n in upvotes.items()
        for i in range(n)
    ]
    with store.engine.begin() as connection:
        connection.execute(insert(Vote), votes)
    return settings, store, upvotes


def _expected(listings: Listings, store: Store, upvotes: dict[str, int]) -> list[tuple[str, float]]:
    """The window's papers sorted in Python by `Listings.score`, the definition."""
    papers = [
        p
        for p in store.papers.iter_all()
        if START <= p.published < REFERENCE + timedelta(seconds=1)
    ]
    scored = [(p.id, listings.score(upvotes[p.id], p.published, REFERENCE)) for p in papers]
    return sorted(scored, key=lambda item: (-item[1], item[0]))


@pytest.mark.parametrize("gravity", [1.5, 1.0])  # at 1.0, unequal ages and votes tie too
def test_trending_ranks_the_whole_window_by_the_score_and_pages_completely(busy_week, gravity):
    settings, store, upvotes = busy_week
    listings = Listings(settings.model_copy(update={"trending_gravity": gravity}), store)
    expected = _expected(listings, store, upvotes)
    assert len(expected) == IN_WINDOW
    scores = [score for _, score in expected]
    assert len(set(scores)) < len(scores) / 4  # ties aplenty: the id must break them

    listed, page = [], 0
    while True:
        listing = listings.trending(page=page, limit=700, now=NOW)
        assert listing.total == IN_WINDOW
        listed += [(item.paper.id, item.score) for item in listing.items]
        if not listing.has_more:
            break
        page += 1
    assert page == IN_WINDOW // 700
    assert listed == expected  # same papers, same order, same scores: none lost or repeated


def test_in_the_database_ranking_equal_votes_put_the_newer_first_and_equal_ages_more_votes(
    busy_week,
):
    settings, store, _ = busy_week
    listings = Listings(settings, store)
    ranked = listings.trending(page=0, limit=IN_WINDOW, now=NOW).items
    assert len(ranked) == IN_WINDOW
    position = {item.paper.id: n for n, item in enumerate(ranked)}
    by_age: dict[datetime, list] = {}
    by_votes: dict[int, list] = {}
    for item in ranked:
        by_age.setdefault(item.paper.published.replace(microsecond=0), []).append(item)
        by_votes.setdefault(item.upvotes, []).append(item)
    pairs = 0
    for same_age in by_age.values():  # ranked order within one age: votes never rise
        votes = [item.upvotes for item in same_age]
        assert votes == sorted(votes, reverse=True)
        pairs += len(set(votes)) > 1
    for same_votes in by_votes.values():  # ranked order within one vote count: never older first
        ages = [item.paper.published.replace(microsecond=0) for item in same_votes]
        assert ages == sorted(ages, reverse=True)
    assert pairs > 50 and len(position) == IN_WINDOW  # the data has such pairs to test


@examples(max_examples=300, deadline=None)
@given(
    votes=st.integers(0, 100_000),
    more=st.integers(1, 100_000),
    age_s=st.integers(0, 90 * 86_400),
    gap_s=st.integers(1, 90 * 86_400),
    gravity=st.floats(0.1, 5.0),
)
def test_the_score_prefers_newer_at_equal_votes_and_more_votes_at_equal_age(
    votes, more, age_s, gap_s, gravity
):
    listings = Listings(Settings(trending_gravity=gravity), store=None)
    newer = REFERENCE - timedelta(seconds=age_s)
    older = newer - timedelta(seconds=gap_s)
    assert listings.score(votes, newer, REFERENCE) > listings.score(votes, older, REFERENCE)
    assert listings.score(votes + more, newer, REFERENCE) > listings.score(votes, newer, REFERENCE)


# -- the daily page's periods: a quiet day falls back, the arrows skip empty periods ----------
# Papers on Mon 2026-01-05 and Tue 2026-01-06, then nothing until Fri 2026-01-30, then one
# in March: weeks 3-4 and all of February are empty.
SPARSE = {
    1: datetime(2026, 1, 5, 9),
    2: datetime(2026, 1, 6, 18),
    3: datetime(2026, 1, 6, 19),
    4: datetime(2026, 1, 30, 12),
    5: datetime(2026, 3, 2, 8),
}


@pytest.fixture
def sparse(store: Store) -> Listings:
    store.papers.upsert([_paper(n, at) for n, at in SPARSE.items()])
    return Listings(Settings(), store)


def _labels(pair) -> tuple[str | None, str | None]:
    return tuple(p.label if p else None for p in pair)


def test_the_arrows_skip_empty_days_weeks_and_months(sparse: Listings):
    around = sparse.nearest_periods
    assert _labels(around(Period.day(date(2026, 1, 6)))) == ("2026-01-05", "2026-01-30")
    assert _labels(around(Period.day(date(2026, 1, 20)))) == ("2026-01-06", "2026-01-30")
    # From the week of January 5, the next week with papers is week 5, not week 3.
    assert _labels(around(Period.week_of(date(2026, 1, 5)))) == (None, "2026-W05")
    assert _labels(around(Period.week_of(date(2026, 1, 30)))) == ("2026-W02", "2026-W10")
    # February is empty: from January the next month is March, and back.
    assert _labels(around(Period.month_of(date(2026, 1, 1)))) == (None, "2026-03")
    assert _labels(around(Period.month_of(date(2026, 3, 1)))) == ("2026-01", None)
    assert _labels(around(Period.month_of(date(2026, 2, 1)))) == ("2026-01", "2026-03")
    # The ends of the calendar have no neighbours past them.
    assert around(Period.day(date.max))[1] is None


def test_a_curated_period_nobody_submitted_to_shows_all_its_papers(sparse: Listings):
    store = sparse.store
    day = Period.day(date(2026, 1, 6))
    quiet = sparse.daily(day, view="curated", fall_back=True)
    assert quiet.fallback and quiet.view == "curated" and quiet.shows == "all"
    assert {i.paper.id for i in quiet.items} == {"2601.00002", "2601.00003"}
    # Without falling back (the API), an empty curated day stays empty.
    assert sparse.daily(day, view="curated").items == []

    at = datetime(2026, 1, 6, 20)
    ann, _ = store.accounts.ensure("ann@example.org", at)
    store.submissions.add("2601.00001", ann.id, day.start, at)
    curated = sparse.daily(day, view="curated", fall_back=True)
    assert not curated.fallback and curated.shows == "curated"
    assert [i.paper.id for i in curated.items] == ["2601.00001"]
    # The week of that day has a submission too; the month of March has none.
    assert not sparse.daily(day.of_kind("week"), view="curated", fall_back=True).fallback
    march = sparse.daily(Period.month_of(date(2026, 3, 1)), view="curated", fall_back=True)
    assert march.fallback and [i.paper.id for i in march.items] == ["2601.00005"]
    # With no period asked, the newest day of papers or submissions.
    assert sparse.daily(None, view="curated", fall_back=True).period.label == "2026-03-02"
    assert sparse.daily(None, view="curated").period.label == "2026-01-06"


def test_the_curated_arrows_reach_days_with_submissions_and_no_papers(sparse: Listings):
    store = sparse.store
    at = datetime(2026, 1, 10, 9)  # a Saturday: no paper was published on it
    bob, _ = store.accounts.ensure("bob@example.org", at)
    store.submissions.add("2601.00002", bob.id, at.date(), at)
    day = Period.day(date(2026, 1, 6))
    assert _labels(sparse.nearest_periods(day, "curated")) == ("2026-01-05", "2026-01-10")
    assert _labels(sparse.nearest_periods(day, "all")) == ("2026-01-05", "2026-01-30")


def test_a_category_lists_its_newest_papers_and_odd_codes_are_not_found(sparse: Listings):
    code, papers = sparse.category("CS.lg", limit=3)
    assert code == "cs.LG" and len(papers) == 3
    published = [p.published for p in papers]
    assert published == sorted(published, reverse=True)
    assert published[0] == max(SPARSE.values())
    # Codes no stored paper has, or that cannot be codes at all, never reach the database as
    # text it refuses (PostgreSQL: NUL bytes).
    for odd in ("cs.AI\x00", "new.class\x00", "", "x" * 65, "<script>", "cs"):
        assert not sparse.has_category(odd)
        with pytest.raises(NotFound):
            sparse.category(odd)
