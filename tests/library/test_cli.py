"""`paperscope collections import`: a member's Zotero export into their collection, from
the command line, on the store and keyword index the server reads."""

from __future__ import annotations

import json
from datetime import datetime

from typer.testing import CliRunner

from paperscope.cli import app
from tests.library.conftest import FIXTURES, GAMETALK

runner = CliRunner()


def test_the_cli_imports_into_a_collection_by_name_and_lists_what_was_not_found(
    settings, store, library_search, monkeypatch
):
    monkeypatch.setenv("PAPERSCOPE_DATA_DIR", str(settings.data_dir))
    member, _ = store.accounts.ensure("reader@example.org", datetime(2026, 1, 1))
    bib = str(FIXTURES / "zotero.bib")
    args = ["collections", "import", bib, "--member", "reader@example.org"]

    made = runner.invoke(app, [*args, "--collection", "From  Zotero"])
    assert made.exit_code == 0, made.output
    lines = made.output.splitlines()
    assert (
        f"by DOI           {GAMETALK}  GameTalk: Training LLMs for Strategic Conversation" in lines
    )
    assert "not found        Deep Learning (2016)" in lines
    assert lines[-1] == (
        "4 matched (1 by arXiv id, 1 by DOI, 2 by title), 3 not found; 4 added to “From Zotero”"
    )

    again = runner.invoke(app, [*args, "--collection", "From Zotero", "--json"])
    assert again.exit_code == 0, again.output
    report = json.loads(again.output)
    assert report["added"] == 0 and report["format"] == "bibtex"
    assert [e["matched_by"] for e in report["entries"]][:4] == ["arxiv id", "doi", "title", "title"]
    assert [c.name for c in store.collections.of_member(member.id)] == ["From Zotero"]

    stranger = ["collections", "import", bib, "--member", "nobody@example.org"]
    unknown = runner.invoke(app, [*stranger, "--collection", "X"])
    assert unknown.exit_code == 1 and "no member nobody@example.org" in unknown.output
    json_file = str(FIXTURES / "zotero.json")
    broken = runner.invoke(
        app, [*args[:2], json_file, *args[3:], "--collection", "Y", "--format", "ris"]
    )
    assert broken.exit_code == 1 and "not a RIS file" in broken.output
    assert [c.name for c in store.collections.of_member(member.id)] == ["From Zotero"]
