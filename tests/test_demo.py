"""The demo corpus is live whatever the day: loaded, its newest papers are yesterday's, the
papers keep their order and gaps, a second load that day changes nothing, a load on a later
day moves every date on without duplicating a paper, and vectors made from unchanged text
are kept."""

from __future__ import annotations

import gzip
import itertools
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from paperscope.cli import app
from paperscope.demo import DEMO_CORPUS, DemoSource, demo_shift, load_demo
from paperscope.search.vectors.embed import embed_papers, stale_paper_ids
from paperscope.store import Store
from tests.search.conftest import demo_records

NAMED = ("2401.04122", "2501.08549")  # the README and the tests name them
CUT = date(2026, 2, 20)  # the newest day the corpus was published on


def _newest_day(store: Store) -> date:
    return store.papers.newest_published().date()


def test_the_shift_makes_the_newest_day_yesterday_and_never_goes_back():
    assert demo_shift(CUT, date(2026, 2, 21)) == timedelta(0)
    assert demo_shift(CUT, date(2026, 12, 3)) == timedelta(days=285)
    assert demo_shift(CUT, date(2026, 1, 1)) == timedelta(0)  # a clock before the cut


def test_the_demo_ends_yesterday_reloads_idempotently_and_moves_on_a_later_day(store):
    original = {r.id: r for r in demo_records()}
    assert max(r.published for r in original.values()).date() == CUT

    first = load_demo(store, date(2027, 3, 10), batch_size=1000)
    assert (first.report.stored.inserted, first.report.read) == (3622, 3622)
    assert first.newest_day == _newest_day(store) == date(2027, 3, 9)
    # Every paper moved by the same whole days: order, gaps and times of day are kept.
    moved = {p.id: p for p in store.papers.iter_all()}
    assert set(moved) == set(original) and set(NAMED) <= set(moved)
    assert {moved[i].published - original[i].published for i in original} == {first.shift}
    # Each has an update time, which moves too: that is what makes a re-dated row newer.
    assert {moved[i].updated - original[i].updated for i in original} == {first.shift}

    again = load_demo(store, date(2027, 3, 10), batch_size=1000)
    assert again.report.stored.inserted == again.report.stored.updated == 0
    assert again.report.stored.unchanged == 3622

    later = load_demo(store, date(2027, 3, 13), batch_size=1000)
    assert (later.report.stored.inserted, later.report.stored.updated) == (0, 3622)
    assert later.shift - first.shift == timedelta(days=3)
    assert store.papers.count() == 3622 and _newest_day(store) == date(2027, 3, 12)
    assert store.papers.get("2501.08549").title.startswith("The Devil is in Temporal Token")


@pytest.fixture
def small_demo(tmp_path: Path) -> Path:
    """The demo corpus's first 40 lines, as a file of the same format."""
    path = tmp_path / "small.jsonl.gz"
    with gzip.open(DEMO_CORPUS, "rb") as source, gzip.open(path, "wb") as target:
        target.writelines(itertools.islice(source, 40))
    return path


def test_a_reload_on_a_later_day_keeps_the_vectors_of_unchanged_text(store, small_demo, minilm):
    load_demo(store, source=DemoSource(date(2027, 3, 10), small_demo))
    # One paper's stored text differs from the corpus's (a later edit of the same version):
    # the re-dated corpus restores it, so its vector must be made again.
    record = demo_records(40)[5]
    assert record.updated is not None
    shift = DemoSource(date(2027, 3, 10), small_demo).shift
    edited = replace(
        record,
        abstract="A different abstract.",
        published=record.published + shift,
        updated=(record.updated or record.published) + shift + timedelta(seconds=1),
    )
    store.papers.upsert([edited])
    assert embed_papers(store, minilm) == 40
    before = store.embeddings.vectors(minilm.name, [p.id for p in store.papers.iter_all()])

    later = load_demo(store, source=DemoSource(date(2027, 3, 12), small_demo))
    assert later.report.stored.updated == 40 and later.vectors_kept == 39
    assert stale_paper_ids(store, minilm.name) == [record.id]
    after = store.embeddings.vectors(minilm.name, list(before))
    assert all(np.array_equal(before[i], after[i]) for i in before)
    assert embed_papers(store, minilm) == 1


def test_paperscope_demo_dates_the_papers_up_to_yesterday_and_runs_again_unchanged():
    runner = CliRunner()
    before = datetime.now(UTC).date() - timedelta(days=1)
    first = runner.invoke(app, ["demo", "--no-embed"])
    assert first.exit_code == 0, first.output
    after = datetime.now(UTC).date() - timedelta(days=1)  # the same day but at midnight
    assert any(f"demo papers dated up to {day}" in first.output for day in (before, after))
    again = runner.invoke(app, ["demo", "--no-embed"])
    assert again.exit_code == 0, again.output
    assert "0 new, 0 updated, 3,622 unchanged" in again.output
