"""What explaining a recommendation costs: the liked papers nearest to it, the words that
weighed most, the liked authors it shares (recommend/__init__.py `Explainer`).

    python bench/explain.py [--papers 3622] [--likes 5 20 60] [--top 30] [--repeat 15]

A scratch SQLite store of the shipped demo corpus (its real titles, abstracts and authors:
the words and authors are what an explanation reads), each paper given a random unit vector
(the cost does not depend on what the vectors mean). For each number of likes, one reader's
top --top recommendations among every paper, timed two ways, interleaved --repeat times
(the median is reported; the machine is shared, so compare rows of one run):

- baseline: the same reader's ranking scored alone, explaining nothing (`limit=None`);
- with explanations: the top --top, each explained (the page's and digest's call);
- per paper: the explanations alone, timed around the Explainer's calls, divided by --top.

The bound the issue sets: under 5 ms a paper.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from paperscope import recommend  # noqa: E402
from paperscope.demo import DEMO_CORPUS  # noqa: E402
from paperscope.ingest.files import parse_line  # noqa: E402
from paperscope.recommend import Recommender  # noqa: E402
from paperscope.store import Store, create_database_engine, migrate  # noqa: E402

MODEL = "random-unit-384"


def scratch_store(folder: Path, papers: int) -> tuple[Store, list[str]]:
    engine = create_database_engine(f"sqlite:///{folder / 'bench.db'}")
    migrate(engine)
    store = Store(engine)
    with gzip.open(DEMO_CORPUS, "rb") as stream:
        records = [parse_line(line, "demo") for _, line in zip(range(papers), stream, strict=False)]
    store.papers.upsert(records)
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((len(records), 384)).astype("<f4")
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store.embeddings.save(
        MODEL, [(r.id, r.content_hash, v.tobytes()) for r, v in zip(records, vectors, strict=True)]
    )
    return store, [r.id for r in records]


class TimedExplainer(recommend.Explainer):
    spent = 0.0
    calls = 0

    def __call__(self, paper_id, row):
        started = time.perf_counter()
        try:
            return super().__call__(paper_id, row)
        finally:
            TimedExplainer.spent += time.perf_counter() - started
            TimedExplainer.calls += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", type=int, default=3622)
    parser.add_argument("--likes", type=int, nargs="+", default=[5, 20, 60])
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    console = Console()
    recommend.Explainer = TimedExplainer  # the pool makes its explainer by this name
    with tempfile.TemporaryDirectory() as folder:
        store, ids = scratch_store(Path(folder), args.papers)
        recommender = Recommender(store, MODEL)
        pool = recommender.pool(ids)
        table = Table(title=f"explaining the top {args.top} of {len(pool.ids)} candidates")
        for column in ("likes", "baseline ms", "with explanations ms", "per paper ms"):
            table.add_column(column, justify="right")
        rng = np.random.default_rng(1)
        for likes in args.likes:
            liked = [ids[i] for i in rng.choice(len(ids), likes, replace=False)]
            baseline, explained, per_paper = [], [], []
            for _ in range(args.repeat):
                started = time.perf_counter()
                recommender.recommend(liked, candidates=ids, limit=None)
                baseline.append(time.perf_counter() - started)
                TimedExplainer.spent, TimedExplainer.calls = 0.0, 0
                started = time.perf_counter()
                found = recommender.recommend(liked, candidates=ids, limit=args.top)
                explained.append(time.perf_counter() - started)
                assert all(r.explanation is not None for r in found)
                per_paper.append(TimedExplainer.spent / max(TimedExplainer.calls, 1))
            table.add_row(
                str(likes),
                f"{statistics.median(baseline) * 1000:.1f}",
                f"{statistics.median(explained) * 1000:.1f}",
                f"{statistics.median(per_paper) * 1000:.3f}",
            )
        console.print(table)
        store.engine.dispose()


if __name__ == "__main__":
    main()
