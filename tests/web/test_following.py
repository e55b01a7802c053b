"""Following as feeds, as members use it: follow a search from the search page, find it on
the settings page and in the OPML file (which a reader imports), read For you through a
private link that a new link revokes, and a shared collection as a feed. The store is a slice
of the demo corpus dated to end yesterday, with real MiniLM vectors (For you needs them)."""

from __future__ import annotations

import html
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from urllib.parse import quote, urlsplit

import feedparser
import pytest
from fastapi.testclient import TestClient

from paperscope.settings import LOOPBACK_HOSTS, Settings
from paperscope.store import open_store
from paperscope.web.app import create_app
from tests.web.conftest import live_demo
from tests.web.members import Person
from tests.web.test_feed_pages import ATOM, check_atom

PAPERS = 150
BASE = "http://testserver"  # the public URL


@pytest.fixture(scope="module")
def following_settings(tmp_path_factory, new_database, smtp, minilm) -> Settings:
    return live_demo(
        tmp_path_factory.mktemp("following"),
        minilm,
        PAPERS,
        database_url=new_database(),
        allowed_hosts=["testserver", *LOOPBACK_HOSTS],
        public_url=BASE,
        mail_from="paperscope <papers@example.org>",
        sign_in_requests_per_hour_per_client=100_000,
        **smtp.settings(),
    )


@pytest.fixture(scope="module")
def following_app(following_settings) -> Iterator:
    app = create_app(following_settings)
    with TestClient(app):
        yield app


@pytest.fixture
def person(following_app, smtp):
    def make(email: str) -> Person:
        someone = Person(TestClient(following_app), smtp.inbox)
        someone.sign_in(email)
        return someone

    return make


@pytest.fixture(scope="module")
def newest(following_settings) -> list[str]:
    store = open_store(following_settings)
    papers = sorted(store.papers.iter_all(), key=lambda p: (p.published, p.id), reverse=True)
    store.engine.dispose()
    return [p.id for p in papers]


def follow_form(page: str) -> dict[str, str]:
    """The fields of the search page's "Follow this search" form, as the browser sends them."""
    form = re.search(r'<form class="follow" action="/me/following/searches".*?</form>', page, re.S)
    assert form, "no follow form on the page"
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form[0])
    return {name: html.unescape(value) for name, value in fields}


def outlines(opml: bytes) -> list[dict[str, str]]:
    root = ET.fromstring(opml)
    assert root.tag == "opml" and root.get("version") == "2.0"
    return [dict(o.attrib) for o in root.findall("body/outline")]


def test_follow_a_search_then_list_export_and_unfollow_it(following_app, person):
    ann = person("ann-follows@example.org")
    search = ann.client.get(
        "/search", params={"q": "language models", "category": "cs.AI", "mode": "lexical"}
    )
    assert search.status_code == 200
    fields = follow_form(search.text)
    assert fields.pop("csrf_token")
    assert fields == {
        "q": "language models", "category": "cs.AI", "from": "", "until": "", "mode": "lexical"
    }  # fmt: skip
    for _ in range(2):  # following it again changes nothing
        followed = ann.post("/me/following/searches", **fields)
        assert followed.status_code == 303
        assert followed.headers["location"] == "/me/following#searches"
    settings = ann.client.get("/me/following")
    listed = re.findall(r'<a href="([^"]+)" class="followed-search">([^<]+)</a>', settings.text)
    query = "q=language+models&amp;category=cs.AI&amp;mode=lexical"
    assert listed == [(f"/search?{query}", "language models (cs.AI, words only)")]
    assert f'href="/feeds/search.atom?{query}"' in settings.text

    opml = ann.client.get("/me/following.opml")
    assert opml.status_code == 200
    assert opml.headers["content-type"] == "text/x-opml; charset=utf-8"
    assert "attachment" in opml.headers["content-disposition"]
    assert "no-store" in opml.headers["cache-control"]
    (outline,) = outlines(opml.content)
    feed_url = f"{BASE}/feeds/search.atom?{html.unescape(query)}"
    assert outline["xmlUrl"] == feed_url
    assert outline["htmlUrl"] == f"{BASE}/search?{html.unescape(query)}"
    assert outline["text"] == "paperscope search: language models (cs.AI, words only)"
    # What the reader will fetch: a feed of that very search.
    reader = TestClient(following_app)
    fetched = reader.get(urlsplit(feed_url).path + "?" + urlsplit(feed_url).query)
    assert fetched.status_code == 200
    assert not feedparser.parse(fetched.content).bozo
    check_atom(fetched.content, feed_url)

    # Nobody else can unfollow it; its follower can.
    search_id = re.search(r"/me/following/searches/(\d+)/unfollow", settings.text)[1]
    bob = person("bob-follows@example.org")
    assert bob.post(f"/me/following/searches/{search_id}/unfollow").status_code == 404
    assert outlines(bob.client.get("/me/following.opml").content) == []
    assert ann.post(f"/me/following/searches/{search_id}/unfollow").status_code == 303
    assert outlines(ann.client.get("/me/following.opml").content) == []
    assert "No followed searches yet" in ann.client.get("/me/following").text


def test_a_search_that_cannot_be_followed_says_why(following_app, person):
    cy = person("cy-follows@example.org")
    bad = {
        '"unclosed phrase': "quote",
        "": "Type a search",
        "x" * 1_500: "at most 1,000 characters",
        "robots\x00": "control characters",
    }
    for q, problem in bad.items():
        answer = cy.post("/me/following/searches", q=q)
        assert answer.status_code == 422 and problem in answer.text, (q[:20], answer.status_code)
    answer = cy.post("/me/following/searches", q="robots", **{"from": "2026-02-30"})
    assert answer.status_code == 422 and "2026-01-31" in answer.text
    answer = cy.post("/me/following/searches", q="robots", mode="psychic")
    assert answer.status_code == 422
    assert "No followed searches yet" in cy.client.get("/me/following").text
    # Without the form's CSRF token nothing is followed.
    forged = cy.client.post("/me/following/searches", data={"q": "robots"})
    assert forged.status_code == 403
    assert "No followed searches yet" in cy.client.get("/me/following").text


def test_readers_not_signed_in_are_asked_to_sign_in(following_app):
    visitor = TestClient(following_app)
    search = visitor.get("/search", params={"q": "language models"})
    assert 'action="/me/following/searches"' not in search.text
    assert "Sign in to follow this search" in search.text
    for path in ("/me/following", "/me/following.opml"):
        answer = visitor.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/signin")


def test_for_you_as_a_private_feed_that_a_new_link_revokes(following_app, person, newest, caplog):
    dee = person("dee-reads@example.org")
    for paper in newest[:3]:
        assert dee.post(f"/papers/{paper}/upvote").status_code == 303
    picked = re.findall(r'<li class="paper" data-id="([^"]+)"', dee.client.get("/for-you").text)
    assert picked

    made = dee.post("/me/feed-link")
    assert made.status_code == 200
    link = re.search(r'<code class="feed-link">([^<]+)</code>', made.text)[1]
    assert re.fullmatch(re.escape(BASE) + r"/feeds/for-you/[\w-]{43}\.atom", link), link
    token = link.rsplit("/", 1)[1].removesuffix(".atom")
    settings = dee.client.get("/me/following").text
    assert token not in settings and "You made a feed link on" in settings

    reader = TestClient(following_app)  # a feed reader: no session
    path = urlsplit(link).path
    with caplog.at_level(logging.INFO, logger="paperscope.access"):
        answer = reader.get(path)
    logged = [r.getMessage() for r in caplog.records if r.name == "paperscope.access"]
    assert logged and token not in "".join(logged)  # the link is the key: never logged
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "private, no-cache"
    assert "x-cache" not in answer.headers and answer.headers["referrer-policy"] == "no-referrer"
    parsed = feedparser.parse(answer.content)
    assert not parsed.bozo
    # The For you page's picks, in its order (the page shows 30, the feed up to 50).
    fed = [e.link.rsplit("/papers/", 1)[1] for e in parsed.entries]
    assert fed[: len(picked)] == picked and len(fed) <= 50
    assert any("Because you liked" in e.summary for e in parsed.entries)
    assert len(check_atom(answer.content, link)) == len(fed)
    # Never kept by the page cache: asked again, it is rendered again, never a hit.
    again = reader.get(path)
    assert again.content == answer.content and "x-cache" not in again.headers
    assert reader.get(path, headers={"If-None-Match": answer.headers["etag"]}).status_code == 304
    for kind in ("rss", "json"):
        assert reader.get(path.replace(".atom", f".{kind}")).status_code == 200

    renewed = dee.post("/me/feed-link")
    new_link = re.search(r'<code class="feed-link">([^<]+)</code>', renewed.text)[1]
    assert new_link != link
    assert reader.get(path).status_code == 404
    assert reader.get(path.replace(".atom", ".json")).status_code == 404
    assert reader.get(urlsplit(new_link).path).status_code == 200

    # The feed ends with the account.
    confirm = dee.post("/account/delete", confirm="dee-reads@example.org")
    assert confirm.status_code == 303
    assert reader.get(urlsplit(new_link).path).status_code == 404


def test_a_shared_collection_is_a_feed_and_in_the_opml(following_app, person, newest):
    eve = person("eve-collects@example.org")
    made = eve.post("/collections", name="Reading <group>")
    collection = made.headers["location"]
    for paper in newest[3:6]:
        assert eve.post(f"{collection}/papers", paper_id=paper).status_code == 303
    eve.post("/collections", name="Just mine")
    assert "private, so it has no feed" in eve.client.get("/me/following").text
    assert outlines(eve.client.get("/me/following.opml").content) == []

    assert eve.post(f"{collection}/share", shared="1").status_code == 303
    page = eve.client.get(collection).text
    atom_link = r'<link rel="alternate" type="application/atom\+xml"[^>]* href="([^"]+)"'
    feed_path = re.search(atom_link, page)[1]
    assert feed_path.startswith("/feeds/collections/") and f'href="{feed_path}"' in page
    token = feed_path.removeprefix("/feeds/collections/").removesuffix(".atom")

    (outline,) = outlines(eve.client.get("/me/following.opml").content)
    assert outline == {
        "type": "rss",
        "text": "paperscope collection: Reading <group>",
        "title": "paperscope collection: Reading <group>",
        "xmlUrl": f"{BASE}{feed_path}",
        "htmlUrl": f"{BASE}/c/{token}",
    }
    reader = TestClient(following_app)
    answer = reader.get(feed_path)
    assert answer.status_code == 200 and answer.headers["cache-control"] == "private, no-cache"
    entries = check_atom(answer.content, f"{BASE}{feed_path}")
    # Most recently added first, as the collection's page lists them.
    ids = [e.findtext(f"{ATOM}id").rsplit("/papers/", 1)[1] for e in entries]
    assert ids == newest[3:6][::-1]
    shared_page = reader.get(f"/c/{token}").text
    assert f'href="{feed_path}"' in shared_page

    assert eve.post(f"{collection}/share", shared="0").status_code == 303
    assert reader.get(feed_path).status_code == 404
    assert outlines(eve.client.get("/me/following.opml").content) == []


def test_feed_links_are_built_on_the_public_url_not_the_host(following_app):
    reader = TestClient(following_app)
    answer = reader.get("/feeds/trending.atom", headers={"host": "127.0.0.1"})
    assert answer.status_code == 200
    check_atom(answer.content, f"{BASE}/feeds/trending.atom")


def test_followed_authors_are_in_the_opml_with_their_feeds(following_app, person, newest):
    fay = person("fay-follows@example.org")
    reader = TestClient(following_app)
    author = reader.get(f"/api/papers/{newest[0]}").json()["authors"][0]["name"]
    assert fay.post("/following/authors", name=author).status_code == 303

    (outline,) = outlines(fay.client.get("/me/following.opml").content)
    assert outline["text"] == f"paperscope author: {author}"
    assert outline["xmlUrl"].startswith(f"{BASE}/feeds/author/")
    assert outline["xmlUrl"].endswith(".atom")
    path = outline["xmlUrl"].removeprefix(BASE)
    entries = check_atom(reader.get(path).content, outline["xmlUrl"])
    assert newest[0] in {e.findtext(f"{ATOM}id").rsplit("/papers/", 1)[1] for e in entries}
    assert reader.get(outline["htmlUrl"].removeprefix(BASE)).status_code == 200

    assert fay.post("/following/authors", name=author, undo="1").status_code == 303
    assert outlines(fay.client.get("/me/following.opml").content) == []


# -- OPML in: follows moved between paperscopes, or from a reader ---------------------------------
def upload_opml(someone: Person, content: bytes):
    """The "Import follows" form on /me/following, as the browser sends it."""
    return someone.client.post(
        "/me/following.opml",
        data={"csrf_token": someone.csrf()},
        files={"file": ("following.opml", content, "text/x-opml")},
        follow_redirects=False,
    )


def followed_urls(someone: Person) -> list[tuple[str, str]]:
    """What a member follows, as their OPML export lists it."""
    exported = outlines(someone.client.get("/me/following.opml").content)
    return sorted((o["xmlUrl"], o["htmlUrl"]) for o in exported)


def authors_of(following_app, paper_ids: list[str]) -> list[str]:
    reader = TestClient(following_app)
    return [reader.get(f"/api/papers/{p}").json()["authors"][0]["name"] for p in paper_ids]


def wrapped(outlines_xml: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0"><head><title>mine</title>'
        f"</head><body>{outlines_xml}</body></opml>"
    ).encode()


def test_follows_move_between_members_through_opml(following_app, person, newest):
    gus = person("gus-exports@example.org")
    for fields in ({"q": "planning agents", "category": "cs.AI", "mode": "lexical"},
                   {"q": "theorem proving", "from": "2024-01-01"}):  # fmt: skip
        assert gus.post("/me/following/searches", **fields).status_code == 303
    names = authors_of(following_app, newest[:2])
    for name in names:
        assert gus.post("/following/authors", name=name).status_code == 303
    eve_collection = gus.post("/collections", name="Shared").headers["location"]
    assert gus.post(f"{eve_collection}/share", shared="1").status_code == 303
    exported = gus.client.get("/me/following.opml").content
    assert len(outlines(exported)) == 5  # 2 searches, 2 authors, 1 collection

    hal = person("hal-imports@example.org")
    answer = upload_opml(hal, exported)
    assert answer.status_code == 200, answer.text
    summary = re.search(r'<p class="summary">([^<]+)</p>', answer.text)[1]
    assert summary == "2 searches and 2 authors followed, 1 outline not imported."
    not_imported = re.findall(r'<ul class="not-imported">(.*?)</ul>', answer.text, re.S)[0]
    assert "paperscope collection: Shared" in not_imported and "shared collection" in not_imported
    theirs = [u for u in followed_urls(gus) if "/collections/" not in u[0]]
    assert followed_urls(hal) == theirs

    # Importing again adds nothing; the page says they were followed already.
    again = upload_opml(hal, exported)
    summary = re.search(r'<p class="summary">([^<]+)</p>', again.text)[1]
    assert summary == "Nothing new followed, 4 already followed, 1 outline not imported."
    assert followed_urls(hal) == theirs


def test_an_import_walks_folders_and_says_what_it_skipped(following_app, person, newest):
    ivy = person("ivy-imports@example.org")
    name = authors_of(following_app, newest[2:3])[0]
    author_path = "/feeds/author/" + quote(name, safe="") + ".rss"
    file = wrapped(
        '<outline text="Science"><outline text="Work">'
        # Another paperscope's search feed (any host: only the path is compared).
        '<outline type="rss" text="robots" xmlUrl="https://other.example/feeds/search.json'
        '?q=robot+learning&amp;category=cs.RO+cs.AI"/>'
        f'<outline type="rss" text="author" xmlUrl="https://other.example{author_path}"/>'
        "</outline>"
        # A search page (no feed address), and one the member cannot follow.
        '<outline text="graphs" htmlUrl="/search?q=graph+neural+networks&amp;mode=dense"/>'
        '<outline text="broken" xmlUrl="/feeds/search.atom?q=%22unclosed"/>'
        '<outline text="nobody" xmlUrl="/feeds/author/Zyx%20Qwv.atom"/>'
        # A NUL byte reaches no database (PostgreSQL refuses one with an error).
        '<outline text="nul author" xmlUrl="/feeds/author/Ann%00Lee.atom"/>'
        '<outline text="nul search" htmlUrl="/search?q=robots%00&amp;from=2024%00"/>'
        "</outline>"
        '<outline type="rss" text="A blog" xmlUrl="https://blog.example/feed.xml"/>'
        '<outline type="rss" text="mine" xmlUrl="http://testserver/feeds/for-you/abc.atom"/>'
    )
    token = ivy.token()
    answer = ivy.client.post(
        "/api/me/following/import",
        content=file,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/x-opml"},
    )
    assert answer.status_code == 200, answer.text
    done = answer.json()
    assert done["summary"] == "2 searches and 1 author followed, 6 outlines not imported"
    assert done["searches"] == ["robot learning", "graph neural networks"]
    assert done["authors"] == [name] and done["already"] == 0
    reasons = {s["text"]: s["reason"] for s in done["notImported"]}
    assert set(reasons) == {"broken", "nobody", "nul author", "nul search", "A blog", "mine"}
    assert all("control characters" in reasons[n] for n in ("nul author", "nul search"))
    assert "quote" in reasons["broken"] and "no paper here" in reasons["nobody"]
    assert reasons["A blog"] == "not a paperscope search or author"
    assert "For you feed" in reasons["mine"]
    settings = ivy.client.get("/me/following").text
    assert "robot learning (cs.RO cs.AI)" in settings
    assert "graph neural networks (meaning only)" in settings

    # Multipart, as the page's form sends it, works through the API too; nothing is new.
    again = ivy.client.post(
        "/api/me/following/import",
        files={"file": ("x.opml", file, "text/x-opml")},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert again.status_code == 200 and again.json()["already"] == 3
    assert again.json()["searches"] == [] and again.json()["authors"] == []
    # Without a token there is no member to follow for.
    assert (
        TestClient(following_app).post("/api/me/following/import", content=file).status_code == 401
    )
    # Without the form's CSRF token nothing is imported.
    forged = ivy.client.post("/me/following.opml", files={"file": ("x.opml", file)})
    assert forged.status_code == 403


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE opml [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<opml version="2.0"><head><title>&lol9;</title></head><body>
<outline text="&lol9;" xmlUrl="/feeds/search.atom?q=robots"/>
</body></opml>
"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<opml version="2.0"><body><outline text="&secret;" xmlUrl="/feeds/search.atom?q=robots"/>
</body></opml>
"""
ROBOTS = '<outline text="robots" xmlUrl="/feeds/search.atom?q=robots"/>'


def hostile_files() -> dict[str, tuple[bytes, int, str]]:
    """Each file, the status it is refused with and what the refusal says."""
    nested = "<outline text='folder'>" * 11 + ROBOTS + "</outline>" * 11
    padding = b"<!-- " + b"x" * 1_000_000 + b" -->"
    return {
        "billion laughs": (BILLION_LAUGHS, 422, "declares a DTD"),
        "external entity": (EXTERNAL_ENTITY, 422, "declares a DTD"),
        "malformed": (wrapped(ROBOTS)[:-10], 422, "not well-formed XML"),
        "not OPML": (b'<rss version="2.0"><channel/></rss>', 422, "root element is &lt;rss&gt;"),
        "no body": (b'<opml version="2.0"><head/></opml>', 422, "no &lt;body&gt;"),
        "just over the cap": (wrapped(ROBOTS) + padding, 413, "at most 1,000,000 bytes"),
        "far over the cap": (wrapped(ROBOTS) + padding * 3, 413, "at most 1,000,000 bytes"),
        "too many outlines": (wrapped(ROBOTS * 1_001), 413, "more than 1,000 outlines"),
        "too deep": (wrapped(nested), 422, "more than 10 folders deep"),
    }


def test_hostile_opml_files_are_refused_and_change_nothing(following_app, person):
    jo = person("jo-hostile@example.org")
    token = jo.token()
    for name, (content, status, says) in hostile_files().items():
        answer = upload_opml(jo, content)
        assert answer.status_code == status, (name, answer.status_code, answer.text[:300])
        assert says in answer.text, (name, answer.text[:500])
        api = jo.client.post(
            "/api/me/following/import",
            content=content,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "text/x-opml"},
        )
        assert api.status_code == status, (name, api.status_code)
        assert html.unescape(says) in api.json()["error"], (name, api.json())
        assert followed_urls(jo) == [], name
    # The same outline in a plain file is followed: the refusals were about the files.
    assert upload_opml(jo, wrapped(ROBOTS)).status_code == 200
    assert [u for u, _ in followed_urls(jo)] == [f"{BASE}/feeds/search.atom?q=robots"]
