"""index generation; vector radius; pgvector vectors on PostgreSQL

Revision ID: 0004
Revises: 0003

On PostgreSQL the vectors move to pgvector's `vector` type. Vectors are derived data:
those stored as bytes before are dropped, and `paperscope index` computes them again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "generations",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("embeddings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("radius", sa.Float(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS vector")
        op.execute("DELETE FROM embeddings")
        op.execute("ALTER TABLE embeddings ALTER COLUMN vector TYPE vector USING NULL")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_embeddings_hnsw")
        op.execute("DELETE FROM embeddings")
        op.execute("ALTER TABLE embeddings ALTER COLUMN vector TYPE bytea USING NULL")
    with op.batch_alter_table("embeddings", schema=None) as batch_op:
        batch_op.drop_column("radius")
    op.drop_table("generations")
