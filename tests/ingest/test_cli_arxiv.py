"""`paperscope harvest` and `paperscope fetch`, end to end against the fake arXiv."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from paperscope.cli import app
from tests.ingest.fake_arxiv import STORED_IDS, unavailable

runner = CliRunner()


@pytest.fixture(autouse=True)
def environment(monkeypatch, tmp_path, fake_arxiv):
    monkeypatch.setenv("PAPERSCOPE_DATA_DIR", str(tmp_path / "cli-data"))
    monkeypatch.setenv("PAPERSCOPE_ARXIV_OAI_URL", fake_arxiv.oai_url)
    monkeypatch.setenv("PAPERSCOPE_ARXIV_API_URL", fake_arxiv.api_url)
    monkeypatch.setenv("PAPERSCOPE_ARXIV_REQUEST_DELAY_S", "0")
    monkeypatch.setenv("PAPERSCOPE_ARXIV_MAX_RETRIES", "1")
    monkeypatch.setenv("PAPERSCOPE_ARXIV_MAX_RETRY_AFTER_S", "0")


def test_harvest_stores_the_set_and_the_next_run_is_incremental(fake_arxiv):
    result = runner.invoke(app, ["harvest", "--set", "cs", "--from", "2024-01-01", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["inserted"] == len(STORED_IDS)

    again = runner.invoke(app, ["harvest", "--set", "cs", "--json"])
    assert again.exit_code == 0, again.output
    assert fake_arxiv.requests_to("/oai")[-3].params["from"] == "2024-01-10"
    stats = json.loads(runner.invoke(app, ["stats", "--json"]).stdout)
    assert stats["papers"] == len(STORED_IDS)


def test_harvest_gives_up_with_one_clear_line_when_arxiv_stays_unavailable(fake_arxiv):
    fake_arxiv.script(*[unavailable("0")] * 5)
    result = runner.invoke(app, ["harvest", "--set", "cs", "--from", "2024-01-01"])
    assert result.exit_code == 1
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("error: arXiv did not answer")
    assert "HTTP 503" in last_line
    assert "Traceback" not in result.output


def test_fetch_stores_known_ids_and_names_the_unknown_and_malformed_ones():
    result = runner.invoke(app, ["fetch", "2401.00002", "9999.99999", "not-an-id", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["inserted"] == 1
    reasons = " ".join(s["reason"] for s in report["skipped_examples"])
    assert "unknown arXiv id 9999.99999" in reasons
    assert "not an arXiv id" in reasons
    shown = runner.invoke(app, ["paper", "2401.00002", "--json"])
    assert json.loads(shown.stdout)["version"] == 3
