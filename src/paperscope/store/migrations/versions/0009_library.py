"""a digest's "for you" may learn from one of the member's collections

Revision ID: 0009_library
Revises: 0008_authors
Create Date: 2026-12-03 19:45:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009_library"
down_revision: str | Sequence[str] | None = "0008_authors"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("for_you_collection_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_subscribers_for_you_collection",
            "collections",
            ["for_you_collection_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.drop_constraint("fk_subscribers_for_you_collection", type_="foreignkey")
        batch_op.drop_column("for_you_collection_id")
