"""followed searches and private feed links

Revision ID: 0010_feeds
Revises: 0009_library
Create Date: 2026-12-03 19:45:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0010_feeds"
down_revision: str | Sequence[str] | None = "0009_library"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "followed_searches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=200), nullable=False),
        sa.Column("published_from", sa.String(length=10), nullable=False),
        sa.Column("published_until", sa.String(length=10), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "user_id",
            "query",
            "category",
            "published_from",
            "published_until",
            "mode",
            name="uq_followed_searches_search",
        ),
    )
    with op.batch_alter_table("followed_searches", schema=None) as batch_op:
        batch_op.create_index("ix_followed_searches_user", ["user_id", "created_at"], unique=False)
    op.create_table(
        "feed_tokens",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
        sa.UniqueConstraint("token_hash"),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("feed_tokens")
    with op.batch_alter_table("followed_searches", schema=None) as batch_op:
        batch_op.drop_index("ix_followed_searches_user")
    op.drop_table("followed_searches")
