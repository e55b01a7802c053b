"""What every aggregate's queries share: batching ids, and INSERT ... ON CONFLICT."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

# Stay under SQLite's bound-parameter limit in IN (...) lists.
ID_CHUNK = 900


def chunks(items: Sequence, size: int = ID_CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def insert_or(connection: Connection, table: Table):
    """An INSERT that can say what a conflicting row becomes (`on_conflict_do_nothing`,
    `on_conflict_do_update`): SQLite and PostgreSQL spell it alike, from different modules."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)
