"""Search latency on a real store: p50/p95/p99 per mode, query embedding included.

    PAPERSCOPE_DATA_DIR=DIR python bench/search.py [--queries 500] [--baseline 50]
        [--database-url postgresql+psycopg://...]

DIR must hold an ingested and indexed corpus. The 83k-paper corpus (the numbers that
matter; embedding it takes about an hour on 2 cores, once):

    export PAPERSCOPE_DATA_DIR=/tmp/paperscope-83k
    paperscope ingest ../shared/data/arxiv-cs-ai/papers.jsonl.gz
    paperscope index
    python bench/search.py

For a quick look, the demo corpus (3,622 papers, about 2 minutes):
`PAPERSCOPE_DATA_DIR=/tmp/paperscope-demo paperscope demo`, then the same last line.

Queries are realistic: the first 3-8 words of random paper titles plus topic phrases, with
a share of field, category, phrase, required and excluded-word syntax, and a tenth with a
date-range filter; each text is asked once. Every mode is timed on cold caches: a fresh
engine (its indexes opened, the model loaded and one unrelated query asked before the
clock starts, but none of the timed queries' vectors or papers kept), so no mode runs on
what an earlier one left behind. Within a run, papers an earlier query showed stay cached,
as in a server. The row "hybrid, asked again" repeats the hybrid run on its now warm
engine: what a repeated query (the next page, the API after the page) costs. The baseline
in the same run is a full scan that scores every paper by query-word substring matches,
as arxiv-sanity-lite does.
With --database-url the same queries run on a second store too (PostgreSQL: vectors in
pgvector), each mode on a cold engine as well, and the last column compares each p50 with
the first store's. With --encoder-docs N (default 300; 0 skips it) it then runs
`bench/encoder.py`: the encoder's throughput against a plain sentence-transformers
encode of the same model, which needs `pip install torch==2.13.0 sentence-transformers` in the venv.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

from paperscope.search.engine import SearchEngine
from paperscope.search.indexer import Indexer
from paperscope.search.query import SearchFilters
from paperscope.settings import Settings
from paperscope.store import Store, open_store

TOPICS = [
    "retrieval augmented generation for question answering",
    "reinforcement learning from human feedback",
    "diffusion models for video generation",
    "graph neural networks for molecules",
    '"large language model" agents -survey',
    "ti:benchmark reasoning",
    "au:bengio",
    "uncertainty estimation in medical imaging",
    "federated learning privacy",
    "mixture of experts efficient inference",
    "cat:cs.RO robot grasping from language instructions",
    "+transformer time series forecasting",
    'abs:"chain of thought" prompting -survey',
    "cat:cs.CV video segmentation",
]
WARM_UP = "warm up"  # asked before the clock starts; never a timed query
# A share of queries also carry a date-range filter, as the web page's date picker sends:
# a recent month, a quarter, or a year.
DATE_RANGES = [
    (date(2026, 1, 1), date(2026, 1, 31)),
    (date(2025, 7, 1), date(2025, 9, 30)),
    (date(2025, 1, 1), date(2025, 12, 31)),
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def versus(baseline_ms: float, ms: float) -> str:
    speedup = baseline_ms / ms
    return f"{speedup:.0f}x faster" if speedup >= 1 else f"{1 / speedup:.1f}x slower"


def cold_engine(settings: Settings, store: Store, mode: str) -> SearchEngine:
    """A new engine with its indexes open, its model loaded and one query asked in `mode`
    that is none of the timed ones: started, but holding none of their vectors or papers."""
    engine = SearchEngine(settings, store)
    engine.warm_up()
    if engine.dense is None:
        raise SystemExit("no vectors: run `paperscope index` first")
    engine.search(WARM_UP, mode=mode, limit=10)
    return engine


def time_queries(
    engine: SearchEngine, queries: list[tuple[str, SearchFilters | None]], mode: str
) -> list[float]:
    """Milliseconds each query took, one at a time."""
    times = []
    for query, filters in queries:
        started = time.perf_counter()
        engine.search(query, mode=mode, limit=10, filters=filters)
        times.append((time.perf_counter() - started) * 1000)
    return times


def make_queries(
    titles: list[str], count: int, seed: int = 0
) -> list[tuple[str, SearchFilters | None]]:
    """`count` queries, no text twice: a repeated text would find its vector cached."""
    rng = random.Random(seed)
    queries: list[tuple[str, SearchFilters | None]] = []
    seen = {WARM_UP}
    topics = rng.sample(TOPICS, len(TOPICS))
    for _ in range(100 * count):  # a tiny store may not have `count` different texts
        if len(queries) == count:
            break
        if topics and rng.random() < 0.2:
            text = topics.pop()
        else:
            words = rng.choice(titles).replace(":", " ").replace('"', " ").split()
            text = " ".join(words[: rng.randint(3, 8)])
        if text in seen:
            continue
        seen.add(text)
        filters = None
        if rng.random() < 0.1:
            start, end = rng.choice(DATE_RANGES)
            filters = SearchFilters(published_from=start, published_until=end)
        queries.append((text, filters))
    return queries


def measure(settings: Settings, queries) -> tuple[list, SearchEngine]:
    """(mode, queries, milliseconds) rows for one store, each mode on a cold engine."""
    store = open_store(settings)
    Indexer(SearchEngine(settings, store)).update(embed=False)  # this node's keyword index
    rows = []
    for mode in ("lexical", "dense", "hybrid"):
        engine = cold_engine(settings, store, mode)
        rows.append((mode, len(queries), time_queries(engine, queries, mode)))
    # The hybrid engine now holds every query's vector and papers: the same queries again.
    rows.append(("hybrid, asked again", len(queries), time_queries(engine, queries, "hybrid")))
    return rows, engine


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--baseline", type=int, default=50, help="queries for the full scan")
    parser.add_argument("--encoder-docs", type=int, default=300)
    parser.add_argument(
        "--database-url",
        help="also time the same queries on this store (PostgreSQL, say: copy the corpus "
        "there with `paperscope copy-store` and run `paperscope index` on it first)",
    )
    args = parser.parse_args()

    settings = Settings()
    store = open_store(settings)
    papers = list(store.papers.iter_all())
    queries = make_queries([p.title for p in papers], args.queries)
    stores = {store.backend: settings}
    if args.database_url:
        other = Settings(
            data_dir=settings.data_dir / "bench-other-store",  # its own keyword index
            database_url=args.database_url,
            models_dir=settings.models_dir,
        )
        stores[open_store(other).backend + " (--database-url)"] = other

    rows = []
    for name, store_settings in stores.items():
        measured, engine = measure(store_settings, queries)
        rows += [(name, *row) for row in measured]
        print(f"{name}: vectors in {type(engine.dense).__name__}, model {engine.encoder.name}")

    texts = [(p.title + " " + p.abstract).lower() for p in papers]
    times = []
    for query, _ in queries[: args.baseline]:
        words = [w for w in query.lower().split() if len(w) > 2]
        started = time.perf_counter()
        scores = [sum(text.count(w) for w in words) for text in texts]
        sorted(range(len(scores)), key=scores.__getitem__, reverse=True)[:10]
        times.append((time.perf_counter() - started) * 1000)
    rows.append(("memory", "baseline: full scan", args.baseline, times))

    table = Table(title=f"search latency over {len(papers):,} papers (ms, 1 query at a time)")
    columns = ("store", "mode", "queries", "p50", "p95", "p99", "mean", "p50 vs baseline")
    for column in (*columns, "p50 vs first store"):
        table.add_column(column, justify="right")
    baseline_p50 = statistics.median(rows[-1][3])
    first = {mode: statistics.median(values) for name, mode, _, values in rows[:4]}
    for name, mode, n, values in rows:
        p50 = statistics.median(values)
        table.add_row(
            name,
            mode,
            str(n),
            f"{p50:.1f}",
            f"{percentile(values, 0.95):.1f}",
            f"{percentile(values, 0.99):.1f}",
            f"{statistics.fmean(values):.1f}",
            versus(baseline_p50, p50) if mode != rows[-1][1] else "1x",
            f"{p50 / first[mode]:.2f}x" if mode in first else "",
        )
    Console().print(table)
    if args.encoder_docs:
        encoder_bench = Path(__file__).with_name("encoder.py")
        subprocess.run(
            [
                sys.executable,
                str(encoder_bench),
                "--docs",
                str(args.encoder_docs),
                "--models-dir",
                str(settings.models_dir),
            ],
            check=False,
        )


if __name__ == "__main__":
    main()
