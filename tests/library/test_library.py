"""Importing a member's library file into a collection, on the real store and keyword
index: what matches how, what is reported missing, and that an import is all or nothing
and adds nothing the second time."""

from __future__ import annotations

from datetime import datetime

import pytest

from paperscope.community import Refused
from paperscope.errors import TooLarge
from paperscope.library import TooManyEntries, UnreadableLibrary
from paperscope.library.csl_json import write as csl_json
from paperscope.library.ris import write as ris
from tests.library.conftest import GAMETALK, fixture

SHAH = "2401.04122"
NAVIDA = "2601.18188"
ASR = "2601.19945"


@pytest.fixture
def member(store):
    found, _ = store.accounts.ensure("reader@example.org", datetime(2026, 1, 1))
    return found


@pytest.mark.parametrize("name", ["zotero.bib", "zotero.ris", "zotero.json"])
def test_a_zotero_export_matches_by_id_doi_and_title_and_names_what_is_missing(
    library, member, store, name
):
    report = library.import_file(member, fixture(name), new_collection="From Zotero")

    assert [(m.paper_id, m.how) for m in report.matches] == [
        (SHAH, "arxiv id"),
        (GAMETALK, "doi"),
        (NAVIDA, "title"),  # \textsc{{NaVIDA}} in the .bib
        (ASR, "title"),  # Anamnesegespr{\"a}chen in the .bib
        (None, None),  # Attention Is All You Need: its arXiv id is not stored here
        (None, None),  # a book
        (None, None),  # the right title, but 2015: years before the paper existed
    ]
    assert [m.entry.title for m in report.not_found] == [
        "Attention Is All You Need",
        "Deep Learning",
        "Generating Literature-Driven Scientific Theories at Scale",
    ]
    assert report.summary == (
        "4 matched (1 by arXiv id, 1 by DOI, 2 by title), 3 not found; 4 added to “From Zotero”"
    )
    held = [p.id for p in store.collections.papers(report.collection.id)]
    assert held == [SHAH, GAMETALK, NAVIDA, ASR]  # in the file's order
    assert report.collection.user_id == member.id and report.collection.size == 4


def test_importing_again_adds_nothing_and_into_an_existing_collection_adds_the_rest(
    library, member, store
):
    first = library.import_file(member, fixture("zotero.bib"), new_collection="Mine")
    again = library.import_file(member, fixture("zotero.bib"), collection_id=first.collection.id)
    assert again.added == 0 and len(again.matched) == 4
    assert again.collection.size == 4

    more = (
        b"@misc{x, title={Whatever}, eprint={2601.16282}, archivePrefix={arXiv}}\n"
        b"@misc{y, title={From Prompt Engineering to Prompt Science With Human in the Loop}}"
    )
    added = library.import_file(member, more, collection_id=first.collection.id)
    assert [(m.paper_id, m.how) for m in added.matches] == [
        ("2601.16282", "arxiv id"),
        (SHAH, "title"),
    ]
    assert added.added == 1 and added.collection.size == 5


def test_a_refused_file_writes_nothing_not_even_the_new_collection(library, member, store):
    broken = fixture("zotero.bib") + b"\n@misc{broken, title = {Unclosed\n"
    with pytest.raises(UnreadableLibrary):
        library.import_file(member, broken, new_collection="Half")
    assert store.collections.of_member(member.id) == []

    existing = library.import_file(member, b"@misc{a, eprint={2401.04122}}", new_collection="A")
    too_many = b"".join(b"@misc{k%d, title={T}}\n" % n for n in range(3))
    library.settings.library_import_max_entries = 2
    with pytest.raises(TooManyEntries):
        library.import_file(member, too_many, collection_id=existing.collection.id)
    library.settings.library_import_max_bytes = 1_000
    with pytest.raises(TooLarge):
        library.import_file(member, b" " * 1_001, collection_id=existing.collection.id)
    assert [p.id for p in store.collections.papers(existing.collection.id)] == [SHAH]


def test_one_member_cannot_import_into_anothers_collection_or_reuse_a_name(library, member, store):
    other, _ = store.accounts.ensure("other@example.org", datetime(2026, 1, 1))
    theirs = library.import_file(other, b"@misc{a, eprint={2401.04122}}", new_collection="T")
    with pytest.raises(Refused) as refused:
        library.import_file(member, fixture("zotero.bib"), collection_id=theirs.collection.id)
    assert refused.value.status == 404
    library.import_file(member, fixture("zotero.bib"), new_collection="Same")
    with pytest.raises(Refused) as refused:
        library.import_file(member, fixture("zotero.bib"), new_collection="Same")
    assert refused.value.status == 409
    assert [p.id for p in store.collections.papers(theirs.collection.id)] == [SHAH]


@pytest.mark.parametrize(("write", "fmt"), [(ris, "ris"), (csl_json, "csl-json")])
def test_an_export_imported_into_a_new_collection_gives_the_same_papers(
    library, member, store, write, fmt
):
    first = library.import_file(member, fixture("zotero.bib"), new_collection="Source")
    papers = store.collections.papers(first.collection.id)
    exported = write(papers).encode()
    copy = library.import_file(member, exported, new_collection=f"Copy {fmt}")
    assert copy.format == fmt
    assert [m.how for m in copy.matches] == ["arxiv id"] * 4
    assert {p.id for p in store.collections.papers(copy.collection.id)} == {p.id for p in papers}
