"""Members: passwordless sign-in by a mailed link (a real SMTP server on 127.0.0.1),
sessions, CSRF, submissions, upvotes, comments, collections, curation, and what the API
and the page cache make of them. Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from paperscope.accounts import utcnow
from paperscope.store.models import Comment, Paper, User, Vote
from tests.web.conftest import RECENT
from tests.web.members import csrf_in

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
SQL = "'); DROP TABLE users; --"


@pytest.fixture(scope="module")
def store(community_store):
    return community_store


@pytest.fixture(scope="module")
def recent(store) -> list[str]:
    """Ids of papers young enough to submit, newest first; each test takes its own."""
    papers = sorted(store.papers.iter_all(), key=lambda p: p.published, reverse=True)
    return [p.id for p in papers[:RECENT]]


class Ids:
    def __init__(self, ids: list[str]) -> None:
        self._ids = iter(ids)

    def __call__(self) -> str:
        return next(self._ids)


@pytest.fixture(scope="module")
def fresh(recent) -> Ids:
    return Ids(recent)


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# -- signing in ------------------------------------------------------------------------------
def test_a_mailed_link_signs_in_once_and_only_by_its_button(people, smtp):
    ann = people(signed_in=False)
    link = ann.link("ann@example.org")
    mail = smtp.inbox.to("ann@example.org")[-1]
    assert mail["From"] == "paperscope <papers@example.org>"
    assert link.startswith("http://testserver/signin/confirm?token=")  # the public URL
    # Opening the link (as a mail scanner would) signs nobody in.
    path = link.removeprefix("http://testserver")
    assert ann.client.get(path).status_code == 200
    assert ann.client.get(path).status_code == 200
    assert ann.client.get("/account", follow_redirects=False).status_code == 303
    answer = ann.confirm(link)
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    assert "ps_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "ann@example.org" in ann.client.get("/account").text
    # Used once: the same link again is refused, on GET and on POST.
    other = people(signed_in=False)
    assert other.client.get(path).status_code == 400
    token = re.search(r"token=([^&]+)", link).group(1)
    again = other.client.post("/signin/confirm", data={"token": token, "csrf_token": other.csrf()})
    assert again.status_code == 400 and "used already" in again.text
    assert other.client.get("/account", follow_redirects=False).status_code == 303


def test_expired_and_forged_links_are_refused(people, store):
    bob = people(signed_in=False)
    old = store.accounts.add_link(
        "bob@example.org", utcnow() - timedelta(minutes=16), timedelta(minutes=15)
    )
    for token in (old, "forged-" + old[7:], ""):
        page = bob.client.get("/signin/confirm", params={"token": token})
        assert page.status_code == 400
        answer = bob.client.post("/signin/confirm", data={"token": token, "csrf_token": bob.csrf()})
        assert answer.status_code in (400, 422)
        assert "ps_session" not in answer.headers.get("set-cookie", "")
    assert store.accounts.by_email("bob@example.org") is None


def test_tokens_are_stored_only_as_hashes(people, store):
    cat = people("cat@example.org")
    token = cat.token()
    with store.engine.connect() as connection:
        dump = " ".join(
            str(row)
            for table in ("sessions", "api_tokens", "sign_in_links")
            for row in connection.exec_driver_sql(f"SELECT * FROM {table}").all()
        )
    session = cat.client.cookies["ps_session"]
    assert session not in dump and token not in dump


def test_asking_for_a_link_answers_alike_for_members_and_strangers(people, smtp):
    asker = people(signed_in=False)
    people("known@example.org")
    known = asker.ask_for_link("known@example.org")
    stranger = asker.ask_for_link("stranger@example.org")
    assert known.status_code == stranger.status_code == 200
    scrub = lambda text: re.sub(r'value="[^"]+"', "", text)  # noqa: E731
    assert scrub(known.text) == scrub(stranger.text)
    smtp.inbox.wait_for("stranger@example.org")  # open sign-up: the first link makes them


def test_sign_in_requests_are_rate_limited_per_address(people):
    asker = people(signed_in=False)
    answers = [asker.ask_for_link("limited@example.org").status_code for _ in range(6)]
    assert answers == [200] * 5 + [429]


def test_sign_out_and_sign_out_everywhere(people, community_app):
    dee = people("dee@example.org")
    laptop = people("dee@example.org")
    assert dee.post("/signout").status_code == 303
    assert dee.client.get("/account", follow_redirects=False).status_code == 303
    assert laptop.client.get("/account").status_code == 200
    phone = people("dee@example.org")
    assert phone.post("/signout/everywhere").status_code == 303
    assert laptop.client.get("/account", follow_redirects=False).status_code == 303


# -- what needs a session, a token, a CSRF token ----------------------------------------------
def test_a_post_without_a_valid_csrf_token_is_refused_and_changes_nothing(people, store, fresh):
    eve = people("eve@example.org")
    paper = fresh()
    for data in ({}, {"csrf_token": "nonsense"}, {"csrf_token": people().csrf()}):
        answer = eve.client.post(f"/papers/{paper}/upvote", data=data)
        assert answer.status_code == 403
        answer = eve.client.post("/submit", data={"paper_id": paper, **data})
        assert answer.status_code == 403
    assert store.votes.counts([paper]) == {}
    assert paper not in store.submissions.of([paper])


def test_acting_without_a_session_leads_to_sign_in_and_the_api_answers_401(
    people, fresh, store, community_app
):
    anonymous = people(signed_in=False)
    paper = fresh()
    csrf = anonymous.csrf()
    # A form sends them to sign in, and back to the page the form was on.
    for path, data in [
        (f"/papers/{paper}/upvote", {}),
        ("/submit", {"paper_id": paper}),
        (f"/papers/{paper}/comments", {"body": "hello"}),
        ("/collections", {"name": "mine"}),
        ("/account/delete", {"confirm": "x@example.org"}),
    ]:
        answer = anonymous.client.post(
            path,
            data={"csrf_token": csrf, **data},
            headers={"Referer": f"http://testserver/papers/{paper}"},
            follow_redirects=False,
        )
        assert answer.status_code == 303, (path, answer.text)
        assert answer.headers["location"] == f"/signin?next=%2Fpapers%2F{paper}"
    assert store.votes.counts([paper]) == {}
    # Another site's page is no place to come back to.
    answer = anonymous.client.post(
        f"/papers/{paper}/upvote",
        data={"csrf_token": csrf},
        headers={"Referer": "https://evil.example/x"},
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/signin?next=%2F"
    api = TestClient(community_app)
    for headers in ({}, _bearer("ps_wrong"), {"Authorization": "Basic eDp5"}):
        assert api.post(f"/api/papers/{paper}/upvote", headers=headers).status_code == 401
        assert (
            api.post("/api/papers/submit", json={"paper_id": paper}, headers=headers).status_code
            == 401
        )
        assert (
            api.post(
                f"/api/papers/{paper}/comments", json={"body": "x"}, headers=headers
            ).status_code
            == 401
        )
        assert api.get("/api/collections", headers=headers).status_code == 401


# -- submissions -----------------------------------------------------------------------------
def test_submitting_puts_a_paper_on_the_curated_daily_page(people, fresh, community_app):
    fay = people("fay@example.org")
    paper = fresh()
    api = TestClient(community_app)
    made = api.post(
        "/api/papers/submit",
        json={"paper_id": f"https://arxiv.org/pdf/{paper}v1", "comment": "Worth a *read*."},
        headers=_bearer(fay.token()),
    )
    assert made.status_code == 201, made.text
    entry = made.json()
    assert entry["paper"]["id"] == paper
    assert entry["submittedOnDailyBy"]["user"] == "fay"
    assert entry["numComments"] == 1
    # The daily page is now the curated one: the paper, who submitted it, its discussion.
    home = fay.client.get("/")
    assert 'aria-current="page">Submitted by the community' in home.text
    assert paper in home.text and "submitted by <b>fay</b>" in home.text
    listed = api.get("/api/daily_papers").json()
    mine = next(e for e in listed if e["paper"]["id"] == paper)
    assert mine["submittedOnDailyBy"]["name"] == "fay" and mine["numComments"] == 1
    assert [e["paper"]["id"] for e in api.get("/api/daily_papers?submitter=fay").json()] == [paper]
    assert api.get("/api/daily_papers?submitter=nobody").json() == []
    # Every new paper is a tab away.
    month = utcnow().strftime("%Y-%m")
    curated = api.get(f"/api/daily_papers?month={month}&limit=100").json()
    everything = api.get(f"/api/daily_papers?month={month}&view=all&limit=100").json()
    assert len(everything) > len(curated) >= 1
    assert any(e["submittedOnDailyBy"] is None for e in everything)
    page = fay.client.get(f"/papers/{paper}")
    assert "<em>read</em>" in page.text and "submitted by <b>fay</b>" in page.text


def test_submission_rules(people, fresh, store, community_app):
    gus = people("gus@example.org")
    api = TestClient(community_app)
    headers = _bearer(gus.token())
    first = fresh()
    assert (
        api.post("/api/papers/submit", json={"paper_id": first}, headers=headers).status_code == 201
    )
    # A paper is on one day's page once: the second submission names the first.
    again = api.post(
        "/api/papers/submit",
        json={"paper_id": f"arXiv:{first}v2"},
        headers=_bearer(people().token()),
    )
    assert again.status_code == 409
    assert again.json()["paperId"] == first and again.json()["url"] == f"/papers/{first}"
    today = utcnow().strftime("%B %-d")
    sentence = f"{first} is already on the page of {today}, submitted by gus."
    assert again.json()["error"] == sentence
    page = people().post("/submit", paper_id=first, comment="Worth a look.")
    assert page.status_code == 409 and sentence in page.text
    # The refusal answers inside the form, with what was typed kept.
    assert 'id="submit-problem"' in page.text and f'value="{first}"' in page.text
    assert ">Worth a look.</textarea>" in page.text
    gus.post("/account/name", fullname="Gus Grissom")  # the name people see, once there is one
    renamed = people().post("/submit", paper_id=first)
    assert f"{first} is already on the page of {today}, submitted by Gus Grissom." in renamed.text
    own = api.post("/api/papers/submit", json={"paper_id": first}, headers=headers)
    assert own.json()["error"].endswith(f"{today}, submitted by you.")
    # At most 7 days old.
    old = min(store.papers.iter_all(), key=lambda p: p.published).id
    too_old = api.post("/api/papers/submit", json={"paper_id": old}, headers=headers)
    assert too_old.status_code == 422 and "last 7 days" in too_old.json()["error"]
    # Not an arXiv id at all.
    bad = api.post("/api/papers/submit", json={"paper_id": SQL}, headers=headers)
    assert bad.status_code == 422
    # At most 3 a day here (the setting): 2 more, then a polite no.
    codes = [
        api.post("/api/papers/submit", json={"paper_id": fresh()}, headers=headers).status_code
        for _ in range(3)
    ]
    assert codes == [201, 201, 429]


def test_an_unknown_paper_is_fetched_from_arxiv(people, fake_arxiv_server, store, community_app):
    published = (utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    fake_arxiv_server.atom_entries["2612.00042"] = f"""
  <entry>
    <id>http://arxiv.org/abs/2612.00042v1</id>
    <updated>{published}</updated>
    <published>{published}</published>
    <title>Fresh From arXiv</title>
    <summary>Fetched when submitted.</summary>
    <author><name>Ada Lovelace</name></author>
    <arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="cs.AI"/>
    <category term="cs.AI" scheme="http://arxiv.org/schemas/atom"/>
  </entry>"""
    hal = people("hal@example.org")
    # Accepted at once as pending; arXiv is asked off the request path.
    answer = hal.post("/submit", paper_id="https://arxiv.org/abs/2612.00042v1", comment="New!")
    assert answer.status_code == 303 and answer.headers["location"] == "/submit?fetching=2612.00042"
    note = hal.client.get(answer.headers["location"]).text
    assert "We are fetching 2612.00042 from arXiv; it will appear on today's page" in note
    missing = hal.post("/submit", paper_id="2612.99999")
    assert missing.status_code == 303
    done = wait_for_requests(hal, ["2612.00042", "2612.99999"])
    assert done["2612.00042"] == "submitted" and done["2612.99999"] == "failed"
    assert store.papers.get("2612.00042").title == "Fresh From arXiv"
    assert store.submissions.of(["2612.00042"])["2612.00042"].user_name == "hal"
    page = hal.client.get("/submit").text
    assert 'href="/papers/2612.00042">on the page of' in page
    assert "not submitted: 2612.99999 is not on arXiv." in page
    assert "New!" in hal.client.get("/papers/2612.00042").text  # the comment came along


def wait_for_requests(person, paper_ids: list[str], timeout_s: float = 30) -> dict[str, str]:
    """The states of the person's submissions of these papers once none is pending."""
    deadline = time.monotonic() + timeout_s
    while True:
        page = person.client.get("/submit").text
        states = {
            paper: re.search(rf'data-state="(\w+)"><b>{re.escape(paper)}</b>', page).group(1)
            for paper in paper_ids
        }
        if "pending" not in states.values() or time.monotonic() > deadline:
            return states
        time.sleep(0.05)


# -- upvotes ---------------------------------------------------------------------------------
def test_upvotes_are_one_per_member_and_idempotent(people, fresh, community_app):
    ivy = people("ivy@example.org")
    api = TestClient(community_app)
    headers = _bearer(ivy.token())
    paper = fresh()
    assert api.post(f"/api/papers/{paper}/upvote", headers=headers).json() == {
        "upvotes": 1,
        "upvoted": True,
    }
    assert api.post(f"/api/papers/{paper}/upvote", headers=headers).json()["upvotes"] == 1
    people().post(f"/papers/{paper}/upvote")  # another member's, through the page
    assert api.get(f"/api/papers/{paper}").json()["upvotes"] == 2
    assert api.delete(f"/api/papers/{paper}/upvote", headers=headers).json() == {
        "upvotes": 1,
        "upvoted": False,
    }
    assert api.delete(f"/api/papers/{paper}/upvote", headers=headers).json()["upvotes"] == 1
    # The page's button toggles.
    ivy.post(f"/papers/{paper}/upvote")
    assert 'aria-pressed="true"' in ivy.client.get(f"/papers/{paper}").text
    ivy.post(f"/papers/{paper}/upvote")
    assert 'aria-pressed="false"' in ivy.client.get(f"/papers/{paper}").text
    assert api.post("/api/papers/2612.99999/upvote", headers=headers).status_code == 404


def _settled(services, quiet_s: float = 1.5, limit_s: float = 30.0) -> None:
    """Wait until the page cache's version (the search snapshot, the community counter) has
    stood still a moment: earlier tests leave background work (index refreshes, submissions
    fetched from arXiv) that may move it between two requests."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        before = (services.search.version(), services.community_version())
        time.sleep(quiet_s)
        if (services.search.version(), services.community_version()) == before:
            return


def test_two_signed_in_members_see_only_their_own_state_on_a_cached_page(
    people, fresh, community_app
):
    paper = fresh()
    anonymous = TestClient(community_app)
    _settled(community_app.state.services)
    assert anonymous.get(f"/papers/{paper}").headers["x-cache"] == "miss"
    assert anonymous.get(f"/papers/{paper}").headers["x-cache"] == "hit"
    jo = people("jo@example.org")
    kim = people("kim@example.org")
    jo.post(f"/papers/{paper}/upvote")
    jo_page, kim_page = jo.client.get(f"/papers/{paper}"), kim.client.get(f"/papers/{paper}")
    for answer, name, other in ((jo_page, "jo", "kim"), (kim_page, "kim", "jo")):
        assert "x-cache" not in answer.headers
        assert answer.headers["cache-control"] == "private, no-store"
        assert f'class="me" >{name}</a>' in answer.text
        assert f">{other}</a>" not in answer.text
    assert 'aria-pressed="true"' in jo_page.text and 'aria-pressed="false"' in kim_page.text
    # Readers who are not signed in still share one copy, with nobody's name in it.
    shared = anonymous.get(f"/papers/{paper}")
    assert (
        "Sign in" in shared.text and ">jo</a>" not in shared.text and ">kim</a>" not in shared.text
    )


# -- comments --------------------------------------------------------------------------------
def test_comments_are_markdown_made_safe_and_editable_by_their_author(
    people, fresh, store, community_app
):
    lee = people("lee@example.org")
    paper = fresh()
    api = TestClient(community_app)
    headers = _bearer(lee.token())
    body = f"**Bold** and [a link](https://example.org) {XSS} [bad](javascript:alert(1))"
    made = api.post(f"/api/papers/{paper}/comments", json={"body": body}, headers=headers)
    assert made.status_code == 201
    comment = made.json()
    assert comment["body"] == body and "<strong>Bold</strong>" in comment["html"]
    assert "<script" not in comment["html"] and "<img" not in comment["html"]
    assert 'href="javascript' not in comment["html"]  # left as text, not made a link
    page = lee.client.get(f"/papers/{paper}").text
    assert "<strong>Bold</strong>" in page and 'rel="nofollow ugc noopener noreferrer"' in page
    assert "<script>alert" not in page and "<img" not in page and 'href="javascript' not in page
    # Only its author edits or deletes it.
    other = _bearer(people().token())
    assert (
        api.patch(
            f"/api/comments/{comment['id']}", json={"body": "mine now"}, headers=other
        ).status_code
        == 404
    )
    edited = api.patch(f"/api/comments/{comment['id']}", json={"body": "Edited."}, headers=headers)
    assert edited.json()["body"] == "Edited." and edited.json()["editedAt"]
    assert api.delete(f"/api/comments/{comment['id']}", headers=other).status_code == 404
    assert api.get(f"/api/papers/{paper}").json()["numComments"] == 1
    assert api.delete(f"/api/comments/{comment['id']}", headers=headers).status_code == 204
    assert api.get(f"/api/papers/{paper}/comments").json() == []
    empty = api.post(f"/api/papers/{paper}/comments", json={"body": "  "}, headers=headers)
    assert empty.status_code == 422


def test_a_curator_features_papers_and_hides_comments(people, fresh, store, community_app):
    people("curator@example.org")
    store.accounts.ensure("curator@example.org", utcnow(), role="curator")
    curator = people("curator@example.org")
    member = people("max@example.org")
    api = TestClient(community_app)
    first, second = fresh(), fresh()
    member.post("/submit", paper_id=first)
    member.post("/submit", paper_id=second)
    rude = member.post(f"/papers/{first}/comments", body="rude words")
    comment_id = int(rude.headers["location"].rsplit("-", 1)[1])
    # A member may not curate.
    assert member.post(f"/comments/{comment_id}/hide").status_code == 403
    assert member.post(f"/papers/{second}/curate", state="featured").status_code == 403
    assert curator.post(f"/comments/{comment_id}/hide").status_code == 303
    assert api.get(f"/api/papers/{first}/comments").json() == []
    assert api.get(f"/api/papers/{first}").json()["numComments"] == 0
    assert "hidden by a curator" in curator.client.get(f"/papers/{first}").text
    assert curator.post(f"/papers/{second}/curate", state="featured").status_code == 303
    day = [e["paper"]["id"] for e in api.get("/api/daily_papers?limit=100").json()]
    assert day[0] == second
    curator.post(f"/papers/{second}/curate", state="hidden")
    assert second not in [e["paper"]["id"] for e in api.get("/api/daily_papers?limit=100").json()]


# -- collections -----------------------------------------------------------------------------
def test_collections_are_private_unless_shared_by_link(people, fresh, community_app):
    nia = people("nia@example.org")
    ola = people("ola@example.org")
    paper = fresh()
    api = TestClient(community_app)
    made = api.post("/api/collections", json={"name": "Reading list"}, headers=_bearer(nia.token()))
    assert made.status_code == 201 and made.json()["shared"] is False
    cid = made.json()["id"]
    nia.post(f"/collections/{cid}/papers", paper_id=paper)
    assert paper in nia.client.get(f"/collections/{cid}").text
    bib = nia.client.get(f"/collections/{cid}.bib")
    assert bib.status_code == 200 and paper in bib.text and bib.text.startswith("@")
    # Another member: as if it did not exist, to read or to change.
    ola_token = _bearer(ola.token())
    assert ola.client.get(f"/collections/{cid}").status_code == 404
    assert ola.client.get(f"/collections/{cid}.bib").status_code == 404
    assert api.get(f"/api/collections/{cid}", headers=ola_token).status_code == 404
    assert ola.post(f"/collections/{cid}/papers", paper_id=paper, remove="1").status_code == 404
    assert ola.post(f"/collections/{cid}/rename", name="mine").status_code == 404
    assert api.delete(f"/api/collections/{cid}", headers=ola_token).status_code == 404
    assert (
        TestClient(community_app).get(f"/collections/{cid}", follow_redirects=False).status_code
        == 404
    )
    # Shared: anyone with the link reads it; unshared, the link is dead.
    nia.post(f"/collections/{cid}/share", shared="1")
    share = re.search(
        r'<code class="share">([^<]+)</code>', nia.client.get(f"/collections/{cid}").text
    )
    path = urlsplit(share.group(1)).path
    assert paper in TestClient(community_app).get(path).text
    assert paper in TestClient(community_app).get(path + ".bib").text
    nia.post(f"/collections/{cid}/share", shared="0")
    assert TestClient(community_app).get(path).status_code == 404
    # Same name twice: refused.
    assert (
        api.post(
            "/api/collections", json={"name": "Reading list"}, headers=_bearer(nia.token())
        ).status_code
        == 409
    )


def test_not_interested_hides_a_paper_from_ones_lists(people, store, community_app):
    pia = people("pia@example.org")
    latest = store.papers.newest_published().date().isoformat()
    home = pia.client.get(f"/?date={latest}&view=all").text
    first = re.search(r'data-id="([^"]+)"', home).group(1)
    pia.post(f"/papers/{first}/dismiss")
    assert f'data-id="{first}"' not in pia.client.get(f"/?date={latest}&view=all").text
    assert f'data-id="{first}"' in people().client.get(f"/?date={latest}&view=all").text
    pia.post(f"/papers/{first}/dismiss", undo="1")
    assert f'data-id="{first}"' in pia.client.get(f"/?date={latest}&view=all").text


# -- hostile input ---------------------------------------------------------------------------
def test_markup_and_sql_in_every_input_are_inert(people, fresh, store, community_app):
    rex = people("rex@example.org")
    paper = fresh()
    assert rex.post("/account/name", fullname=XSS).status_code == 303
    rex.post("/submit", paper_id=paper, comment=XSS + SQL)
    rex.post(f"/papers/{paper}/comments", body=SQL)
    cid = re.search(
        r"/collections/(\d+)", rex.post("/collections", name=XSS + SQL).headers["location"]
    ).group(1)
    api = TestClient(community_app)
    pages = [
        rex.client.get(f"/papers/{paper}"),
        rex.client.get("/"),
        rex.client.get(f"/collections/{cid}"),
        rex.client.get("/collections"),
        rex.client.get("/account"),
        rex.client.get("/search", params={"q": XSS + SQL}),
        api.get("/", params={"date": XSS}),
        api.get("/signin", params={"next": 'javascript:alert(1)"><script>'}),
        api.get("/feeds/daily.rss"),
    ]
    for answer in pages:
        assert "<script>alert" not in answer.text and "<img src=x" not in answer.text, answer.url
    assert "&lt;script&gt;alert" in pages[0].text  # shown, as text
    listed = api.get("/api/daily_papers?limit=100")
    assert listed.headers["content-type"].startswith("application/json")
    by = [e["submittedOnDailyBy"]["fullname"] for e in listed.json() if e["paper"]["id"] == paper]
    assert by == [XSS]  # data, kept exactly
    with store.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(User)).scalar_one() > 1
        assert connection.execute(select(func.count()).select_from(Paper)).scalar_one() > 40
        bodies = connection.execute(select(Comment.body).where(Comment.paper_id == paper)).scalars()
        assert SQL in list(bodies)
    assert store.accounts.by_email("rex@example.org").fullname == XSS


# -- accounts --------------------------------------------------------------------------------
def test_api_tokens_are_shown_once_and_revocable(people, community_app):
    sam = people("sam@example.org")
    token = sam.token()
    api = TestClient(community_app)
    assert api.get("/api/whoami", headers=_bearer(token)).json()["name"] == "sam"
    account = sam.client.get("/account").text
    assert token not in account and token[:7] in account
    token_id = re.search(r"/account/tokens/(\d+)/revoke", account).group(1)
    sam.post(f"/account/tokens/{token_id}/revoke")
    assert api.get("/api/whoami", headers=_bearer(token)).status_code == 401


def test_deleting_an_account_removes_what_was_theirs(people, fresh, store):
    tom = people("tom@example.org")
    paper = fresh()
    tom.post("/submit", paper_id=paper, comment="mine")
    tom.post(f"/papers/{paper}/upvote")
    assert tom.post("/account/delete", confirm="someone@else.org").status_code == 422
    assert tom.post("/account/delete", confirm="tom@example.org").status_code == 303
    assert store.accounts.by_email("tom@example.org") is None
    assert tom.client.get("/account", follow_redirects=False).status_code == 303
    with store.engine.connect() as connection:
        assert (
            connection.execute(
                select(func.count()).select_from(Vote).where(Vote.paper_id == paper)
            ).scalar_one()
            == 0
        )
    submitted = store.submissions.of([paper])[paper]
    assert submitted.user_id is None  # the paper stays on its day, unattributed
    assert store.comments.thread(paper) == []


def test_csrf_tokens_are_bound_to_their_session(people, fresh):
    uma, vic = people("uma@example.org"), people("vic@example.org")
    paper = fresh()
    stolen = csrf_in(uma.client.get("/account").text)
    answer = vic.client.post(f"/papers/{paper}/upvote", data={"csrf_token": stolen})
    assert answer.status_code == 403


def test_feeds_carry_upvotes_and_comments_and_follow_the_curated_page(people, fresh, community_app):
    wes = people("wes@example.org")
    paper = fresh()
    wes.post("/submit", paper_id=paper, comment="First!")
    wes.post(f"/papers/{paper}/upvote")
    rss = TestClient(community_app).get("/feeds/daily.rss")
    item = next(i for i in ET.fromstring(rss.content).iter("item") if paper in i.findtext("link"))
    assert item.findtext("description").endswith("▲ 1 upvote · 1 comment")
    curated = {i.findtext("link") for i in ET.fromstring(rss.content).iter("item")}
    everything = TestClient(community_app).get("/feeds/daily.rss?view=all")
    assert everything.status_code == 200
    assert {i.findtext("link") for i in ET.fromstring(everything.content).iter("item")} != curated
