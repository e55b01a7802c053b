import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime
from email.utils import parsedate_to_datetime

import pytest

from paperscope.store import StoredPaper
from paperscope.web.feeds import bibtex, bibtex_escape, bibtex_key, bibtex_list, feed

ATOM = "{http://www.w3.org/2005/Atom}"
DC = "{http://purl.org/dc/elements/1.1/}"
RFC_3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)")


def paper(paper_id: str = "1706.03762", **changes) -> StoredPaper:
    fields = {
        "id": paper_id,
        "version": 7,
        "title": "Attention Is All You Need",
        "abstract": "  The dominant sequence transduction models are based on complex\n"
        "recurrent networks.\n  We propose the Transformer, with $O(n^2)$ cost.",
        "authors": ["Ashish Vaswani", "Noam Shazeer", "Łukasz Kaiser"],
        "categories": ["cs.CL", "cs.LG"],
        "primary_category": "cs.CL",
        "comment": "15 pages",
        "journal_ref": None,
        "doi": None,
        "published": datetime(2017, 6, 12, 17, 57, 34),
        "updated": datetime(2023, 8, 2, 0, 41, 18),
        "code_links": [],
        "content_hash": "abc",
    }
    fields.update(changes)
    return StoredPaper(**fields)


def paper_url(paper_id: str) -> str:
    return f"https://papers.example.org/paper/{paper_id}"


def render_bytes(papers, kind: str, note=None) -> bytes:
    return feed(
        papers,
        title="paperscope: daily",
        link="https://papers.example.org/",
        feed_url=f"https://papers.example.org/feeds/daily.{kind}",
        description="Daily papers",
        kind=kind,
        paper_url=paper_url,
        note=note,
    )


def render(papers, kind: str) -> ET.Element:
    body = render_bytes(papers, kind)
    assert isinstance(body, bytes)
    return ET.fromstring(body)


NASTY_TITLE = "How <SEG> Token Works & Why\x00\x0b it\ud800 Matters"


def test_rss_items_carry_the_papers() -> None:
    rss = render([paper(), paper("hep-th/9901001", title=NASTY_TITLE)], "rss")
    channel = rss.find("channel")
    assert channel.findtext("title") == "paperscope: daily"
    assert channel.findtext("link") == "https://papers.example.org/"
    first, second = channel.findall("item")

    assert first.findtext("title") == "Attention Is All You Need"
    assert first.findtext("link") == paper_url("1706.03762")
    guid = first.find("guid")
    assert guid.text == paper_url("1706.03762")
    assert guid.get("isPermaLink") == "true"
    assert first.findtext("description") == (
        "The dominant sequence transduction models are based on complex recurrent networks."
        "\n\nWe propose the Transformer, with O(n²) cost."
    )
    creators = [node.text for node in first.findall(f"{DC}creator")]
    assert creators == ["Ashish Vaswani", "Noam Shazeer", "Łukasz Kaiser"]
    assert [node.text for node in first.findall("category")] == ["cs.CL", "cs.LG"]
    assert parsedate_to_datetime(first.findtext("pubDate")) == datetime.fromisoformat(
        "2017-06-12T17:57:34+00:00"
    )

    assert second.findtext("title") == "How <SEG> Token Works & Why it Matters"
    assert second.findtext("guid") == paper_url("hep-th/9901001")


def test_rss_channel_date_is_the_newest_paper() -> None:
    newer = paper("2501.08549", updated=datetime(2025, 1, 15, 9, 0))
    channel = render([paper(), newer], "rss").find("channel")
    assert parsedate_to_datetime(channel.findtext("lastBuildDate")) == datetime.fromisoformat(
        "2025-01-15T09:00:00+00:00"
    )


def test_atom_entries_carry_the_papers() -> None:
    atom = render([paper(), paper("2501.08549", title=NASTY_TITLE)], "atom")
    assert atom.tag == f"{ATOM}feed"
    assert atom.findtext(f"{ATOM}id") == "https://papers.example.org/feeds/daily.atom"
    assert atom.findtext(f"{ATOM}updated") == "2023-08-02T00:41:18+00:00"
    first, second = atom.findall(f"{ATOM}entry")

    assert first.findtext(f"{ATOM}id") == paper_url("1706.03762")
    assert first.find(f"{ATOM}link").get("href") == paper_url("1706.03762")
    names = [node.findtext(f"{ATOM}name") for node in first.findall(f"{ATOM}author")]
    assert names == ["Ashish Vaswani", "Noam Shazeer", "Łukasz Kaiser"]
    assert first.findtext(f"{ATOM}summary").endswith("with O(n²) cost.")
    assert [c.get("term") for c in first.findall(f"{ATOM}category")] == ["cs.CL", "cs.LG"]
    for tag in ("updated", "published"):
        assert RFC_3339.fullmatch(first.findtext(f"{ATOM}{tag}"))
    assert first.findtext(f"{ATOM}published") == "2017-06-12T17:57:34+00:00"

    assert second.findtext(f"{ATOM}title") == "How <SEG> Token Works & Why it Matters"


def test_papers_without_dates_still_make_a_valid_feed() -> None:
    undated = paper(published=None, updated=None, abstract="", authors=[], categories=[])
    atom = render([undated], "atom")
    entry = atom.find(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}updated") == "1970-01-01T00:00:00+00:00"
    assert entry.find(f"{ATOM}published") is None
    assert entry.find(f"{ATOM}author") is None
    item = render([undated], "rss").find("channel/item")
    assert item.find("pubDate") is None
    assert item.findtext("title") == "Attention Is All You Need"


def test_only_published_date_is_used_for_both() -> None:
    entry = render([paper(updated=None)], "atom").find(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}updated") == "2017-06-12T17:57:34+00:00"


@pytest.mark.parametrize("kind", ["rss", "atom"])
def test_an_empty_feed_is_valid_and_stable(kind: str) -> None:
    root = render([], kind)
    if kind == "rss":
        assert root.find("channel/item") is None
        date = parsedate_to_datetime(root.findtext("channel/lastBuildDate"))
        assert date == datetime.fromisoformat("1970-01-01T00:00:00+00:00")
    else:
        assert root.find(f"{ATOM}entry") is None
        assert root.findtext(f"{ATOM}updated") == "1970-01-01T00:00:00+00:00"


def test_an_untitled_paper_is_titled_by_its_id() -> None:
    item = render([paper(title=" \x00 ")], "rss").find("channel/item")
    assert item.findtext("title") == "1706.03762"


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="rss"):
        render([], "xml")


# -- JSON Feed 1.1 -------------------------------------------------------------------------


def check_json_feed(document: dict, feed_url: str) -> list[dict]:
    """JSON Feed 1.1's rules (https://www.jsonfeed.org/version/1.1/) for the fields paperscope
    writes; the items."""
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(document["title"], str) and document["title"]
    assert document["home_page_url"].startswith(("http://", "https://"))
    assert document["feed_url"] == feed_url
    assert isinstance(document["items"], list)
    allowed = {
        "id", "url", "external_url", "title", "content_text", "date_published",
        "date_modified", "authors", "tags",
    }  # fmt: skip
    ids = [item["id"] for item in document["items"]]
    assert len(set(ids)) == len(ids), "item ids are unique"
    for item in document["items"]:
        assert set(item) <= allowed, set(item) - allowed
        assert isinstance(item["id"], str) and item["id"]
        assert item["url"].startswith(("http://", "https://"))
        assert isinstance(item["content_text"], str)  # an item has content_text or _html
        for field in ("date_published", "date_modified"):
            if field in item:
                assert RFC_3339.fullmatch(item[field]), item[field]
        for author in item.get("authors", []):
            assert set(author) == {"name"} and author["name"]
        assert all(isinstance(tag, str) and tag for tag in item.get("tags", []))
    return document["items"]


def test_json_feed_items_carry_the_papers() -> None:
    body = render_bytes(
        [paper(), paper("hep-th/9901001", title=NASTY_TITLE, published=None, updated=None)],
        "json",
        note=lambda paper_id: "▲ 3 upvotes" if paper_id == "1706.03762" else None,
    )
    document = json.loads(body)
    first, second = check_json_feed(document, "https://papers.example.org/feeds/daily.json")
    assert document["home_page_url"] == "https://papers.example.org/"
    assert document["description"] == "Daily papers"
    assert first["id"] == first["url"] == paper_url("1706.03762")
    assert first["external_url"] == "https://arxiv.org/abs/1706.03762"
    assert first["title"] == "Attention Is All You Need"
    assert first["content_text"].startswith("The dominant sequence transduction models")
    assert first["content_text"].endswith("with O(n²) cost.\n\n▲ 3 upvotes")
    assert first["date_published"] == "2017-06-12T17:57:34+00:00"
    assert first["date_modified"] == "2023-08-02T00:41:18+00:00"
    assert first["authors"] == [
        {"name": "Ashish Vaswani"}, {"name": "Noam Shazeer"}, {"name": "Łukasz Kaiser"}
    ]  # fmt: skip
    assert first["tags"] == ["cs.CL", "cs.LG"]
    assert second["title"] == "How <SEG> Token Works & Why it Matters"
    assert "date_published" not in second
    assert second["date_modified"] == "1970-01-01T00:00:00+00:00"


def test_an_empty_json_feed_is_valid_and_stable() -> None:
    body = render_bytes([], "json")
    assert body == render_bytes([], "json")
    assert check_json_feed(json.loads(body), "https://papers.example.org/feeds/daily.json") == []


# -- BibTeX ----------------------------------------------------------------------------


def fields(entry: str) -> dict[str, str]:
    return dict(re.findall(r"^  (\w+) = \{(.*)\},$", entry, re.MULTILINE))


def test_bibtex_entry_like_arxivs_export() -> None:
    entry = bibtex(paper())
    assert entry.startswith("@misc{vaswani2017attention,\n")
    assert entry.endswith("\n}")
    assert fields(entry) == {
        "title": "{Attention Is All You Need}",
        "author": "Ashish Vaswani and Noam Shazeer and Łukasz Kaiser",
        "year": "2017",
        "eprint": "1706.03762",
        "archivePrefix": "arXiv",
        "primaryClass": "cs.CL",
        "url": "https://arxiv.org/abs/1706.03762",
    }


def test_journal_reference_makes_an_article_and_doi_is_kept_verbatim() -> None:
    entry = bibtex(paper(journal_ref="Phys. Rev. D 100 & 101 (2019)", doi="10.1103/x_y.100"))
    assert entry.startswith("@article{")
    assert fields(entry)["journal"] == r"Phys. Rev. D 100 \& 101 (2019)"
    assert fields(entry)["doi"] == "10.1103/x_y.100"


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({}, "vaswani2017attention"),
        ({"authors": ["Vaswani, Ashish"]}, "vaswani2017attention"),
        ({"authors": ["Martin Luther King Jr."]}, "king2017attention"),
        ({"authors": ["Zoë Ørsted-Müller"]}, "orstedmuller2017attention"),
        ({"authors": []}, "anon2017attention"),
        ({"title": "On the $\\alpha$-Stability of Deep Nets"}, "vaswani2017stability"),
        ({"title": "The 2 Towers of <SEG>"}, "vaswani2017towers"),
        ({"published": None, "updated": None}, "vaswani2017attention"),
    ],
)
def test_bibtex_keys(changes: dict, key: str) -> None:
    assert bibtex_key(paper(**changes)) == key


def test_key_year_of_an_old_style_id() -> None:
    old = paper("hep-th/9901001", published=None, updated=None, authors=["Edward Witten"])
    assert bibtex_key(old) == "witten1999attention"


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("R&D at 50% for #1", r"R\&D at 50\% for \#1"),
        (r"already R\&D 50\%", r"already R\&D 50\%"),
        ("snake_case and x^2", r"snake\_case and x\^{}2"),
        (r"math $x_1^2$ stays", r"math $x_1^2$ stays"),
        ("costs $5", r"costs \$5"),
        (r"{BERT} keeps \textbf{braces}", r"{BERT} keeps \textbf{braces}"),
        ("unbalanced {brace", r"unbalanced \{brace"),
        ("wrong } order {", r"wrong \} order \{"),
        ("ends in \\", r"ends in \textbackslash{}"),
        (r"Schr\"odinger", r"Schr\"odinger"),
        ("a\n  b\x00c", "a bc"),
    ],
)
def test_bibtex_escaping(text: str, escaped: str) -> None:
    assert bibtex_escape(text) == escaped


def test_escaped_title_cannot_break_the_entry() -> None:
    entry = bibtex(paper(title="Nasty } title { with \\", authors=["A. Smith and Sons"]))
    title = fields(entry)["title"]
    assert title == r"{Nasty \} title \{ with \textbackslash{}}"
    assert fields(entry)["author"] == "{A. Smith and Sons}"
    depth = 0
    for token in re.findall(r"\\.|[{}]", entry):
        depth += (token == "{") - (token == "}")
        assert depth >= 0
    assert depth == 0


def test_bibtex_list_makes_keys_unique() -> None:
    papers = [
        paper(),
        paper("1706.03763"),
        paper("2501.08549", title="Graph Networks", published=datetime(2025, 1, 14)),
        paper("1706.03764"),
    ]
    listing = bibtex_list(papers)
    keys = re.findall(r"^@\w+\{([^,]+),$", listing, re.MULTILINE)
    assert keys == [
        "vaswani2017attention",
        "vaswani2017attentiona",
        "vaswani2025graph",
        "vaswani2017attentionb",
    ]
    assert listing.count("\n\n@") == 3
    assert listing.split("\n\n")[1] == bibtex(papers[1], key="vaswani2017attentiona")


def test_bibtex_list_of_nothing() -> None:
    assert bibtex_list([]) == ""
