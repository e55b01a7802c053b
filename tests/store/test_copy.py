"""`paperscope copy-store`: a SQLite store moves into the test's database (PostgreSQL on the
PostgreSQL run) and back, every row of every table, checked; an interrupted copy resumes."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import text

from paperscope.settings import Settings
from paperscope.store import copy as copying
from paperscope.store import create_database_engine, migrate, open_store
from paperscope.store.copy import checksum, copy_store, tables
from tests.search.conftest import demo_records


@pytest.fixture
def sqlite_source(tmp_path):
    """A SQLite store with a bit of everything: papers, vectors (with radius), votes and a
    harvest's bookkeeping."""
    source = tmp_path / "source"
    store = open_store(Settings(data_dir=source, database_url=f"sqlite:///{source}/paperscope.db"))
    records = demo_records(300)
    store.papers.upsert(records)
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((300, 8)).astype("<f4")
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store.embeddings.save(
        "model",
        [(r.id, r.content_hash, v.tobytes()) for r, v in zip(records, vectors, strict=True)],
    )
    store.embeddings.save_radius("model", [(r.id, 0.1 + i / 1000) for i, r in enumerate(records)])
    for n, record in enumerate(records[:40]):
        store.votes.add(record.id, f"reader-{n % 7}", datetime(2026, 1, 1, 12, 0, n))
    store.harvests.save("cs", harvested_until=date(2026, 1, 31), resumption_token="tok")
    # And what members make: accounts, sessions, tokens, submissions, comments, lists.
    at = datetime(2026, 1, 2, 9, 30)
    ann, _ = store.accounts.ensure("ann@example.org", at, fullname="Ann", role="curator")
    bob, _ = store.accounts.ensure("bob@example.org", at)
    store.accounts.add_session(ann.id, at, timedelta(days=30))
    store.accounts.add_token(bob.id, "cli", at)
    store.accounts.add_link("cat@example.org", at, timedelta(minutes=15))
    store.submissions.add(records[0].id, ann.id, at.date(), at)
    store.comments.add(records[0].id, bob.id, "**Nice** paper", at)
    listed = store.collections.create(bob.id, "Reading list", at)
    store.collections.add(listed.id, records[1].id, at)
    store.collections.dismiss(ann.id, records[2].id, at)
    store.limits.hit("votes:member:1", 10, 60, at)
    store.limits.secret("csrf")
    return store


def digests(engine) -> dict[str, str]:
    return {table.name: checksum(engine, table) for table in tables()}


def test_copy_store_moves_everything_and_back(sqlite_source, database_url, tmp_path):
    source_url = sqlite_source.engine.url.render_as_string(hide_password=False)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "paperscope",
            "copy-store",
            "--from",
            source_url,
            "--to",
            database_url,
        ],
        env=os.environ,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "paper_authors" in done.stdout and "copied and checked" in done.stdout

    copied = open_store(Settings(data_dir=tmp_path / "copy", database_url=database_url))
    assert digests(copied.engine) == digests(sqlite_source.engine)
    paper = sqlite_source.papers.get("2401.04122")
    assert copied.papers.get("2401.04122") == paper
    assert copied.votes.counts([paper.id]) == sqlite_source.votes.counts([paper.id])
    assert list(copied.embeddings.iter("model")) == list(sqlite_source.embeddings.iter("model"))
    harvest = copied.harvests.state("cs")
    assert (harvest.harvested_until, harvest.resumption_token) == (date(2026, 1, 31), "tok")
    assert copied.generations.current() > 0  # servers on the copy see it moved
    assert copied.submissions.of([paper.id])[paper.id].user_name == "ann"
    assert copied.comments.thread(paper.id)[0].body == "**Nice** paper"

    back = create_database_engine(f"sqlite:///{tmp_path / 'back.db'}")
    migrate(back)
    copy_store(copied.engine, back)
    assert digests(back) == digests(sqlite_source.engine)
    # New rows get new ids on the copy (PostgreSQL's sequences were moved past the copied).
    newcomer, made = copied.accounts.ensure("dee@example.org", datetime(2026, 2, 1))
    copied_ids = [copied.accounts.by_email(e).id for e in ("ann@example.org", "bob@example.org")]
    assert made and newcomer.id > max(copied_ids)
    assert copied.comments.add(paper.id, newcomer.id, "me too", datetime(2026, 2, 1)) > 1


def test_an_interrupted_copy_resumes_without_losing_or_doubling_a_row(
    sqlite_source, database_url, monkeypatch
):
    monkeypatch.setattr(copying, "BATCH", 50)
    destination = create_database_engine(database_url)
    migrate(destination)
    seen = []

    def stop_midway(table: str, done: int, total: int) -> None:
        seen.append((table, done))
        if table == "paper_authors" and done >= 500:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        copy_store(sqlite_source.engine, destination, on_progress=stop_midway)
    with destination.connect() as connection:
        partial = connection.execute(text("SELECT count(*) FROM paper_authors")).scalar()
    total_authors = sum(len(p.authors) for p in sqlite_source.papers.iter_all())
    assert 0 < partial < total_authors

    report = copy_store(sqlite_source.engine, destination)
    assert report.copied["papers"] == 0  # finished before the interruption: not read again
    assert 0 < report.copied["paper_authors"] <= total_authors - partial
    assert report.rows["paper_authors"] == total_authors
    assert digests(destination) == digests(sqlite_source.engine)
    destination.dispose()
