"""Engine creation and migrations (once, under a lock) for SQLite and PostgreSQL."""

from __future__ import annotations

import math
import sqlite3
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from filelock import FileLock
from sqlalchemy import Dialect, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError

from paperscope.errors import Unavailable

MIGRATIONS = Path(__file__).parent / "migrations"


def create_database_engine(url: str, *, schema: str | None = None) -> Engine:
    """An engine for the URL (SQLite gets its pragmas). `schema`: PostgreSQL only, tables
    are made and read in that schema (for scratch stores beside a real one)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.drivername == "postgresql":  # the bare name means psycopg2; paperscope has 3
        parsed = parsed.set(drivername="postgresql+psycopg")
    connect_args = {"options": f"-c search_path={schema},public"} if schema else {}
    engine = create_engine(parsed, connect_args=connect_args)
    event.listen(engine, "checkin", _note_idle)
    event.listen(engine, "checkout", _pinging_if_idle(engine.dialect))
    if schema:
        _SCHEMAS[engine] = schema  # where its migrations keep their version, too
    return engine


_SCHEMAS: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()

# A pooled PostgreSQL connection idle for longer than this is pinged before it is handed
# out, and replaced if the server has gone (a restart, an idle timeout, a failover). One in
# use moments ago is not: pinging every checkout (pool_pre_ping) costs a round trip per
# query, a quarter of an uncached page's round trips.
PING_AFTER_IDLE_S = 5.0


def _note_idle(_dbapi_connection, record) -> None:
    record.info["idle_since"] = time.monotonic()


def _pinging_if_idle(dialect: Dialect) -> Callable[..., None]:
    def ping_if_idle(dbapi_connection, record, _proxy) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since <= PING_AFTER_IDLE_S:
            return  # new, or used a moment ago
        try:
            dialect.do_ping(dbapi_connection)  # what pool_pre_ping sends, outside a transaction
        except Exception as error:
            # The pool drops this connection and hands out another (SQLAlchemy's recipe for
            # custom pessimistic disconnect handling).
            raise DisconnectionError(f"a pooled connection was gone: {error}") from error

    return ping_if_idle


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web server read while an ingest writes; NORMAL is crash-safe under WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    try:
        cursor.execute("SELECT power(2.0, 3.0)")
    except sqlite3.OperationalError:
        # An SQLite built without its math functions: trending ranks with power(). C's pow,
        # as the built-in and Python's ** use, so scores agree to the last bit.
        dbapi_connection.create_function("power", 2, math.pow, deterministic=True)
    cursor.close()


def _alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    config.attributes["version_table_schema"] = _SCHEMAS.get(engine)
    return config


class SchemaOutOfDate(Unavailable, RuntimeError):
    """The database's schema is not the one this paperscope needs; the message says why."""


# Any constant will do, the same in every process: pg_advisory_lock takes a 64-bit key.
_MIGRATION_LOCK = 0x70617065727363  # "paperscope" in spirit


def schema_revisions(engine: Engine) -> tuple[str | None, str]:
    """(the database's revision, None if it has no schema; the newest this code knows)."""
    head = ScriptDirectory.from_config(_alembic_config(engine)).get_current_head()
    assert head is not None, "paperscope ships its migrations"
    with engine.connect() as connection:
        current = MigrationContext.configure(
            connection, opts={"version_table_schema": _SCHEMAS.get(engine)}
        ).get_current_revision()
    return current, head


def migrate(engine: Engine, *, check_only: bool = False) -> bool:
    """Bring the schema to the newest revision (True if anything was applied); cheap when
    it already is. Under a lock (PostgreSQL's advisory lock; a lock file beside a SQLite
    file), so commands starting at once apply each migration once. `check_only`: raise
    SchemaOutOfDate instead."""
    current, head = schema_revisions(engine)
    if current == head:
        return False
    if check_only:
        if current is None:
            raise SchemaOutOfDate(
                "the database has no paperscope schema yet: run `paperscope migrate`"
            )
        raise SchemaOutOfDate(
            f"the database schema is at revision {current}, this paperscope needs {head}: "
            "run `paperscope migrate`"
        )
    with _migration_lock(engine):
        if schema_revisions(engine)[0] == head:
            return False  # another process did it while this one waited for the lock
        command.upgrade(_alembic_config(engine), "head")
    return True


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name != "postgresql":
        database = engine.url.database
        if not database or database == ":memory:":
            yield
            return
        # SQLite: a lock file beside the database (the processes share its file system).
        with FileLock(f"{database}.migrate-lock"):
            yield
        return
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK})
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK})
            connection.commit()
