"""Store: the one way papers go into and come out of the database."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from sqlalchemy import (
    BigInteger,
    Engine,
    Float,
    Integer,
    bindparam,
    case,
    cast,
    delete,
    extract,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from paperscope.records import PaperRecord
from paperscope.store.models import (
    Embedding,
    HarvestState,
    Paper,
    PaperAuthor,
    PaperCategory,
    Vote,
)

# Stay under SQLite's bound-parameter limit in IN (...) lists.
_ID_CHUNK = 900


@dataclass
class UpsertResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __iadd__(self, other: UpsertResult) -> UpsertResult:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self


@dataclass(frozen=True)
class StoredPaper:
    id: str
    version: int | None
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]
    primary_category: str | None
    comment: str | None
    journal_ref: str | None
    doi: str | None
    published: datetime | None
    updated: datetime | None
    code_links: list[str]
    content_hash: str

    @property
    def arxiv_url(self) -> str:
        return f"https://arxiv.org/abs/{self.id}"

    @property
    def pdf_url(self) -> str:
        return f"https://arxiv.org/pdf/{self.id}"

    def as_json(self) -> dict:
        data = dict(self.__dict__)
        for key in ("published", "updated"):
            value = data[key]
            data[key] = value.isoformat() + "Z" if value else None
        data["arxiv_url"] = self.arxiv_url
        data["pdf_url"] = self.pdf_url
        return data


def _with_upvotes(row) -> tuple[StoredPaper, int]:
    fields = dict(row._mapping)
    upvotes = fields.pop("upvotes")
    return StoredPaper(**fields), int(upvotes)


def author_key(name: str) -> str:
    """Fold case and accents so author lookups match however the name is typed."""
    decomposed = unicodedata.normalize("NFKD", name)
    return " ".join(
        "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split()
    )


def is_newer(record: PaperRecord, version: int | None, updated: datetime | None) -> bool:
    """True when record should replace the stored (version, updated).

    Versions decide when both are known; otherwise the later update time. A tie keeps what
    is stored, which makes re-ingesting any input a no-op.
    """
    if record.version is not None and version is not None and record.version != version:
        return record.version > version
    if record.updated is not None and updated is not None:
        return record.updated > updated
    return False


def _chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- writing -----------------------------------------------------------------------
    def upsert_papers(self, records: Iterable[PaperRecord]) -> UpsertResult:
        """Store a batch atomically: new papers inserted, newer versions replace older ones."""
        newest: dict[str, PaperRecord] = {}
        result = UpsertResult()
        for record in records:
            seen = newest.get(record.id)
            if seen is None or is_newer(record, seen.version, seen.updated):
                newest[record.id] = record
            if seen is not None:
                result.unchanged += 1
        if not newest:
            return result

        with self.engine.begin() as connection:
            stored: dict[str, tuple[int | None, datetime | None, str]] = {}
            for chunk in _chunks(list(newest), _ID_CHUNK):
                rows = connection.execute(
                    select(Paper.id, Paper.version, Paper.updated, Paper.content_hash).where(
                        Paper.id.in_(chunk)
                    )
                )
                stored.update(
                    {row.id: (row.version, row.updated, row.content_hash) for row in rows}
                )

            to_insert: list[PaperRecord] = []
            to_update: list[tuple[PaperRecord, int | None]] = []
            for paper_id, record in newest.items():
                if paper_id not in stored:
                    to_insert.append(record)
                    continue
                version, updated, content_hash = stored[paper_id]
                if is_newer(record, version, updated) and record.content_hash != content_hash:
                    to_update.append((record, version))
                else:
                    result.unchanged += 1

            if to_insert:
                connection.execute(insert(Paper), [_paper_row(r) for r in to_insert])
            if to_update:
                rows = []
                for record, old_version in to_update:
                    row = _paper_row(record)
                    # A source without version numbers must not erase the one we know.
                    row["version"] = record.version if record.version is not None else old_version
                    row["b_id"] = row.pop("id")
                    rows.append(row)
                statement = (
                    update(Paper.__table__)
                    .where(Paper.__table__.c.id == bindparam("b_id"))
                    .values({key: bindparam(key) for key in rows[0] if key != "b_id"})
                )
                connection.execute(statement, rows)
                changed_ids = [record.id for record, _ in to_update]
                for chunk in _chunks(changed_ids, _ID_CHUNK):
                    connection.execute(delete(PaperAuthor).where(PaperAuthor.paper_id.in_(chunk)))
                    connection.execute(
                        delete(PaperCategory).where(PaperCategory.paper_id.in_(chunk))
                    )

            written = to_insert + [record for record, _ in to_update]
            author_rows = [
                {"paper_id": r.id, "position": i, "name": name, "name_key": author_key(name)}
                for r in written
                for i, name in enumerate(r.authors)
            ]
            category_rows = [
                {"paper_id": r.id, "category": category}
                for r in written
                for category in r.categories
            ]
            if author_rows:
                connection.execute(insert(PaperAuthor), author_rows)
            if category_rows:
                connection.execute(insert(PaperCategory), category_rows)

        result.inserted += len(to_insert)
        result.updated += len(to_update)
        return result

    # -- reading -----------------------------------------------------------------------
    def get_paper(self, paper_id: str) -> StoredPaper | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(Paper.__table__).where(Paper.id == paper_id)).first()
        return StoredPaper(**row._mapping) if row else None

    def get_papers(self, paper_ids: Sequence[str]) -> list[StoredPaper]:
        """Papers in the order asked for; unknown ids are left out."""
        found: dict[str, StoredPaper] = {}
        with self.engine.connect() as connection:
            for chunk in _chunks(list(paper_ids), _ID_CHUNK):
                rows = connection.execute(select(Paper.__table__).where(Paper.id.in_(chunk)))
                found.update({row.id: StoredPaper(**row._mapping) for row in rows})
        return [found[i] for i in paper_ids if i in found]

    def iter_papers_by_id(self, paper_ids: Sequence[str], batch_size: int = 500):
        """The given papers, read a batch at a time, in the order given."""
        for chunk in _chunks(list(paper_ids), batch_size):
            yield from self.get_papers(chunk)

    def paper_hashes(self) -> dict[str, str]:
        """Every paper id with its content hash: what derived indexes compare against."""
        with self.engine.connect() as connection:
            return dict(connection.execute(select(Paper.id, Paper.content_hash)).all())

    def iter_papers(self, batch_size: int = 1000) -> Iterable[StoredPaper]:
        """Every paper, in id order, read in batches (keyset pagination, constant memory)."""
        last = ""
        while True:
            with self.engine.connect() as connection:
                rows = connection.execute(
                    select(Paper.__table__)
                    .where(Paper.id > last)
                    .order_by(Paper.id)
                    .limit(batch_size)
                ).all()
            if not rows:
                return
            for row in rows:
                yield StoredPaper(**row._mapping)
            last = rows[-1].id

    def papers_by_author(self, name: str, limit: int = 100) -> list[StoredPaper]:
        """Papers with an author whose folded name contains the folded query, newest first."""
        key = author_key(name)
        if not key:
            return []
        pattern = "%" + key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self.engine.connect() as connection:
            ids = (
                connection.execute(
                    select(PaperAuthor.paper_id)
                    .join(Paper, Paper.id == PaperAuthor.paper_id)
                    .where(PaperAuthor.name_key.like(pattern, escape="\\"))
                    .group_by(PaperAuthor.paper_id, Paper.published)
                    .order_by(Paper.published.desc())
                    .limit(limit)
                )
                .scalars()
                .all()
            )
        return self.get_papers(ids)

    def count_papers(self) -> int:
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(Paper)).scalar_one()

    def stats(self) -> dict:
        with self.engine.connect() as connection:
            papers = connection.execute(select(func.count()).select_from(Paper)).scalar_one()
            authors = connection.execute(
                select(func.count(func.distinct(PaperAuthor.name_key)))
            ).scalar_one()
            first, last = connection.execute(
                select(func.min(Paper.published), func.max(Paper.published))
            ).one()
            with_code = connection.execute(
                select(func.count())
                .select_from(Paper)
                .where(func.json_array_length(Paper.code_links) > 0)
            ).scalar_one()
            categories = connection.execute(
                select(Paper.primary_category, func.count())
                .group_by(Paper.primary_category)
                .order_by(func.count().desc())
                .limit(10)
            ).all()
        return {
            "papers": papers,
            "distinct_authors": authors,
            "papers_with_code_links": with_code,
            "first_published": first.isoformat() + "Z" if first else None,
            "last_published": last.isoformat() + "Z" if last else None,
            "top_primary_categories": {c or "": n for c, n in categories},
            "database": self.engine.url.render_as_string(hide_password=True),
        }

    # -- listings and votes ----------------------------------------------------------------
    def papers_published(
        self,
        start: datetime,
        end: datetime,
        *,
        order: Literal["published", "upvotes"] = "published",
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[tuple[StoredPaper, int]], int]:
        """(paper, upvotes) of papers first published in [start, end), newest or most
        upvoted first, one page of them; and how many there are in all."""

        def ranking(upvotes):
            newest = [Paper.published.desc(), Paper.id.desc()]
            return [upvotes.desc(), *newest] if order == "upvotes" else newest

        return self._window_page(start, end, ranking, limit, offset)

    def trending_papers(
        self,
        start: datetime,
        end: datetime,
        *,
        reference: datetime,
        gravity: float,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[tuple[StoredPaper, int]], int]:
        """(paper, upvotes) of papers first published in [start, end), highest trending score
        at `reference` first (ties by id), one page of them; and how many there are in all.

        The score is the one `Listings.score` defines, (upvotes + 1) / (hours + 2) ** gravity
        with hours counted in whole seconds, computed here with the same floating-point
        operations in the same order, so the database ranks every paper of the window by
        exactly the value the page shows (tests/test_listings.py holds the two together).
        """
        since = (reference.replace(microsecond=0) - _EPOCH) // timedelta(seconds=1)
        seconds = literal(since, BigInteger) - _epoch_seconds(Paper.published)
        hours = cast(case((seconds < 0, 0), else_=seconds), Float) / literal(3600.0, Float)

        def ranking(upvotes):
            score = cast(upvotes + 1, Float) / func.power(
                hours + literal(2.0, Float), literal(gravity, Float), type_=Float
            )
            return [score.desc(), Paper.id]

        return self._window_page(start, end, ranking, limit, offset)

    def _window_page(
        self, start: datetime, end: datetime, ranking, limit: int, offset: int
    ) -> tuple[list[tuple[StoredPaper, int]], int]:
        """One page of (paper, upvotes) published in [start, end), in the order `ranking`
        (given the upvotes column) makes; and how many papers the window holds."""
        votes = (
            select(Vote.paper_id, func.count().label("upvotes")).group_by(Vote.paper_id).subquery()
        )
        upvotes = func.coalesce(votes.c.upvotes, 0)
        window = (Paper.published >= start, Paper.published < end)
        query = (
            select(Paper.__table__, upvotes.label("upvotes"))
            .outerjoin(votes, votes.c.paper_id == Paper.id)
            .where(*window)
            .order_by(*ranking(upvotes))
            .limit(limit)
            .offset(offset)
        )
        with self.engine.connect() as connection:
            total = connection.execute(
                select(func.count()).select_from(Paper).where(*window)
            ).scalar_one()
            rows = connection.execute(query).all()
        return [_with_upvotes(row) for row in rows], total

    def newest_published(self) -> datetime | None:
        with self.engine.connect() as connection:
            return connection.execute(select(func.max(Paper.published))).scalar_one()

    def published_before(self, moment: datetime) -> datetime | None:
        """When the latest paper published before `moment` was (to step to an earlier day)."""
        with self.engine.connect() as connection:
            return connection.execute(
                select(func.max(Paper.published)).where(Paper.published < moment)
            ).scalar_one()

    def published_from(self, moment: datetime) -> datetime | None:
        """When the first paper published at or after `moment` was (to step to a later day)."""
        with self.engine.connect() as connection:
            return connection.execute(
                select(func.min(Paper.published)).where(Paper.published >= moment)
            ).scalar_one()

    def upvote_counts(self, paper_ids: Sequence[str]) -> dict[str, int]:
        """Upvotes of each paper that has any."""
        counts: dict[str, int] = {}
        with self.engine.connect() as connection:
            for chunk in _chunks(list(paper_ids), _ID_CHUNK):
                counts.update(
                    connection.execute(
                        select(Vote.paper_id, func.count())
                        .where(Vote.paper_id.in_(chunk))
                        .group_by(Vote.paper_id)
                    ).all()
                )
        return counts

    def add_vote(self, paper_id: str, voter: str, at: datetime) -> bool:
        """Record an upvote; False when this voter had already upvoted this paper."""
        with self.engine.begin() as connection:
            exists = connection.execute(
                select(Vote.paper_id).where(Vote.paper_id == paper_id, Vote.voter == voter)
            ).first()
            if exists:
                return False
            connection.execute(insert(Vote).values(paper_id=paper_id, voter=voter, created_at=at))
        return True

    # -- embeddings -----------------------------------------------------------------------
    def embedding_hashes(self, model: str) -> dict[str, str]:
        """Paper id -> the content hash its stored vector under this model was made from."""
        with self.engine.connect() as connection:
            return dict(
                connection.execute(
                    select(Embedding.paper_id, Embedding.content_hash).where(
                        Embedding.model == model
                    )
                ).all()
            )

    def save_embeddings(self, model: str, rows: Sequence[tuple[str, str, bytes]]) -> None:
        """Store (paper id, content hash, vector bytes) rows atomically, replacing old ones."""
        if not rows:
            return
        with self.engine.begin() as connection:
            for chunk in _chunks([paper_id for paper_id, _, _ in rows], _ID_CHUNK):
                connection.execute(
                    delete(Embedding).where(Embedding.model == model, Embedding.paper_id.in_(chunk))
                )
            connection.execute(
                insert(Embedding),
                [
                    {"paper_id": p, "model": model, "content_hash": h, "vector": v}
                    for p, h, v in rows
                ],
            )

    def drop_embeddings_except(self, model: str) -> int:
        """Forget vectors of every other model, so models are never mixed."""
        with self.engine.begin() as connection:
            return connection.execute(delete(Embedding).where(Embedding.model != model)).rowcount

    def iter_embeddings(self, model: str, batch_size: int = 5000) -> Iterable[tuple[str, bytes]]:
        """(paper id, vector bytes) for every stored vector of the model, in id order."""
        last = ""
        while True:
            with self.engine.connect() as connection:
                rows = connection.execute(
                    select(Embedding.paper_id, Embedding.vector)
                    .where(Embedding.model == model, Embedding.paper_id > last)
                    .order_by(Embedding.paper_id)
                    .limit(batch_size)
                ).all()
            if not rows:
                return
            yield from ((row.paper_id, row.vector) for row in rows)
            last = rows[-1].paper_id

    # -- harvest bookkeeping ------------------------------------------------------------
    def harvest_state(self, source: str) -> HarvestState | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(HarvestState.__table__).where(HarvestState.source == source)
            ).first()
        return HarvestState(**row._mapping) if row else None

    def save_harvest_state(
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
        result = self.upsert_papers(records)
        values = {
            "harvested_until": harvested_until,
            "resumption_token": resumption_token,
            "resumption_from": resumption_from,
            "resumption_until": resumption_until,
        }
        with self.engine.begin() as connection:
            exists = connection.execute(
                select(HarvestState.source).where(HarvestState.source == source)
            ).first()
            if exists:
                connection.execute(
                    update(HarvestState).where(HarvestState.source == source).values(values)
                )
            else:
                connection.execute(insert(HarvestState).values(source=source, **values))
        return result


_EPOCH = datetime(1970, 1, 1)


class _epoch_seconds(FunctionElement):
    """Whole seconds from 1970 to a (naive, UTC) timestamp, rounded down: what trending
    needs for its hours and each database spells differently."""

    type = BigInteger()
    inherit_cache = True


@compiles(_epoch_seconds, "sqlite")
def _epoch_seconds_sqlite(element, compiler, **kw) -> str:
    (moment,) = element.clauses
    return compiler.process(cast(func.strftime("%s", moment), Integer), **kw)


@compiles(_epoch_seconds)
def _epoch_seconds_standard(element, compiler, **kw) -> str:  # PostgreSQL
    (moment,) = element.clauses
    return compiler.process(cast(func.floor(extract("epoch", moment)), BigInteger), **kw)


def _paper_row(record: PaperRecord) -> dict:
    return {
        "id": record.id,
        "version": record.version,
        "title": record.title,
        "abstract": record.abstract,
        "authors": list(record.authors),
        "categories": list(record.categories),
        "primary_category": record.primary_category,
        "comment": record.comment,
        "journal_ref": record.journal_ref,
        "doi": record.doi,
        "published": record.published,
        "updated": record.updated,
        "code_links": list(record.code_links),
        "content_hash": record.content_hash,
    }
