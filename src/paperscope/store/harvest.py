"""Where each OAI-PMH harvest stands, so the next run is incremental and resumable."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from paperscope.store.models import HarvestState
from paperscope.store.sql import Part, insert_or


class Harvests(Part):
    def state(self, source: str) -> HarvestState | None:
        with self.reads.connect() as connection:
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
    ) -> None:
        """Store where a harvest stands (after its page's papers: `ingest/oai.py`)."""
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
