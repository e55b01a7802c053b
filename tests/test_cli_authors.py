"""`paperscope authors show / split / merge`: curators' commands over the configured store."""

import json

from typer.testing import CliRunner

from paperscope.cli import app
from paperscope.records import make_record
from paperscope.settings import Settings
from paperscope.store import open_store

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args))


def test_split_a_name_then_merge_two_names(settings):
    store = open_store(Settings())
    store.papers.upsert(
        [
            make_record(
                id=f"2501.0000{n}",
                title=f"Paper {n}",
                abstract="Abstract.",
                authors=authors,
                categories=["cs.LG"],
                published=f"2025-01-0{n} 00:00:00 UTC",
            )
            for n, authors in enumerate(
                [["Wei Zhang", "Ada Lovelace"], ["Wei Zhang"], ["J. Smith"], ["John Smith"]],
                start=1,
            )
        ]
    )
    store.engine.dispose()

    shown = json.loads(run("authors", "show", "wei zhang", "--json").stdout)
    assert shown["papers"] == ["2501.00002", "2501.00001"]
    split = run("authors", "split", "Wei Zhang", "--paper", "2501.00002", "--label", "Biology")
    assert split.exit_code == 0 and "Wei Zhang (2) (Biology)" in split.output
    shown = json.loads(run("authors", "show", "Wei Zhang", "--json").stdout)
    assert shown["papers"] == ["2501.00001"]
    assert [(n["name"], n["label"]) for n in shown["namesakes"]] == [("Wei Zhang (2)", "Biology")]

    assert run("authors", "merge", "J. Smith", "John Smith").exit_code == 0
    shown = json.loads(run("authors", "show", "John Smith", "--json").stdout)
    assert shown["papers"] == ["2501.00004", "2501.00003"] and shown["also_written"] == ["J. Smith"]

    wrong = run("authors", "split", "Wei Zhang", "--paper", "2501.00004", "--label", "x")
    assert wrong.exit_code == 1 and "not papers of Wei Zhang here: 2501.00004" in wrong.output
    unknown = run("authors", "show", "Nobody")
    assert unknown.exit_code == 1 and "no paper here has an author named 'Nobody'" in unknown.output
