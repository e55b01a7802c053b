"""Authors in the store: a name's identity, splits, merges, follows and claims, on SQLite and
PostgreSQL alike (--backend)."""

from datetime import datetime

import pytest

from paperscope.authors import AuthorService, Moved
from paperscope.errors import Forbidden, InvalidInput, NotFound
from paperscope.records import make_record
from paperscope.store.accounts import Member

AT = datetime(2026, 1, 1)


def paper(paper_id: str, authors: list[str], day: int) -> object:
    return make_record(
        id=paper_id,
        title=f"Paper {paper_id}",
        abstract="Abstract.",
        authors=authors,
        categories=["cs.LG"],
        published=f"2025-01-{day:02d} 00:00:00 UTC",
    )


@pytest.fixture
def corpus(store):
    store.papers.upsert(
        [
            paper("2501.00001", ["Wei Zhang", "Ada Lovelace"], 1),
            paper("2501.00002", ["Ada Lovelace", "wei zhang"], 2),
            paper("2501.00003", ["Wei Zhang", "Grace Hopper"], 3),
            paper("2501.00004", ["J. Smith", "Grace Hopper"], 4),
            paper("2501.00005", ["John Smith", "Ada Lovelace", "Grace Hopper"], 5),
        ]
    )
    return store


def member(store, email: str, role: str = "member") -> Member:
    return store.accounts.ensure(email, AT, role=role)[0]


def test_a_name_is_one_author_until_told_otherwise(corpus):
    authors = AuthorService(corpus)
    wei = authors.author("WEI  ZHANG")
    assert wei.key == "wei zhang"
    assert wei.name == "Wei Zhang"  # the usual spelling, not the one asked with
    page = authors.page(wei)
    assert [p.id for p in page.papers] == ["2501.00003", "2501.00002", "2501.00001"]
    assert page.total == 3
    assert [(a.name, n) for a, n in page.coauthors] == [("Ada Lovelace", 2), ("Grace Hopper", 1)]


def test_unknown_and_absurd_names_are_told_apart(corpus):
    authors = AuthorService(corpus)
    with pytest.raises(NotFound):
        authors.find("Nobody Here")
    for absurd in ("x" * 10_000, "Ada\x00Lovelace", "   ", "Ada\x1bLovelace"):
        with pytest.raises(InvalidInput):
            authors.find(absurd)
    with pytest.raises(NotFound):
        authors.find("Ada/Lovelace")


def test_a_curator_splits_a_name_and_the_rest_stays(corpus):
    authors = AuthorService(corpus)
    curator = member(corpus, "cu@example.org", "curator")
    with pytest.raises(Forbidden):
        authors.split(member(corpus, "m@example.org"), "Wei Zhang", ["2501.00003"], "Biology")
    with pytest.raises(InvalidInput):
        authors.split(curator, "Wei Zhang", ["2501.00004"], "Biology")  # not his
    other = authors.split(curator, "Wei Zhang", ["2501.00003"], "Biology")
    assert (other.name, other.label) == ("Wei Zhang (2)", "Biology")
    assert [p.id for p in authors.page(other).papers] == ["2501.00003"]
    wei = authors.page(authors.author("Wei Zhang"))
    assert [p.id for p in wei.papers] == ["2501.00002", "2501.00001"]
    assert [a.key for a in wei.namesakes] == [other.key]
    assert authors.find(other.key) == other  # its key is its address
    # The paper's author strings are unchanged; its page links the split identity.
    assert corpus.papers.get("2501.00003").authors == ["Wei Zhang", "Grace Hopper"]
    assert authors.of_paper("2501.00003")[0].author == other
    # Re-storing the paper keeps the split (positions, not rows, are assigned).
    corpus.papers.upsert([paper("2501.00003", ["Wei Zhang", "Grace Hopper", "New One"], 9)])
    assert authors.of_paper("2501.00003")[0].author == other


def test_a_curator_merges_two_names(corpus):
    authors = AuthorService(corpus)
    reader = member(corpus, "r@example.org")
    authors.follow(reader, "J. Smith")
    merged = authors.merge(None, "J. Smith", "John Smith")  # None: the command line
    assert merged.name == "John Smith"
    found = authors.find("J. Smith")
    assert isinstance(found, Moved) and found.author == merged
    page = authors.page(merged)
    assert [p.id for p in page.papers] == ["2501.00005", "2501.00004"]
    assert page.merged == ["J. Smith"]
    # The follow moved with the name.
    assert [a.key for a in authors.followed(reader)] == [merged.key]
    # A later paper under the merged name is the merged author's too.
    corpus.papers.upsert([paper("2501.00006", ["J. Smith"], 6)])
    assert authors.page(merged).total == 3
    with pytest.raises(InvalidInput):
        authors.merge(None, "J. Smith", "John Smith")  # one already


def test_follows_and_claims(corpus):
    authors = AuthorService(corpus)
    ada, curator = member(corpus, "ada@example.org"), member(corpus, "c@example.org", "curator")
    authors.follow(ada, "Grace Hopper")
    authors.follow(ada, "grace hopper")  # twice: once
    assert [a.name for a in authors.followed(ada)] == ["Grace Hopper"]
    assert authors.page(authors.author("Grace Hopper")).followers == 1
    authors.follow(ada, "Grace Hopper", following=False)
    assert authors.followed(ada) == []

    assert authors.claim(ada, "Ada Lovelace", ["2501.00001", "2501.00002"]) == 2
    assert authors.claim(ada, "Ada Lovelace", ["2501.00001"]) == 0
    with pytest.raises(InvalidInput):
        authors.claim(ada, "Ada Lovelace", ["2501.00003"])
    assert [c.paper_id for c, _, _ in authors.claims_of(ada)] == ["2501.00002", "2501.00001"]
    (lovelace, zhang) = authors.of_paper("2501.00002")
    assert [c.user_name for c in lovelace.claimed_by] == [ada.name] and zhang.claimed_by == []
    with pytest.raises(Forbidden):
        authors.unclaim(member(corpus, "x@example.org"), "2501.00001", of=ada.name)
    authors.unclaim(curator, "2501.00001", of=ada.name)
    authors.unclaim(ada, "2501.00002")
    assert authors.claims_of(ada) == []
    with pytest.raises(NotFound):
        authors.unclaim(ada, "2501.00002")


def test_followed_authors_papers_come_first_in_for_you(corpus):
    from paperscope.recommend import Recommender

    reader = member(corpus, "f@example.org")
    AuthorService(corpus).follow(reader, "Grace Hopper")
    found = Recommender(corpus, "no-model").for_members(
        [reader], corpus.papers.published_ids(None, None)
    )[reader.id]
    # No likes and no vectors: only the followed author's papers, newest first.
    assert [(r.paper_id, r.author) for r in found] == [
        ("2501.00005", "grace hopper"),
        ("2501.00004", "grace hopper"),
        ("2501.00003", "grace hopper"),
    ]
