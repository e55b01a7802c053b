"""Papers: one row per arXiv id, its authors and categories, written race-free."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, func, select, update

from paperscope.records import PaperRecord
from paperscope.store import generation
from paperscope.store.models import Paper, PaperAuthor, PaperCategory
from paperscope.store.sql import Part, chunks, insert_or


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


def author_key(name: str) -> str:
    """Fold case and accents so author lookups match however the name is typed."""
    if name.isascii():  # most names: nothing to decompose (ingest folds ~10 names a paper)
        return " ".join(name.casefold().split())
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


class Papers(Part):
    # -- writing -----------------------------------------------------------------------
    def upsert(self, records: Iterable[PaperRecord]) -> UpsertResult:
        """Store a batch atomically: new papers inserted, newer versions replace older ones.

        Race-free with any number of writers on any host: new rows go in with ON CONFLICT DO
        NOTHING (a paper two writers add at once is stored once), and rows that exist are
        locked before they are compared, so two updates of one paper apply one after the
        other. Rows are touched in id order, so overlapping batches cannot deadlock.
        """
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
        ordered = [newest[paper_id] for paper_id in sorted(newest)]

        with self.engine.begin() as connection:
            # First a write: on SQLite it takes the write lock, so what is read next stays true.
            statement = insert_or(connection, Paper.__table__).on_conflict_do_nothing(
                index_elements=["id"]
            )
            inserted: set[str] = set()
            for batch in chunks(ordered, 500):
                rows = [_paper_row(record) for record in batch]
                inserted |= set(connection.execute(statement.returning(Paper.id), rows).scalars())
            existing = [record for record in ordered if record.id not in inserted]
            to_update = self._newer_than_stored(connection, existing)
            result.unchanged += len(existing) - len(to_update)
            if to_update:
                self._replace(connection, to_update)
            written = [r for r in ordered if r.id in inserted] + [r for r, _ in to_update]
            self._add_names(connection, written)
            if written:
                generation.bump(connection)

        result.inserted += len(inserted)
        result.updated += len(to_update)
        return result

    @staticmethod
    def _newer_than_stored(
        connection: Connection, records: list[PaperRecord]
    ) -> list[tuple[PaperRecord, int | None]]:
        """(record, stored version) of the records that should replace what is stored; the
        stored rows stay locked (PostgreSQL; SQLite holds its write lock) until commit."""
        stored: dict[str, tuple[int | None, datetime | None, str]] = {}
        for chunk in chunks([r.id for r in records]):
            rows = connection.execute(
                select(Paper.id, Paper.version, Paper.updated, Paper.content_hash)
                .where(Paper.id.in_(chunk))
                .order_by(Paper.id)
                .with_for_update()
            )
            stored.update({row.id: (row.version, row.updated, row.content_hash) for row in rows})
        newer = []
        for record in records:
            if record.id not in stored:
                continue  # deleted meanwhile: nothing to update
            version, updated, content_hash = stored[record.id]
            if is_newer(record, version, updated) and record.content_hash != content_hash:
                newer.append((record, version))
        return newer

    @staticmethod
    def _replace(connection: Connection, to_update: list[tuple[PaperRecord, int | None]]) -> None:
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
        for chunk in chunks([record.id for record, _ in to_update]):
            connection.execute(delete(PaperAuthor).where(PaperAuthor.paper_id.in_(chunk)))
            connection.execute(delete(PaperCategory).where(PaperCategory.paper_id.in_(chunk)))

    @staticmethod
    def _add_names(connection: Connection, written: list[PaperRecord]) -> None:
        """The lookup rows (authors, categories) of papers just inserted or replaced."""
        author_rows = [
            (r.id, i, name, author_key(name)) for r in written for i, name in enumerate(r.authors)
        ]
        category_rows = [
            (r.id, category) for r in written for category in dict.fromkeys(r.categories)
        ]
        _insert_many(connection, PaperAuthor.__tablename__, _AUTHOR_COLUMNS, author_rows)
        _insert_many(connection, PaperCategory.__tablename__, _CATEGORY_COLUMNS, category_rows)

    # -- reading -----------------------------------------------------------------------
    def get(self, paper_id: str) -> StoredPaper | None:
        with self.reads.connect() as connection:
            row = connection.execute(select(Paper.__table__).where(Paper.id == paper_id)).first()
        return StoredPaper(**row._mapping) if row else None

    def get_many(self, paper_ids: Sequence[str]) -> list[StoredPaper]:
        """Papers in the order asked for; unknown ids are left out."""
        found: dict[str, StoredPaper] = {}
        with self.reads.connect() as connection:
            for chunk in chunks(list(paper_ids)):
                rows = connection.execute(select(Paper.__table__).where(Paper.id.in_(chunk)))
                found.update({row.id: StoredPaper(**row._mapping) for row in rows})
        return [found[i] for i in paper_ids if i in found]

    def ids_by_doi(self, dois: Sequence[str]) -> dict[str, str]:
        """Lower-cased DOI -> paper id, for the DOIs (lower case) some stored paper has."""
        found: dict[str, str] = {}
        with self.reads.connect() as connection:
            for chunk in chunks(list(dict.fromkeys(dois))):
                rows = connection.execute(
                    select(func.lower(Paper.doi), Paper.id)
                    .where(func.lower(Paper.doi).in_(chunk))
                    .order_by(Paper.id)
                )
                for doi, paper_id in rows:
                    found.setdefault(doi, paper_id)
        return found

    def iter_by_id(self, paper_ids: Sequence[str], batch_size: int = 500):
        """The given papers, read a batch at a time, in the order given."""
        for chunk in chunks(list(paper_ids), batch_size):
            yield from self.get_many(chunk)

    def hashes(self) -> dict[str, str]:
        """Every paper id with its content hash: what derived indexes compare against."""
        with self.reads.connect() as connection:
            return dict(connection.execute(select(Paper.id, Paper.content_hash)).all())

    def iter_all(self, batch_size: int = 1000) -> Iterable[StoredPaper]:
        """Every paper, in id order, read in batches (keyset pagination, constant memory)."""
        last = ""
        while True:
            with self.reads.connect() as connection:
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

    def by_author(self, name: str, limit: int = 100) -> list[StoredPaper]:
        """Papers with an author whose folded name contains the folded query, newest first."""
        key = author_key(name)
        if not key:
            return []
        pattern = "%" + key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self.reads.connect() as connection:
            ids = (
                connection.execute(
                    select(PaperAuthor.paper_id)
                    .join(Paper, Paper.id == PaperAuthor.paper_id)
                    .where(PaperAuthor.name_key.like(pattern, escape="\\"))
                    .group_by(PaperAuthor.paper_id, Paper.published)
                    .order_by(Paper.published.desc(), PaperAuthor.paper_id.desc())
                    .limit(limit)
                )
                .scalars()
                .all()
            )
        return self.get_many(ids)

    def published_ids(self, start: datetime | None, end: datetime | None) -> list[str]:
        """Ids of papers first published in [start, end) (either end open when None)."""
        query = select(Paper.id)
        if start is not None:
            query = query.where(Paper.published >= start)
        if end is not None:
            query = query.where(Paper.published < end)
        with self.reads.connect() as connection:
            return list(connection.execute(query.order_by(Paper.id)).scalars())

    def has_category(self, category: str) -> bool:
        """Whether any stored paper is in the category (one index probe)."""
        with self.reads.connect() as connection:
            found = connection.execute(
                select(PaperCategory.paper_id).where(PaperCategory.category == category).limit(1)
            ).first()
        return found is not None

    def newest_in_category(self, category: str, limit: int = 50) -> list[StoredPaper]:
        """The category's papers (any of a paper's categories), newest published first."""
        with self.reads.connect() as connection:
            rows = connection.execute(
                select(Paper.__table__)
                .join(PaperCategory, PaperCategory.paper_id == Paper.id)
                .where(PaperCategory.category == category)
                .order_by(Paper.published.desc().nulls_last(), Paper.id.desc())
                .limit(limit)
            ).all()
        return [StoredPaper(**row._mapping) for row in rows]

    def count(self) -> int:
        with self.reads.connect() as connection:
            return connection.execute(select(func.count()).select_from(Paper)).scalar_one()

    def newest_published(self) -> datetime | None:
        with self.reads.connect() as connection:
            return connection.execute(select(func.max(Paper.published))).scalar_one()

    def published_before(self, moment: datetime) -> datetime | None:
        """When the latest paper published before `moment` was (to step to an earlier day)."""
        with self.reads.connect() as connection:
            return connection.execute(
                select(func.max(Paper.published)).where(Paper.published < moment)
            ).scalar_one()

    def published_from(self, moment: datetime) -> datetime | None:
        """When the first paper published at or after `moment` was (to step to a later day)."""
        with self.reads.connect() as connection:
            return connection.execute(
                select(func.min(Paper.published)).where(Paper.published >= moment)
            ).scalar_one()


def stored_paper(record: PaperRecord) -> StoredPaper:
    """A record as the store gives it back once stored."""
    return StoredPaper(**_paper_row(record))


_AUTHOR_COLUMNS = ("paper_id", "position", "name", "name_key")
_CATEGORY_COLUMNS = ("paper_id", "category")


def _insert_many(
    connection: Connection, table: str, columns: Sequence[str], rows: list[tuple]
) -> None:
    """Plain rows (text and numbers) in one executemany of the driver: SQLAlchemy's per-row
    parameter handling took longer than the inserts themselves (about 10 rows a paper)."""
    if not rows:
        return
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    placeholders = ", ".join([marker] * len(columns))
    connection.exec_driver_sql(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", rows
    )


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
