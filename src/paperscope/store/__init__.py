"""The store: one schema on SQLite (default) or PostgreSQL. Entry point: ``open_store``."""

from paperscope.settings import Settings
from paperscope.store.database import create_database_engine, migrate
from paperscope.store.store import Store, StoredPaper, UpsertResult, author_key

__all__ = ["Store", "StoredPaper", "UpsertResult", "author_key", "open_store"]


def open_store(settings: Settings) -> Store:
    """Connect to the configured database and bring its schema up to date."""
    engine = create_database_engine(settings.effective_database_url)
    migrate(engine)
    return Store(engine)
