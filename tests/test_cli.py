import gzip
import itertools
import json
import re
from datetime import datetime

import pytest
from typer.testing import CliRunner

from paperscope.cli import app
from tests.conftest import DEMO_CORPUS, MODELS_DIR

runner = CliRunner()


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PAPERSCOPE_DATA_DIR", str(tmp_path / "data"))
    # No embedding model here: these tests cover the keyword-only path; tests/search the rest.
    monkeypatch.setenv("PAPERSCOPE_MODELS_DIR", str(tmp_path / "no-models"))
    return tmp_path / "data"


def run(*args):
    return runner.invoke(app, list(args))


def test_ingest_then_show_a_paper_and_stats_as_json():
    result = run("ingest", str(DEMO_CORPUS), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["inserted"] == 3622 and report["skipped"] == 0

    paper = json.loads(run("paper", "arXiv:2501.08549v1", "--json").stdout)
    assert paper["id"] == "2501.08549"
    assert (
        paper["title"]
        == "The Devil is in Temporal Token: High Quality Video Reasoning Segmentation"
    )
    assert paper["authors"][0] == "Sitong Gong"
    assert paper["published"] == "2025-01-15T03:17:24Z"
    assert paper["pdf_url"] == "https://arxiv.org/pdf/2501.08549"

    stats = json.loads(run("stats", "--json").stdout)
    assert stats["papers"] == 3622

    again = json.loads(run("ingest", str(DEMO_CORPUS), "--json").stdout)
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 3622)


def test_human_readable_paper_output_shows_markup_like_text_verbatim():
    run("ingest", str(DEMO_CORPUS))
    result = run("paper", "2501.08549")
    assert result.exit_code == 0
    assert "frame-level <SEG> and temporal-level <TAK> tokens" in " ".join(result.stdout.split())


def test_index_into_a_log_file_says_how_far_it_is(minilm, tmp_path, monkeypatch):
    """`paperscope index > index.log` (stderr no terminal, as scripts/run starts it) writes
    plain lines with counts while it works, not one bar at the end."""
    monkeypatch.setenv("PAPERSCOPE_MODELS_DIR", str(MODELS_DIR))
    monkeypatch.setenv("PAPERSCOPE_PROGRESS_LOG_EVERY_S", "0.05")
    papers = tmp_path / "papers.jsonl"
    with gzip.open(DEMO_CORPUS, "rb") as demo:
        papers.write_bytes(b"".join(itertools.islice(demo, 200)))
    assert run("ingest", str(papers), "--no-index").exit_code == 0

    result = run("index")
    assert result.exit_code == 0, result.output
    lines = [re.sub(r"^\d\d:\d\d:\d\d ", "", line) for line in result.stderr.splitlines()]
    assert "lexical index: 200 of 200 papers (100%)" in "\n".join(lines)
    embedding = [line for line in lines if line.startswith("embedding papers: ")]
    counts = [int(line.split()[2].replace(",", "")) for line in embedding]
    assert counts[0] == 0 and counts[-1] == 200 and counts == sorted(counts)
    assert any(0 < count < 200 for count in counts), lines  # said while it ran
    moving = [line for line, count in zip(embedding, counts, strict=True) if 0 < count < 200]
    assert all(re.search(r", [\d,]+/s, about .+ left$", line) for line in moving), moving
    assert re.search(r"200 of 200 papers \(100%\), done in \d+", embedding[-1])
    assert re.fullmatch(r"dense index: done in \d+ s", lines[-2])  # one step: nothing to count
    assert lines[-1] == "lexical indexed 200, lexical removed 0, embedded 200, dense vectors 200"


def test_search_prints_a_json_array_and_says_when_it_is_keywords_only():
    run("ingest", str(DEMO_CORPUS))
    result = run("search", "temporal token video reasoning segmentation", "--json", "-n", "3")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert hits[0]["id"] == "2501.08549"
    assert {"id", "title", "score", "explanation"} <= hits[0].keys()
    said = " ".join(result.stderr.split())
    assert "Semantic search needs the embedding model: run `paperscope models install`" in said
    assert "Until then results match words only." in said


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("paper", "not-an-id"), "not an arXiv id"),
        (("paper", "2401.99999"), "paper 2401.99999 is not in the store"),
        (("ingest", "/no/such/file.jsonl"), "no such file: /no/such/file.jsonl"),
        (("harvest", "--set", "cs", "--from", "31/01/2024"), "--from must be a date"),
        (("search", "  "), "empty query"),
        (("search", '"unclosed'), "unclosed quote"),
        (("search", "x", "--mode", "magic"), "--mode must be one of"),
    ],
)
def test_errors_are_one_clear_line_and_a_nonzero_exit(args, message):
    result = run(*args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--port", "70000"), "less than or equal to 65535"),
        (("--port", "-1"), "greater than or equal to 0"),
        (("--workers", "0"), "greater than or equal to 1"),
    ],
)
def test_serve_refuses_a_port_or_worker_count_out_of_range(args, message):
    result = run("serve", *args)
    assert result.exit_code == 2
    assert f"Invalid value for '{args[0]}'" in result.output and message in result.output
    assert "Traceback" not in result.output


def test_users_add_makes_the_first_curator_and_tokens_create_prints_one_on_its_last_line():
    made = run(
        "users", "add", "Curator@Example.org", "--name", "Chief Curator", "--role", "curator"
    )
    assert made.exit_code == 0, made.output
    assert "added curator@example.org as @chief-curator (curator)" in made.stdout
    again = run("users", "add", "curator@example.org")  # no --role: the role stays
    assert "updated" in again.stdout and "(curator)" in again.stdout
    assert run("users", "add", "x@example.org", "--role", "admin").exit_code != 0
    assert run("users", "add", "not-an-address").exit_code == 1

    created = run("tokens", "create", "curator@example.org")
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("ps_") and len(token) > 40

    from paperscope.settings import Settings
    from paperscope.store import open_store

    store = open_store(Settings())
    member = store.accounts.token_member(token, datetime(2026, 1, 1))
    assert member.email == "curator@example.org" and member.is_curator
    missing = run("tokens", "create", "nobody@example.org")
    assert missing.exit_code == 1 and "users add" in missing.output
