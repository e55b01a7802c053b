"""Digests end to end on real SMTP servers (aiosmtpd) on 127.0.0.1: one that accepts, one
that fails for a while, one that refuses. Double opt-in, one-click unsubscribe, what goes
into a digest and why, never the same paper twice, and exactly one digest per subscriber
and period however often `digest send` runs, overlaps or is killed."""

from __future__ import annotations

import base64
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import replace
from datetime import date, datetime, timedelta

import dkim
import pytest
from fastapi.testclient import TestClient

from paperscope.accounts import utcnow
from paperscope.digest import DigestService, digest_period
from paperscope.settings import LOOPBACK_HOSTS, Settings
from paperscope.store import Store, open_store
from paperscope.web.app import create_app
from tests.mail_server import SmtpServer, link_in
from tests.search.conftest import demo_records
from tests.web.members import csrf_in

DAY = date(2026, 12, 2)  # a Wednesday: its daily digest covers December 1
PERIOD = digest_period("daily", DAY)


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


def _settings(tmp_path, database_url, smtp: SmtpServer, **extra) -> Settings:
    chosen = {
        "data_dir": tmp_path / "data",
        "database_url": database_url,
        "public_url": "https://papers.example.org",
        "allowed_hosts": ["testserver", *LOOPBACK_HOSTS],
        "mail_from": "paperscope <digest@papers.example.org>",
        "digest_retry_s": 0,
        **smtp.settings(),
    }
    return Settings(**(chosen | extra))


@pytest.fixture
def store(tmp_path, database_url, smtp) -> Store:
    """60 demo papers, 40 of them published on December 1 (the period's day)."""
    store = open_store(_settings(tmp_path, database_url, smtp))
    start = datetime(2026, 12, 1, 0, 30)
    records = [
        replace(r, published=start + timedelta(minutes=20 * i), updated=None) if i < 40 else r
        for i, r in enumerate(demo_records(60))
    ]
    store.papers.upsert(records)
    yield store
    store.engine.dispose()


def _voted(store: Store, papers: int) -> list[str]:
    """Upvote the period's first papers (1, 2, ... votes) so that something trends."""
    rows, _ = store.rankings.published(PERIOD.start, PERIOD.end, limit=papers)
    for n, (paper, _) in enumerate(rows):
        for voter in range(n + 1):
            store.votes.add(paper.id, f"reader-{voter}", utcnow())
    return [paper.id for paper, _ in rows]


def _subscribers(store: Store, count: int) -> list[str]:
    emails = [f"reader{n}@example.org" for n in range(count)]
    for email in emails:
        store.digests.subscribe(email, utcnow(), confirmed=True, max_papers=5)
    return emails


# -- subscribing -----------------------------------------------------------------------------
def test_double_opt_in_then_one_click_unsubscribe(tmp_path, database_url, smtp, store):
    settings = _settings(tmp_path, database_url, smtp)
    _voted(store, 5)
    app = create_app(settings)
    with TestClient(app, base_url="https://testserver") as client:
        form = client.get("/subscribe", params={"email": "new@example.org"})
        assert 'value="new@example.org"' in form.text
        done = client.post(
            "/subscribe", data={"email": "new@example.org", "csrf_token": csrf_in(form.text)}
        )
        assert done.status_code == 200 and "confirmation link" in done.text
        link = link_in(smtp.inbox.wait_for("new@example.org"))
        assert link.startswith("https://papers.example.org/digest/confirm?token=")
        # Nothing goes to an unconfirmed address, and opening the link confirms nothing.
        path = link.removeprefix("https://papers.example.org")
        page = client.get(path)
        assert (
            page.status_code == 200 and store.digests.by_email("new@example.org").state == "pending"
        )
        service = DigestService(settings, store)
        assert service.send("daily", DAY).sent == 0
        token = path.split("token=", 1)[1]
        confirmed = client.post(
            "/digest/confirm", data={"token": token, "csrf_token": csrf_in(page.text)}
        )
        assert confirmed.status_code == 200
        assert store.digests.by_email("new@example.org").state == "active"

        assert service.send("daily", DAY).sent == 1
        digest = smtp.inbox.wait_for("new@example.org", 2)
        unsubscribe = digest["List-Unsubscribe"]
        assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        https, mailto = [part.strip(" <>") for part in unsubscribe.split(",")]
        assert https.startswith("https://papers.example.org/digest/unsubscribe/")
        assert mailto.startswith("mailto:unsubscribe@papers.example.org?subject=")
        # One POST, no cookie, no session, no CSRF token: done, and no redirect.
        bare = TestClient(app, base_url="https://testserver")
        answer = bare.post(
            https.removeprefix("https://papers.example.org"),
            content="List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            follow_redirects=False,
        )
        assert answer.status_code == 200 and "gets no more digests" in answer.text
        assert not bare.cookies
        assert store.digests.by_email("new@example.org").state == "unsubscribed"
        assert service.send("weekly", DAY).sent == 0
        forged = bare.post("/digest/unsubscribe/forged", follow_redirects=False)
        assert forged.status_code == 400
    service.close()


def test_preferences_from_the_link_in_every_digest(tmp_path, database_url, smtp, store):
    settings = _settings(tmp_path, database_url, smtp)
    _subscribers(store, 1)
    _voted(store, 5)
    service = DigestService(settings, store)
    service.send("daily", DAY)
    digest = smtp.inbox.wait_for("reader0@example.org")
    text = digest.get_body(("plain",)).get_content()
    preferences = next(line for line in text.splitlines() if "/digest/preferences?" in line)
    path = preferences.split("https://papers.example.org", 1)[1]
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        page = client.get(path)
        assert page.status_code == 200 and "reader0@example.org" in page.text
        token = path.split("token=", 1)[1]
        bad = client.post(
            "/digest/preferences",
            data={
                "token": token,
                "csrf_token": csrf_in(page.text),
                "follows": 'ti:"unclosed',
            },
        )
        assert bad.status_code == 422
        saved = client.post(
            "/digest/preferences",
            data={
                "token": token,
                "csrf_token": csrf_in(page.text),
                "frequency": "weekly",
                "categories": "cs.CL cs.LG",
                "follows": "ti:diffusion\nagents",
                "max_papers": "7",
                "paused": "1",
            },
        )
        assert saved.status_code == 200 and "Saved." in saved.text
        assert client.get("/digest/preferences", params={"token": "forged"}).status_code == 400
    subscriber = store.digests.by_email("reader0@example.org")
    assert (subscriber.frequency, subscriber.categories, subscriber.follows) == (
        "weekly",
        ["cs.CL", "cs.LG"],
        ["ti:diffusion", "agents"],
    )
    assert (subscriber.max_papers, subscriber.state, subscriber.for_you) == (7, "paused", False)
    service.close()


# -- what a digest holds ---------------------------------------------------------------------
def test_a_digest_says_why_each_paper_is_there_and_never_repeats_one(
    tmp_path, database_url, smtp, store
):
    settings = _settings(tmp_path, database_url, smtp)
    voted = _voted(store, 8)
    store.digests.subscribe("reader@example.org", utcnow(), confirmed=True, max_papers=5)
    service = DigestService(settings, store)
    first = service.send("daily", DAY)
    assert (first.sent, first.empty) == (1, 0)
    message = smtp.inbox.wait_for("reader@example.org")
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert text.count("Why: ") == 5 and "8 upvotes since the last digest" in text
    assert "<style" not in html and 'style="' in html  # inlined for mail clients
    # The HTML goes as ASCII text (the upvote arrow as a character reference), not base64.
    part = message.get_body(("html",))
    assert part["Content-Transfer-Encoding"] == "7bit" and html.isascii() and "&#9650;" in html
    assert message["Message-ID"] == service.message_id(
        PERIOD, store.digests.by_email("reader@example.org").id
    )
    sent_ids = {v for v in voted[-5:]}  # the most upvoted five
    assert all(f"/papers/{pid}" in text for pid in sent_ids)
    # The next day looks at the same papers (a Thursday digest covers Wednesday, and a
    # window can overlap): what was sent once is never sent again.
    later = date(2026, 12, 3)
    store.papers.upsert(
        [replace(r, published=datetime(2026, 12, 2, 8)) for r in demo_records(60)[40:45]]
    )
    for paper_id in voted:
        store.votes.add(paper_id, "late-reader", utcnow())
    second = service.send("daily", later)
    if second.sent:
        again = smtp.inbox.wait_for("reader@example.org", 2).get_body(("plain",)).get_content()
        assert not any(f"/papers/{pid}" in again for pid in sent_ids)
    # Nothing new at all: no mail.
    store.digests.subscribe("quiet@example.org", utcnow(), confirmed=True)
    assert service.send("daily", date(2026, 12, 7)).empty >= 1  # a Monday with no papers
    assert smtp.inbox.to("quiet@example.org") == []
    service.close()


def test_followed_searches_and_categories_come_first(tmp_path, database_url, smtp, store):
    from paperscope.search.engine import SearchEngine
    from paperscope.search.indexer import Indexer

    settings = _settings(tmp_path, database_url, smtp)
    Indexer(SearchEngine(settings, store)).update(embed=False)
    rows, _ = store.rankings.published(PERIOD.start, PERIOD.end, limit=40)
    target = rows[7][0]
    word = max(target.title.split(), key=len).strip(",:.()")
    store.digests.subscribe(
        "follower@example.org", utcnow(), confirmed=True, follows=[f"ti:{word}"], max_papers=3
    )
    service = DigestService(settings, store, search=SearchEngine(settings, store))
    assert service.send("daily", DAY).sent == 1
    text = smtp.inbox.wait_for("follower@example.org").get_body(("plain",)).get_content()
    assert f"/papers/{target.id}" in text and f"matches “ti:{word}”" in text
    service.close()


# -- delivery --------------------------------------------------------------------------------
def test_a_refusing_server_marks_the_address_bouncing(tmp_path, database_url, store):
    refusing = SmtpServer(refuse=True).start()
    try:
        settings = _settings(tmp_path, database_url, refusing)
        _subscribers(store, 2)
        _voted(store, 3)
        service = DigestService(settings, store)
        report = service.send("daily", DAY)
        assert (report.sent, report.failed) == (0, 2)
        assert {s: n for s, n in store.digests.count().items()} == {"bouncing": 2}
        assert service.send("daily", DAY).sent == 0  # and nothing more goes to them
    finally:
        refusing.stop()
    service.close()


def test_temporary_failures_are_tried_again_until_they_go_through(
    tmp_path, database_url, smtp, store
):
    _subscribers(store, 3)
    _voted(store, 3)
    smtp.inbox.fail_next = 2  # "451 try again later", twice
    # With a back-off, the two wait: a run now sends only the third.
    waiting = DigestService(_settings(tmp_path, database_url, smtp, digest_retry_s=60), store)
    report = waiting.send("daily", DAY)
    assert (report.sent, report.retrying, report.failed) == (1, 2, 0)
    assert len(report.errors) == 2 and all("451" in e for e in report.errors)
    assert waiting.send("daily", DAY).sent == 0  # not due yet
    # Once due (no back-off here), they go through, once each.
    eager = DigestService(_settings(tmp_path, database_url, smtp), store)
    with store.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE digest_outbox SET next_attempt_at = created_at")
    assert eager.send("daily", DAY).sent == 2
    assert Counter(str(m["To"]) for m in smtp.inbox.messages) == {
        f"reader{n}@example.org": 1 for n in range(3)
    }
    waiting.close()
    eager.close()


def _send_process(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "paperscope", "digest", "send", "--date", DAY.isoformat()],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _env(tmp_path, database_url, smtp: SmtpServer) -> dict:
    return os.environ | {
        "PAPERSCOPE_DATA_DIR": str(tmp_path / "data"),
        "PAPERSCOPE_DATABASE_URL": database_url,
        "PAPERSCOPE_PUBLIC_URL": "https://papers.example.org",
        "PAPERSCOPE_MAIL_FROM": "paperscope <digest@papers.example.org>",
        "PAPERSCOPE_SMTP_HOST": "127.0.0.1",
        "PAPERSCOPE_SMTP_PORT": str(smtp.port),
        "PAPERSCOPE_SMTP_SECURITY": "none",
        "PAPERSCOPE_DIGEST_BATCH": "5",
        "PAPERSCOPE_DIGEST_LEASE_S": "2",
    }


def _exactly_once(smtp: SmtpServer, emails: list[str]) -> None:
    got = Counter(str(m["To"]) for m in smtp.inbox.messages)
    assert got == dict.fromkeys(emails, 1), {e: n for e, n in got.items() if n != 1}
    ids = [m["Message-ID"] for m in smtp.inbox.messages]
    assert len(set(ids)) == len(ids) == len(emails)


def test_sigkill_at_random_points_then_again_sends_each_digest_exactly_once(
    tmp_path, database_url, smtp, store
):
    """Each run is killed (SIGKILL, the whole process group) at a random point: while it
    starts or composes (a random moment), or while the server, holding a message it has
    queued, is slow to answer (the moment a naive sender would lose or repeat one)."""
    emails = _subscribers(store, 90)
    _voted(store, 6)
    env = _env(tmp_path, database_url, smtp)
    rng = random.Random(11)
    sender: subprocess.Popen | None = None
    killed = {"wall": 0, "awaiting the server's answer": 0}
    countdown = {"left": 0}

    def kill_while_the_server_answers(_message) -> None:
        countdown["left"] -= 1
        if countdown["left"] == 0 and sender is not None:
            time.sleep(0.02)  # the sender has written the final "." and waits for "250"
            os.killpg(sender.pid, signal.SIGKILL)
            killed["awaiting the server's answer"] += 1

    smtp.inbox.after_data = kill_while_the_server_answers
    smtp.inbox.delay_s = 0.01  # a server slow to answer, as real ones are
    for run in range(8):
        left = len(emails) - store.digests.outbox(PERIOD.key).get("sent", 0)
        if left == 0:
            break
        countdown["left"] = rng.randint(1, max(1, left // 3))
        sender = _send_process(env)
        if run in (2, 5):  # twice a kill at a random moment instead
            countdown["left"] = 0
            time.sleep(rng.uniform(0.5, 2.5))
            if sender.poll() is None:
                os.killpg(sender.pid, signal.SIGKILL)
                killed["wall"] += 1
        sender.wait(60)
    smtp.inbox.after_data = None
    final = _send_process(env)
    assert final.wait(120) == 0, final.stderr.read().decode()
    assert killed["awaiting the server's answer"] >= 4, killed
    assert store.digests.outbox(PERIOD.key) == {"sent": len(emails)}
    _exactly_once(smtp, emails)


def test_overlapping_runs_share_the_work_and_send_each_digest_once(
    tmp_path, database_url, smtp, store
):
    emails = _subscribers(store, 60)
    _voted(store, 6)
    smtp.inbox.delay_s = 0.005
    env = _env(tmp_path, database_url, smtp)
    senders = [_send_process(env) for _ in range(3)]
    for sender in senders:
        assert sender.wait(120) == 0, sender.stderr.read().decode()
    assert store.digests.outbox(PERIOD.key) == {"sent": len(emails)}
    _exactly_once(smtp, emails)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a key")
def test_a_configured_dkim_key_signs_the_headers_that_matter(tmp_path, database_url, smtp, store):
    key = tmp_path / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    public = subprocess.run(
        ["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    settings = _settings(tmp_path, database_url, smtp, dkim_private_key=key, dkim_selector="ps")
    _subscribers(store, 1)
    _voted(store, 3)
    service = DigestService(settings, store)
    assert service.send("daily", DAY).sent == 1
    message = smtp.inbox.wait_for("reader0@example.org")
    signature = message["DKIM-Signature"]
    assert "d=papers.example.org" in signature and "s=ps" in signature
    signed_headers = signature.split("h=", 1)[1].split(";", 1)[0].lower()
    for name in (
        "from",
        "to",
        "subject",
        "message-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
    ):
        assert name in signed_headers
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    def dns(name, timeout=5):
        assert name == b"ps._domainkey.papers.example.org."
        return record

    raw = smtp.inbox.raw[smtp.inbox.messages.index(message)]  # as it arrived, not re-made
    assert dkim.verify(raw, dnsfunc=dns)
    assert not dkim.verify(raw.replace(b"reader0@", b"reader1@"), dnsfunc=dns)
    service.close()


# -- papers that come back when they change ----------------------------------------------------
def test_a_sent_paper_comes_back_only_when_it_changed_in_a_way_that_matters(
    tmp_path, database_url, smtp, store
):
    """A new version with a new abstract, a code link appearing, or the discussion of a
    saved paper growing by `return_after_comments`: the paper comes back, once, saying so.
    A new version with the same abstract, a cross-list, a comment or two: it does not."""
    settings = _settings(tmp_path, database_url, smtp, return_after_comments=3)
    voted = _voted(store, 8)
    email = "reader@example.org"
    store.digests.subscribe(email, utcnow(), confirmed=True, max_papers=5)
    member, _ = store.accounts.ensure(email, utcnow())
    service = DigestService(settings, store)
    assert service.send("daily", DAY).sent == 1
    first = smtp.inbox.wait_for(email).get_body(("plain",)).get_content()
    sent = [pid for pid in voted if f"/papers/{pid}\n" in first]
    assert len(sent) == 5
    rewritten, same_abstract, cross_listed, with_code, saved = sent
    now = {p.id: p for p in store.papers.get_many(sent)}
    records = {r.id: r for r in demo_records(60)}

    def newer(pid, **changes):
        record = replace(records[pid], published=now[pid].published, updated=None)
        return replace(record, version=(now[pid].version or 1) + 1, **changes)

    store.papers.upsert(
        [
            newer(rewritten, abstract="An entirely new abstract for the second version."),
            newer(same_abstract),
            replace(
                records[cross_listed],
                published=now[cross_listed].published,
                updated=None,
                categories=[*records[cross_listed].categories, "stat.ML"],
            ),
            newer(with_code, code_links=("https://github.com/example/code",)),
        ]
    )
    assert store.papers.get(rewritten).version == now[rewritten].version + 1
    collection = store.collections.create(member.id, "Reading", utcnow())
    store.collections.add(collection.id, saved, utcnow())
    for n in range(3):
        store.comments.add(saved, member.id, f"comment {n}", utcnow())
    store.comments.add(same_abstract, member.id, "not saved: no return", utcnow())

    later = date(2026, 12, 3)
    assert service.send("daily", later).sent == 1
    second = smtp.inbox.wait_for(email, 2).get_body(("plain",)).get_content()
    back = {pid for pid in sent if f"/papers/{pid}\n" in second}
    assert back == {rewritten, with_code, saved}, second
    version = now[rewritten].version + 1
    assert f"Why: v{version}: abstract changed" in second
    assert "Why: code released" in second and "Why: 3 new comments" in second
    # Shown as they are now, they stay away until they change again.
    assert service.send("daily", date(2026, 12, 4)).sent <= 1
    for message in smtp.inbox.to(email)[2:]:
        text = message.get_body(("plain",)).get_content()
        assert not any(f"/papers/{pid}\n" in text for pid in sent)
    service.close()
