"""Reading library files as Zotero exports them, and refusing what is not one, whole."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paperscope.errors import TooLarge
from paperscope.library import TooManyEntries, UnreadableLibrary, read_library
from paperscope.library.entries import readable_title
from paperscope.library.matching import title_key
from tests.library.conftest import fixture

# What each of the three exports of the same Zotero collection holds.
EXPECTED = [
    ("From Prompt Engineering to Prompt Science With Human in the Loop", 2024, "2401.04122", None),
    ("GameTalk: Training LLMs for Strategic Conversation", 2026, None, "10.5555/gametalk.2026.17"),
    ("NaVIDA: Vision-Language Navigation with Inverse Dynamics Augmentation", 2026, None, None),
    (
        "Benchmarking von ASR-Modellen im deutschen medizinischen Kontext: Eine "
        "Leistungsanalyse anhand von Anamnesegesprächen",
        2026,
        None,
        None,
    ),
    ("Attention Is All You Need", 2023, "1706.03762", None),
    ("Deep Learning", 2016, None, None),
    ("Generating Literature-Driven Scientific Theories at Scale", 2015, None, None),
]


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("zotero.bib", "bibtex"), ("zotero.ris", "ris"), ("zotero.json", "csl-json")],
)
def test_zoteros_three_exports_read_the_same_references(name, fmt):
    found, entries = read_library(fixture(name), None, 100)
    assert found == fmt  # told by the content
    assert [(e.title, e.year, e.arxiv_id, e.doi) for e in entries] == EXPECTED
    assert [e.position for e in entries] == list(range(1, 8))


@pytest.mark.parametrize(
    ("fields", "arxiv_id"),
    [
        ("eprint = {2401.04122v2}, archivePrefix = {arXiv}", "2401.04122"),
        ("eprint = {hep-th/9901001}, eprinttype = {arxiv}", "hep-th/9901001"),
        ("eprint = {12345678}, eprinttype = {pubmed}", None),
        ("journal = {arXiv preprint arXiv:2401.04122}", "2401.04122"),
        ("howpublished = {\\url{https://arxiv.org/pdf/2401.04122v3.pdf}}", "2401.04122"),
        ("doi = {https://doi.org/10.48550/ARXIV.2401.04122}", "2401.04122"),
        ("arxivid = {2401.04122}", "2401.04122"),
        ("url = {https://example.org/2401.04122}", None),
    ],
)
def test_an_arxiv_id_is_found_wherever_the_exporter_put_it(fields, arxiv_id):
    text = f"@article{{k, title = {{A title}}, {fields}}}"
    _, (entry,) = read_library(text.encode(), "bibtex", 10)
    assert entry.arxiv_id == arxiv_id


def test_titles_are_compared_without_latex_accents_case_or_punctuation():
    assert title_key(r"\textsc{{NaVIDA}}: {Vision}-{Language}") == "navida vision language"
    assert title_key(r"Anamnesegespr{\"a}chen") == title_key("ANAMNESEGESPRÄCHEN.")
    assert title_key(r"Na{\"\i}ve {B}ayes") == "naive bayes"
    assert title_key("SD-E$^2$: Semantic") == "sd e2 semantic"
    assert title_key("Attention is all you need") != title_key("Attention is not all you need")
    assert readable_title(r"Sch\"{o}lkopf's \emph{kernel} $\alpha$") == "Schölkopf's kernel α"


def test_a_bom_and_crlf_lines_read_as_zotero_on_windows_writes_them():
    data = "\ufeff" + fixture("zotero.ris").decode().replace("\n", "\r\n")
    _, entries = read_library(data.encode(), None, 100)
    assert [e.title for e in entries] == [t for t, *_ in EXPECTED]


@pytest.mark.parametrize(
    ("data", "fmt", "message"),
    [
        (
            b"@article{ok, title={Fine}, year=2020}\n@misc{broken, title = {Unclosed\n\n"
            b"@misc{after, title={Also fine}}",
            None,
            "malformed: entry 2 (broken) of 3",
        ),
        (b"just some words", None, "not a library file"),
        (b"@misc{a, title={" + b"{" * 100_000 + b"}", None, "nested too deeply"),
        (b"just some words", "bibtex", "no BibTeX entries"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", None, "binary file"),
        (b"caf\xe9 @article{a, title={x}}", None, "not UTF-8"),
        (b'{"items": []}', None, "CSL-JSON is a list of items"),
        (b'"a string"', "csl-json", "CSL-JSON is a list of items"),
        (b"[1, 2]", None, "item field 0"),
        (b'[{"title": {"nested": 1}}]', None, "item field 0.title"),
        (b"[{", None, "not JSON"),
        (b"TI  - No type line\nAU  - Someone\n", "ris", "not a RIS file"),
        (b"TY  - JOUR\nTI  - No end\n", None, "not a RIS file"),
        (
            b"TY  - JOUR\nTI  - One\nER  - \nTY  - JOUR\nTI  - Two, unended\n",
            None,
            "2 records start (TY) and 1 end (ER)",
        ),
        (b"   \n", None, "empty"),
        (b"@article{a, title={x}}", "endnote", "one of bibtex, ris or csl-json"),
    ],
)
def test_what_is_not_a_whole_library_file_is_refused_saying_why(data, fmt, message):
    with pytest.raises(UnreadableLibrary) as refused:
        read_library(data, fmt, 100)
    assert message in refused.value.message
    assert refused.value.status == 422


@pytest.mark.parametrize(
    "data",
    [
        "".join(f"@misc{{k{n}, title={{T{n}}}}}\n" for n in range(101)).encode(),
        "".join(f"TY  - GEN\nTI  - T{n}\nER  - \n" for n in range(101)).encode(),
        json.dumps([{"title": f"T{n}"} for n in range(101)]).encode(),
    ],
    ids=["bibtex", "ris", "csl-json"],
)
def test_more_references_than_an_import_takes_are_refused_before_they_are_read(data):
    with pytest.raises(TooManyEntries) as refused:
        read_library(data, None, 100)
    assert isinstance(refused.value, TooLarge) and refused.value.status == 413
    assert "101 references" in refused.value.message and "at most 100" in refused.value.message
    assert len(read_library(data, None, 101)[1]) == 101


_FRAGMENTS = st.sampled_from(
    [
        "@article{",
        "@misc(",
        "}",
        "{",
        ",",
        "=",
        "title = ",
        '"',
        "\\",
        '\\"{o}',
        "$",
        "%",
        "TY  - JOUR\n",
        "ER  - \n",
        "TI  - ",
        "\n",
        "[",
        "]",
        '{"title": ',
        "null",
        "@string{",
        "eprint = {2401.04122}",
        "arXiv:",
        "doi = {10.48550/arXiv.",
        "@comment{",
        "#",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    data=st.one_of(
        st.binary(max_size=400),
        st.lists(_FRAGMENTS | st.text(max_size=8), max_size=40).map("".join).map(str.encode),
    ),
    fmt=st.sampled_from([None, "bibtex", "ris", "csl-json"]),
)
def test_any_bytes_are_read_or_refused_as_input_never_crash(data, fmt):
    try:
        _, entries = read_library(data, fmt, 100)
    except (UnreadableLibrary, TooManyEntries) as refused:
        assert refused.message and refused.status in (413, 422)
    else:
        assert all(isinstance(e.title, str) for e in entries)
