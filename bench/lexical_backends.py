"""Keyword search on PostgreSQL: its own full-text search, or paperscope's tantivy index on
each app server? Both on the same SciFact documents and queries: nDCG@10, recall@100, and
the time a query takes.

    python bench/lexical_backends.py --database-url postgresql+psycopg://... [--beir DIR]

Full text search is set up as well as it goes: one stored tsvector per document, the title
weighted above the abstract (setweight A/B, as tantivy's field boosts), a GIN index,
English stemming, any query word may match (words OR'ed, as tantivy's default), ranked by
ts_rank_cd. The documents go into a scratch schema that is dropped after.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from paperscope.search.evaluate import (
    DEPTH,
    load_beir,
    metrics,
    scratch_store,
)
from paperscope.search.lexical import LexicalIndex
from paperscope.search.query import Clause, ParsedQuery

SCIFACT = Path(__file__).resolve().parents[2] / "shared" / "data" / "beir-scifact"
FULL_TEXT = """
ALTER TABLE papers ADD COLUMN words tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', title), 'A') ||
    setweight(to_tsvector('english', abstract), 'B')) STORED;
CREATE INDEX papers_words ON papers USING gin (words);
ANALYZE papers;
"""
QUERY = text(
    """
    SELECT id FROM papers,
        CAST(replace(CAST(plainto_tsquery('english', :q) AS text), '&', '|') AS tsquery) AS q
    WHERE words @@ q
    ORDER BY ts_rank_cd(words, q) DESC, id
    LIMIT :k
    """
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL URL")
    parser.add_argument("--beir", type=Path, default=SCIFACT)
    parser.add_argument("--split", default="test")
    args = parser.parse_args()

    benchmark = load_beir(args.beir)
    qrels = benchmark.qrels[args.split]
    queries = {q: benchmark.queries[q] for q in qrels}
    runs: dict[str, dict[str, list[str]]] = {"tantivy": {}, "PostgreSQL full text": {}}
    times: dict[str, list[float]] = {name: [] for name in runs}

    with tempfile.TemporaryDirectory() as directory:
        index = LexicalIndex(Path(directory))
        index.add_papers(benchmark.documents)
        view = index.view
        for query_id, words in queries.items():
            parsed = ParsedQuery(words, (Clause(" ".join(words.split())),))
            started = time.perf_counter()
            hits = view.search(parsed, DEPTH)
            times["tantivy"].append((time.perf_counter() - started) * 1000)
            runs["tantivy"][query_id] = [hit.paper_id for hit in hits]

    with scratch_store(args.database_url) as (store, _):
        store.papers.upsert(benchmark.records)
        with store.engine.begin() as connection:
            for statement in filter(str.strip, FULL_TEXT.split(";")):
                connection.execute(text(statement))
        with store.engine.connect() as connection:
            for query_id, words in queries.items():
                started = time.perf_counter()
                found = connection.execute(QUERY, {"q": words, "k": DEPTH}).scalars().all()
                times["PostgreSQL full text"].append((time.perf_counter() - started) * 1000)
                runs["PostgreSQL full text"][query_id] = list(found)

    table = Table(
        title=f"keyword search on {args.beir.name} {args.split} "
        f"({len(queries)} queries, {len(benchmark.documents):,} documents)"
    )
    for column in ("engine", "nDCG@10", "recall@100", "p50 ms", "p95 ms"):
        table.add_column(column, justify="right" if column != "engine" else "left")
    for name, run in runs.items():
        scores = metrics(run, qrels)
        ordered = sorted(times[name])
        table.add_row(
            name,
            f"{scores['ndcg@10']:.4f}",
            f"{scores['recall@100']:.4f}",
            f"{statistics.median(ordered):.2f}",
            f"{ordered[int(0.95 * (len(ordered) - 1))]:.2f}",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
