"""How well "for you" ranks what real readers went on to write, beside arxiv-sanity-lite's
method and an embeddings logistic regression, in one run: the authors of the corpus as readers.

    python bench/readers.py --vectors-from sqlite:////path/paperscope.db --model NAME
        [--corpus ../shared/data/arxiv-cs-ai/papers.jsonl.gz] [--split 2025-10-01]
        [--tune 100] [--held-out 200] [--svm-negatives 10000] [--json FILE]

A time split: the papers published from --split on are the candidates (17,559 of the 83k),
the rest came before. A reader is an author with at least 3 papers before the split and 1
after (a seeded sample): their papers before are what they liked, their papers after are what
they should be shown, among all the candidates. Two halves: names visible (authors as they
are) and names hidden (every author replaced by a token unique to its paper, in every
method's features: only the content can find them). Two sets of readers, seeded: "tune"
(where the improved signals' settings were chosen) and "held out" (other readers, reported,
never looked at while tuning). For each method and reader, over the full ranking of every
candidate: recall@20 and recall@100 (share of the reader's later papers in their top k) and
AUC (a later paper of theirs above another candidate), averaged over readers:

- arxiv-sanity-lite: tf-idf of title, authors and abstract by its own settings (word 1-2
  grams, sublinear tf, max_df 0.1, min_df 5, 20k features, fitted on every paper),
  LinearSVC(C=0.01, class_weight balanced); negatives: a seeded random sample of the papers
  before the split (--svm-negatives; it uses all, which costs seconds a reader).
- embeddings + logistic regression: the likes against 200 random papers before the split,
  balanced, on the vectors read from the store (--model: say which model the numbers used).
- paperscope before: recommend/model.py as shipped before this bench (meaning and words by a
  ridge against 200 random papers, authors, z-scored and summed; tf-idf fitted on the
  candidates, as the Recommender does).
- paperscope's for you: recommend/model.py's `ForYouModel` as it ships now.
- each of its signals alone.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import orjson
import sqlalchemy
from rich.console import Console
from rich.table import Table
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.svm import LinearSVC

from paperscope.recommend import model as for_you
from paperscope.recommend.model import ForYouModel

console = Console()
CORPUS = Path(__file__).resolve().parents[1] / "../shared/data/arxiv-cs-ai/papers.jsonl.gz"


@dataclass(frozen=True)
class Reader:
    name: str
    liked: list[int]  # their papers before the split (indices into the corpus)
    later: list[int]  # their papers after (indices into the candidates)


def read_corpus(path: Path) -> list[dict]:
    with gzip.open(path, "rb") as lines:
        papers = [orjson.loads(line) for line in lines]
    return sorted(papers, key=lambda p: p["published"])


def read_vectors(url: str, model: str, ids: list[str]) -> np.ndarray:
    """Each paper's vector under `model` from a paperscope store's embeddings table (any
    SQLAlchemy URL; a SQLite file is opened read-only), in the papers' order."""
    if url.startswith("sqlite:///"):
        url = f"sqlite:///file:{url.removeprefix('sqlite:///')}?mode=ro&uri=true"
    engine = sqlalchemy.create_engine(url)
    found: dict[str, np.ndarray] = {}
    with engine.connect() as connection:
        rows = connection.execute(
            sqlalchemy.text("SELECT paper_id, vector FROM embeddings WHERE model = :model"),
            {"model": model},
        )
        for paper_id, vector in rows:
            found[paper_id] = np.frombuffer(bytes(vector), dtype="<f4")
    missing = [pid for pid in ids if pid not in found]
    if missing:
        raise SystemExit(f"{len(missing):,} papers have no vector under {model!r} in {url}")
    return np.stack([found[pid] for pid in ids])


def pick_readers(
    papers: list[dict], cut: int, tune: int, held_out: int, seed: int
) -> dict[str, list[Reader]]:
    """Authors with at least 3 papers before `cut` and 1 after: `tune` of them at random, and
    `held_out` others."""
    written = defaultdict(list)
    for n, paper in enumerate(papers):
        for name in dict.fromkeys(paper["authors"]):
            written[name].append(n)
    eligible = sorted(
        name
        for name, ns in written.items()
        if sum(n < cut for n in ns) >= 3 and any(n >= cut for n in ns)
    )
    console.print(f"{len(eligible):,} authors with 3 papers before the split and 1 after")
    tuned = random.Random(seed).sample(eligible, tune)
    rest = sorted(set(eligible) - set(tuned))
    chosen = {"tune": tuned, "held out": random.Random(seed + 1).sample(rest, held_out)}
    return {
        part: [
            Reader(
                name,
                [n for n in written[name] if n < cut],
                [n - cut for n in written[name] if n >= cut],
            )
            for name in names
        ]
        for part, names in chosen.items()
    }


def sanity_text(paper: dict, authors: list[str]) -> str:
    """arxiv-sanity-lite's document: title | authors | abstract."""
    return f"{paper['title']} | {', '.join(authors)} | {paper['abstract']}"


def product_text(paper: dict, authors: list[str]) -> str:
    """The Recommender's document (recommend/__init__.py `_text`)."""
    return f"{paper['title']} {paper['abstract']} {' '.join(authors)}"


# recommend/model.py as it shipped before bench/readers.py: three signals, summed
BEFORE_WEIGHTS = {"meaning": 1.0, "words": 1.0, "nearest": 0.0, "categories": 0.0, "authors": 1.0}


def hidden_names(papers: list[dict]) -> list[list[str]]:
    """Every author replaced by a token unique to its paper (one word: the tokenizers keep it
    whole), so that no two papers share one."""
    return [[f"x{n}a{i}" for i in range(len(p["authors"]))] for n, p in enumerate(papers)]


def evaluate(scores: np.ndarray, later: list[int]) -> tuple[float, float, float]:
    """recall@20, recall@100 and AUC of one reader's ranking of every candidate."""
    truth = np.zeros(scores.size, dtype=bool)
    truth[later] = True
    order = np.argsort(-scores, kind="stable")
    found = [truth[order[:k]].sum() / len(later) for k in (20, 100)]
    return found[0], found[1], roc_auc_score(truth, scores)


def methods(papers, authors, vectors, cut, args) -> dict:
    """Every method of one half, each a function of a reader's liked papers (corpus indices)
    to a score for every candidate."""
    rng = random.Random(args.seed)
    before_split = range(cut)
    random_negatives = sorted(rng.sample(before_split, for_you.RANDOM_NEGATIVES))
    svm_negatives = (
        sorted(rng.sample(before_split, args.svm_negatives)) if args.svm_negatives else None
    )
    categories = [p["categories"] for p in papers]
    with console.status("tf-idf: arxiv-sanity-lite's"):
        sanity = TfidfVectorizer(
            ngram_range=(1, 2), sublinear_tf=True, max_df=0.1, min_df=5, max_features=20_000
        ).fit_transform([sanity_text(p, a) for p, a in zip(papers, authors, strict=True)])
    texts = [product_text(p, a) for p, a in zip(papers, authors, strict=True)]
    with console.status("tf-idf: paperscope's before, on the candidates"):
        old = TfidfVectorizer(max_features=20_000, sublinear_tf=True, stop_words="english")
        old.fit(texts[cut:])
        old_words = old.transform(texts).tocsr()
    with console.status("tf-idf: paperscope's now (words_vectorizer), on the candidates"):
        new = for_you.words_vectorizer(len(papers) - cut)
        new.fit(texts[cut:])
        new_words = new.transform(texts).tocsr()

    def own_negatives(liked, pool):
        liked = set(liked)
        return [n for n in pool if n not in liked]

    def arxiv_sanity_lite(liked):
        pool = svm_negatives if svm_negatives is not None else before_split
        rows = liked + own_negatives(liked, pool)
        labels = np.r_[np.ones(len(liked)), np.zeros(len(rows) - len(liked))]
        svm = LinearSVC(C=0.01, class_weight="balanced", max_iter=10_000)
        return svm.fit(sanity[rows], labels).decision_function(sanity[cut:])

    def embeddings_logistic(liked):
        rows = liked + own_negatives(liked, random_negatives)
        labels = np.r_[np.ones(len(liked)), np.zeros(len(rows) - len(liked))]
        model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000)
        return model.fit(vectors[rows], labels).decision_function(vectors[cut:])

    def model_of(words, weights, with_categories):
        model = ForYouModel(
            meaning=(vectors[random_negatives], vectors[cut:]),
            words=(words[random_negatives], words[cut:]),
            authors=authors[cut:],
            categories=categories[cut:] if with_categories else None,
            weights=weights,
        )

        def inputs(liked):
            return dict(
                meaning=(vectors[liked], None),
                words=(words[liked], None),
                authors=[authors[n] for n in liked],
                categories=[categories[n] for n in liked] if with_categories else None,
                drop=[i for i, n in enumerate(random_negatives) if n in set(liked)],
            )

        return model, inputs

    before, before_inputs = model_of(old_words, BEFORE_WEIGHTS, False)
    now, now_inputs = model_of(new_words, for_you.WEIGHTS, True)

    measured: dict[tuple[int, ...], dict[str, np.ndarray]] = {}  # each reader's, once

    def signal(name):
        def rank(liked):
            key = tuple(liked)
            if key not in measured:
                measured[key] = now.signals(**now_inputs(liked))
            return measured[key].get(name, np.zeros(len(papers) - cut))

        return rank

    return {
        "arxiv-sanity-lite (tf-idf + LinearSVC)": arxiv_sanity_lite,
        "embeddings + logistic regression": embeddings_logistic,
        "paperscope before (meaning + words + authors)": lambda liked: before.scores(
            **before_inputs(liked)
        ),
        "paperscope's for you now": lambda liked: now.scores(**now_inputs(liked)),
        **{f"  its {name} alone": signal(name) for name in for_you.WEIGHTS},
    }


def cost_per_reader(papers, vectors, cut, readers: list[Reader]) -> dict[str, float]:
    """Milliseconds one reader's scores take, before and now, over a digest's pool (the last
    week's papers), interleaved reader by reader (the machine's load hits both alike)."""
    week = (datetime.fromisoformat(papers[-1]["published"][:19]) - timedelta(days=7)).isoformat(
        sep=" "
    )
    pool = [n for n in range(cut, len(papers)) if papers[n]["published"] >= week]
    negatives = sorted(random.Random(1).sample(range(cut), for_you.RANDOM_NEGATIVES))
    texts = [product_text(p, p["authors"]) for p in papers]
    categories = [p["categories"] for p in papers]
    authors = [p["authors"] for p in papers]
    old = TfidfVectorizer(max_features=20_000, sublinear_tf=True, stop_words="english")
    variants = {}
    for name, vectorizer, weights in (
        ("before", old, BEFORE_WEIGHTS),
        ("now", for_you.words_vectorizer(len(pool)), for_you.WEIGHTS),
    ):
        words = vectorizer.fit_transform([texts[n] for n in pool])
        model = ForYouModel(
            meaning=(vectors[negatives], vectors[pool]),
            words=(vectorizer.transform([texts[n] for n in negatives]), words),
            authors=[authors[n] for n in pool],
            categories=[categories[n] for n in pool] if name == "now" else None,
            weights=weights,
        )
        variants[name] = (model, vectorizer)
    took: dict[str, list[float]] = {name: [] for name in variants}
    for reader in readers:
        liked = reader.liked[-50:]  # the newest 50, as a member's likes
        for name, (model, vectorizer) in variants.items():
            words = vectorizer.transform([texts[n] for n in liked])  # once a pool: not timed
            started = time.perf_counter()
            model.scores(
                meaning=(vectors[liked], None),
                words=(words, None),
                authors=[authors[n] for n in liked],
                categories=[categories[n] for n in liked] if name == "now" else None,
            )
            took[name].append((time.perf_counter() - started) * 1000)
    console.print(
        f"one reader's for-you scores over a week's pool ({len(pool):,} papers), median: "
        + ", ".join(f"{name} {np.median(ms):.2f} ms" for name, ms in took.items())
    )
    return {name: float(np.median(ms)) for name, ms in took.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vectors-from", required=True, help="a store's database URL")
    parser.add_argument("--model", required=True, help="the embedding model's name in it")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--split", default="2025-10-01", help="candidates: published from then")
    parser.add_argument("--tune", type=int, default=100, help="readers to tune on")
    parser.add_argument("--held-out", type=int, default=200, help="readers to report on")
    parser.add_argument("--svm-negatives", type=int, default=10_000, help="0: all before")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args()
    with console.status("reading the corpus and the vectors"):
        papers = read_corpus(args.corpus)
        vectors = read_vectors(args.vectors_from, args.model, [p["id"] for p in papers])
    cut = next(n for n, p in enumerate(papers) if p["published"] >= args.split)
    console.print(
        f"{len(papers):,} papers, {len(papers) - cut:,} from {args.split} on (the candidates); "
        f"vectors: {args.model} ({vectors.shape[1]} dimensions)"
    )
    halves = pick_readers(papers, cut, args.tune, args.held_out, args.seed)
    cost = cost_per_reader(papers, vectors, cut, halves["held out"])
    results: dict[str, dict[str, list[float]]] = {}
    for names in ("hidden", "visible"):
        authors = hidden_names(papers) if names == "hidden" else [p["authors"] for p in papers]
        for method, rank in methods(papers, authors, vectors, cut, args).items():
            started = time.perf_counter()
            with console.status(f"names {names}: {method}"):
                for part, members in halves.items():
                    measured = np.mean([evaluate(rank(r.liked), r.later) for r in members], axis=0)
                    results.setdefault(part, {}).setdefault(f"{names}|{method}", measured.tolist())
            console.print(f"names {names}: {method} in {time.perf_counter() - started:.0f} s")
    for part, rows in results.items():
        table = Table(
            title=f"{len(halves[part])} real readers ({part}), {len(papers) - cut:,} candidates "
            f"(all papers from {args.split}), embeddings: {args.model}"
        )
        for column in ("names", "method", "recall@20", "recall@100", "AUC"):
            table.add_column(column, justify="left" if column in ("names", "method") else "right")
        for key, (r20, r100, auc) in rows.items():
            names, method = key.split("|")
            table.add_row(names, method, f"{r20:.3f}", f"{r100:.3f}", f"{auc:.3f}")
        console.print(table)
    if args.json:
        settings = {key: str(value) for key, value in vars(args).items()}
        args.json.write_text(
            json.dumps({"args": settings, "results": results, "cost_ms": cost}, indent=1)
        )


if __name__ == "__main__":
    main()
