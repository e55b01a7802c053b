"""Where each OAI-PMH harvest stands, so the next run is incremental and resumable."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import Engine, select

from paperscope.records import PaperRecord
from paperscope.store.models import HarvestState
from paperscope.store.papers import Papers, UpsertResult
from paperscope.store.sql import insert_or


class Harvests:
    def __init__(self, engine: Engine, papers: Papers) -> None:
        self.engine = engine
        self.papers = papers

    def state(self, source: str) -> HarvestState | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(HarvestState.__table__).where(HarvestState.source == source)
            ).first()
        return HarvestState(**row._mapping) if row else None

    def save(
        self,
        source: str,
        *,
        harvested_until: date | None,
        resumption_token: str | None = None,
        resumption_from: date | None = None,
        resumption_until: date | None = None,
        records: Iterable[PaperRecord] = (),
    ) -> UpsertResult:
        """Store one harvested page, then where the harvest stands.

        Papers go first: a crash between the two only makes the next run repeat a page,
        which changes nothing.
        """
        result = self.papers.upsert(records)
        values = {
            "harvested_until": harvested_until,
            "resumption_token": resumption_token,
            "resumption_from": resumption_from,
            "resumption_until": resumption_until,
        }
        with self.engine.begin() as connection:
            statement = insert_or(connection, HarvestState.__table__).values(
                source=source, **values
            )
            connection.execute(
                statement.on_conflict_do_update(index_elements=["source"], set_=values)
            )
        return result
