"""What a daily user meets when something is wrong or missing: a form refused answers in
itself, input kept and the change named; every error is the site's page; members' pages
send the signed-out to sign in and back; the subscribe box only where it makes sense; the
API docs list each operation once. Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from paperscope.accounts import utcnow
from paperscope.web.app import create_app
from tests.mail_server import link_in
from tests.web.conftest import RECENT
from tests.web.members import csrf_in


@pytest.fixture(scope="module")
def store(community_store):
    return community_store


@pytest.fixture(scope="module")
def papers(store) -> list[str]:
    found = sorted(store.papers.iter_all(), key=lambda p: p.published, reverse=True)
    # The other module takes the newest; these tests comment, which any paper allows.
    return [p.id for p in found[RECENT:]]


def _textarea(page: str, name: str) -> str:
    match = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', page, re.S)
    assert match, page
    return html.unescape(match.group(1))


def _input(page: str, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page)
    assert match, page
    return html.unescape(match.group(1))


def _is_site_page(page: str) -> bool:
    return '<a class="brand" href="/">paperscope</a>' in page and "<nav>" in page


# -- a form refused answers in itself --------------------------------------------------------
def test_a_comment_over_the_limit_comes_back_in_its_form_with_the_count(people, papers, store):
    ria = people("ria@example.org")
    paper = papers[0]
    long = "Too long. " * 1234 + "12345"  # 12,345 characters
    answer = ria.post(f"/papers/{paper}/comments", body=long)
    assert answer.status_code == 422
    message = (
        "A comment holds at most 10,000 characters; yours has 12,345. Shorten it and post again."
    )
    assert message in answer.text and _is_site_page(answer.text)
    assert _textarea(answer.text, "body") == long
    assert 'id="comment-form"' in answer.text and "<h1" in answer.text  # the paper's page
    assert ria.client.get(f"/api/papers/{paper}/comments").json() == []
    # Editing says the same, in the edit form, and keeps what was there.
    posted = ria.post(f"/papers/{paper}/comments", body="Short and fine.")
    comment_id = int(posted.headers["location"].rsplit("-", 1)[1])
    edit = ria.post(f"/comments/{comment_id}/edit", body=long)
    assert edit.status_code == 422 and message in edit.text
    assert _textarea(edit.text, "body") == long
    assert store.comments.get(comment_id).body == "Short and fine."


def _subscribed(store, email: str, **preferences):
    subscriber, _ = store.digests.subscribe(email, utcnow(), confirmed=True, **preferences)
    return subscriber


def test_bad_digest_preferences_come_back_as_typed_and_nothing_is_saved(
    people, store, community_app
):
    subscriber = _subscribed(store, "prefs@example.org", categories=["cs.CL"], follows=["agents"])
    token = community_app.state.services.digests.token("manage", subscriber.id)
    reader = people(signed_in=False).client
    form = reader.get("/digest/preferences", params={"token": token})
    typed = {
        "token": token,
        "csrf_token": csrf_in(form.text),
        "frequency": "weekly",
        "categories": "cs.LG hep-th",
        "follows": "ti:diffusion\nti:",
        "max_papers": "7",
    }
    for change, field, says in [
        ({}, "follows", "Searches you follow, search 2 (ti:): ti: needs a word"),
        ({"follows": 'ti:"open'}, "follows", "search 1 (ti:&#34;open): unclosed quote"),
        ({"follows": "", "categories": "cs.LG cs.XX"}, "categories", "cs.XX is not an arXiv"),
        ({"follows": "", "categories": "cs"}, "categories", "cs is a whole archive"),
        ({"follows": "", "max_papers": "lots"}, "max_papers", "a whole number from 1 to 50"),
        ({"follows": "", "frequency": "hourly"}, "frequency", "pick daily or weekly"),
    ]:
        answer = reader.post("/digest/preferences", data=typed | change)
        assert answer.status_code == 422, answer.text
        assert says in answer.text and "Nothing was saved." in answer.text
        assert _is_site_page(answer.text) and 'id="subscribe"' not in answer.text
        sent = typed | change
        assert _textarea(answer.text, "follows") == sent["follows"]
        assert _input(answer.text, "categories") == sent["categories"]
        assert _input(answer.text, "max_papers") == sent["max_papers"]
        assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', answer.text), field
    unchanged = store.digests.get(subscriber.id)
    assert (unchanged.frequency, unchanged.categories, unchanged.follows) == (
        "daily",
        ["cs.CL"],
        ["agents"],
    )
    # Codes in any case are arXiv's, spelled as arXiv does.
    saved = reader.post(
        "/digest/preferences", data=typed | {"follows": "agents", "categories": "cs.lg HEP-TH"}
    )
    assert saved.status_code == 200 and "Saved." in saved.text
    assert store.digests.get(subscriber.id).categories == ["cs.LG", "hep-th"]


def test_a_bad_address_to_subscribe_is_kept_in_the_form(people):
    reader = people(signed_in=False).client
    form = reader.get("/subscribe")
    answer = reader.post(
        "/subscribe", data={"email": "not an address", "csrf_token": csrf_in(form.text)}
    )
    assert answer.status_code == 422 and _input(answer.text, "email") == "not an address"
    assert "does not look like an email address: correct the address" in answer.text


# -- one rule for the signed-out -------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/account",
        "/collections",
        "/for-you",
        "/for-you/how-it-does",
        "/submit",
        "/digest/preferences",
        "/digest/preview",
        "/comments/1/edit",
    ],
)
def test_a_members_page_sends_the_signed_out_to_sign_in(people, path):
    answer = people(signed_in=False).client.get(path, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/signin?next=" + path.replace("/", "%2F")


def test_after_signing_in_the_member_lands_where_they_were_going(people, smtp):
    sam = people(signed_in=False)
    form = sam.client.get("/signin", params={"next": "/collections"})
    assert _input(form.text, "next") == "/collections"
    sam.client.post(
        "/signin",
        data={"email": "sam@example.org", "next": "/collections", "csrf_token": csrf_in(form.text)},
    )
    link = link_in(smtp.inbox.wait_for("sam@example.org"))
    assert parse_qs(urlsplit(link).query)["next"] == ["/collections"]
    opened = sam.client.get(link.removeprefix("http://testserver"))
    assert _input(opened.text, "next") == "/collections"
    token = parse_qs(urlsplit(link).query)["token"][0]
    answer = sam.client.post(
        "/signin/confirm",
        data={"token": token, "next": "/collections", "csrf_token": csrf_in(opened.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/collections"
    assert "Your collections" in sam.client.get("/collections").text


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example"])
def test_next_is_never_another_site(people, target):
    reader = people(signed_in=False).client
    assert _input(reader.get("/signin", params={"next": target}).text, "next") == "/"
    opened = reader.get("/signin/confirm", params={"token": "x", "next": target})
    assert opened.status_code == 400  # no such link; nothing to follow either


# -- every error is the site's page ----------------------------------------------------------
@pytest.fixture(scope="module")
def failing_app(community_settings):
    """The app with one route that fails as a bug would (the handler is the real one)."""
    app = create_app(community_settings)

    @app.get("/papers-broken")
    def broken():
        raise RuntimeError("a bug")

    @app.get("/api/broken")
    def broken_api():
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_every_error_page_is_the_sites_page_with_navigation(failing_app, caplog):
    for method, path, status in [
        ("GET", "/no-such-page", 404),
        ("GET", "/papers/2401.99999", 404),
        ("GET", "/signout", 405),
        ("GET", "/?date=yesterday", 422),
        ("GET", "/papers-broken", 500),
    ]:
        answer = failing_app.request(method, path)
        assert answer.status_code == status, path
        assert answer.headers["content-type"].startswith("text/html"), path
        assert _is_site_page(answer.text), path
        assert 'id="subscribe"' not in answer.text, path
        assert "Traceback" not in answer.text and "a bug" not in answer.text
    assert failing_app.request("GET", "/signout").headers["allow"] == "POST"
    assert "GET /papers-broken failed" in caplog.text
    # The API keeps answering JSON.
    assert failing_app.get("/api/nothing-here").json() == {"error": "Not Found"}
    broken = failing_app.get("/api/broken")
    assert broken.status_code == 500 and broken.json() == {
        "error": "something went wrong on the server"
    }


# -- the subscribe box -----------------------------------------------------------------------
def test_the_subscribe_box_only_where_it_makes_sense(people, store):
    reader = people(signed_in=False).client
    assert 'id="subscribe"' in reader.get("/trending").text
    assert 'id="subscribe"' not in reader.get("/subscribe").text
    assert 'id="subscribe"' not in reader.get("/nowhere").text
    newcomer = people("newcomer@example.org")
    assert 'id="subscribe"' in newcomer.client.get("/trending").text
    account = newcomer.client.get("/account").text
    assert 'href="/subscribe?email=newcomer%40example.org"' in account
    _subscribed(store, "reader@example.org")
    reader_member = people("reader@example.org")
    assert 'id="subscribe"' not in reader_member.client.get("/trending").text
    account = reader_member.client.get("/account").text
    assert 'href="/digest/preferences" id="digest-preferences"' in account
    # The link opens their own preferences, by their session.
    own = reader_member.client.get("/digest/preferences")
    assert own.status_code == 200 and "For <b>reader@example.org</b>" in own.text
    later = newcomer.client.get("/digest/preferences", follow_redirects=False)
    assert later.headers["location"] == "/subscribe?email=newcomer%40example.org"


def test_without_a_mail_server_subscribing_says_the_link_is_on_the_console(
    community_settings, capfd
):
    settings = community_settings.model_copy(
        update={"smtp_host": None, "public_url": None, "host": "127.0.0.1"}
    )
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        form = client.get("/subscribe")
        answer = client.post(
            "/subscribe", data={"email": "console@example.org", "csrf_token": csrf_in(form.text)}
        )
        assert answer.status_code == 200
        assert (
            "No mail server is set, so the confirmation link was printed on the server's console"
            in answer.text
        )
        client.app.state.services.digests.close()  # the confirmation is sent by then
    assert "digest confirmation for console@example.org" in capfd.readouterr().err


# -- deletes ask first; LaTeX in comments ------------------------------------------------------
def test_every_delete_asks_first(people, papers, store):
    una = people("una@example.org")
    una.token()
    una.post(f"/papers/{papers[1]}/comments", body="A comment to delete.")
    made = una.post("/collections", name="To delete")
    for path, button in [
        (f"/papers/{papers[1]}", "Yes, delete this comment"),
        (made.headers["location"], "Yes, delete this collection"),
        ("/account", "Yes, revoke this token"),
        ("/account", "Yes, delete my account"),
    ]:
        page = una.client.get(path).text
        steps = re.findall(r'<details class="confirm"[^>]*>(.*?)</details>', page, re.S)
        # The real form sits behind a summary that only opens it.
        assert any(button in step and "<summary" in step for step in steps), (path, button)
        assert page.count(button) == 1


def test_latex_in_comments_reads_as_in_abstracts_and_code_stays_as_written(people, papers):
    vic = people("vic@example.org")
    body = "With $\\alpha_1$ and \\(x^2\\), not `$\\beta$`; $<script>alert(1)</script>$"
    vic.post(f"/papers/{papers[2]}/comments", body=body)
    page = vic.client.get(f"/papers/{papers[2]}").text
    assert "With α₁ and x², not <code>$\\beta$</code>" in page
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# -- the API docs ----------------------------------------------------------------------------
def test_the_api_docs_list_each_operation_once_and_link_back(people):
    reader = people(signed_in=False).client
    spec = reader.get("/openapi.json").json()
    operations = [
        (path, method, tuple(op.get("tags", ())))
        for path, item in spec["paths"].items()
        for method, op in item.items()
    ]
    assert all(len(tags) == 1 for _, _, tags in operations), operations
    ids = [spec["paths"][p][m]["operationId"] for p, m, _ in operations]
    assert len(ids) == len(set(ids))
    docs = reader.get("/docs").text
    assert '<a class="brand" href="/">paperscope</a>' in docs
