"""Submitting a paper this paperscope lacks never makes anyone wait on arXiv: the submission
is accepted at once as pending and completed by a fetcher off the request path, which
gives up with a reason when arXiv never answers. Real servers on 127.0.0.1 throughout (the
app under uvicorn with the default admission limit, a silent and a slow fake arXiv), on
SQLite and on PostgreSQL."""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest

from paperscope.accounts import utcnow
from paperscope.community import Community
from paperscope.settings import Settings
from paperscope.store import open_store
from paperscope.web.app import create_app
from tests.ingest.fake_arxiv import SilentArxiv
from tests.web.conftest import serving
from tests.web.members import Person

READS_UNDER_S = 1.0  # the bound for every read while submissions wait on arXiv


@pytest.fixture(scope="module")
def store(community_settings):
    store = open_store(community_settings)
    yield store
    store.engine.dispose()


class Member:
    """A member made in the store, with an API token and a signed-in page client."""

    def __init__(self, store, url: str, email: str, fullname: str | None = None) -> None:
        now = utcnow()
        member, _ = store.accounts.ensure(email, now, fullname=fullname)
        self.id = member.id
        self.name = member.name
        self.api = httpx.Client(
            base_url=url,
            timeout=60,
            headers={"Authorization": f"Bearer {store.accounts.add_token(member.id, 't', now)}"},
        )
        session = store.accounts.add_session(member.id, now, timedelta(days=1))
        self.person = Person(
            httpx.Client(base_url=url, timeout=60, cookies={"ps_session": session}), None
        )
        self.person.email = email

    def submit(self, paper_id: str, comment: str = "") -> httpx.Response:
        return self.api.post("/api/papers/submit", json={"paper_id": paper_id, "comment": comment})

    def requests(self) -> dict[str, dict]:
        return {r["paperId"]: r for r in self.api.get("/api/submissions").json()}

    def close(self) -> None:
        self.api.close()
        self.person.client.close()


def wait_until_none_pending(member: Member, timeout_s: float = 60) -> dict[str, dict]:
    deadline = time.monotonic() + timeout_s
    while True:
        found = member.requests()
        if all(r["status"] != "pending" for r in found.values()) or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def entry(paper_id: str, published: str, title: str) -> str:
    return f"""
  <entry>
    <id>http://arxiv.org/abs/{paper_id}v1</id>
    <updated>{published}</updated>
    <published>{published}</published>
    <title>{title}</title>
    <summary>Fetched once submitted.</summary>
    <author><name>Grace Hopper</name></author>
    <arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="cs.LG"/>
    <category term="cs.LG" scheme="http://arxiv.org/schemas/atom"/>
  </entry>"""


def test_submissions_waiting_on_a_silent_arxiv_never_hold_up_reads(
    community_settings: Settings, store
):
    silent = SilentArxiv().start()
    settings = community_settings.model_copy(
        update={
            "arxiv_api_url": silent.api_url,
            "submission_fetch_timeout_s": 2,
            "submission_fetch_give_up_s": 12,
        }
    )
    assert settings.max_concurrent_requests == Settings().max_concurrent_requests == 2
    papers = sorted(store.papers.iter_all(), key=lambda p: p.published, reverse=True)
    unknown = ["2612.10001", "2612.10002", "2612.10003", "2612.10004"]
    try:
        with serving(create_app(settings)) as url:
            members = [Member(store, url, f"silent{n}@example.org") for n in range(4)]

            def submit(n: int) -> tuple[float, httpx.Response]:
                if n % 2:  # half through the API, half through the page's form
                    started = time.monotonic()
                    answer = members[n].submit(unknown[n])
                else:
                    form = {"csrf_token": members[n].person.csrf(), "paper_id": unknown[n]}
                    started = time.monotonic()  # the press of the button, not the form's load
                    answer = members[n].person.client.post("/submit", data=form)
                return time.monotonic() - started, answer

            with ThreadPoolExecutor(4) as pool:  # four clicks at once
                submitted = list(pool.map(submit, range(4)))
            for n, (took, answer) in enumerate(submitted):
                assert took < READS_UNDER_S, (n, took)
                if n % 2:
                    assert answer.status_code == 202, answer.text
                    assert answer.json()["status"] == "pending"
                    assert answer.json()["paperId"] == unknown[n]
                else:
                    assert answer.status_code == 303
                    assert answer.headers["location"] == f"/submit?fetching={unknown[n]}"
            note = members[0].person.client.get(f"/submit?fetching={unknown[0]}").text
            assert f"We are fetching {unknown[0]} from arXiv" in note
            deadline = time.monotonic() + 30
            while silent.accepted == 0 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert silent.accepted >= 1  # the fetcher is waiting on arXiv now

            # 50 reads, none cached before: days' pages, the daily API, paper pages.
            days = [(utcnow() - timedelta(days=d)).date().isoformat() for d in range(20)]
            reads = [
                *(f"/?date={day}&view=all" for day in days),
                *(f"/api/daily_papers?date={day}" for day in days[:15]),
                *(f"/papers/{paper.id}" for paper in papers[:15]),
            ]
            assert len(reads) == 50
            with httpx.Client(base_url=url, timeout=120) as anonymous:
                for path in reads:
                    started = time.monotonic()
                    answer = anonymous.get(path)
                    took = time.monotonic() - started
                    assert answer.status_code == 200, (path, answer.status_code)
                    assert took < READS_UNDER_S, (path, took)
            assert all(members[n].requests()[unknown[n]]["status"] == "pending" for n in range(4))

            # arXiv never answers: each fails in the end, and says why.
            for n, member in enumerate(members):
                found = wait_until_none_pending(member)[unknown[n]]
                assert found["status"] == "failed"
                assert found["reason"].startswith(f"arXiv did not answer about {unknown[n]} in")
                assert "try submitting it again later" in found["reason"]
            page = members[0].person.client.get("/submit").text
            assert f"<b>{unknown[0]}</b>" in page and "not submitted: arXiv did not answer" in page
            for member in members:
                member.close()
    finally:
        silent.stop()
    assert store.submissions.of(unknown) == {}


def test_pending_submissions_complete_once_arxiv_answers(
    community_settings: Settings, store, fake_arxiv_server
):
    published = (utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    first, second = "2612.20001", "2612.20002"
    fake_arxiv_server.atom_entries[first] = entry(first, published, "Late But Sure")
    fake_arxiv_server.atom_entries[second] = entry(second, published, "Later Still")
    answering = threading.Event()  # arXiv holds every request until this is set
    answer_api = fake_arxiv_server.handlers["/api/query"]

    def slow(request):
        answering.wait(60)
        return answer_api(request)

    fake_arxiv_server.handlers["/api/query"] = slow
    settings = community_settings.model_copy(update={"submission_fetch_timeout_s": 60})
    try:
        with serving(create_app(settings)) as url:
            ann = Member(store, url, "ann.lovelace@example.org", fullname="Ann Lovelace")
            bob = Member(store, url, "bob.pending@example.org")
            cid = Member(store, url, "cid.pending@example.org")
            form = ann.person.post("/submit", paper_id=first, comment="Worth the wait.")
            assert form.headers["location"] == f"/submit?fetching={first}"
            assert bob.submit(f"arXiv:{second}v1").status_code == 202
            # Someone else asks for a paper already on its way: told at once, by whom.
            again = cid.submit(first)
            assert again.status_code == 409
            assert again.json()["error"] == (
                f"{first} was submitted by Ann Lovelace a moment ago and is being fetched "
                "from arXiv; it will appear on today's page once arXiv answers."
            )
            page = ann.person.client.get("/submit").text
            assert re.search(rf'data-state="pending"><b>{first}</b>', page)
            assert 'http-equiv="refresh"' in page  # the page looks again by itself

            answering.set()
            assert wait_until_none_pending(ann)[first]["status"] == "submitted"
            assert wait_until_none_pending(bob)[second]["status"] == "submitted"
            assert store.papers.get(first).title == "Late But Sure"
            today = utcnow().date()
            made = store.submissions.of([first, second])
            assert made[first].user_id == ann.id and made[first].day == today
            assert made[second].user_id == bob.id
            home = httpx.get(f"{url}/api/daily_papers").json()
            on_page = {e["paper"]["id"]: e["submittedOnDailyBy"]["name"] for e in home}
            assert on_page[first] == ann.name and on_page[second] == bob.name
            assert "Worth the wait." in httpx.get(f"{url}/papers/{first}").text
            # Each paper was asked of arXiv once.
            # (A round may ask for both in one request: count ids, not requests.)
            asked = [
                paper_id
                for r in fake_arxiv_server.requests_to("/api/query")
                for paper_id in r.params["id_list"].split(",")
            ]
            assert asked.count(first) == 1 and asked.count(second) == 1
            # Once on the page, a second submission is a sentence naming the first.
            late = cid.person.post("/submit", paper_id=first)
            assert late.status_code == 409
            assert (
                f"{first} is already on the page of {today:%B %-d}, submitted by Ann Lovelace."
                in late.text
            )
            for member in (ann, bob, cid):
                member.close()
    finally:
        answering.set()
        fake_arxiv_server.handlers["/api/query"] = answer_api


def test_two_servers_never_complete_one_pending_submission_twice(
    community_settings: Settings, store, fake_arxiv_server
):
    published = (utcnow() - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ids = [f"2612.3000{n}" for n in range(6)]
    for paper_id in ids:
        fake_arxiv_server.atom_entries[paper_id] = entry(paper_id, published, "Raced For")
    before = len(fake_arxiv_server.requests_to("/api/query"))
    servers = [Community(community_settings, open_store(community_settings)) for _ in range(2)]
    requested = []
    for n, paper_id in enumerate(ids):
        member, _ = store.accounts.ensure(f"racer{n}@example.org", utcnow())
        requested.append(servers[0].submit(member, paper_id, f"comment {n}"))
    start = threading.Barrier(2)

    def complete(n: int) -> int:
        start.wait()
        return servers[n].complete_pending(f"server-{n}", limit=4)

    with ThreadPoolExecutor(2) as pool:
        claimed = list(pool.map(complete, range(2)))
    while any(server.complete_pending("server-0") for server in servers):
        pass
    assert sum(claimed) <= len(ids)  # no request was claimed by both
    made = store.submissions.of(ids)
    assert sorted(made) == ids
    for n, paper_id in enumerate(ids):
        assert made[paper_id].user_id == requested[n].user_id
        thread = store.comments.thread(paper_id)
        assert [c.body for c in thread] == [f"comment {n}"]  # once, not twice
        assert store.submissions.pending.get(requested[n].id).state == "submitted"
    asked = ",".join(
        r.params["id_list"] for r in fake_arxiv_server.requests_to("/api/query")[before:]
    ).split(",")
    assert sorted(asked) == ids  # each paper asked of arXiv once

    # A server that dies holding a claim leaves it to expire; the next one takes it over,
    # and the first can no longer finish it.
    member, _ = store.accounts.ensure("racer-late@example.org", utcnow())
    late = servers[0].submit(member, "2612.39999")
    now = utcnow()
    pending = store.submissions.pending
    assert [r.id for r in pending.claim("dead", now, timedelta(seconds=30), 10)] == [late.id]
    assert pending.claim("alive", now + timedelta(seconds=1), timedelta(seconds=30), 10) == []
    later = now + timedelta(seconds=31)
    assert [r.id for r in pending.claim("alive", later, timedelta(seconds=30), 10)] == [late.id]
    assert not pending.finish(late.id, "dead", "submitted", None, later)
    assert pending.finish(late.id, "alive", "failed", "2612.39999 is not on arXiv", later)
    assert pending.get(late.id).reason == "2612.39999 is not on arXiv"
    for server in servers:
        server.store.engine.dispose()
