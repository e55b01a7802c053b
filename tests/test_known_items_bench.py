"""The known-item questions (bench/data/known_items.jsonl) and the bench that asks them
(bench/known_items.py): the file is sound, its targets are real papers of the 83k corpus that
the seeded draw picks, no question gives its target's title away, the paraphrase, question
and fragment items describe their target mostly in other words than its own, and the bench
measures ranks through paperscope's own search, with its fusion overrides reaching the
search and the candidates a fusion tuner needs in its JSON."""

from __future__ import annotations

import collections
import json
import re
from pathlib import Path

import pytest
from bench.known_items import (
    CANDIDATES,
    CORPUS,
    OVERLAP_LIMIT,
    SPLITS,
    STYLES,
    WORDED_STYLES,
    load_questions,
    main,
    pick_targets,
    read_corpus,
    word_overlap,
)

from paperscope.app import Paperscope
from paperscope.ingest.files import record_from_json
from paperscope.search.query import parse_query
from paperscope.settings import Settings

needs_corpus = pytest.mark.skipif(not CORPUS.exists(), reason=f"{CORPUS} is not here")
ITEMS = load_questions()


def words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


@pytest.fixture(scope="module")
def corpus() -> dict[str, dict]:
    return {paper["id"]: paper for paper in read_corpus()}


def test_each_split_holds_at_least_50_questions_of_the_same_styles_in_the_same_mix():
    by_split = {split: [i for i in ITEMS if i.split == split] for split in SPLITS}
    assert all(len(items) >= 50 for items in by_split.values())
    mixes = {split: collections.Counter(i.style for i in got) for split, got in by_split.items()}
    assert set(mixes["tune"]) == set(mixes["held-out"]) == set(STYLES)
    for style in STYLES:
        assert abs(mixes["tune"][style] - mixes["held-out"][style]) <= 1, style


def test_one_question_per_target_each_its_own_and_parseable():
    assert len({i.id for i in ITEMS}) == len(ITEMS)
    assert len({i.question for i in ITEMS}) == len(ITEMS)
    for item in ITEMS:
        assert re.fullmatch(r"\d{4}\.\d{4,5}", item.id), item.id
        parse_query(item.question)  # the search box would take it


def test_about_one_in_seven_questions_leans_on_an_exact_term_and_a_few_on_fields():
    styles = collections.Counter(i.style for i in ITEMS)
    assert 0.12 <= styles["exact-term"] / len(ITEMS) <= 0.2
    for item in ITEMS:
        has_field = bool(parse_query(item.question).filters.categories) or any(
            c.field for c in parse_query(item.question).clauses
        )
        assert has_field == (item.style == "fielded"), item.question


@needs_corpus
def test_every_target_is_a_paper_of_the_corpus_drawn_by_the_seeded_pick(corpus):
    assert [i.id for i in ITEMS] == [p["id"] for p in pick_targets(list(corpus.values()))]


@needs_corpus
def test_no_question_contains_its_targets_title(corpus):
    for item in ITEMS:
        assert words(corpus[item.id]["title"]) not in words(item.question), item.question


@needs_corpus
def test_questions_not_meant_to_match_words_describe_their_target_in_other_words(corpus):
    """Half-remembered recall: at most OVERLAP_LIMIT of a paraphrase, question or fragment's
    content words are in its target's title or abstract, and far fewer on average."""
    shares = {}
    for item in ITEMS:
        if item.style in WORDED_STYLES:
            continue
        paper = corpus[item.id]
        shares[item.id] = word_overlap(item.question, paper["title"], paper["abstract"])
        assert shares[item.id] <= OVERLAP_LIMIT, (item.id, round(shares[item.id], 2), item.question)
    mean = sum(shares.values()) / len(shares)
    print(f"word overlap of {len(shares)} questions: mean {mean:.3f}, max {max(shares.values())}")
    assert len(shares) >= 0.75 * len(ITEMS)
    assert mean <= 0.32, mean
    # The measure can tell: a target's own title and a copy of its abstract's opening share
    # nearly all their words with it.
    paper = corpus[ITEMS[0].id]
    assert word_overlap(paper["title"], paper["title"], paper["abstract"]) == 1.0
    assert word_overlap(paper["abstract"][:200], paper["title"], paper["abstract"]) > 0.9


def test_word_overlap_counts_content_words_stemmed_and_ignores_stop_words():
    abstract = "We propose pruning criteria for convolutional networks."
    # "which", "the" and "paper" carry no subject; "criterion"/"criteria" and
    # "networks"/"network" are one word each once stemmed.
    assert word_overlap("which paper compared the pruning of networks", "", abstract) == 2 / 3
    assert word_overlap("the of which", "", abstract) == 0.0


@pytest.fixture
def indexed_targets(settings: Settings, corpus, monkeypatch) -> Settings:
    """A store holding just the 126 target papers, embedded with the fast potion model, and
    the environment pointing at it as PAPERSCOPE_DATA_DIR would."""
    settings = settings.model_copy(update={"embedding_model": "potion"})
    app = Paperscope.from_settings(settings)
    try:
        app.papers.store_records([record_from_json(corpus[i.id]) for i in ITEMS])
        app.indexer.update(embed=True)
    finally:
        app.close()
    monkeypatch.setenv("PAPERSCOPE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("PAPERSCOPE_EMBEDDING_MODEL", "potion")
    if settings.database_url:
        monkeypatch.setenv("PAPERSCOPE_DATABASE_URL", settings.database_url)
    return settings


def run_bench(capsys, *args: str) -> dict:
    assert main(["--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


@needs_corpus
@pytest.mark.slow
def test_among_the_targets_alone_each_question_picks_out_its_own_paper(
    indexed_targets, capsys, tmp_path: Path
):
    report = run_bench(capsys)
    assert report["papers_absent"] == []
    assert set(report["splits"]) == set(SPLITS)
    for split in SPLITS:
        assert report["splits"][split]["questions"] >= 50
        assert 0 < report["splits"][split]["word_overlap"] <= OVERLAP_LIMIT
        for mode in ("lexical", "dense", "hybrid"):
            # 126 papers on 126 different subjects: a question that cannot find its own
            # among them does not identify it.
            assert report["splits"][split]["modes"][mode]["recall@10"] >= 0.9, (split, mode)

    # Per question, the single modes' top candidates with their scores, best first: what a
    # fusion tuner needs to simulate any fusion without searching again. The ranks are theirs.
    for question in report["questions"]:
        assert set(question["candidates"]) == {"lexical", "dense"}
        assert question["word_overlap"] is not None
        for mode, candidates in question["candidates"].items():
            assert len(candidates) <= CANDIDATES
            ids = [paper_id for paper_id, _ in candidates]
            scores = [score for _, score in candidates]
            assert len(set(ids)) == len(ids)
            assert scores == sorted(scores, reverse=True), (question["id"], mode)
            rank = ids.index(question["id"]) + 1 if question["id"] in ids else None
            assert question["ranks"][mode] == rank, (question["id"], mode)
    for mode in ("lexical", "dense"):
        # Nearly every question has candidates in each mode (its target among them, mostly).
        found = [bool(q["candidates"][mode]) for q in report["questions"]]
        assert sum(found) >= 0.9 * len(found), mode

    # The fusion weight reaches the search: all words, hybrid ranks as lexical does; all
    # meaning, as dense does.
    few = tmp_path / "few.jsonl"
    few.write_text("".join(json.dumps(i.__dict__) + "\n" for i in ITEMS[:12]))
    for alpha, same_as in ((0.0, "lexical"), (1.0, "dense")):
        report = run_bench(capsys, "--questions", str(few), "--fusion-alpha", str(alpha))
        assert report["settings"]["fusion_alpha"] == alpha
        for question in report["questions"]:
            assert question["ranks"]["hybrid"] == question["ranks"][same_as], question


def test_an_unknown_or_invalid_setting_is_refused_with_a_message(capsys):
    with pytest.raises(SystemExit):
        main(["--set", "fusion_alfa=0.3"])
    assert "unknown setting fusion_alfa" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--fusion-alpha", "1.5"])
    assert "fusion_alpha" in capsys.readouterr().err


@needs_corpus
def test_a_store_without_vectors_is_refused_with_what_to_do(
    settings: Settings, corpus, monkeypatch, capsys
):
    app = Paperscope.from_settings(settings)
    try:
        app.papers.store_records([record_from_json(corpus[i.id]) for i in ITEMS[:5]])
        app.indexer.update(embed=False)
    finally:
        app.close()
    monkeypatch.setenv("PAPERSCOPE_DATA_DIR", str(settings.data_dir))
    if settings.database_url:
        monkeypatch.setenv("PAPERSCOPE_DATABASE_URL", settings.database_url)
    assert main(["--json"]) == 1
    out = capsys.readouterr()
    assert out.out == ""
    assert "cannot run the bench" in out.err and "paperscope index" in out.err
    assert "121 of 126 targets are not in" in out.err
