"""What every aggregate's queries share: batching ids, and INSERT ... ON CONFLICT."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Connection, Engine, Select, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import QueryableAttribute

Key = TypeVar("Key")

# Stay under SQLite's bound-parameter limit in IN (...) lists.
ID_CHUNK = 900


class Part:
    """One aggregate's part of the store, over the one engine. Writes run in a transaction
    (`self.engine.begin()`); reads (`self.reads.connect()`) outside one, so that on
    PostgreSQL a read is its query's round trip alone, not BEGIN, the query and ROLLBACK."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.reads = engine.execution_options(isolation_level="AUTOCOMMIT")


def chunks(items: Sequence, size: int = ID_CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def insert_or(connection: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can say what a conflicting row becomes (`on_conflict_do_nothing`,
    `on_conflict_do_update`): SQLite and PostgreSQL spell it alike, from different modules."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def counts_per(
    engine: Engine,
    key: QueryableAttribute[Key],
    keys: Sequence[Key],
    *where: ColumnElement[bool],
) -> dict[Key, int]:
    """How many rows each of `keys` has in `key`'s table (those with any; `where` narrows
    the rows counted), asked in batches."""
    counts: dict[Key, int] = {}
    with engine.connect() as connection:
        for chunk in chunks(list(keys)):
            counts.update(
                connection.execute(
                    select(key, func.count()).where(key.in_(chunk), *where).group_by(key)
                ).all()
            )
    return counts


def grouped(
    statement: Select[Key, *tuple[Any, ...]],
    key: QueryableAttribute[Key],
    keys: Sequence[Key],
    engine: Engine,
) -> dict[Key, list[Any]]:
    """Rows of `statement` (a select whose first column is `key`) for each of `keys`, in the
    statement's order, every key present (an empty list if it has none), asked in batches."""
    found: dict[Key, list[Any]] = {k: [] for k in keys}
    with engine.connect() as connection:
        for chunk in chunks(list(found)):
            for row in connection.execute(statement.where(key.in_(chunk))):
                found[row[0]].append(row[1] if len(row) == 2 else row[1:])
    return found
