"""The ledger of what each person was shown (store/ledger.py), and migration 0008, which
makes it from the digests' old record of sent papers."""

from __future__ import annotations

from datetime import datetime, timedelta

from alembic import command
from sqlalchemy import text

from paperscope.records import make_record
from paperscope.store import Store, create_database_engine, migrate
from paperscope.store.database import _alembic_config
from paperscope.store.ledger import PaperState, abstract_hash

T0 = datetime(2026, 12, 1, 8)


def _paper(paper_id: str, version: int = 1, abstract: str = "We study things.", comment=None):
    return make_record(
        id=paper_id,
        version=version,
        title=f"Paper {paper_id}",
        abstract=abstract,
        authors=["Ada Lovelace"],
        categories=["cs.AI"],
        published="2026-11-30 00:00:00 UTC",
        updated=f"2026-11-30 0{version}:00:00 UTC",
        comment=comment,
    )


def test_a_page_records_papers_once_and_again_only_when_they_changed(store: Store):
    store.papers.upsert([_paper("2612.00001"), _paper("2612.00002")])
    member, _ = store.accounts.ensure("ann@example.org", T0)
    papers = {p.id: p for p in store.papers.get_many(["2612.00001", "2612.00002"])}
    shown = [(pid, PaperState.of(p, 0)) for pid, p in papers.items()]
    assert store.ledger.record("member", member.id, "for-you", shown, T0) == 2
    assert store.ledger.record("member", member.id, "for-you", shown, T0 + timedelta(1)) == 0
    assert store.ledger.shown_ids("member", [member.id], "for-you") == {
        member.id: {"2612.00001", "2612.00002"}
    }
    assert store.ledger.shown_ids("member", [member.id], "digest") == {member.id: set()}
    assert store.ledger.changed("member", [member.id], "for-you") == {member.id: []}

    # A new version: the paper is among the changed ones until it is shown as it is now.
    store.papers.upsert([_paper("2612.00001", 2, "We study other things.")])
    changed = store.ledger.changed("member", [member.id], "for-you")[member.id]
    assert [c.paper_id for c in changed] == ["2612.00001"]
    before = changed[0].state
    assert (before.version, before.abstract_hash) == (1, abstract_hash("We study things."))
    assert before.has_code is False and before.comments == 0
    new = store.papers.get("2612.00001")
    assert (
        store.ledger.record(
            "member", member.id, "for-you", [(new.id, PaperState.of(new, 0))], T0 + timedelta(2)
        )
        == 1
    )
    assert store.ledger.changed("member", [member.id], "for-you") == {member.id: []}
    last = store.ledger.last_shown("member", member.id, "for-you", ["2612.00001"])
    assert last["2612.00001"].state.version == 2
    assert last["2612.00001"].shown_at == T0 + timedelta(2)


def test_the_abstract_hash_ignores_how_lines_are_wrapped():
    assert abstract_hash("We study\n  things.") == abstract_hash("We study things.")
    assert abstract_hash("We study things.") != abstract_hash("We study other things.")


def test_migration_0011_copies_the_papers_digests_sent_into_the_ledger(empty_database_url):
    engine = create_database_engine(empty_database_url)
    command.upgrade(_alembic_config(engine), "0010_feeds")  # just before the ledger
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO papers (id, version, title, abstract, authors, categories, "
                "code_links, content_hash) VALUES "
                "('2612.00001', 2, 't', 'An  abstract.', '[]', '[]', '[\"https://x.org\"]', 'h1'),"
                "('2612.00002', 1, 't', 'Another.', '[]', '[]', '[]', 'h2')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO users (id, email, name, fullname, role, created_at) VALUES "
                "(1, 'a@example.org', 'a', 'A', 'member', :at)"
            ),
            {"at": T0},
        )
        connection.execute(
            text(
                "INSERT INTO comments (paper_id, user_id, body, created_at, hidden) VALUES "
                "('2612.00002', 1, 'one', :at, false), ('2612.00002', 1, 'two', :at, false),"
                "('2612.00002', 1, 'hidden', :at, true)"
            ),
            {"at": T0},
        )
        connection.execute(
            text(
                "INSERT INTO subscribers (id, email, state, frequency, categories, follows, "
                "for_you, max_papers, created_at) VALUES "
                "(7, 'a@example.org', 'active', 'daily', '[]', '[]', true, 10, :at)"
            ),
            {"at": T0},
        )
        connection.execute(
            text(
                "INSERT INTO digest_sent_papers (subscriber_id, paper_id, sent_at) VALUES "
                "(7, '2612.00001', :a), (7, '2612.00002', :b), (7, '2612.09999', :b)"
            ),
            {"a": T0, "b": T0 + timedelta(days=1)},
        )
    migrate(engine)
    store = Store(engine)
    assert store.ledger.shown_ids("subscriber", [7], "digest") == {
        7: {"2612.00001", "2612.00002", "2612.09999"}
    }
    last = store.ledger.last_shown(
        "subscriber", 7, "digest", ["2612.00001", "2612.00002", "2612.09999"]
    )
    assert last["2612.00001"].shown_at == T0
    assert last["2612.00001"].state == PaperState(2, abstract_hash("An abstract."), True, 0, "h1")
    assert last["2612.00002"].state == PaperState(1, abstract_hash("Another."), False, 2, "h2")
    # A paper no longer stored keeps its place in the ledger (never sent again), state unknown.
    assert last["2612.09999"].state == PaperState(None, None, None, 0, None)
    with engine.connect() as connection:
        tables = set(
            connection.execute(
                text(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                    if engine.dialect.name == "sqlite"
                    else "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                )
            ).scalars()
        )
    assert "shown_papers" in tables and "digest_sent_papers" not in tables

    # And back: a downgrade gives the digests their record again.
    command.downgrade(_alembic_config(engine), "0010_feeds")
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT paper_id, sent_at FROM digest_sent_papers ORDER BY paper_id")
        ).all()
    assert [r[0] for r in rows] == ["2612.00001", "2612.00002", "2612.09999"]
    engine.dispose()
