"""Paper vectors, one per paper and embedding model, with the content hash each was made
from and (once measured) its neighbourhood radius for similar papers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from sqlalchemy import bindparam, delete, func, select, update

from paperscope.store import generation
from paperscope.store.models import Embedding
from paperscope.store.sql import Part, chunks, insert_or


class Embeddings(Part):
    def hashes(self, model: str) -> dict[str, str]:
        """Paper id -> the content hash its stored vector under this model was made from."""
        with self.reads.connect() as connection:
            return dict(
                connection.execute(
                    select(Embedding.paper_id, Embedding.content_hash).where(
                        Embedding.model == model
                    )
                ).all()
            )

    def vectors(self, model: str, paper_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The float32 vectors of these papers (those that have one) under the model."""
        found: dict[str, np.ndarray] = {}
        with self.reads.connect() as connection:
            for chunk in chunks(list(dict.fromkeys(paper_ids))):
                rows = connection.execute(
                    select(Embedding.paper_id, Embedding.vector).where(
                        Embedding.model == model, Embedding.paper_id.in_(chunk)
                    )
                ).all()
                found.update((pid, np.frombuffer(blob, dtype="<f4")) for pid, blob in rows)
        return found

    def sample(self, model: str, count: int, seed: int = 0) -> dict[str, np.ndarray]:
        """About `count` vectors of papers picked at random (the same for one seed)."""
        with self.reads.connect() as connection:
            ids = sorted(
                connection.execute(
                    select(Embedding.paper_id).where(Embedding.model == model)
                ).scalars()
            )
        if not ids:
            return {}
        rng = np.random.default_rng(seed)
        picked = rng.choice(len(ids), size=min(count, len(ids)), replace=False)
        return self.vectors(model, [ids[i] for i in sorted(picked)])

    def count(self, model: str) -> int:
        with self.reads.connect() as connection:
            return connection.execute(
                select(func.count()).select_from(Embedding).where(Embedding.model == model)
            ).scalar_one()

    def without_radius(self, model: str) -> list[str]:
        """Papers whose vector under this model has no radius measured yet."""
        with self.reads.connect() as connection:
            return list(
                connection.execute(
                    select(Embedding.paper_id)
                    .where(Embedding.model == model, Embedding.radius.is_(None))
                    .order_by(Embedding.paper_id)
                ).scalars()
            )

    def save(self, model: str, rows: Sequence[tuple[str, str, bytes]]) -> None:
        """Store (paper id, content hash, vector bytes) rows atomically, replacing old ones
        (a replaced vector's radius is measured again)."""
        if not rows:
            return
        with self.engine.begin() as connection:
            statement = insert_or(connection, Embedding.__table__)
            statement = statement.on_conflict_do_update(
                index_elements=["paper_id", "model"],
                set_={
                    "content_hash": statement.excluded.content_hash,
                    "vector": statement.excluded.vector,
                    "radius": None,
                },
            )
            connection.execute(
                statement,
                [
                    {"paper_id": p, "model": model, "content_hash": h, "vector": v, "radius": None}
                    for p, h, v in sorted(rows)
                ],
            )
            generation.bump(connection, generation.INDEX, generation.VECTORS)

    def carry_over(self, moved: Sequence[tuple[str, str, str]]) -> int:
        """For (paper id, old content hash, new content hash) of papers whose embedded text
        is unchanged: their vectors (every model's) now stand for the new hash, so they are
        not made again. A vector made from another hash is left stale. Returns how many."""
        rows = [{"b_id": p, "b_old": old, "b_new": new} for p, old, new in sorted(moved)]
        if not rows:
            return 0
        table = Embedding.__table__
        with self.engine.begin() as connection:
            changed = connection.execute(
                update(table)
                .where(table.c.paper_id == bindparam("b_id"))
                .where(table.c.content_hash == bindparam("b_old"))
                .values(content_hash=bindparam("b_new")),
                rows,
            ).rowcount
        return max(changed, 0)

    def save_radius(self, model: str, radius: Iterable[tuple[str, float]]) -> None:
        """Store each paper's neighbourhood radius (CSLS) under this model."""
        rows = [{"b_id": paper_id, "b_radius": float(r)} for paper_id, r in radius]
        if not rows:
            return
        with self.engine.begin() as connection:
            connection.execute(
                update(Embedding.__table__)
                .where(
                    Embedding.__table__.c.paper_id == bindparam("b_id"),
                    Embedding.__table__.c.model == model,
                )
                .values(radius=bindparam("b_radius")),
                rows,
            )
            generation.bump(connection, generation.INDEX, generation.VECTORS)

    def keep_only(self, model: str) -> int:
        """Forget vectors of every other model, so models are never mixed."""
        with self.engine.begin() as connection:
            removed = connection.execute(delete(Embedding).where(Embedding.model != model))
            if removed.rowcount:
                generation.bump(connection, generation.INDEX, generation.VECTORS)
            return removed.rowcount

    def iter(self, model: str, batch_size: int = 5000) -> Iterable[tuple[str, bytes, float | None]]:
        """(paper id, vector bytes, radius) for every stored vector of the model, in id
        order."""
        last = ""
        while True:
            with self.reads.connect() as connection:
                rows = connection.execute(
                    select(Embedding.paper_id, Embedding.vector, Embedding.radius)
                    .where(Embedding.model == model, Embedding.paper_id > last)
                    .order_by(Embedding.paper_id)
                    .limit(batch_size)
                ).all()
            if not rows:
                return
            yield from ((row.paper_id, row.vector, row.radius) for row in rows)
            last = rows[-1].paper_id
