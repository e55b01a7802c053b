"""The schema: one row per paper (arXiv id without version), its authors and categories.

Portable SQLAlchemy types, so the same models run on SQLite and PostgreSQL; the one
exception is a vector, which PostgreSQL keeps in pgvector's type so SQL can search it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

import numpy as np
from pgvector.sqlalchemy import VECTOR
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, MappedColumn, mapped_column


class Base(DeclarativeBase):
    # Every model here is mapped to a Table (DeclarativeBase allows any FromClause), which
    # is what `insert`, `update` and `insert_or` take.
    __table__: ClassVar[Table]


def _owned_by(parent: str, **options: Any) -> MappedColumn[Any]:
    """A column naming its parent row (`table.id`): the row is deleted with its parent."""
    return mapped_column(ForeignKey(parent, ondelete="CASCADE"), **options)


class VectorBytes(TypeDecorator):
    """A float32 vector. The application always sees little-endian float32 bytes; SQLite
    stores those bytes, PostgreSQL a pgvector `vector` (exact: float4 either way)."""

    impl = LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(VECTOR())
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value, dialect):
        if value is None or dialect.name != "postgresql":
            return value
        return np.frombuffer(value, dtype="<f4")

    def process_result_value(self, value, dialect):
        if value is None or dialect.name != "postgresql":
            return value
        return np.asarray(value, dtype="<f4").tobytes()


class Paper(Base):
    __tablename__ = "papers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    abstract: Mapped[str] = mapped_column(Text)
    # Ordered display list; paper_authors holds the same names for lookups.
    authors: Mapped[list[str]] = mapped_column(JSON)
    categories: Mapped[list[str]] = mapped_column(JSON)
    primary_category: Mapped[str | None] = mapped_column(String(64))
    comment: Mapped[str | None] = mapped_column(Text)
    journal_ref: Mapped[str | None] = mapped_column(Text)
    doi: Mapped[str | None] = mapped_column(String(500))
    published: Mapped[datetime | None] = mapped_column(DateTime)
    updated: Mapped[datetime | None] = mapped_column(DateTime)
    code_links: Mapped[list[str]] = mapped_column(JSON)
    # Changes whenever any stored field changes; indexes use it to find stale entries.
    content_hash: Mapped[str] = mapped_column(String(32))

    __table_args__ = (Index("ix_papers_published", "published"),)


class PaperAuthor(Base):
    __tablename__ = "paper_authors"

    paper_id: Mapped[str] = _owned_by("papers.id", primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    # Case- and accent-folded name, so "Schölkopf" is found as "scholkopf".
    name_key: Mapped[str] = mapped_column(String(300), index=True)


class PaperCategory(Base):
    __tablename__ = "paper_categories"

    paper_id: Mapped[str] = _owned_by("papers.id", primary_key=True)
    category: Mapped[str] = mapped_column(String(64), primary_key=True)

    __table_args__ = (Index("ix_paper_categories_category", "category", "paper_id"),)


class HarvestState(Base):
    """Where an OAI-PMH harvest of one set stands, so the next run is incremental."""

    __tablename__ = "harvest_state"

    source: Mapped[str] = mapped_column(String(200), primary_key=True)
    # Last day fully harvested; the next harvest starts from it (overlap is harmless).
    harvested_until: Mapped[date | None] = mapped_column(Date)
    # Token of the page after the last committed one, to resume an interrupted harvest.
    resumption_token: Mapped[str | None] = mapped_column(Text)
    resumption_from: Mapped[date | None] = mapped_column(Date)
    resumption_until: Mapped[date | None] = mapped_column(Date)


class Embedding(Base):
    """A paper's vector under one embedding model, and the content it was computed from."""

    __tablename__ = "embeddings"

    paper_id: Mapped[str] = _owned_by("papers.id", primary_key=True)
    # Model name and version, e.g. "all-MiniLM-L6-v2@onnx-int8-8199be6f": vectors of
    # different models are never mixed.
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(32))
    vector: Mapped[bytes] = mapped_column(VectorBytes)
    # Mean cosine to the paper's nearest neighbours (CSLS), None until measured.
    radius: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (Index("ix_embeddings_model", "model"),)


class Vote(Base):
    """One reader's upvote of one paper. Trending and daily rankings count these; the
    voter is an account id once accounts exist."""

    __tablename__ = "votes"

    paper_id: Mapped[str] = _owned_by("papers.id", primary_key=True)
    voter: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (Index("ix_votes_created_at", "created_at"),)


class Generation(Base):
    """Counters that writes move in their own transaction (see store/generation.py)."""

    __tablename__ = "generations"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


# -- people: accounts, sign-in, sessions (store/accounts.py) ---------------------------------


class User(Base):
    """A member. Signs in with a link sent to `email`; `name` is the public handle (unique,
    as Hugging Face's `user`), `fullname` what pages show."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # lower-cased
    name: Mapped[str] = mapped_column(String(40), unique=True)
    fullname: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))  # "member" or "curator"
    created_at: Mapped[datetime] = mapped_column(DateTime)


class SignInLink(Base):
    """A one-time sign-in link: only the hash of its token is kept."""

    __tablename__ = "sign_in_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)


class Session(Base):
    """A signed-in browser: the cookie holds the token, the table its hash."""

    __tablename__ = "sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = _owned_by("users.id", index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class ApiToken(Base):
    """A personal API token (Authorization: Bearer), shown once, kept as a hash."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = _owned_by("users.id", index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16))  # the token's first characters, to tell apart
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)


class RateLimit(Base):
    """Requests counted per key and fixed window, shared by every app server."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # window start, epoch s
    hits: Mapped[int] = mapped_column(Integer)


class AppSecret(Base):
    """Secrets every app server must share (the key CSRF tokens are signed with), made
    once by whichever server needs one first."""

    __tablename__ = "app_secrets"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


# -- community: submissions, comments, collections (store/community.py) ---------------------


class Submission(Base):
    """A paper on one day's curated page: each paper once, by whoever submitted it first."""

    __tablename__ = "submissions"

    paper_id: Mapped[str] = _owned_by("papers.id", primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    day: Mapped[date] = mapped_column(Date)
    submitted_at: Mapped[datetime] = mapped_column(DateTime)
    # "listed", "featured" (a curator pinned it to the top) or "hidden" (taken off the page).
    state: Mapped[str] = mapped_column(String(16))

    __table_args__ = (
        Index("ix_submissions_day", "day"),
        Index("ix_submissions_user", "user_id", "submitted_at"),
    )


class PendingSubmission(Base):
    """A submission of a paper this paperscope lacks, accepted at once and completed off the
    request path: a fetcher claims it with a lease, asks arXiv, and either makes it a
    `Submission` ("submitted") or says why not ("failed", with `reason`)."""

    __tablename__ = "pending_submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    paper_id: Mapped[str] = mapped_column(String(40))  # base arXiv id, not stored yet
    user_id: Mapped[int] = _owned_by("users.id")
    comment: Mapped[str] = mapped_column(Text)  # "" for none; starts the discussion
    state: Mapped[str] = mapped_column(String(16))  # pending, submitted, failed
    reason: Mapped[str | None] = mapped_column(Text)  # why it failed, for the member
    requested_at: Mapped[datetime] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (
        Index("ix_pending_submissions_due", "state", "next_attempt_at"),
        Index("ix_pending_submissions_user", "user_id", "requested_at"),
        Index("ix_pending_submissions_paper", "paper_id", "state"),
    )


class Comment(Base):
    """One comment in a paper's discussion, in Markdown (rendered and sanitised on display)."""

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    paper_id: Mapped[str] = _owned_by("papers.id")
    user_id: Mapped[int] = _owned_by("users.id")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    edited_at: Mapped[datetime | None] = mapped_column(DateTime)
    hidden: Mapped[bool] = mapped_column(Boolean)  # by a curator

    __table_args__ = (Index("ix_comments_paper", "paper_id", "created_at"),)


class Collection(Base):
    """A member's named list of papers: private, or shared by an unguessable link."""

    __tablename__ = "collections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = _owned_by("users.id")
    name: Mapped[str] = mapped_column(String(200))
    share_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_collections_user_name"),)


class CollectionItem(Base):
    __tablename__ = "collection_items"

    collection_id: Mapped[int] = _owned_by("collections.id", primary_key=True)
    paper_id: Mapped[str] = _owned_by("papers.id", primary_key=True)
    added_at: Mapped[datetime] = mapped_column(DateTime)


class Dismissal(Base):
    """ "Not interested": the paper leaves this member's lists (and digest)."""

    __tablename__ = "dismissals"

    user_id: Mapped[int] = _owned_by("users.id", primary_key=True)
    paper_id: Mapped[str] = _owned_by("papers.id", primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


# -- digests: subscribers, the outbox, what each was sent (store/digests.py) ------------------


class Subscriber(Base):
    """Someone who gets digests: by address (one person with the account of that address).
    `state`: pending (until the confirmation link's button is pressed), active, paused,
    unsubscribed or bouncing (the mail server refused the address for good)."""

    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    state: Mapped[str] = mapped_column(String(16))
    frequency: Mapped[str] = mapped_column(String(8))  # "daily" or "weekly"
    categories: Mapped[list[str]] = mapped_column(JSON)
    follows: Mapped[list[str]] = mapped_column(JSON)  # searches in the query language
    for_you: Mapped[bool] = mapped_column(Boolean)
    max_papers: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # "For you" learns from this collection of the member's instead of all their upvotes and
    # saves (None: those); the collection's deletion sets it back.
    for_you_collection_id: Mapped[int | None] = mapped_column(
        ForeignKey("collections.id", ondelete="SET NULL", name="fk_subscribers_for_you_collection")
    )


class OutboxMessage(Base):
    """One digest for one subscriber and period: planned once, claimed with a lease by
    whichever sender gets it, marked sent only once the SMTP server accepted it."""

    __tablename__ = "digest_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscriber_id: Mapped[int] = _owned_by("subscribers.id")
    period: Mapped[str] = mapped_column(String(32))  # "daily:2026-12-02", "weekly:2026-W49"
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    state: Mapped[str] = mapped_column(String(16))  # pending, sent, empty, failed, skipped
    papers: Mapped[list | None] = mapped_column(JSON)  # chosen at first composition, kept
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (
        UniqueConstraint("subscriber_id", "period", name="uq_digest_outbox_subscriber_period"),
        Index("ix_digest_outbox_due", "period", "state", "next_attempt_at"),
    )


# -- authors: who is behind a name, who follows and claims them (store/authors.py) ------------
# An author's identity is a key: by default the folded name (`paper_authors.name_key`); a
# curator can give some of a name's papers an identity of their own (a split, a row in
# `author_identities`) or make one name another's (a merge, a row in `author_aliases`). The
# papers' author strings never change.


class AuthorIdentity(Base):
    """An identity a curator split off a name: "wei zhang#2", shown as "Wei Zhang (2)"."""

    __tablename__ = "author_identities"

    key: Mapped[str] = mapped_column(String(320), primary_key=True)
    base: Mapped[str] = mapped_column(String(300), index=True)  # the name_key it came from
    name: Mapped[str] = mapped_column(String(300))  # the name as shown
    label: Mapped[str] = mapped_column(String(200))  # what tells it apart ("Tsinghua")
    created_at: Mapped[datetime] = mapped_column(DateTime)


class AuthorAlias(Base):
    """A merge: every paper under `name_key` (not assigned otherwise) is `identity`'s."""

    __tablename__ = "author_aliases"

    name_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    identity: Mapped[str] = mapped_column(String(320), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class AuthorAssignment(Base):
    """One author position of one paper given to an identity (a split)."""

    __tablename__ = "author_assignments"

    paper_id: Mapped[str] = _owned_by("papers.id", primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    identity: Mapped[str] = mapped_column(String(320), index=True)


class AuthorFollow(Base):
    """A member follows an author: their new papers come first in "for you"."""

    __tablename__ = "author_follows"

    user_id: Mapped[int] = _owned_by("users.id", primary_key=True)
    identity: Mapped[str] = mapped_column(String(320), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (Index("ix_author_follows_identity", "identity"),)


class AuthorClaim(Base):
    """A member's statement: "I am this author of this paper" (a curator can remove it)."""

    __tablename__ = "author_claims"

    user_id: Mapped[int] = _owned_by("users.id", primary_key=True)
    paper_id: Mapped[str] = _owned_by("papers.id", primary_key=True)
    identity: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        Index("ix_author_claims_identity", "identity"),
        Index("ix_author_claims_paper", "paper_id"),
    )


# -- following: followed searches and private feed links (store/following.py) ----------------


class FollowedSearch(Base):
    """A search a member follows: its query and the filters the search page takes, each
    stored as typed (an empty string for no filter), so one search is followed once."""

    __tablename__ = "followed_searches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = _owned_by("users.id")
    query: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(200))
    published_from: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD or ""
    published_until: Mapped[str] = mapped_column(String(10))
    mode: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        Index("ix_followed_searches_user", "user_id", "created_at"),
        UniqueConstraint(
            "user_id",
            "query",
            "category",
            "published_from",
            "published_until",
            "mode",
            name="uq_followed_searches_search",
        ),
    )


class FeedToken(Base):
    """A member's private feed link (their For you as a feed): one per member, kept as a
    hash; making a new one replaces it, and the old link stops working."""

    __tablename__ = "feed_tokens"

    user_id: Mapped[int] = _owned_by("users.id", primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


# -- the ledger: what each person was shown (store/ledger.py) --------------------------------


class Showing(Base):
    """One paper shown to one person (a digest's subscriber, or a member on a page) through
    one channel ("digest", "for-you", "feed"), with the paper's state then: it is not shown
    to them again unless that state changes in a way that matters (recommend/returns.py).
    A row per showing: the first is when they first saw it, the last what they last saw.
    A digest's rows name their message (`outbox_id`), so a message taken back takes its
    showings with it."""

    __tablename__ = "shown_papers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscriber_id: Mapped[int | None] = _owned_by("subscribers.id", nullable=True)
    user_id: Mapped[int | None] = _owned_by("users.id", nullable=True)
    paper_id: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(16))
    shown_at: Mapped[datetime] = mapped_column(DateTime)
    outbox_id: Mapped[int | None] = _owned_by("digest_outbox.id", nullable=True)
    # The paper as shown; None where it was not known (showings from before the ledger).
    version: Mapped[int | None] = mapped_column(Integer)
    abstract_hash: Mapped[str | None] = mapped_column(String(32))
    had_code: Mapped[bool | None] = mapped_column(Boolean)
    comments: Mapped[int | None] = mapped_column(Integer)
    # The paper's content_hash then: a changed paper is found by comparing it, in SQL.
    content_hash: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_shown_papers_subscriber", "subscriber_id", "paper_id"),
        Index("ix_shown_papers_user", "user_id", "paper_id"),
        # A message's papers are recorded once, however many times it is marked sent.
        UniqueConstraint("outbox_id", "paper_id", name="uq_shown_papers_outbox_paper"),
    )
