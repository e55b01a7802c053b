"""How well "for you" ranks what a reader will like, beside arxiv-sanity-lite's method and a
popularity baseline, in one run, on a real corpus.

    PAPERSCOPE_DATA_DIR=DIR python bench/personalise.py [--readers 200] [--papers 20000]

DIR holds an indexed store (vectors under the configured model). Simulated readers, each with
an interest of their own: a category, plus a topic (two words of the corpus's vocabulary seen
together in abstracts of that category), plus an author they follow. A reader likes papers
that match their interest (all three kinds), a few at random too (noise); their likes are split
in time: the older 70% train, the newer 30% are held out among that period's papers. Each
method ranks the held-out period's papers for the reader; reported: mean AUC (a liked paper
above a not-liked one) and recall@20 (share of the held-out likes in the top 20):

- popularity: the same ranking for everyone (how many readers liked a paper in training).
- arxiv-sanity-lite: tf-idf over title, abstract and authors, LinearSVC(C=0.01, balanced),
  every other paper a negative (its own recipe).
- embeddings + logistic regression / ridge: a classifier on the MiniLM vectors, the likes
  against 200 random papers (balanced); ridge is recommend/model.py's `Contrast`.
- tf-idf + logistic regression / ridge: the same on the tf-idf features.
- authors: how many times the reader liked a paper by each of a paper's authors.
- the three with logistic regressions, z-scored, summed: what paperscope shipped before.
- paperscope's for you: recommend/model.py's `for_you_scores`, the function the Recommender
  ships (the three with ridge, z-scored, summed); here on a tf-idf fitted once on the
  corpus, where the Recommender fits it on each request's candidates.
"""

from __future__ import annotations

import argparse
import random
from collections import Counter, defaultdict

import numpy as np
from rich.console import Console
from rich.table import Table
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.svm import LinearSVC

from paperscope.recommend import model as for_you_model
from paperscope.recommend.model import Contrast, for_you_scores, zscore
from paperscope.settings import Settings
from paperscope.store import open_store

console = Console()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readers", type=int, default=200)
    parser.add_argument("--papers", type=int, default=20_000, help="the newest N papers")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    store = open_store(Settings())
    model = Counter(
        m
        for (m,) in store.engine.connect().exec_driver_sql(
            "SELECT model FROM embeddings LIMIT 1000"
        )
    ).most_common(1)[0][0]
    with console.status("reading papers and vectors"):
        papers = sorted(
            (p for p in store.papers.iter_all() if p.published), key=lambda p: p.published
        )[-args.papers :]
        vectors = store.embeddings.vectors(model, [p.id for p in papers])
        papers = [p for p in papers if p.id in vectors]
    ids = [p.id for p in papers]
    matrix = np.stack([vectors[pid] for pid in ids])
    texts = [f"{p.title} {p.abstract} {' '.join(p.authors)}" for p in papers]
    with console.status("tf-idf"):
        tfidf = TfidfVectorizer(
            max_features=20_000, sublinear_tf=True, stop_words="english", min_df=3
        ).fit_transform(texts)
    split = int(len(papers) * 0.7)  # train on the older papers' likes, test on the newer
    by_category = defaultdict(list)
    for n, p in enumerate(papers):
        for c in p.categories:
            by_category[c].append(n)
    authors = defaultdict(list)
    for n, p in enumerate(papers):
        for a in p.authors:
            authors[a].append(n)
    prolific = [a for a, ns in authors.items() if len(ns) >= 6]
    categories = [c for c, ns in by_category.items() if len(ns) >= 300]
    vocabulary = TfidfVectorizer(stop_words="english", min_df=30, max_df=0.05).fit(texts)
    words = list(vocabulary.get_feature_names_out())
    lowered = [t.lower() for t in texts]

    readers = []
    while len(readers) < args.readers:
        category = rng.choice(categories)
        topic = rng.sample(words, 2)
        author = rng.choice(prolific)
        topical = {n for n in by_category[category] if all(w in lowered[n] for w in topic[:1])}
        liked = set(rng.sample(sorted(topical), min(len(topical), 25))) if topical else set()
        liked |= set(authors[author])
        liked |= set(rng.sample(range(len(papers)), 3))  # noise
        train = sorted(n for n in liked if n < split)
        test = sorted(n for n in liked if n >= split)
        if len(train) >= 5 and len(test) >= 3:
            readers.append((train, test))
    popularity = Counter(n for train, _ in readers for n in train)
    held = np.arange(split, len(papers))
    negatives = rng.sample(range(split), 200)

    def ridge(features, alpha):
        def method(train):
            rest = [n for n in negatives if n not in train]
            return Contrast(features[rest], features[held], alpha).scores(features[train])

        return method

    def logistic(features, c):
        def method(train):
            rows = train + [n for n in negatives if n not in train]
            y = np.r_[np.ones(len(train)), np.zeros(len(rows) - len(train))]
            return (
                LogisticRegression(C=c, class_weight="balanced", max_iter=1000)
                .fit(features[rows], y)
                .decision_function(features[held])
            )

        return method

    def sanity(train):
        y = np.zeros(split)
        y[train] = 1
        svm = LinearSVC(C=0.01, class_weight="balanced", max_iter=10_000).fit(tfidf[:split], y)
        return svm.decision_function(tfidf[held])

    def followed(train):
        liked_authors = Counter(a for n in train for a in papers[n].authors)
        return np.array([sum(liked_authors[a] for a in papers[n].authors) for n in held], float)

    def logistic_sum(train):
        return (
            zscore(logistic(matrix, 1.0)(train))
            + zscore(logistic(tfidf, 10.0)(train))
            + zscore(followed(train))
        )

    def shipped(train):
        rest = [n for n in negatives if n not in train]
        return for_you_scores(
            meaning=(matrix[train], matrix[rest], matrix[held]),
            words=(tfidf[train], tfidf[rest], tfidf[held]),
            authors=([papers[n].authors for n in train], [papers[n].authors for n in held]),
        )

    methods = {
        "popularity": lambda train: np.array([popularity[n] for n in held], float),
        "arxiv-sanity-lite (tf-idf + LinearSVC)": sanity,
        "embeddings + logistic regression": logistic(matrix, 1.0),
        "embeddings + ridge": ridge(matrix, for_you_model.MEANING_ALPHA),
        "tf-idf + logistic regression": logistic(tfidf, 10.0),
        "tf-idf + ridge": ridge(tfidf, for_you_model.WORDS_ALPHA),
        "authors followed": followed,
        "the three with logistic regressions, z-scored, summed": logistic_sum,
        "paperscope's for you (the three, z-scored, summed)": shipped,
    }
    table = Table(
        title=f"{len(readers)} simulated readers, {len(papers):,} papers ({len(held):,} held out)"
    )
    table.add_column("method")
    table.add_column("AUC", justify="right")
    table.add_column("recall@20", justify="right")
    for name, method in methods.items():
        aucs, recalls = [], []
        with console.status(name):
            for train, test in readers:
                scores = method(train)
                truth = np.isin(held, test)
                aucs.append(roc_auc_score(truth, scores))
                top = held[np.argsort(-scores, kind="stable")[:20]]
                recalls.append(len(set(top.tolist()) & set(test)) / len(test))
        table.add_row(name, f"{np.mean(aucs):.3f}", f"{np.mean(recalls):.3f}")
    console.print(table)


if __name__ == "__main__":
    main()
