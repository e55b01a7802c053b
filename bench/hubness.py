"""Hubness benchmark: how much CSLS reranking evens out "similar papers" lists.

For every paper, its top-k similar papers by plain cosine and by CSLS (reranking the nearest
`candidates`); then, over all those lists:
  skewness      of the k-occurrence counts (how often each paper is in someone's list)
  orphans       share of papers in nobody's list
  max k-occ     the biggest hub's count
  overlap       mean share of each plain list that the CSLS list keeps (relevance kept)
and timings: the radius (once per index build), all neighbour lists, one query. Plain cosine
is the baseline, in the same run. Examples show query titles beside both lists.

Usage:
  python bench/hubness.py --vectors V.npy --ids IDS \
      --corpus ../shared/data/arxiv-cs-ai/papers.jsonl.gz
  python bench/hubness.py [--corpus PATH] [--limit N]   # stand-in vectors, see below

IDS is a .npy array of paper ids or a text file with one id a line, in the rows' order.
Without --vectors the vectors are a stand-in: TF-IDF + TruncatedSVD (384 dimensions) of the
corpus's titles and abstracts, L2-normalised. That needs scikit-learn, for this bench only
(`pip install scikit-learn`); real sentence embeddings are more hub-prone, so rerun with them.
--hnsw also builds paperscope's HNSW index and plugs its search in instead of exact numpy.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hubness_measures import hubness_stats, k_occurrence, list_overlap, similar_papers
from paperscope.search.similar import (
    DEFAULT_CANDIDATES,
    DEFAULT_K,
    nearest_neighbours,
    neighbour_radius,
    radius_from_neighbours,
    rerank,
)

SAMPLE = Path(__file__).resolve().parents[1].parent / "shared/data/arxiv-cs-ai/sample_10k.jsonl.gz"
console = Console(width=150)


def read_corpus(path: Path, limit: int | None = None) -> list[dict]:
    papers = []
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        for line in stream:
            papers.append(json.loads(line))
            if limit is not None and len(papers) >= limit:
                break
    return papers


def read_ids(path: Path) -> list[str]:
    if path.suffix == ".npy":
        return [str(i) for i in np.load(path, allow_pickle=False)]
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def stand_in_vectors(papers: list[dict], dim: int = 384) -> np.ndarray:
    try:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer
    except ImportError as error:
        raise SystemExit(
            "stand-in vectors need scikit-learn (`pip install scikit-learn`), "
            "or pass --vectors and --ids"
        ) from error
    texts = [f"{p['title']}. {p.get('abstract') or ''}" for p in papers]
    tfidf = TfidfVectorizer(sublinear_tf=True, min_df=2, max_df=0.5, stop_words="english")
    reduced = TruncatedSVD(dim, random_state=0).fit_transform(tfidf.fit_transform(texts))
    return normalised(reduced)


def normalised(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def timed(f: Callable, *args, **kwargs):
    started = time.perf_counter()
    result = f(*args, **kwargs)
    return result, time.perf_counter() - started


def query_latency_ms(vectors: np.ndarray, radius: np.ndarray, queries: np.ndarray, **kwargs):
    times = []
    for query in queries:
        _, seconds = timed(similar_papers, int(query), vectors, radius, **kwargs)
        times.append(seconds * 1000)
    return float(np.median(times)), float(np.percentile(times, 95))


def short(title: str, width: int = 72) -> str:
    title = " ".join(title.split())
    return escape(title if len(title) <= width else title[: width - 1] + "…")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vectors", type=Path, help=".npy float32 (n, dim), one row a paper")
    parser.add_argument("--ids", type=Path, help="paper ids in row order (.npy or text)")
    parser.add_argument("--corpus", type=Path, default=SAMPLE, help="jsonl.gz with id, title")
    parser.add_argument("--limit", type=int, help="stand-in vectors for the first N papers only")
    parser.add_argument("--k", type=int, default=DEFAULT_K)
    parser.add_argument("--candidates", default="20,50,100", help="comma-separated")
    parser.add_argument("--radius-k", default="10,20", help="comma-separated")
    parser.add_argument("--examples", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hnsw", action="store_true", help="also time paperscope's HNSW index")
    args = parser.parse_args()
    candidate_grid = [int(c) for c in args.candidates.split(",")]
    radius_grid = [int(r) for r in args.radius_k.split(",")]
    k = args.k

    if args.vectors:
        if not args.ids:
            parser.error("--vectors needs --ids")
        vectors, ids = np.load(args.vectors), read_ids(args.ids)
        if len(ids) != len(vectors):
            parser.error(f"{len(vectors)} vectors but {len(ids)} ids")
        titles_by_id = {p["id"]: p["title"] for p in read_corpus(args.corpus)}
        titles = [titles_by_id.get(i, f"[{i}: not in corpus]") for i in ids]
        norms = np.linalg.norm(vectors, axis=1)
        if not np.allclose(norms, 1.0, atol=1e-3):
            console.print("[yellow]vectors are not unit length: normalising them[/]")
        vectors, source = normalised(vectors), f"{args.vectors}"
    else:
        papers = read_corpus(args.corpus, args.limit)
        vectors, seconds = timed(stand_in_vectors, papers)
        titles = [p["title"] for p in papers]
        source = f"STAND-IN TF-IDF+SVD of {args.corpus.name} (built in {seconds:.0f} s)"
    n = len(vectors)
    console.print(f"{n:,} papers x {vectors.shape[1]} dims: {source}")

    radius, radius_s = timed(neighbour_radius, vectors, k=DEFAULT_K)
    m = max([*candidate_grid, *radius_grid, k])
    (indices, cosines), lists_s = timed(nearest_neighbours, vectors, m)
    radii = {r: radius_from_neighbours(cosines, r) for r in radius_grid}
    assert np.allclose(radii.get(DEFAULT_K, radius), radius, atol=1e-5)
    radii[DEFAULT_K] = radius

    plain, _ = rerank(indices, cosines, None, k, "plain")
    baseline = hubness_stats(plain, n)
    table = Table(title=f"Hubness of top-{k} similar-paper lists over {n:,} papers")
    for column in ("method", "radius k", "candidates", "skewness", "vs plain", "orphans"):
        table.add_column(column, justify="left" if column == "method" else "right")
    table.add_column("max k-occ", justify="right")
    table.add_column("overlap", justify="right")
    table.add_row(
        "plain cosine", "", "", f"{baseline['skewness']:.2f}", "",
        f"{baseline['orphan_share']:.2%}", str(baseline["max_occurrence"]), "100%",
    )  # fmt: skip
    for radius_k in radius_grid:
        for candidates in candidate_grid:
            reduced, _ = rerank(
                indices[:, :candidates], cosines[:, :candidates], radii[radius_k], k, "csls"
            )
            stats = hubness_stats(reduced, n)
            change = stats["skewness"] / baseline["skewness"] - 1 if baseline["skewness"] else 0
            table.add_row(
                "csls", str(radius_k), str(candidates), f"{stats['skewness']:.2f}",
                f"{change:+.0%}", f"{stats['orphan_share']:.2%}", str(stats["max_occurrence"]),
                f"{list_overlap(plain, reduced):.0%}",
            )  # fmt: skip
    console.print(table)

    rng = np.random.default_rng(args.seed)
    sample = rng.choice(n, size=min(200, n), replace=False)
    p50, p95 = query_latency_ms(vectors, radius, sample)
    timings = Table(title="Timings (exact numpy unless marked HNSW)")
    timings.add_column("what")
    timings.add_column("seconds", justify="right")
    timings.add_row(f"radius, k={DEFAULT_K}, all {n:,} papers", f"{radius_s:.1f}")
    timings.add_row(f"top-{m} neighbours of all {n:,} papers", f"{lists_s:.1f}")
    timings.add_row("one query, csls (p50 / p95)", f"{p50 / 1000:.4f} / {p95 / 1000:.4f}")
    if args.hnsw:
        add_hnsw_timings(timings, vectors, radius, indices, sample)
    console.print(timings)

    # The examples and hubs use the library defaults, as the similar-papers page does.
    reduced, _ = rerank(
        indices[:, :DEFAULT_CANDIDATES], cosines[:, :DEFAULT_CANDIDATES], radius, k, "csls"
    )
    show_hubs(plain, reduced, titles)
    for query in rng.choice(n, size=min(args.examples, n), replace=False):
        show_example(int(query), plain[query], reduced[query], titles)


def add_hnsw_timings(
    timings: Table, vectors: np.ndarray, radius: np.ndarray, exact: np.ndarray, sample
) -> None:
    from paperscope.search.vectors.hnsw import HnswIndex

    index, build_s = timed(HnswIndex.build, vectors)

    def search(queries: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
        # HnswIndex.search fails on a single query (usearch answers Matches, not BatchMatches).
        if len(queries) == 1:
            found, cosines = index.search(np.vstack([queries, queries]), m)
            return found[:1], cosines[:1]
        return index.search(queries, m)

    hnsw_radius, radius_s = timed(neighbour_radius, vectors, search=search)
    p50, p95 = query_latency_ms(vectors, hnsw_radius, sample, search=search)
    approx, _ = nearest_neighbours(vectors, DEFAULT_K, search=search)
    recall = list_overlap(exact[:, :DEFAULT_K], approx)
    timings.add_row(f"HNSW build ({len(vectors):,} vectors)", f"{build_s:.1f}")
    error = np.abs(hnsw_radius - radius)
    timings.add_row(
        f"radius via HNSW (|error| mean {error.mean():.4f}, max {error.max():.4f}; "
        f"top-{DEFAULT_K} recall {recall:.1%})",
        f"{radius_s:.1f}",
    )
    timings.add_row("one query, csls via HNSW (p50 / p95)", f"{p50 / 1000:.4f} / {p95 / 1000:.4f}")


def show_hubs(plain: np.ndarray, reduced: np.ndarray, titles: list[str]) -> None:
    n = len(titles)
    before, after = k_occurrence(plain, n), k_occurrence(reduced, n)
    table = Table(title="Biggest plain hubs: in how many top-k lists")
    table.add_column("paper")
    table.add_column("plain", justify="right")
    table.add_column("csls", justify="right")
    for hub in np.argsort(-before, kind="stable")[:5]:
        table.add_row(short(titles[hub]), str(before[hub]), str(after[hub]))
    console.print(table)


def show_example(
    query: int, plain: np.ndarray, reduced: np.ndarray, titles: list[str], shown: int = 5
) -> None:
    """Top `shown` of both lists; - marks a paper CSLS drops from the top k, + one it adds."""
    table = Table(title=f"Similar to: {short(titles[query], 100)}")
    table.add_column("#", justify="right")
    table.add_column("plain cosine")
    table.add_column("csls")
    pairs = zip(plain[:shown], reduced[:shown], strict=True)
    for rank, (a, b) in enumerate(pairs, start=1):
        mark_a = "" if a in reduced else "[red]-[/] "
        mark_b = "" if b in plain else "[green]+[/] "
        table.add_row(str(rank), mark_a + short(titles[a], 60), mark_b + short(titles[b], 60))
    console.print(table)


if __name__ == "__main__":
    main()
