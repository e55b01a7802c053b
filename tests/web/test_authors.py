"""Authors on the web: a page and a feed per author, following from paper and author pages
(and the API), claims on members' public pages, curators telling authors apart and merging
them, and names no author has (absurd ones included) answered with a clear 4xx."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import quote

import pytest
from defusedxml import ElementTree

from paperscope.accounts import utcnow
from paperscope.store import author_key


def url(name: str) -> str:
    return "/authors/" + quote(name, safe="")


@pytest.fixture(scope="module")
def recent(community_store):
    """The members' store's recent papers (the "for you" window's), newest first."""
    ids = community_store.papers.published_ids(utcnow() - timedelta(days=6), None)
    return sorted(community_store.papers.get_many(ids), key=lambda p: p.published, reverse=True)


def sole_author(papers, used: set[str]) -> tuple:
    """A paper with an author on no other paper here (so tests do not step on each other)."""
    counts: dict[str, int] = {}
    for paper in papers:
        for name in paper.authors:
            counts[author_key(name)] = counts.get(author_key(name), 0) + 1
    for paper in papers:
        for name in paper.authors:
            if counts[author_key(name)] == 1 and name not in used:
                used.add(name)
                return paper, name
    raise AssertionError("no author with one paper")


USED: set[str] = set()


def test_an_author_page_lists_papers_co_authors_feeds_and_says_names_are_ambiguous(people, recent):
    paper = recent[0]
    name = paper.authors[0]
    reader = people(signed_in=False)
    page = reader.client.get(url(name))
    assert page.status_code == 200, page.text
    assert f"<h1>{name}" in page.text
    assert "A name can belong to several people" in page.text
    assert f'data-id="{paper.id}"' in page.text
    for other in paper.authors[1:3]:
        assert f'href="{url(other)}"' in page.text  # co-authors link to their pages
    assert "Sign in</a> to follow" in page.text
    # Case and accents do not matter: the same author.
    assert reader.client.get(url(name.upper())).status_code == 200

    atom = reader.client.get(f"/feeds/author/{quote(name, safe='')}.atom")
    assert atom.status_code == 200 and atom.headers["content-type"].startswith(
        "application/atom+xml"
    )
    entries = ElementTree.fromstring(atom.content).findall("{http://www.w3.org/2005/Atom}entry")
    assert any(paper.id in ElementTree.tostring(e, encoding="unicode") for e in entries)
    rss = reader.client.get(f"/feeds/author/{quote(name, safe='')}.rss")
    assert rss.status_code == 200 and b"<rss" in rss.content

    api = reader.client.get("/api" + url(name)).json()
    assert api["name"] == name and api["key"] == author_key(name)
    assert paper.id in [p["id"] for p in api["papers"]] and api["numPapers"] >= 1
    assert {c["name"] for c in api["coAuthors"]} >= set(paper.authors[1:2])
    assert all(c["url"].startswith("/authors/") for c in api["coAuthors"])


def test_paper_pages_and_lists_link_authors(people, recent):
    paper = recent[1]
    reader = people(signed_in=False)
    page = reader.client.get(f"/papers/{paper.id}").text
    authors = re.search(r'<p class="authors">(.*?)</p>', page, re.S).group(1)
    assert all(f'href="{url(name)}"' in authors for name in paper.authors)
    daily = reader.client.get("/?view=all").text
    assert f'href="{url(recent[0].authors[0])}"' in daily


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        (url("Nobody Of That Name"), 404, "no paper here has an author named"),
        (url("Ada/Lovelace/../x"), 404, "no paper here has an author named"),
        (url("Ada\x00Lovelace"), 422, "no control characters"),
        (url("Ada\x1b[31mLovelace"), 422, "no control characters"),
        (url("x" * 400), 422, "at most 320 characters"),
        (url("x" * 10_000), 422, "at most 320 characters"),
        (url(" "), 422, "give an author"),
        ("/feeds/author/Nobody%20Of%20That%20Name.atom", 404, "no paper here"),
        ("/feeds/author/Ada%00Lovelace.rss", 422, "no control characters"),
    ],
)
def test_names_no_author_has_get_a_clear_4xx(people, path, status, says):
    reader = people(signed_in=False)
    page = reader.client.get(path)
    assert page.status_code == status and says in page.text
    assert "<h1>" in page.text  # the site's error page, not a bare message
    api = reader.client.get("/api" + path if path.startswith("/authors/") else path)
    assert api.status_code == status
    if path.startswith("/authors/"):
        assert says in api.json()["error"]


def test_a_huge_name_is_refused_before_routing(people):
    page = people(signed_in=False).client.get(url("y" * 20_000))
    assert page.status_code == 414


def test_follow_from_a_paper_page_then_see_it_on_the_account_and_for_you(people, recent):
    paper, name = sole_author(recent, USED)
    reader = people()
    followed = reader.post("/following/authors", name=name, next=f"/papers/{paper.id}")
    assert followed.status_code == 303
    page = reader.client.get(f"/papers/{paper.id}").text
    assert re.search(rf"<option value=\"{re.escape(name)}\">[^<]*✓</option>", page)
    account = reader.client.get("/account").text
    assert f'<a href="{url(name)}">{name}</a>' in account
    for_you = reader.client.get("/for-you").text
    item = re.search(rf'data-id="{re.escape(paper.id)}">(.*?)</li>', for_you, re.S)
    assert item and "by an author you follow" in item.group(1) and name in item.group(1)
    author_page = reader.client.get(url(name)).text
    assert "✓ Following" in author_page and "1 follower<" in author_page

    assert reader.post("/following/authors", name=name, undo="1").status_code == 303
    assert f'href="{url(name)}"' not in reader.client.get("/account").text.split("API tokens")[0]
    assert "by an author you follow" not in reader.client.get("/for-you").text


def test_forms_need_a_member_and_a_csrf_token(people, recent):
    name = recent[0].authors[0]
    stranger = people(signed_in=False)
    answer = stranger.client.post("/following/authors", data={"name": name}, follow_redirects=False)
    assert answer.status_code == 403  # no CSRF token
    answer = stranger.post("/following/authors", name=name)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/signin")
    member = people()
    assert member.post("/following/authors", name="Nobody Of That Name").status_code == 404
    assert member.post("/following/authors", name="A\x00B").status_code == 422


def test_following_through_the_api(people, recent):
    _, name = sole_author(recent, USED)
    member = people()
    bearer = {"Authorization": f"Bearer {member.token()}"}
    client = member.client
    assert client.get("/api/me/following/authors").status_code == 401
    followed = client.put("/api/me/following/authors/" + quote(name, safe=""), headers=bearer)
    assert followed.status_code == 200 and followed.json()["name"] == name
    assert [a["name"] for a in client.get("/api/me/following/authors", headers=bearer).json()] == [
        name
    ]
    hostile = client.put("/api/me/following/authors/" + quote("a\x07b"), headers=bearer)
    assert hostile.status_code == 422 and "control" in hostile.json()["error"]
    gone = client.delete("/api/me/following/authors/" + quote(name, safe=""), headers=bearer)
    assert gone.status_code == 204
    assert client.get("/api/me/following/authors", headers=bearer).json() == []


def test_claims_show_on_the_member_page_and_curators_can_remove_them(
    people, recent, community_store
):
    paper, name = sole_author(recent, USED)
    author = people()
    handle = community_store.accounts.by_email(author.email).name
    assert author.post(url(name) + "/claim").status_code == 422  # nothing picked
    assert author.post(url(name) + "/claim", papers=recent[-1].id).status_code in (422,)
    assert author.post(url(name) + "/claim", papers=paper.id).status_code == 303
    profile = author.client.get(f"/members/{handle}").text
    assert f'data-id="{paper.id}"' in profile and f'href="{url(name)}"' in profile
    paper_page = author.client.get(f"/papers/{paper.id}").text
    assert f'claimed by <a href="/members/{handle}">' in paper_page

    other = people()
    refused = other.post("/claims/remove", paper_id=paper.id, of=handle)
    assert refused.status_code == 403
    curator = people()
    community_store.accounts.ensure(curator.email, utcnow(), role="curator")
    assert curator.post("/claims/remove", paper_id=paper.id, of=handle).status_code == 303
    assert f'data-id="{paper.id}"' not in author.client.get(f"/members/{handle}").text
    assert people(signed_in=False).client.get("/members/nobody-such").status_code == 404


def test_a_curator_splits_a_name_and_merges_it_back(people, recent, community_store):
    paper, name = sole_author(recent, USED)
    member = people()
    assert member.post(url(name) + "/split", papers=paper.id, label="Biology").status_code == 403
    curator = people()
    community_store.accounts.ensure(curator.email, utcnow(), role="curator")
    assert curator.post(url(name) + "/split", label="Biology").status_code == 422
    made = curator.post(url(name) + "/split", papers=paper.id, label="Biology")
    assert made.status_code == 303
    split_url = made.headers["location"]
    split_page = curator.client.get(split_url).text
    assert f"{name} (2)" in split_page and "Biology" in split_page
    assert f'data-id="{paper.id}"' in split_page
    # The paper's page links the split identity; its author string is unchanged.
    paper_page = curator.client.get(f"/papers/{paper.id}").text
    assert f'href="{split_url}"' in paper_page and "(Biology)" in paper_page
    assert community_store.papers.get(paper.id).authors == paper.authors
    # The name itself has no paper left: it says so, and names the split.
    gone = curator.client.get(url(name))
    assert gone.status_code == 404 and f"{name} (2) (Biology)" in gone.text

    merged = curator.post(split_url + "/merge", into=name)
    assert merged.status_code == 303 and merged.headers["location"] == url(name)
    assert f'data-id="{paper.id}"' in curator.client.get(url(name)).text
    assert curator.client.get(split_url).status_code == 404


def test_a_merged_name_answers_with_the_author_it_is_part_of(people, recent, community_store):
    (first_paper, first), (_, second) = sole_author(recent, USED), sole_author(recent, USED)
    curator = people()
    community_store.accounts.ensure(curator.email, utcnow(), role="curator")
    assert curator.post(url(first) + "/merge", into=second).status_code == 303
    moved = curator.client.get(url(first), follow_redirects=False)
    assert moved.status_code == 308 and moved.headers["location"] == url(second)
    page = curator.client.get(url(second)).text
    assert f'data-id="{first_paper.id}"' in page and f"“{first}”" in page  # also written as
    api = curator.client.get("/api" + url(first))
    assert api.status_code == 200 and api.json()["alsoWritten"] == [first]
