"""authors: split identities, merges, follows and claims

Revision ID: 0008_authors
Revises: 0007
Create Date: 2026-12-03 19:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_authors"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "author_identities",
        sa.Column("key", sa.String(length=320), nullable=False),
        sa.Column("base", sa.String(length=300), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("author_identities", schema=None) as batch_op:
        batch_op.create_index("ix_author_identities_base", ["base"], unique=False)
    op.create_table(
        "author_aliases",
        sa.Column("name_key", sa.String(length=300), nullable=False),
        sa.Column("identity", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name_key"),
    )
    with op.batch_alter_table("author_aliases", schema=None) as batch_op:
        batch_op.create_index("ix_author_aliases_identity", ["identity"], unique=False)
    op.create_table(
        "author_assignments",
        sa.Column("paper_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("identity", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("paper_id", "position"),
    )
    with op.batch_alter_table("author_assignments", schema=None) as batch_op:
        batch_op.create_index("ix_author_assignments_identity", ["identity"], unique=False)
    op.create_table(
        "author_follows",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("identity", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "identity"),
    )
    with op.batch_alter_table("author_follows", schema=None) as batch_op:
        batch_op.create_index("ix_author_follows_identity", ["identity"], unique=False)
    op.create_table(
        "author_claims",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.String(length=40), nullable=False),
        sa.Column("identity", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "paper_id"),
    )
    with op.batch_alter_table("author_claims", schema=None) as batch_op:
        batch_op.create_index("ix_author_claims_identity", ["identity"], unique=False)
        batch_op.create_index("ix_author_claims_paper", ["paper_id"], unique=False)


def downgrade() -> None:
    for table in (
        "author_claims",
        "author_follows",
        "author_assignments",
        "author_aliases",
        "author_identities",
    ):
        op.drop_table(table)
