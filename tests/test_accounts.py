"""Sign-in links without the web layer: where they go (a real SMTP server, or the console
of a loopback server with no mail), what happens when the mail server refuses, closed
sign-up, and what logs and the access log never hold."""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta

import pytest

from paperscope.accounts import AccountService, BadEmail, LinkRefused, RateLimited, utcnow
from paperscope.settings import Settings
from paperscope.store import Store, open_store
from paperscope.web.access_log import AccessLog
from tests.mail_server import SmtpServer, link_in


@pytest.fixture
def store(tmp_path, database_url) -> Store:
    store = open_store(Settings(data_dir=tmp_path / "data", database_url=database_url))
    yield store
    store.engine.dispose()


def _service(store: Store, lines: list[str] | None = None, **settings) -> AccountService:
    chosen = Settings(**settings)
    console = lines.append if lines is not None else None
    return AccountService(chosen, store, console=console)


def _token(link: str) -> str:
    return link.split("token=", 1)[1]


def test_without_mail_a_loopback_server_prints_the_link_on_its_console(store):
    lines: list[str] = []
    accounts = _service(store, lines, host="127.0.0.1", port=8123)
    assert accounts.delivery == "console"
    accounts.request_link("Solo@Example.org", "127.0.0.1").result(10)
    (line,) = lines
    link = line.rsplit(" ", 1)[1]
    assert "solo@example.org" in line and link.startswith("http://127.0.0.1:8123/signin/confirm?")
    member, session = accounts.redeem(_token(link))
    assert member.email == "solo@example.org" and member.role == "member"
    assert accounts.session_member(session)[0] == member
    with pytest.raises(LinkRefused) as refused:
        accounts.redeem(_token(link))
    assert refused.value.state == "used"


def test_without_mail_a_public_server_cannot_send_links(store):
    accounts = _service(store, host="0.0.0.0", public_url="https://papers.example.org")
    assert accounts.delivery is None


def test_links_are_built_on_the_public_url_and_expire(store):
    server = SmtpServer().start()
    try:
        accounts = _service(
            store, public_url="https://papers.example.org/", host="0.0.0.0", **server.settings()
        )
        accounts.request_link("late@example.org", "10.0.0.1").result(10)
        link = link_in(server.inbox.wait_for("late@example.org"))
    finally:
        server.stop()
    assert link.startswith("https://papers.example.org/signin/confirm?token=")
    later = utcnow() + timedelta(minutes=15, seconds=1)
    assert accounts.link_state(_token(link), later) == "expired"
    with pytest.raises(LinkRefused):
        accounts.redeem(_token(link), later)
    assert accounts.redeem(_token(link))[0].email == "late@example.org"


def test_a_refusing_mail_server_is_logged_without_the_link(store, caplog):
    server = SmtpServer(refuse=True).start()
    try:
        accounts = _service(store, **server.settings())
        with caplog.at_level(logging.DEBUG):
            sent = accounts.request_link("full@example.org", "10.0.0.2")  # answered at once
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                sent.result(10)
    finally:
        server.stop()
    ours = [r for r in caplog.records if r.name.startswith("paperscope")]  # not the server's
    logged = " ".join(record.getMessage() for record in ours)
    assert "sign-in mail" in logged and "failed" in logged
    assert "token" not in logged and "full@example.org" not in logged


def test_closed_sign_up_mails_only_members(store):
    server = SmtpServer().start()
    try:
        accounts = _service(store, open_signup=False, **server.settings())
        store.accounts.ensure("member@example.org", utcnow())
        accounts.request_link("member@example.org", "c").result(10)
        accounts.request_link("stranger@example.org", "c").result(10)
        server.inbox.wait_for("member@example.org")
        assert server.inbox.to("stranger@example.org") == []
    finally:
        server.stop()


@pytest.mark.parametrize(
    "address", ["", "no-at-sign", "a@b", "two@@example.org", "x@example.org\r\nBcc: y@z.org"]
)
def test_what_is_not_an_address_is_refused(store, address):
    with pytest.raises(BadEmail):
        _service(store).request_link(address, "c")


def test_requests_for_links_are_limited_per_client_too(store):
    accounts = _service(store, [], sign_in_requests_per_hour_per_client=3, host="127.0.0.1")
    for n in range(3):
        accounts.request_link(f"a{n}@example.org", "10.9.9.9")
    with pytest.raises(RateLimited):
        accounts.request_link("a9@example.org", "10.9.9.9")
    accounts.request_link("a9@example.org", "10.9.9.10")  # another client


def test_the_access_log_never_holds_a_token():
    scope = {
        "method": "GET",
        "path": "/c/s3cr3t-share-token",
        "path_params": {"token": "s3cr3t-share-token"},
        "query_string": b"token=sign-in-secret&next=/",
        "client": ("127.0.0.1", 1),
    }
    line = AccessLog.line(scope, {"status": 200, "cache": None}, 0.0)
    assert "s3cr3t" not in line and "sign-in-secret" not in line and '"token"' in line
