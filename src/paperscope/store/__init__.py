"""The store: one schema on SQLite (default) or PostgreSQL. Entry point: ``open_store``."""

from paperscope.settings import Settings
from paperscope.store.database import SchemaOutOfDate, create_database_engine, migrate
from paperscope.store.papers import StoredPaper, UpsertResult, author_key
from paperscope.store.store import Store

__all__ = [
    "SchemaOutOfDate",
    "Store",
    "StoredPaper",
    "UpsertResult",
    "author_key",
    "open_store",
]


def open_store(settings: Settings, *, migrate_schema: bool = True) -> Store:
    """Connect to the configured database; bring its schema up to date (under a lock), or
    with ``migrate_schema=False`` only check that it is (SchemaOutOfDate if not)."""
    engine = create_database_engine(settings.effective_database_url)
    migrate(engine, check_only=not migrate_schema)
    return Store(engine, digest_max_papers=settings.digest_max_papers)
