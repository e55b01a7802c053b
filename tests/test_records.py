from datetime import datetime

import pytest

from paperscope.records import BadRecord, find_code_links, make_record


def record(**overrides):
    fields = {
        "id": "2401.04122v3",
        "title": "  From Prompt Engineering\n  to Prompt Science ",
        "abstract": "As LLMs make their way\ninto research.",
        "authors": ["Chirag Shah"],
        "categories": ["cs.HC", "cs.AI"],
        "published": "2024-01-01 01:37:36 UTC",
        "updated": "2024-05-10 03:50:26 UTC",
    }
    return make_record(**(fields | overrides))


def test_normalises_id_title_and_times():
    paper = record()
    assert (paper.id, paper.version) == ("2401.04122", 3)
    assert paper.title == "From Prompt Engineering to Prompt Science"
    assert paper.abstract == "As LLMs make their way\ninto research."  # line breaks kept
    assert paper.published == datetime(2024, 1, 1, 1, 37, 36)
    assert paper.primary_category == "cs.HC"


def test_html_like_title_words_are_kept_verbatim():
    assert record(title="How <SEG> Token Works").title == "How <SEG> Token Works"


def test_msc_and_acm_classes_are_not_taken_for_categories():
    paper = record(categories=["cs.CL", "68T50", "I.2.7", "q-bio.NC"])
    assert paper.categories == ("cs.CL", "q-bio.NC")


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"title": "  "}, "missing title"),
        ({"title": None}, "missing title"),
        ({"title": "x" * 5000}, "title has"),
        ({"abstract": "x" * 200_000}, "abstract has"),
        ({"authors": "Chirag Shah"}, "authors is str"),
        ({"authors": ["a"] * 6000}, "6,000 authors"),
        ({"id": "not-an-id"}, "not an arXiv id"),
        ({"published": "yesterday"}, "unreadable date"),
    ],
)
def test_unusable_records_say_why(overrides, reason):
    with pytest.raises(BadRecord, match=reason):
        record(**overrides)


def test_control_characters_are_removed():
    assert record(title="Bad\x00 ti\x1btle").title == "Bad title"


def test_code_links_found_in_abstract_and_comment_even_across_line_breaks():
    links = find_code_links(
        "Code: https://github.com/openai/\ngpt-2. See also github.com/foo/bar.git.",
        "Project at https://gitlab.com/group/proj/-/tree/main), https://github.com/features",
    )
    assert links == (
        "https://github.com/openai/gpt-2",
        "https://github.com/foo/bar",
        "https://gitlab.com/group/proj/-/tree/main",
    )


def test_code_links_found_whatever_the_case_of_the_host_and_none_without_one():
    assert find_code_links("Code at GitHub.com/Org/Repo.") == ("https://github.com/Org/Repo",)
    assert find_code_links("No code: see the github page of the authors.") == ()


def test_content_hash_changes_with_content_only():
    assert record().content_hash == record().content_hash
    assert record().content_hash != record(abstract="Other").content_hash
