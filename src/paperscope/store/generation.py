"""The index generation: a counter in the database that every write of papers or vectors
moves, in the same transaction. Servers poll it (one indexed row) and rebuild their search
snapshot when it moves, whichever host wrote; pages are cached under it."""

from __future__ import annotations

from sqlalchemy import Connection, select

from paperscope.store.models import Generation
from paperscope.store.sql import Part, insert_or

INDEX = "index"  # papers or vectors: what every search snapshot is built from
VECTORS = "vectors"  # vectors and their radius only: what a vector search reads
COMMUNITY = "community"  # votes, submissions, comments: what lists and pages show beside papers


def bump(connection: Connection, *names: str) -> None:
    """Move the counters (INDEX if none named), inside the caller's transaction: they
    commit with the write."""
    for name in names or (INDEX,):
        statement = insert_or(connection, Generation.__table__).values(name=name, value=1)
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=["name"], set_={"value": Generation.__table__.c.value + 1}
            )
        )


class Generations(Part):
    def current(self, name: str = INDEX) -> int:
        """The counter now (0 before the first write)."""
        with self.reads.connect() as connection:
            value = connection.execute(
                select(Generation.value).where(Generation.name == name)
            ).scalar()
        return int(value or 0)
