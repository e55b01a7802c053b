"""the ledger of shown papers, from digest_sent_papers

Revision ID: 0011_ledger
Revises: 0010_feeds
Create Date: 2026-12-03 19:40:00

Every paper a digest sent becomes a "digest" showing to its subscriber, with the paper's state
as it is now (the version, an abstract hash, whether it has a code link, its comments): what
was sent before the ledger is not known, and taking today's state means only changes from
now on bring a paper back. digest_sent_papers is then dropped; a downgrade copies the digest
showings back.
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_ledger"
down_revision: str | Sequence[str] | None = "0010_feeds"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


def _abstract_hash(abstract: str) -> str:
    # As store/ledger.py's abstract_hash (copied: a migration must not change with the code).
    return hashlib.md5(" ".join(abstract.split()).encode(), usedforsecurity=False).hexdigest()


def upgrade() -> None:
    shown = op.create_table(
        "shown_papers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("paper_id", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("shown_at", sa.DateTime(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("abstract_hash", sa.String(length=32), nullable=True),
        sa.Column("had_code", sa.Boolean(), nullable=True),
        sa.Column("comments", sa.Integer(), nullable=True),
        sa.Column("content_hash", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["outbox_id"], ["digest_outbox.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["subscriber_id"], ["subscribers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("outbox_id", "paper_id", name="uq_shown_papers_outbox_paper"),
    )
    with op.batch_alter_table("shown_papers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_shown_papers_subscriber", ["subscriber_id", "paper_id"], unique=False
        )
        batch_op.create_index("ix_shown_papers_user", ["user_id", "paper_id"], unique=False)

    connection = op.get_bind()
    sent = sa.table(
        "digest_sent_papers",
        sa.column("subscriber_id", sa.Integer),
        sa.column("paper_id", sa.String),
        sa.column("sent_at", sa.DateTime),
    )
    papers = sa.table(
        "papers",
        sa.column("id", sa.String),
        sa.column("version", sa.Integer),
        sa.column("abstract", sa.Text),
        sa.column("code_links", sa.JSON),
        sa.column("content_hash", sa.String),
    )
    comments = sa.table(
        "comments",
        sa.column("paper_id", sa.String),
        sa.column("hidden", sa.Boolean),
    )
    counts = (
        sa.select(comments.c.paper_id, sa.func.count().label("n"))
        .where(comments.c.hidden.is_(False))
        .group_by(comments.c.paper_id)
        .subquery()
    )
    rows = connection.execute(
        sa.select(
            sent.c.subscriber_id,
            sent.c.paper_id,
            sent.c.sent_at,
            papers.c.version,
            papers.c.abstract,
            papers.c.code_links,
            papers.c.content_hash,
            counts.c.n,
        )
        .select_from(sent)
        .outerjoin(papers, papers.c.id == sent.c.paper_id)
        .outerjoin(counts, counts.c.paper_id == sent.c.paper_id)
        .order_by(sent.c.sent_at, sent.c.subscriber_id, sent.c.paper_id)
    )
    while batch := rows.fetchmany(BATCH):
        op.bulk_insert(
            shown,
            [
                {
                    "subscriber_id": r.subscriber_id,
                    "user_id": None,
                    "paper_id": r.paper_id,
                    "channel": "digest",
                    "shown_at": r.sent_at,
                    "outbox_id": None,
                    "version": r.version,
                    "abstract_hash": _abstract_hash(r.abstract) if r.abstract is not None else None,
                    "had_code": bool(r.code_links) if r.abstract is not None else None,
                    "comments": r.n or 0,
                    "content_hash": r.content_hash,
                }
                for r in batch
            ],
        )
    op.drop_table("digest_sent_papers")


def downgrade() -> None:
    op.create_table(
        "digest_sent_papers",
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.String(length=40), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["subscriber_id"], ["subscribers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("subscriber_id", "paper_id"),
    )
    op.execute(
        "INSERT INTO digest_sent_papers (subscriber_id, paper_id, sent_at) "
        "SELECT subscriber_id, paper_id, MIN(shown_at) FROM shown_papers "
        "WHERE channel = 'digest' AND subscriber_id IS NOT NULL "
        "GROUP BY subscriber_id, paper_id"
    )
    with op.batch_alter_table("shown_papers", schema=None) as batch_op:
        batch_op.drop_index("ix_shown_papers_user")
        batch_op.drop_index("ix_shown_papers_subscriber")
    op.drop_table("shown_papers")
