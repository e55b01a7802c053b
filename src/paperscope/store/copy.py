"""Copying a whole store to another database (SQLite to PostgreSQL, say): every table of
the schema, parents before children, in primary-key order, a batch per transaction.

Resumable: a table is continued after the last key the destination holds, and rows already
there are left alone (ON CONFLICT DO NOTHING), so an interrupted copy run again neither
loses nor duplicates a row. At the end every table's row count and a checksum of its rows
(read in key order on both sides) must agree.

Keys are ordered bytewise on both sides (PostgreSQL's "C" collation, SQLite's default), so
"after the last key" means the same thing in the source and the destination.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Column, Connection, Engine, Table, func, select, text, tuple_
from sqlalchemy.types import String

from paperscope.errors import PaperscopeError
from paperscope.store import generation
from paperscope.store.models import Base, Generation
from paperscope.store.sql import insert_or

BATCH = 2_000
# Moved, not copied: servers on the destination must see that its data changed.
NOT_COPIED = {Generation.__tablename__}

Progress = Callable[[str, int, int], None]  # table, rows done, rows in all


class CopyMismatch(PaperscopeError, RuntimeError):
    """The destination does not hold what the source does; the message says where."""


@dataclass
class CopyReport:
    copied: dict[str, int] = field(default_factory=dict)  # rows written this run
    rows: dict[str, int] = field(default_factory=dict)  # rows in each table, both sides
    checksums: dict[str, str] = field(default_factory=dict)


def tables() -> list[Table]:
    return [t for t in Base.metadata.sorted_tables if t.name not in NOT_COPIED]


def copy_store(
    source: Engine, destination: Engine, on_progress: Progress | None = None
) -> CopyReport:
    """Copy every table from source to destination (both at the current schema), then
    check counts and checksums; CopyMismatch if they differ."""
    say = on_progress or (lambda _table, _done, _total: None)
    report = CopyReport()
    for table in tables():
        report.copied[table.name] = _copy_table(source, destination, table, say)
    with destination.begin() as connection:
        _advance_sequences(connection)
        generation.bump(connection, generation.INDEX, generation.VECTORS)
    for table in tables():
        counts = (_count(source, table), _count(destination, table))
        if counts[0] != counts[1]:
            raise CopyMismatch(
                f"{table.name}: {counts[0]:,} rows in the source, {counts[1]:,} copied"
            )
        digests = (checksum(source, table), checksum(destination, table))
        if digests[0] != digests[1]:
            raise CopyMismatch(f"{table.name}: the copied rows differ from the source's")
        report.rows[table.name], report.checksums[table.name] = counts[0], digests[0]
    return report


def _advance_sequences(connection: Connection) -> None:
    """PostgreSQL numbers new rows from a sequence, which copied ids did not move: set each
    past the largest id copied, so the next account (comment, list) gets a fresh id."""
    if connection.dialect.name != "postgresql":
        return  # SQLite numbers from the largest id there is
    for table in tables():
        key = list(table.primary_key.columns)
        if len(key) == 1 and key[0].autoincrement is True:
            name, column = table.name, key[0].name
            connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', '{column}'), "
                    f"coalesce(max({column}), 0) + 1, false) FROM {name}"
                )
            )


def _copy_table(source: Engine, destination: Engine, table: Table, say: Progress) -> int:
    total = _count(source, table)
    done = _count(destination, table)
    say(table.name, done, total)
    after = _last_key(destination, table)
    written = 0
    for rows in _batches(source, table, after):
        with destination.begin() as connection:
            statement = insert_or(connection, table).on_conflict_do_nothing()
            connection.execute(statement, rows)
        written += len(rows)
        say(table.name, min(total, done + written), total)
    return written


def _batches(engine: Engine, table: Table, after: tuple | None) -> Iterator[list[dict]]:
    key = list(table.primary_key.columns)
    while True:
        query = select(table).order_by(*_ordered(engine, key)).limit(BATCH)
        if after is not None:
            query = query.where(tuple_(*_ordered(engine, key)) > tuple_(*after))
        with engine.connect() as connection:
            rows = [dict(row._mapping) for row in connection.execute(query)]
        if not rows:
            return
        yield rows
        after = tuple(rows[-1][column.name] for column in key)


def _last_key(engine: Engine, table: Table) -> tuple | None:
    key = list(table.primary_key.columns)
    query = select(*key).order_by(*(c.desc() for c in _ordered(engine, key))).limit(1)
    with engine.connect() as connection:
        row = connection.execute(query).first()
    return None if row is None else tuple(row)


def _ordered(engine: Engine, columns: list[Column]) -> list:
    if engine.dialect.name != "postgresql":
        return list(columns)  # SQLite compares text bytewise already
    return [c.collate("C") if isinstance(c.type, String) else c for c in columns]


def _count(engine: Engine, table: Table) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def checksum(engine: Engine, table: Table) -> str:
    """sha256 over every row of the table in key order, each value in one spelling
    whichever database it came from."""
    digest = hashlib.sha256()
    for rows in _batches(engine, table, None):
        for row in rows:
            digest.update(json.dumps(row, default=_plain, sort_keys=True).encode())
            digest.update(b"\n")
    return digest.hexdigest()


def _plain(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    raise TypeError(f"cannot checksum a {type(value).__name__}")
