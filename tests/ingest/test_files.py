import gzip
import json
from datetime import datetime

import pytest
from sqlalchemy import text

from paperscope.ingest import JsonlFileSource, ingest

SHARED_RECORD = {
    "id": "2401.04122",
    "arxiv_id": "2401.04122v3",
    "title": "From Prompt Engineering to Prompt Science With Human in the Loop",
    "authors": ["Chirag Shah"],
    "abstract": "As LLMs make their way into many aspects of our lives,\none place is research.",
    "categories": ["cs.HC", "cs.AI"],
    "primary_category": "cs.HC",
    "comment": "Code at https://github.com/example/prompt-science",
    "published": "2024-01-01 01:37:36 UTC",
    "updated": "2024-05-10 03:50:26 UTC",
    "list_date": "2024-01-01",
}

KAGGLE_RECORD = {
    "id": "0704.0001",
    "submitter": "Pavel Nadolsky",
    "authors": "C. Bal\\'azs, E. L. Berger, P. M. Nadolsky, C.-P. Yuan",
    "title": "Calculation of prompt diphoton production cross sections at Tevatron"
    " and\n  LHC energies",
    "comments": "37 pages, 15 figures; published version",
    "journal-ref": "Phys.Rev.D76:013009,2007",
    "doi": "10.1103/PhysRevD.76.013009",
    "report-no": "ANL-HEP-PR-07-12",
    "categories": "hep-ph",
    "license": None,
    "abstract": "  A fully differential calculation in perturbative quantum chromodynamics"
    " is\npresented.\n",
    "versions": [
        {"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"},
        {"version": "v2", "created": "Tue, 24 Jul 2007 20:10:27 GMT"},
    ],
    "update_date": "2008-11-13",
    "authors_parsed": [
        ["Balázs", "C.", ""],
        ["Berger", "E. L.", ""],
        ["Nadolsky", "P. M.", ""],
        ["Yuan", "C. -P.", ""],
    ],
}


def write_lines(path, lines, compress=False):
    data = b"".join(line if isinstance(line, bytes) else line.encode() for line in lines)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def as_line(record):
    return json.dumps(record) + "\n"


@pytest.mark.parametrize("compress", [False, True])
def test_reads_both_formats_plain_or_gzipped_whatever_the_file_name(store, tmp_path, compress):
    path = write_lines(
        tmp_path / "papers.data", [as_line(SHARED_RECORD), as_line(KAGGLE_RECORD)], compress
    )
    report = ingest(store, JsonlFileSource(path))
    assert report.stored.inserted == 2 and report.skipped_count == 0

    shared = store.papers.get("2401.04122")
    assert shared.version == 3
    assert shared.code_links == ["https://github.com/example/prompt-science"]

    kaggle = store.papers.get("0704.0001")
    assert kaggle.version == 2
    assert kaggle.title == (
        "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    )
    assert kaggle.authors == ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan"]
    assert kaggle.published == datetime(2007, 4, 2, 19, 18, 42)
    assert kaggle.updated == datetime(2007, 7, 24, 20, 10, 27)
    assert (kaggle.journal_ref, kaggle.doi) == (
        "Phys.Rev.D76:013009,2007",
        "10.1103/PhysRevD.76.013009",
    )
    assert kaggle.categories == ["hep-ph"]
    assert kaggle.abstract.startswith("A fully differential")


def test_bad_records_are_skipped_counted_and_explained_while_the_rest_is_stored(store, tmp_path):
    good_two = SHARED_RECORD | {"id": "2401.00002", "arxiv_id": "2401.00002v1"}
    path = write_lines(
        tmp_path / "mixed.jsonl",
        [
            as_line(SHARED_RECORD),
            '{"id": "2401.00003", "title": "broken\n',  # broken JSON line
            as_line(SHARED_RECORD | {"id": "2401.00004", "title": ""}),
            b'{"id": "2401.00005", "title": "bad \xff\xfe bytes"}\n',
            as_line(SHARED_RECORD | {"id": "2401.00006", "abstract": "x" * 100_001}),
            as_line([1, 2, 3]),
            "\n",
            as_line(SHARED_RECORD | {"id": "not an id"}),
            as_line(good_two),
        ],
    )
    report = ingest(store, JsonlFileSource(path))
    assert report.stored.inserted == 2
    assert store.papers.count() == 2
    reasons = {s.where: s.reason for s in report.skipped}
    assert reasons["mixed.jsonl:2"].startswith("broken JSON")
    assert reasons["mixed.jsonl:3 (2401.00004)"] == "missing title"
    assert reasons["mixed.jsonl:4"] == "invalid UTF-8 at byte 35"
    assert "abstract has 100,001 characters" in reasons["mixed.jsonl:5 (2401.00006)"]
    assert "expected an object" in reasons["mixed.jsonl:6"]
    assert "not an arXiv id" in reasons["mixed.jsonl:8 (not an id)"]
    assert report.skipped_count == 6


def test_an_absurdly_long_line_is_skipped_without_reading_it_whole(store, tmp_path):
    huge = '{"id": "2401.00009", "title": "' + "a" * 3_000_000 + '"}\n'
    path = write_lines(tmp_path / "huge.jsonl", [huge, as_line(SHARED_RECORD)])
    report = ingest(store, JsonlFileSource(path))
    assert report.stored.inserted == 1
    assert "oversized line: 3,000,0" in report.skipped[0].reason


def test_truncated_gzip_keeps_what_was_readable(store, tmp_path):
    lines = [as_line(SHARED_RECORD | {"id": f"2401.{i:05d}"}) for i in range(2000)]
    data = gzip.compress("".join(lines).encode())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    report = ingest(store, JsonlFileSource(path))
    assert 0 < report.stored.inserted < 2000
    assert report.skipped[-1].reason.startswith("unreadable file from here on")
    assert store.papers.count() == report.stored.inserted
    if store.backend == "sqlite":
        with store.engine.connect() as connection:
            assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"


def test_older_file_after_newer_file_changes_nothing(store, tmp_path):
    newer = write_lines(tmp_path / "new.jsonl", [as_line(SHARED_RECORD)])
    older = write_lines(
        tmp_path / "old.jsonl",
        [
            as_line(
                SHARED_RECORD
                | {
                    "arxiv_id": "2401.04122v1",
                    "title": "Old title",
                    "updated": "2024-01-01 01:37:36 UTC",
                }
            )
        ],
    )
    ingest(store, JsonlFileSource(newer))
    report = ingest(store, JsonlFileSource(older))
    assert report.stored.unchanged == 1
    assert store.papers.get("2401.04122").version == 3
    report = ingest(store, JsonlFileSource(newer))
    assert (report.stored.inserted, report.stored.updated) == (0, 0)
