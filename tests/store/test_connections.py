"""How the store talks to its database: reads outside a transaction, and pooled connections
that the server dropped replaced without an error reaching a reader."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

from paperscope.records import make_record
from paperscope.store import database


def _paper(paper_id: str, title: str = "A title"):
    return make_record(
        id=paper_id,
        title=title,
        abstract="An abstract.",
        authors=["Ada Lovelace"],
        categories=["cs.LG"],
        published="2024-01-01 00:00:00 UTC",
    )


def _statements(engine) -> list[tuple[str, bool]]:
    """(the statement's first word, whether it ran outside a transaction) for every
    statement the engine's connections send from now on."""
    sent: list[tuple[str, bool]] = []

    def note(connection, _cursor, statement, *_rest) -> None:
        level = connection.get_execution_options().get("isolation_level")
        sent.append((statement.split()[0].upper(), level == "AUTOCOMMIT"))

    event.listen(engine, "before_cursor_execute", note)
    return sent


def test_a_read_opens_no_transaction_and_sees_what_was_written(store):
    store.papers.upsert([_paper("2401.00001v1", "First")])
    sent = _statements(store.engine)
    assert store.papers.get("2401.00001").title == "First"
    assert store.votes.counts(["2401.00001"]) == {}
    assert store.generations.current() > 0
    assert len(sent) == 3 and all(word == "SELECT" and outside for word, outside in sent)

    # A write still is one transaction: all of it or none.
    sent.clear()
    store.papers.upsert([_paper("2401.00001v2", "Second"), _paper("2401.00002")])
    assert sent and not any(outside for _, outside in sent)
    assert [p.title for p in store.papers.get_many(["2401.00001", "2401.00002"])] == [
        "Second",
        "A title",
    ]


def test_a_pooled_connection_the_server_dropped_is_replaced(store, backend, monkeypatch):
    if backend != "postgresql":
        pytest.skip("an SQLite connection is a file, not a server session")
    store.papers.upsert([_paper("2401.00001")])
    assert store.papers.get("2401.00001") is not None  # a connection now waits in the pool
    with store.engine.connect() as admin:
        ours = admin.execute(text("SELECT pg_backend_pid()")).scalar_one()
    # The server ends that session (a restart, an idle timeout, a failover would).
    with database.create_database_engine(str(store.engine.url)).connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": ours})
    monkeypatch.setattr(database, "PING_AFTER_IDLE_S", 0.0)  # as if it had idled long
    assert store.papers.get("2401.00001").title == "A title"
    assert store.stats()["papers"] == 1
