"""Search quality on a BEIR-format benchmark: lexical, dense and hybrid, with fusion tuned
on the train split and reported on the test split (``paperscope eval beir DIR``).

The same components as the live search run here (the tantivy index with its analyzer and
field boosts, the encoder, the fusion functions), over the benchmark's own documents.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
from sqlalchemy import text
from sqlalchemy.engine import make_url

from paperscope.errors import InvalidInput
from paperscope.ingest.source import PapersIn
from paperscope.records import PaperRecord
from paperscope.search.encoder import Encoder
from paperscope.search.engine import configured_encoder, vector_source
from paperscope.search.fusion import FusionMethod, fuse
from paperscope.search.lexical import LexicalIndex
from paperscope.search.query import Clause, ParsedQuery
from paperscope.search.vectors.embed import paper_text
from paperscope.search.vectors.exact import ExactIndex
from paperscope.settings import Settings
from paperscope.store import Store, StoredPaper, create_database_engine, migrate
from paperscope.store.papers import stored_paper

DEPTH = 100
SCRATCH_SCHEMA = "paperscope_benchmark"
ALPHAS = [round(a * 0.05, 2) for a in range(21)]
RRF_KS = [5, 10, 20, 40, 60, 100]


@dataclass(frozen=True)
class Benchmark:
    records: list[PaperRecord]
    queries: dict[str, str]
    qrels: dict[str, dict[str, dict[str, int]]]  # split -> query id -> doc id -> grade

    @cached_property
    def documents(self) -> list[StoredPaper]:
        """The records as the store gives papers back (what the lexical index takes)."""
        return [stored_paper(record) for record in self.records]


def _open(path: Path):
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path)


def _first(directory: Path, name: str) -> Path:
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{directory} has no {name} (is it a BEIR folder?)")


def load_beir(directory: Path) -> Benchmark:
    records = []
    with _open(_first(directory, "corpus.jsonl")) as stream:
        for line in stream:
            row = json.loads(line)
            records.append(
                PaperRecord(
                    id=str(row["_id"]),
                    title=row.get("title") or "",
                    abstract=row.get("text") or "",
                    authors=(),
                    categories=(),
                )
            )
    with _open(_first(directory, "queries.jsonl")) as stream:
        queries = {str(row["_id"]): row["text"] for row in map(json.loads, stream)}
    qrels: dict[str, dict[str, dict[str, int]]] = {}
    for path in sorted((directory / "qrels").glob("*.tsv")):
        split: dict[str, dict[str, int]] = {}
        for number, line in enumerate(path.read_text().splitlines()):
            parts = line.split("\t")
            if number == 0 and not parts[-1].strip().lstrip("-").isdigit():
                continue  # header
            query_id, doc_id, grade = parts[0], parts[1], int(parts[-1])
            split.setdefault(query_id, {})[doc_id] = grade
        qrels[path.stem] = split
    return Benchmark(records, queries, qrels)


def ndcg_at(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    gains = sum(
        (2 ** relevant.get(doc, 0) - 1) / math.log2(rank + 2) for rank, doc in enumerate(ranked[:k])
    )
    ideal = sorted(relevant.values(), reverse=True)[:k]
    best = sum((2**g - 1) / math.log2(rank + 2) for rank, g in enumerate(ideal))
    return gains / best if best else 0.0


def recall_at(ranked: list[str], relevant: dict[str, int], k: int) -> float:
    wanted = {doc for doc, grade in relevant.items() if grade > 0}
    return len(wanted & set(ranked[:k])) / len(wanted) if wanted else 0.0


def metrics(runs: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    ids = [q for q in qrels if q in runs]
    return {
        "ndcg@10": float(np.mean([ndcg_at(runs[q], qrels[q]) for q in ids])),
        "recall@10": float(np.mean([recall_at(runs[q], qrels[q], 10) for q in ids])),
        "recall@100": float(np.mean([recall_at(runs[q], qrels[q], 100) for q in ids])),
        "queries": len(ids),
    }


@contextmanager
def scratch_store(database_url: str) -> Iterator[tuple[Store, Path]]:
    """An empty store on the database's backend that holds only the benchmark, and a folder
    for its files: a temporary SQLite file, or a schema of its own in PostgreSQL, dropped
    after. The papers the URL's own store holds are never touched."""
    with tempfile.TemporaryDirectory() as directory:
        if make_url(database_url).get_backend_name() == "postgresql":
            admin = create_database_engine(database_url)
            with admin.begin() as connection:
                connection.execute(text(f"DROP SCHEMA IF EXISTS {SCRATCH_SCHEMA} CASCADE"))
                connection.execute(text(f"CREATE SCHEMA {SCRATCH_SCHEMA}"))
            engine = create_database_engine(database_url, schema=SCRATCH_SCHEMA)
        else:
            admin = None
            engine = create_database_engine(f"sqlite:///{directory}/benchmark.db")
        try:
            migrate(engine)
            yield Store(engine), Path(directory)
        finally:
            engine.dispose()
            if admin is not None:
                with admin.begin() as connection:
                    connection.execute(text(f"DROP SCHEMA IF EXISTS {SCRATCH_SCHEMA} CASCADE"))
                admin.dispose()


class Evaluation:
    """Both retrievers' top-100 for every query, computed once; fusions are then cheap."""

    def __init__(
        self,
        benchmark: Benchmark,
        encoder: Encoder,
        cache_dir: Path,
        on_progress: Callable[[str, int, int], None] | None = None,
        database_url: str | None = None,
    ) -> None:
        """`database_url`: search the vectors where a store on that database would (pgvector
        for PostgreSQL, the node's index files for SQLite), in a scratch store of their own;
        None: exactly, in memory."""
        say = on_progress or (lambda _stage, _done, _total: None)
        self.benchmark = benchmark
        self.database_url = database_url
        wanted = {q for split in benchmark.qrels.values() for q in split}
        self.query_ids = [q for q in benchmark.queries if q in wanted]
        self.lexical = self._lexical_runs(say)
        self.dense = self._dense_runs(encoder, cache_dir, say)

    def _lexical_runs(self, say) -> dict[str, dict[str, float]]:
        with tempfile.TemporaryDirectory() as directory:
            index = LexicalIndex(Path(directory))
            index.add_papers(self.benchmark.documents)
            runs = {}
            for n, query_id in enumerate(self.query_ids, start=1):
                text = self.benchmark.queries[query_id]
                parsed = ParsedQuery(text, (Clause(" ".join(text.split())),))
                runs[query_id] = {h.paper_id: h.score for h in index.search(parsed, DEPTH)}
                if n % 100 == 0 or n == len(self.query_ids):
                    say("lexical queries", n, len(self.query_ids))
        return runs

    def _dense_runs(self, encoder: Encoder, cache_dir: Path, say) -> dict[str, dict[str, float]]:
        documents = self.benchmark.documents
        texts = [paper_text(d.title, d.abstract) for d in documents]
        digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
        cache = (
            cache_dir / f"{''.join(c if c.isalnum() else '_' for c in encoder.name)}-{digest}.npy"
        )
        if cache.exists():
            matrix = np.load(cache)
        else:
            matrix = encoder.encode(
                texts, on_progress=lambda done, total: say("embedding documents", done, total)
            )
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.save(cache, matrix)
        queries = encoder.encode([self.benchmark.queries[q] for q in self.query_ids])
        if self.database_url is None:
            rows, cosines = ExactIndex(matrix).search(queries, DEPTH)
            return {
                query_id: {
                    documents[r].id: float(c)
                    for r, c in zip(rows[i], cosines[i], strict=True)
                    if r >= 0  # padding, where the corpus holds fewer than DEPTH
                }
                for i, query_id in enumerate(self.query_ids)
            }
        with scratch_store(self.database_url) as (store, directory):
            say("storing vectors", 0, len(documents))
            records = self.benchmark.records
            PapersIn(store).store_records(records)
            for start in range(0, len(records), 1000):
                chunk = range(start, min(start + 1000, len(records)))
                store.embeddings.save(
                    encoder.name,
                    [
                        (records[i].id, records[i].content_hash, matrix[i].astype("<f4").tobytes())
                        for i in chunk
                    ],
                )
                say("storing vectors", chunk.stop, len(documents))
            vectors = vector_source(store, encoder.name, encoder.dim, directory).open(build=True)
            assert vectors is not None
            runs = {}
            for i, query_id in enumerate(self.query_ids):
                runs[query_id] = dict(vectors.nearest(queries[i], DEPTH))
                if (i + 1) % 100 == 0 or i + 1 == len(self.query_ids):
                    say("semantic queries", i + 1, len(self.query_ids))
            return runs

    def runs(
        self,
        method: Literal["lexical", "dense"] | FusionMethod,
        alpha: float = 0.5,
        rrf_k: float = 60,
    ) -> dict[str, list[str]]:
        if method == "lexical":
            return {q: list(self.lexical[q]) for q in self.query_ids}
        if method == "dense":
            return {q: list(self.dense[q]) for q in self.query_ids}
        return {
            q: [
                doc
                for doc, _ in fuse(
                    self.lexical[q], self.dense[q], method=method, alpha=alpha, rrf_k=rrf_k
                )
            ]
            for q in self.query_ids
        }

    def tune(self, split: str) -> dict[str, dict]:
        """Best alpha (convex) and k (rrf) by nDCG@10 on one split."""
        qrels = self.benchmark.qrels[split]
        best_alpha = max(
            ALPHAS, key=lambda a: metrics(self.runs("convex", alpha=a), qrels)["ndcg@10"]
        )
        best_k = max(RRF_KS, key=lambda k: metrics(self.runs("rrf", rrf_k=k), qrels)["ndcg@10"])
        return {"convex": {"alpha": best_alpha}, "rrf": {"rrf_k": best_k}}

    def report(self, split: str, tuned_on: str | None) -> dict:
        qrels = self.benchmark.qrels[split]
        params = self.tune(tuned_on) if tuned_on else {"convex": {"alpha": 0.5}, "rrf": {}}
        rows = {
            "lexical": metrics(self.runs("lexical"), qrels),
            "dense": metrics(self.runs("dense"), qrels),
            "hybrid (convex)": metrics(self.runs("convex", **params["convex"]), qrels)
            | params["convex"],
            "hybrid (rrf)": metrics(self.runs("rrf", **params["rrf"]), qrels) | params["rrf"],
        }
        return {"split": split, "tuned_on": tuned_on, "results": rows}


class NotABenchmark(InvalidInput, ValueError):
    """A folder that is not a usable BEIR benchmark, and what is missing."""


def evaluate_beir(
    settings: Settings,
    directory: Path,
    split: str = "test",
    tune_on: str | None = "train",
    *,
    in_memory: bool = False,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> dict:
    """`paperscope eval beir`: the report of `Evaluation.report` with the model's name and
    where the vectors were searched ("memory", or the configured database's backend, as a
    store there searches them). Fusion is tuned on `tune_on` where the folder has it."""
    if not directory.is_dir():
        raise NotABenchmark(f"no such folder: {directory}")
    try:
        benchmark = load_beir(directory)
    except FileNotFoundError as error:
        raise NotABenchmark(str(error)) from None
    if split not in benchmark.qrels:
        have = ", ".join(benchmark.qrels)
        raise NotABenchmark(f"no qrels/{split}.tsv in {directory} (have: {have})")
    if tune_on not in benchmark.qrels:
        tune_on = None
    encoder = configured_encoder(settings)
    database_url = settings.effective_database_url
    evaluation = Evaluation(
        benchmark,
        encoder,
        settings.data_dir / "eval-cache",
        on_progress,
        database_url=None if in_memory else database_url,
    )
    backend = "memory" if in_memory else make_url(database_url).get_backend_name()
    return evaluation.report(split, tune_on) | {"model": encoder.name, "vectors": backend}
