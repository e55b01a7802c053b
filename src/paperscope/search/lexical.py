"""BM25 retrieval over title, abstract and authors, on tantivy.

The index is a cache of the store: ``sync`` brings it level with the papers table using a
manifest of (paper id -> content hash), so only new or changed papers are re-indexed, and
an interrupted sync picks up where its last commit ended. Searches read a ``LexicalView``:
one commit's searcher and key table, never changed, replaced whole when the index moves.

One commit (its files and manifest) can be copied out (`copy_commit`) and another node's
copy moved in (`install`): search/lexical_snapshot.py publishes and restores such copies, so
a new node starts from one instead of indexing every paper.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import cached_property, lru_cache
from pathlib import Path
from typing import cast

import numpy as np
import orjson
import tantivy
from filelock import FileLock, Timeout
from tantivy import Filter, Occur, Query, TextAnalyzerBuilder, Tokenizer

from paperscope.search.query import Clause, ParsedQuery, SearchFilters
from paperscope.search.query import Occur as QueryOccur
from paperscope.search.vectors.base import Allowed
from paperscope.store import Store, StoredPaper

SCHEMA_VERSION = 2
META = "meta.json"  # tantivy's list of the committed segments
MANAGED = ".managed.json"  # tantivy's list of the files it may delete once unused
MANIFEST = "manifest.json"  # paper id -> [content hash, key] of what the commit holds
_COMMIT_EVERY = 5_000
# Tuned on SciFact train (bench/search.py eval): titles weigh a little more than abstracts.
FIELD_BOOSTS = {"title": 1.5, "abstract": 1.0, "authors": 1.0}
_RAW_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True)
class LexicalHit:
    paper_id: str
    score: float


def _text_analyzer() -> tantivy.TextAnalyzer:
    return (
        TextAnalyzerBuilder(Tokenizer.simple())
        .filter(Filter.remove_long(40))
        .filter(Filter.lowercase())
        .filter(Filter.ascii_fold())
        .filter(Filter.stopword("english"))
        .filter(Filter.stemmer("english"))
        .build()
    )


def _name_analyzer() -> tantivy.TextAnalyzer:
    return (
        TextAnalyzerBuilder(Tokenizer.simple())
        .filter(Filter.lowercase())
        .filter(Filter.ascii_fold())
        .build()
    )


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", tokenizer_name="raw")
    # A small integer per paper, read from a fast column: far quicker than stored documents.
    builder.add_unsigned_field("key", fast=True)
    builder.add_text_field("title", tokenizer_name="paper_text")
    builder.add_text_field("abstract", tokenizer_name="paper_text")
    builder.add_text_field("authors", tokenizer_name="person_name")
    builder.add_text_field("category", tokenizer_name="raw")
    builder.add_date_field("published", indexed=True, fast=True)
    return builder.build()


class LexicalIndex:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory) / f"tantivy-v{SCHEMA_VERSION}"
        self.directory.mkdir(parents=True, exist_ok=True)
        self._manifest_path = self.directory / MANIFEST
        # Processes of one node (CLI, server workers) share the index; one writes at a time.
        self._writer = FileLock(self.directory / "writer.lock")
        self.schema = _schema()
        self.index = tantivy.Index(self.schema, path=str(self.directory), reuse=True)
        self._text = _text_analyzer()
        self._names = _name_analyzer()
        self.index.register_tokenizer("paper_text", self._text)
        self.index.register_tokenizer("person_name", self._names)
        # Snippets stem every word they show; the vocabulary repeats, so remember it.
        self.stem_word = lru_cache(maxsize=200_000)(self._stem_word)
        self._view = self._open_view(self._manifest_mtime())

    # -- keeping up with the store -------------------------------------------------------
    def _manifest(self) -> dict[str, list]:
        """Paper id -> [content hash, key] of what the committed index holds."""
        if not self._manifest_path.exists():
            return {}
        return orjson.loads(self._manifest_path.read_bytes())

    def _save_manifest(self, manifest: dict[str, list]) -> None:
        partial = self._manifest_path.with_suffix(".tmp")
        partial.write_bytes(orjson.dumps(manifest))
        os.replace(partial, self._manifest_path)

    def papers(self) -> int:
        """How many papers the committed index holds (by its manifest)."""
        return len(self._manifest())

    # -- copies of one commit (search/lexical_snapshot.py) -------------------------------
    def writing(self) -> AbstractContextManager:
        """Hold the node's writer lock: no process of this node commits meanwhile."""
        return self._writer

    def copy_commit(self, into: Path, copy: Callable[[Path, Path], None]) -> list[str]:
        """Copy the committed index into `into` with `copy(source, target)`: the files of the
        segments its meta.json names, meta.json and the manifest, all of one commit (no
        process of the node writes meanwhile). Returns the names copied."""
        with self._writer:
            meta = json.loads((self.directory / META).read_text())
            segments = tuple(s["segment_id"].replace("-", "") for s in meta["segments"])
            names = sorted(
                p.name
                for p in self.directory.iterdir()
                if p.is_file() and p.name.split(".", 1)[0] in segments
            )
            names += [META, MANIFEST]
            for name in names:
                copy(self.directory / name, into / name)
            return names

    def install(self, incoming: Path) -> None:
        """Make the index copied into `incoming` (checked, on this file system) this node's.

        Its segment files move in beside the old ones, then its meta.json, then its
        manifest: a search reads the old commit or the new one, never a mix (views follow the
        manifest). The old segments stay listed as tantivy's own, so its next commit
        deletes them."""
        with self._writer:
            copied = {p.name for p in incoming.iterdir()} - {META, MANIFEST}
            managed_path = self.directory / MANAGED
            managed = set(json.loads(managed_path.read_text())) if managed_path.exists() else set()
            for name in sorted(copied):
                os.replace(incoming / name, self.directory / name)
            partial = managed_path.with_name(MANAGED + ".tmp")
            partial.write_text(json.dumps(sorted(managed | copied | {META})))
            os.replace(partial, managed_path)
            os.replace(incoming / META, self.directory / META)
            os.replace(incoming / MANIFEST, self._manifest_path)
            shutil.rmtree(incoming, ignore_errors=True)
        self.refresh()

    def sync(
        self,
        store: Store,
        on_progress: Callable[[int, int], None] | None = None,
        *,
        wait: bool = True,
    ) -> tuple[int, int]:
        """Index new and changed papers, drop deleted ones; returns (indexed, removed).

        One process of a node writes the index at a time. Without `wait`, (0, 0) at once if
        another is at it (a server: that process's commits show up by themselves)."""
        try:
            with self._writer.acquire(timeout=-1 if wait else 0):
                return self._sync(store, on_progress)
        except Timeout:
            return 0, 0

    def _sync(
        self, store: Store, on_progress: Callable[[int, int], None] | None
    ) -> tuple[int, int]:
        wanted = store.papers.hashes()
        manifest = self._manifest()
        stale = [pid for pid, digest in wanted.items() if manifest.get(pid, [None])[0] != digest]
        gone = [pid for pid in manifest if pid not in wanted]
        if not stale and not gone:
            return 0, 0

        def progress(done: int) -> None:
            if on_progress:
                on_progress(done, len(stale))

        done = self.add_papers(store.papers.iter_by_id(stale), remove=gone, on_commit=progress)
        return done, len(gone)

    def add_papers(
        self,
        papers: Iterable[StoredPaper],
        *,
        remove: Iterable[str] = (),
        on_commit: Callable[[int], None] | None = None,
    ) -> int:
        """Index (or re-index) papers and drop the `remove` ids; returns how many were added.

        Commits every few thousand papers and saves the manifest right after each commit,
        never before, so an interrupted run is picked up where its last commit ended.
        """
        with self._writer:
            return self._add_papers(papers, remove, on_commit)

    def _add_papers(
        self,
        papers: Iterable[StoredPaper],
        remove: Iterable[str],
        on_commit: Callable[[int], None] | None,
    ) -> int:
        manifest = self._manifest()
        writer = self.index.writer(heap_size=128_000_000, num_threads=1)
        for pid in remove:
            writer.delete_documents_by_term("id", pid)
            manifest.pop(pid, None)
        next_key = 1 + max((key for _, key in manifest.values()), default=-1)
        added, uncommitted = 0, 0
        for paper in papers:
            writer.delete_documents_by_term("id", paper.id)
            key = manifest[paper.id][1] if paper.id in manifest else next_key
            next_key = max(next_key, key + 1)
            writer.add_document(self._document(paper, key))
            manifest[paper.id] = [paper.content_hash, key]
            added += 1
            uncommitted += 1
            # Each commit rewrites the whole manifest: commits a tenth of the index apart keep
            # that linear in the index's size (at 1M papers, every 5,000 rewrote 200 x 40 MB),
            # and an interrupted run loses at most that tenth.
            if uncommitted >= max(_COMMIT_EVERY, len(manifest) // 10):
                uncommitted = 0
                writer.commit()
                self._save_manifest(manifest)
                if on_commit:
                    on_commit(added)
        writer.commit()
        writer.wait_merging_threads()
        self._save_manifest(manifest)
        if on_commit:
            on_commit(added)
        self._view = self._open_view(self._manifest_mtime(), manifest)
        return added

    def _document(self, paper: StoredPaper, key: int) -> tantivy.Document:
        document = tantivy.Document()
        document.add_text("id", paper.id)
        document.add_unsigned("key", key)
        document.add_text("title", paper.title)
        document.add_text("abstract", paper.abstract)
        for name in paper.authors:
            document.add_text("authors", name)
        for category in paper.categories:
            document.add_text("category", category)
        if paper.published:
            document.add_date("published", paper.published.replace(tzinfo=UTC))
        return document

    @property
    def stamp(self) -> int | None:
        """When the committed index the current view reads last changed (its manifest's
        modification time)."""
        return self._view.stamp

    def refresh(self) -> bool:
        """Pick up what another process (an ingest) committed since; True if anything.

        Cheap when nothing moved (one stat); otherwise makes a new `view`, leaving the old
        one intact for searches still reading it."""
        stamp = self._manifest_mtime()
        if stamp == self._view.stamp:
            return False
        self._view = self._open_view(stamp)
        return True

    def _manifest_mtime(self) -> int | None:
        try:
            return self._manifest_path.stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def _open_view(self, stamp: int | None, manifest: dict[str, list] | None = None) -> LexicalView:
        """What is committed now; `manifest` saves reading back the one just saved.

        `stamp` is read before the searcher and the manifest, so a commit landing meanwhile
        moves the stamp again and the next refresh sees it."""
        self.index.reload()
        searcher = self.index.searcher()
        manifest = self._manifest() if manifest is None else manifest
        return LexicalView(self, searcher, _ids_by_key(manifest), stamp)

    # -- searching (the latest view; a caller that searches more than once takes `view`) --
    @property
    def view(self) -> LexicalView:
        """The latest view: hold on to it for as long as one search runs."""
        return self._view

    def search(self, query: ParsedQuery, limit: int = 10) -> list[LexicalHit]:
        return self._view.search(query, limit)

    def ids(self, query: Query) -> set[str]:
        """Ids of all papers matching a query."""
        return self._view.ids(query)

    def constraint(self, parsed: ParsedQuery) -> Query | None:
        """What every result must satisfy whatever its rank: required (+) and excluded (-)
        terms and the filters. None when the query has none of them."""
        hard = tuple(c for c in parsed.clauses if c.occur is not QueryOccur.SHOULD)
        if not hard and not parsed.filters.active:
            return None
        return self.build_query(ParsedQuery(parsed.raw, hard, parsed.filters), match_all=True)

    def build_query(self, parsed: ParsedQuery, match_all: bool = False) -> Query | None:
        should: list[Query] = []
        parts: list[tuple[Occur, Query]] = []
        for clause in parsed.clauses:
            query = self._clause_query(clause)
            if query is None:
                continue
            if clause.occur is QueryOccur.SHOULD:
                should.append(query)
            else:
                occur = Occur.Must if clause.occur is QueryOccur.MUST else Occur.MustNot
                parts.append((occur, query))
        if should:
            # Any of the words may match, but one must: beside a required filter, tantivy
            # would otherwise treat them as optional and return every filtered paper.
            parts.append((Occur.Must, Query.boolean_query([(Occur.Should, q) for q in should])))
        if not any(occur is Occur.Must for occur, _ in parts):
            if not (parsed.filters.active or match_all):
                return None  # nothing left to match: every word was a stop word
            parts.append((Occur.Must, Query.all_query()))
        if parsed.filters.active:
            for query in self._filter_parts(parsed.filters):
                parts.append((Occur.Must, Query.const_score_query(query, 0.0)))
            for category in parsed.filters.excluded_categories:
                parts.append((Occur.MustNot, Query.term_query(self.schema, "category", category)))
        return Query.boolean_query(parts)

    def _filter_parts(self, filters: SearchFilters) -> list[Query]:
        parts = []
        if filters.categories:
            parts.append(
                Query.boolean_query(
                    [
                        (Occur.Should, Query.term_query(self.schema, "category", c))
                        for c in filters.categories
                    ]
                )
            )
        if filters.published_from or filters.published_until:
            parts.append(
                Query.range_query(
                    self.schema,
                    "published",
                    tantivy.FieldType.Date,
                    _day_start(filters.published_from),
                    _day_end(filters.published_until),
                )
            )
        if filters.author:
            author = self._field_query("authors", filters.author, phrase=True)
            parts.append(author if author is not None else Query.empty_query())
        if not parts:
            parts.append(Query.all_query())
        return parts

    def _clause_query(self, clause: Clause) -> Query | None:
        fields = [clause.field] if clause.field else ["title", "abstract"]
        queries = []
        for field_name in fields:
            query = self._field_query(field_name, clause.text, clause.phrase)
            if query is not None:
                queries.append(Query.boost_query(query, FIELD_BOOSTS[field_name]))
        if not queries:
            return None
        return queries[0] if len(queries) == 1 else Query.disjunction_max_query(queries, 0.5)

    def _field_query(self, field_name: str, text: str, phrase: bool) -> Query | None:
        """Terms of text in one field; a phrase (or a hyphenated word) keeps word order."""
        analyzer = self._names if field_name == "authors" else self._text
        words: list[tuple[int, str]] = []
        for position, raw in enumerate(_RAW_WORD.findall(text)):
            for token in analyzer.analyze(raw):
                words.append((position, token))
        if not words:
            return None
        if len(words) == 1:
            return Query.term_query(self.schema, field_name, words[0][1])
        if phrase or (len(_RAW_WORD.findall(text)) > 1 and " " not in text.strip()):
            start = words[0][0]
            return Query.phrase_query(self.schema, field_name, [(p - start, w) for p, w in words])
        return Query.boolean_query(
            [(Occur.Should, Query.term_query(self.schema, field_name, w)) for _, w in words]
        )

    def analyze(self, text: str) -> list[str]:
        return self._text.analyze(text)

    def _stem_word(self, word: str) -> str | None:
        tokens = self._text.analyze(word)
        return tokens[0] if len(tokens) == 1 else None


@dataclass(frozen=True, eq=False)
class LexicalView:
    """The index as one commit left it: its searcher and the key -> paper id table read with
    it. Never changed once made, so a search holding one reads one state throughout, however
    many commits land (and refreshes happen) meanwhile."""

    index: LexicalIndex  # the schema and analyzers queries are built with
    searcher: tantivy.Searcher
    ids_by_key: tuple[str | None, ...]  # paper id of each key handed out (None: deleted)
    stamp: int | None  # the manifest's modification time when this view was made

    def __len__(self) -> int:
        return self.searcher.num_docs

    @cached_property
    def known(self) -> frozenset[str]:
        """Every paper this view holds: what a search on its snapshot may show."""
        return frozenset(pid for pid in self.ids_by_key if pid is not None)

    def search(self, query: ParsedQuery, limit: int = 10) -> list[LexicalHit]:
        built = self.index.build_query(query)
        if built is None:
            return []
        hits = self.searcher.search(built, limit=limit, count=False).hits
        keys = self._keys([address for _, address in hits])
        return [
            LexicalHit(paper_id, float(score))
            for (score, _), key in zip(hits, keys, strict=True)
            if (paper_id := self._id(key)) is not None
        ]

    def constraint(self, parsed: ParsedQuery) -> Query | None:
        return self.index.constraint(parsed)

    def allowed(self, parsed: ParsedQuery) -> Allowed | None:
        """What semantic search must keep to for this query (its filters and required and
        excluded words), as ids; None when the query sets none of them."""
        constraint = self.constraint(parsed)
        if constraint is None:
            return None
        return Allowed(
            share=self.count(constraint) / max(1, len(self)),
            ids=lambda: [pid for key in self.keys(constraint).tolist() if (pid := self._id(key))],
            accepts=lambda paper_ids: self.accepted(constraint, list(paper_ids)),
        )

    def count(self, query: Query) -> int:
        # tantivy's stub leaves out SearchResult.count, which it has.
        return self.searcher.search(query, limit=1, count=True).count  # type: ignore[attr-defined]

    def ids(self, query: Query) -> set[str]:
        """Ids of all papers matching a query."""
        return self._all_ids(query)

    def keys(self, query: Query, limit: int | None = None) -> np.ndarray:
        """Keys (see `ids_by_key`) of all papers matching a query (or the first `limit`):
        cheaper than their ids."""
        limit = max(1, self.searcher.num_docs if limit is None else limit)
        hits = self.searcher.search(query, limit=limit, count=False).hits
        keys = np.asarray(self._keys([address for _, address in hits]), dtype=np.int64)
        return keys[keys < len(self.ids_by_key)]

    def accepted(self, query: Query, paper_ids: list[str]) -> set[str]:
        """Those of paper_ids that match a query (checks a few candidates cheaply)."""
        if not paper_ids:
            return set()
        among = Query.term_set_query(self.index.schema, "id", list(paper_ids))
        both = Query.boolean_query([(Occur.Must, query), (Occur.Must, among)])
        return self._all_ids(both, limit=len(paper_ids))

    def _keys(self, addresses: list) -> list[int]:
        # "key" is an integer fast field (tantivy's hint covers every kind of field).
        return (
            cast(list[int], self.searcher.fast_field_values("key", addresses)) if addresses else []
        )

    def _id(self, key: int) -> str | None:
        # The searcher can be a commit ahead of the manifest it was read with (the writer
        # saves the manifest just after committing): such a key is not in the table yet.
        return self.ids_by_key[key] if key < len(self.ids_by_key) else None

    def _all_ids(self, query: Query, limit: int | None = None) -> set[str]:
        keys = self.keys(query, limit).tolist()
        return {paper_id for key in keys if (paper_id := self._id(key)) is not None}


def _ids_by_key(manifest: dict[str, list]) -> tuple[str | None, ...]:
    size = 1 + max((key for _, key in manifest.values()), default=-1)
    ids: list[str | None] = [None] * size
    for paper_id, (_, key) in manifest.items():
        ids[key] = paper_id
    return tuple(ids)


# tantivy keeps dates as nanoseconds since 1970: years 1678-2261 only. No paper falls
# outside, so a range reaching past either end is the same as one stopping at it.
_EARLIEST, _LATEST = date(1700, 1, 1), date(2261, 12, 31)


def _day_start(day: date | None) -> datetime | None:
    return datetime.combine(_storable(day), time.min, tzinfo=UTC) if day else None


def _day_end(day: date | None) -> datetime | None:
    return datetime.combine(_storable(day), time.max, tzinfo=UTC) if day else None


def _storable(day: date) -> date:
    return min(max(day, _EARLIEST), _LATEST)
