"""The application: one object that owns the store and the services built on it.

`paperscope.cli` builds one per command and the web app one per process
(`Paperscope.from_settings()`); everything either does goes through its parts:

    Paperscope
    ├── settings       Settings: what the environment configured
    ├── store          Store: the one database (SQLite or PostgreSQL)
    ├── search         SearchEngine: reads the indexes (search, similar papers)
    ├── indexer        Indexer: writes them (keyword index, vectors, vector index)
    ├── papers         PapersIn: the one way papers come in (every source, the PUT API,
    │                  members' submissions), and what gets indexed after
    ├── listings       Listings: daily, weekly, monthly and trending papers
    ├── accounts       AccountService: members, sign-in links, sessions, tokens
    ├── community      Community: submissions, votes, comments, collections
    ├── digests        DigestService: subscribers and the emails they get
    ├── library        Library: a member's BibTeX/RIS/CSL-JSON file into a collection
    ├── recommender    Recommender: papers like the ones a person likes
    ├── authors        AuthorService: author pages, follows, splits and merges, claims
    ├── following      FollowingService: followed searches, private feed links
    └── for_you        ForYou: a member's page of them, why each, and how well it does

The services are made on first use, so a command that needs only the store never loads
the embedding model or starts a mail thread; `close()` stops those that were made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property

from paperscope.accounts import AccountService
from paperscope.authors import AuthorService
from paperscope.community import Community
from paperscope.demo import DemoLoad, DemoSource, load_demo
from paperscope.digest import DigestService
from paperscope.following import FollowingService
from paperscope.ingest.oai import OaiSource
from paperscope.ingest.source import PapersIn, ProgressCallback
from paperscope.library import Library
from paperscope.listings import Listings
from paperscope.recommend import Recommender
from paperscope.recommend.for_you import ForYou
from paperscope.search.engine import SearchEngine
from paperscope.search.indexer import Indexer
from paperscope.settings import Settings
from paperscope.store import Store, StoredPaper, create_database_engine, migrate, open_store


class Paperscope:
    def __init__(self, settings: Settings, store: Store, *, build_indexes: bool = True) -> None:
        self.settings = settings
        self.store = store
        self.search = SearchEngine(settings, store, build_indexes=build_indexes)

    @classmethod
    def from_settings(
        cls, settings: Settings | None = None, *, migrate: bool = True, server: bool = False
    ) -> Paperscope:
        """The application on the configured database. `migrate=False` only checks that the
        schema is current (servers: `paperscope migrate` changes it, once). A `server`
        never builds a vector index on its own (`paperscope index` does, on any host)."""
        settings = settings or Settings()
        store = open_store(settings, migrate_schema=migrate)
        return cls(settings, store, build_indexes=not server)

    @cached_property
    def indexer(self) -> Indexer:
        return Indexer(self.search)

    @cached_property
    def papers(self) -> PapersIn:
        return PapersIn(self.store, batch_size=self.settings.ingest_batch_size)

    @cached_property
    def listings(self) -> Listings:
        return Listings(self.settings, self.store)

    @cached_property
    def accounts(self) -> AccountService:
        return AccountService(self.settings, self.store)

    @cached_property
    def community(self) -> Community:
        return Community(self.settings, self.store, papers=self.papers)

    @cached_property
    def digests(self) -> DigestService:
        return DigestService(self.settings, self.store, search=self.search)

    @cached_property
    def library(self) -> Library:
        return Library(self.settings, self.store, self.search, self.community)

    @cached_property
    def recommender(self) -> Recommender:
        return Recommender(self.store, self.search.encoder.name)

    # -- authors (issue 22) --
    @cached_property
    def authors(self) -> AuthorService:
        return AuthorService(self.store)

    # -- following (issue 22: feeds) --
    @cached_property
    def following(self) -> FollowingService:
        return FollowingService(self.settings, self.store)

    # -- for you: the page, why each paper, how well it does (issue 22) --------------------
    @cached_property
    def for_you(self) -> ForYou:
        return ForYou(self.settings, self.store, self.search)

    def paper(self, paper_id: str) -> StoredPaper | None:
        """The stored paper with this (base) id."""
        return self.store.papers.get(paper_id)

    def harvest_source(
        self, set_spec: str, from_date: date | None = None, until_date: date | None = None
    ) -> OaiSource:
        """One OAI-PMH set as a source for `papers.ingest`: it resumes where the last
        harvest of the set ended (the store keeps where that is)."""
        return OaiSource(self.store, self.settings, set_spec, from_date, until_date)

    def load_demo(
        self, source: DemoSource, *, on_progress: ProgressCallback | None = None
    ) -> DemoLoad:
        """The shipped demo papers, dated to end yesterday, with the vectors of unchanged
        text kept (demo/__init__.py)."""
        return load_demo(
            self.store,
            source=source,
            batch_size=self.settings.ingest_batch_size,
            on_progress=on_progress,
        )

    def stats(self) -> dict:
        """Counts of what is stored."""
        return self.store.stats()

    def close(self) -> None:
        """Stop what the services started (threads, mail, the index refresher) and let the
        database go."""
        self.search.close()
        made = self.__dict__
        if "community" in made:
            self.community.stop_fetching()
        if "accounts" in made:
            self.accounts.close()
        if "digests" in made:
            self.digests.close()
        self.store.engine.dispose()


@dataclass(frozen=True)
class Migration:
    where: str  # the database, its password hidden
    before: str | None  # the revision found (None: an empty database)
    head: str  # the revision it is at now
    applied: bool


def migrate_database(settings: Settings | None = None) -> Migration:
    """Create or upgrade the configured database's schema (under a lock on PostgreSQL)."""
    from paperscope.store.database import schema_revisions

    settings = settings or Settings()
    engine = create_database_engine(settings.effective_database_url)
    try:
        before, head = schema_revisions(engine)
        applied = migrate(engine)
        return Migration(engine.url.render_as_string(hide_password=True), before, head, applied)
    finally:
        engine.dispose()


def copy_database(from_url: str, to_url: str, on_progress=None):
    """Copy a whole store into another database (resumable; checked at the end): the
    source is only read, never changed. Returns the copy's report."""
    from paperscope.store.copy import copy_store

    source = create_database_engine(from_url)
    destination = create_database_engine(to_url)
    try:
        migrate(source, check_only=True)
        migrate(destination)
        return copy_store(source, destination, on_progress=on_progress)
    finally:
        source.dispose()
        destination.dispose()
