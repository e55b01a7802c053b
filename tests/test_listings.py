"""Trending over a busy week: the database ranks every paper of the window by the score the
page shows, ties by id, and paging through it loses or repeats nothing; at equal votes the
newer paper is higher, at equal age the one with more votes."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st
from sqlalchemy import insert

from paperscope.listings import Listings
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
