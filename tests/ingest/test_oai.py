"""OAI-PMH harvesting against a real HTTP server that answers like arXiv."""

from __future__ import annotations

from datetime import date

import pytest

from paperscope.ingest.arxiv_http import ArxivError
from paperscope.ingest.oai import OaiError, harvest
from paperscope.store import Store, open_store
from tests.ingest.fake_arxiv import (
    COMPLETE_LIST_SIZE,
    MALFORMED_PAGE,
    PAGE_2_TOKEN,
    PAGE_3_TOKEN,
    SEG_TITLE,
    STORED_IDS,
    FakeArxiv,
    Reply,
    Request,
    oai_error,
    unavailable,
)

SOURCE = "oai:cs"
FIRST_DAY = date(2024, 1, 10)  # the fake's responseDate


def stored_ids(store: Store) -> list[str]:
    return sorted(paper.id for paper in store.papers.iter_all())


def fail_on_page_2(fake: FakeArxiv, reply: Reply) -> None:
    answer = fake.handlers["/oai"]

    def handler(request: Request) -> Reply:
        if request.params.get("resumptionToken") == PAGE_2_TOKEN:
            return reply
        return answer(request)

    fake.handlers["/oai"] = handler


def test_full_harvest_follows_the_token_chain_and_stores_every_good_record(
    fake_arxiv, arxiv_settings, store, sleeps
):
    report = harvest(store, arxiv_settings, "cs", from_date=date(2024, 1, 1), sleep=sleeps)

    assert stored_ids(store) == sorted(STORED_IDS)
    assert report.read == 5
    assert report.stored.inserted == 5
    assert [r.params for r in fake_arxiv.requests_to("/oai")] == [
        {"verb": "ListRecords", "metadataPrefix": "arXiv", "set": "cs", "from": "2024-01-01"},
        {"verb": "ListRecords", "resumptionToken": PAGE_2_TOKEN},
        {"verb": "ListRecords", "resumptionToken": PAGE_3_TOKEN},
    ]
    assert all("paperscope" in r.headers["user-agent"] for r in fake_arxiv.requests)
    state = store.harvests.state(SOURCE)
    assert state.harvested_until == FIRST_DAY
    assert state.resumption_token is None


def test_records_are_parsed_from_the_arxiv_metadata_format(arxiv_settings, store, sleeps):
    harvest(store, arxiv_settings, "cs", sleep=sleeps)

    seg = store.papers.get("2401.00002")
    assert seg.title == SEG_TITLE  # "<SEG>" arrives escaped as &lt;SEG&gt; and is kept as text
    assert seg.authors == ["Xin Lai", "Jiaya Jia"]
    assert seg.categories == ["cs.CV", "cs.AI"]
    assert seg.primary_category == "cs.CV"
    assert seg.comment == "12 pages, 5 figures; CVPR 2024"
    assert seg.journal_ref == "Proc. CVPR 2024, 1-12"
    assert seg.doi == "10.1109/CVPR.2024.00001"
    assert seg.version is None  # the arXiv format does not say which version it describes
    assert (seg.published.date(), seg.updated.date()) == (date(2024, 1, 2), date(2024, 1, 5))

    first = store.papers.get("2401.00001")
    assert first.title == "Attention Is Not All You Need"
    assert first.updated == first.published  # never updated: updated is the creation day
    assert first.code_links == ["https://github.com/example/attention"]

    old_style = store.papers.get("hep-th/9901001")
    assert old_style.authors == ["Juan M. Maldacena", "Edward Witten Jr"]
    assert store.papers.get("2401.00005").authors == ["ATLAS Collaboration"]


def test_deleted_and_broken_records_are_left_out_and_the_broken_one_reported(
    arxiv_settings, store, sleeps
):
    report = harvest(store, arxiv_settings, "cs", sleep=sleeps)

    assert store.papers.get("2401.00003") is None  # deleted upstream
    assert store.papers.get("2401.00004") is None  # no title
    assert report.skipped_count == 1
    assert report.skipped[0].where == "oai oai:arXiv.org:2401.00004"
    assert report.skipped[0].reason == "missing title"


def test_progress_counts_records_against_complete_list_size(arxiv_settings, store, sleeps):
    seen = []
    harvest(
        store,
        arxiv_settings,
        "cs",
        on_progress=lambda done, total, report: seen.append((done, total, report.read)),
        sleep=sleeps,
    )

    total = float(COMPLETE_LIST_SIZE)
    assert seen == [(3.0, total, 3), (6.0, total, 4), (7.0, total, 5)]


def test_until_is_sent_and_becomes_harvested_until(fake_arxiv, arxiv_settings, store, sleeps):
    harvest(store, arxiv_settings, "cs", date(2024, 1, 1), date(2024, 1, 7), sleep=sleeps)

    assert fake_arxiv.requests_to("/oai")[0].params["until"] == "2024-01-07"
    assert store.harvests.state(SOURCE).harvested_until == date(2024, 1, 7)


def test_second_harvest_starts_from_the_stored_day_and_changes_nothing(
    fake_arxiv, arxiv_settings, store, sleeps
):
    harvest(store, arxiv_settings, "cs", sleep=sleeps)
    assert "from" not in fake_arxiv.requests_to("/oai")[0].params  # first run: everything
    before = [paper.as_json() for paper in store.papers.iter_all()]
    fake_arxiv.requests.clear()

    report = harvest(store, arxiv_settings, "cs", sleep=sleeps)

    assert fake_arxiv.requests_to("/oai")[0].params["from"] == FIRST_DAY.isoformat()
    assert (report.stored.inserted, report.stored.updated, report.stored.unchanged) == (0, 0, 5)
    assert [paper.as_json() for paper in store.papers.iter_all()] == before


def test_503_with_retry_after_is_waited_out(fake_arxiv, arxiv_settings, store, sleeps):
    fake_arxiv.script(unavailable("7"), unavailable("2"))

    harvest(store, arxiv_settings, "cs", sleep=sleeps)

    assert sleeps.calls == [7.0, 2.0]
    assert len(fake_arxiv.requests_to("/oai")) == 5
    assert stored_ids(store) == sorted(STORED_IDS)


def test_retry_after_is_capped(fake_arxiv, arxiv_settings, store, sleeps):
    capped = arxiv_settings.model_copy(update={"arxiv_max_retry_after_s": 30})
    fake_arxiv.script(unavailable("86400"))

    harvest(store, capped, "cs", sleep=sleeps)

    assert sleeps.calls == [30.0]


def test_requests_are_spaced_by_the_configured_delay(arxiv_settings, store, sleeps):
    polite = arxiv_settings.model_copy(update={"arxiv_request_delay_s": 3})

    harvest(store, polite, "cs", sleep=sleeps)

    assert len(sleeps.calls) == 2  # before pages 2 and 3, none before the first request
    assert all(2.5 < seconds <= 3.0 for seconds in sleeps.calls)


def test_too_many_503s_give_up_clearly_and_keep_what_was_stored(
    fake_arxiv, arxiv_settings, store, sleeps
):
    fail_on_page_2(fake_arxiv, unavailable("1"))

    with pytest.raises(ArxivError, match=r"after 4 tries \(last: HTTP 503\)"):
        harvest(store, arxiv_settings, "cs", sleep=sleeps)

    assert sleeps.calls == [1.0, 1.0, 1.0]  # arxiv_max_retries=3
    assert stored_ids(store) == ["2401.00001", "2401.00002", "hep-th/9901001"]
    state = store.harvests.state(SOURCE)
    assert state.resumption_token == PAGE_2_TOKEN
    assert state.harvested_until is None


def test_malformed_xml_is_a_clear_error_and_earlier_pages_are_kept(
    fake_arxiv, arxiv_settings, store, sleeps
):
    fail_on_page_2(fake_arxiv, Reply(body=MALFORMED_PAGE))

    with pytest.raises(ArxivError, match="malformed XML") as error:
        harvest(store, arxiv_settings, "cs", sleep=sleeps)

    assert fake_arxiv.oai_url in str(error.value)
    assert stored_ids(store) == ["2401.00001", "2401.00002", "hep-th/9901001"]
    assert store.harvests.state(SOURCE).resumption_token == PAGE_2_TOKEN


def test_interrupted_harvest_resumes_from_the_saved_token(
    fake_arxiv, arxiv_settings, store, sleeps
):
    fail_on_page_2(fake_arxiv, unavailable("1"))
    with pytest.raises(ArxivError):
        harvest(store, arxiv_settings, "cs", sleep=sleeps)
    fake_arxiv.handlers["/oai"] = fake_arxiv.answer_oai
    fake_arxiv.requests.clear()

    harvest(store, arxiv_settings, "cs", sleep=sleeps)

    assert [r.params for r in fake_arxiv.requests_to("/oai")] == [
        {"verb": "ListRecords", "resumptionToken": PAGE_2_TOKEN},
        {"verb": "ListRecords", "resumptionToken": PAGE_3_TOKEN},
    ]
    uninterrupted = open_store(
        arxiv_settings.model_copy(update={"data_dir": arxiv_settings.data_dir / "b"})
    )
    harvest(uninterrupted, arxiv_settings, "cs", sleep=sleeps)
    assert [p.as_json() for p in store.papers.iter_all()] == [
        p.as_json() for p in uninterrupted.papers.iter_all()
    ]
    resumed, straight = store.harvests.state(SOURCE), uninterrupted.harvests.state(SOURCE)
    assert (resumed.harvested_until, resumed.resumption_token) == (FIRST_DAY, None)
    assert (straight.harvested_until, straight.resumption_token) == (FIRST_DAY, None)


def test_expired_saved_token_restarts_the_saved_window(fake_arxiv, arxiv_settings, store, sleeps):
    store.harvests.save(
        SOURCE,
        harvested_until=date(2023, 12, 1),
        resumption_token="6960524|99001",
        resumption_from=date(2023, 12, 1),
        resumption_until=date(2024, 1, 9),
    )

    harvest(store, arxiv_settings, "cs", sleep=sleeps)

    assert [r.params for r in fake_arxiv.requests_to("/oai")][:2] == [
        {"verb": "ListRecords", "resumptionToken": "6960524|99001"},
        {
            "verb": "ListRecords",
            "metadataPrefix": "arXiv",
            "set": "cs",
            "from": "2023-12-01",
            "until": "2024-01-09",
        },
    ]
    assert stored_ids(store) == sorted(STORED_IDS)
    assert store.harvests.state(SOURCE).harvested_until == date(2024, 1, 9)


def test_bad_token_in_a_fresh_harvest_is_an_error(fake_arxiv, arxiv_settings, store, sleeps):
    del fake_arxiv.oai_pages[PAGE_2_TOKEN]

    with pytest.raises(OaiError, match="badResumptionToken") as error:
        harvest(store, arxiv_settings, "cs", sleep=sleeps)

    assert error.value.code == "badResumptionToken"


def test_no_records_match_is_an_empty_harvest(fake_arxiv, arxiv_settings, store, sleeps):
    fake_arxiv.handlers["/oai"] = lambda request: oai_error(
        request, "noRecordsMatch", "No records match"
    )

    report = harvest(store, arxiv_settings, "cs", from_date=date(2024, 1, 9), sleep=sleeps)

    assert report.read == 0
    assert store.papers.count() == 0
    assert store.harvests.state(SOURCE).harvested_until == FIRST_DAY


def test_other_oai_errors_are_reported_with_their_code(fake_arxiv, arxiv_settings, store, sleeps):
    fake_arxiv.handlers["/oai"] = lambda request: oai_error(request, "badArgument", "Illegal set")

    with pytest.raises(OaiError, match=r"badArgument.*Illegal set"):
        harvest(store, arxiv_settings, "nonsense", sleep=sleeps)

    assert store.harvests.state("oai:nonsense") is None
