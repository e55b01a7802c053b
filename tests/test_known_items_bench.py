"""The known-item questions (bench/data/known_items.jsonl) and the bench that asks them
(bench/known_items.py): the file is sound, its targets are real papers of the 83k corpus that
the seeded draw picks, no question gives its target's title away, and the bench measures
ranks through paperscope's own search, with its fusion overrides reaching the search."""

from __future__ import annotations

import collections
import json
import re
from pathlib import Path

import pytest
from bench.known_items import (
    CORPUS,
    SPLITS,
    STYLES,
    load_questions,
    main,
    pick_targets,
    read_corpus,
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
        for mode in ("lexical", "dense", "hybrid"):
            # 126 papers on 126 different subjects: a question that cannot find its own
            # among them does not identify it.
            assert report["splits"][split]["modes"][mode]["recall@10"] >= 0.9, (split, mode)

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
