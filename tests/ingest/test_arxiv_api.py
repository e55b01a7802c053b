"""Fetching papers by id from the arXiv API (Atom) against a real HTTP server."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest

from paperscope.ingest.arxiv_api import fetch_papers
from paperscope.ingest.arxiv_http import ArxivError
from paperscope.ingest.source import Skipped
from tests.ingest.fake_arxiv import SEG_TITLE, Reply, retry_at, unavailable


def test_known_ids_are_fetched_with_their_versions_and_stored(
    fake_arxiv, arxiv_settings, store, sleeps
):
    records, skipped = fetch_papers(
        arxiv_settings, ["2401.00002", "arXiv:2401.00007", "hep-th/9901001"], sleep=sleeps
    )
    store.papers.upsert(records)

    assert skipped == []
    assert [r.params for r in fake_arxiv.requests_to("/api/query")] == [
        {"id_list": "2401.00002,2401.00007,hep-th/9901001", "max_results": "3"}
    ]
    assert "paperscope" in fake_arxiv.requests[0].headers["user-agent"]
    versions = {paper.id: paper.version for paper in store.papers.get_many([r.id for r in records])}
    assert versions == {"2401.00002": 3, "2401.00007": 1, "hep-th/9901001": 2}


def test_entries_are_parsed_from_atom(arxiv_settings, sleeps):
    (paper,), _ = fetch_papers(arxiv_settings, ["2401.00002"], sleep=sleeps)

    assert paper.title == SEG_TITLE  # &lt;SEG&gt; in the feed, "<SEG>" as text, lines joined
    assert paper.abstract.startswith("We predict a $<SEG>$ token & decode masks")
    assert paper.authors == ("Xin Lai", "Jiaya Jia")
    assert paper.primary_category == "cs.CV"
    assert paper.categories == ("cs.CV", "cs.AI")  # the ACM class "I.4.6; I.2.10" is left out
    assert paper.comment == "12 pages, 5 figures; CVPR 2024"
    assert paper.journal_ref == "Proc. CVPR 2024, 1-12"
    assert paper.doi == "10.1109/CVPR.2024.00001"
    assert paper.published == datetime(2024, 1, 2, 18, 0, 1)
    assert paper.updated == datetime(2024, 2, 1, 17, 59, 58)
    assert paper.code_links == ("https://github.com/example/lisa",)


def test_seg_title_is_stored_verbatim(arxiv_settings, store, sleeps):
    records, _ = fetch_papers(arxiv_settings, ["2401.00002"], sleep=sleeps)
    store.papers.upsert(records)

    assert store.papers.get("2401.00002").title == SEG_TITLE


@pytest.mark.parametrize("as_error_entry", [True, False], ids=["error-entry", "no-entry"])
def test_unknown_ids_are_reported(fake_arxiv, arxiv_settings, sleeps, as_error_entry):
    fake_arxiv.unknown_ids_as_error_entries = as_error_entry

    records, skipped = fetch_papers(arxiv_settings, ["9999.99999", "2401.00007"], sleep=sleeps)

    assert [r.id for r in records] == ["2401.00007"]
    assert skipped == [Skipped("arxiv api", "unknown arXiv id 9999.99999")]


def test_malformed_ids_are_reported_and_never_sent(fake_arxiv, arxiv_settings, sleeps):
    records, skipped = fetch_papers(
        arxiv_settings, ["2401.00007", "not-an-id", "2401.00007v1'); DROP"], sleep=sleeps
    )

    assert [r.id for r in records] == ["2401.00007"]
    assert [s.where for s in skipped] == ["arxiv api", "arxiv api"]
    assert all(s.reason.startswith("not an arXiv id") for s in skipped)
    assert [r.params["id_list"] for r in fake_arxiv.requests] == ["2401.00007"]


def test_nothing_is_asked_when_no_id_is_valid(fake_arxiv, arxiv_settings, sleeps):
    records, skipped = fetch_papers(arxiv_settings, ["nonsense"], sleep=sleeps)

    assert (records, len(skipped), fake_arxiv.requests) == ([], 1, [])


def test_an_explicit_version_is_asked_for_and_duplicates_asked_once(
    fake_arxiv, arxiv_settings, sleeps
):
    fetch_papers(arxiv_settings, ["2401.00002v2", "2401.00002", "2401.00002v2"], sleep=sleeps)

    assert [r.params["id_list"] for r in fake_arxiv.requests] == ["2401.00002v2"]


def test_ids_are_asked_in_batches_of_100(fake_arxiv, arxiv_settings, sleeps):
    fake_arxiv.unknown_ids_as_error_entries = False
    ids = [f"2402.{n:05d}" for n in range(250)]

    _, skipped = fetch_papers(arxiv_settings, ids, sleep=sleeps)

    asked = [r.params for r in fake_arxiv.requests]
    assert [p["max_results"] for p in asked] == ["100", "100", "50"]
    assert ",".join(p["id_list"] for p in asked).split(",") == ids
    assert len(skipped) == 250


def test_retry_after_as_http_date_is_honoured(fake_arxiv, arxiv_settings, sleeps):
    fake_arxiv.script(retry_at(datetime.now(UTC) + timedelta(seconds=30)))

    records, _ = fetch_papers(arxiv_settings, ["2401.00007"], sleep=sleeps)

    assert len(records) == 1
    assert len(sleeps.calls) == 1
    assert 27 <= sleeps.calls[0] <= 31  # HTTP-dates have whole seconds


def test_connection_errors_are_retried_then_reported(arxiv_settings, sleeps):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    closed = arxiv_settings.model_copy(update={"arxiv_api_url": f"http://127.0.0.1:{port}/api"})

    with pytest.raises(ArxivError, match=r"after 4 tries \(last: ConnectError"):
        fetch_papers(closed, ["2401.00007"], sleep=sleeps)

    assert len(sleeps.calls) == 3


def test_a_request_arxiv_refuses_is_not_retried(fake_arxiv, arxiv_settings, sleeps):
    fake_arxiv.script(Reply(400, "Bad Request", content_type="text/plain"), unavailable())

    with pytest.raises(ArxivError, match="HTTP 400"):
        fetch_papers(arxiv_settings, ["2401.00007"], sleep=sleeps)

    assert (len(fake_arxiv.requests), sleeps.calls) == (1, [])


def test_a_page_that_is_not_xml_is_a_clear_error(fake_arxiv, arxiv_settings, sleeps):
    fake_arxiv.script(Reply(200, "<html><body>Maintenance", content_type="text/html"))

    with pytest.raises(ArxivError, match="malformed XML") as error:
        fetch_papers(arxiv_settings, ["2401.00007"], sleep=sleeps)

    assert fake_arxiv.api_url in str(error.value)
