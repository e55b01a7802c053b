"""A new user's walk through a fresh demo in Chromium, against the real `paperscope serve`
started the way `scripts/run` starts it: the demo corpus re-dated to end yesterday, real
MiniLM vectors, and no setting changed (no mail server, no public URL), so the sign-in and
digest confirmation links are read off the server's console as a person would.

Sign in, submit a paper of the last days with a comment, upvote three, open "For you",
subscribe to the digest, follow a search and preview the digest, meet an error page, and
read the front and a paper page at phone width. Each step keeps a screenshot in
test-artifacts/ (walk-*.png)."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from paperscope.settings import Settings
from paperscope.store import open_store
from tests.web import test_browser
from tests.web.conftest import _free_port, live_demo
from tests.web.test_browser import shoot

pytestmark = test_browser.pytestmark

PAPERS = 300  # the first lines of the corpus: four days of papers and the two named ones
FOLLOWED = "language model agents"
EMAIL = "ann@example.org"


class ConsoleServer:
    """`paperscope serve` in a subprocess; its console lines are read in a thread so that
    the links it prints can be waited for."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "paperscope", "serve"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip())

    def wait_for(self, pattern: str, timeout: float = 20) -> re.Match:
        """The first console line from now on that matches `pattern`."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            self.seen.append(line)
            if found := re.search(pattern, line):
                return found
        raise AssertionError(f"no console line matched {pattern!r}; saw:\n" + "\n".join(self.seen))

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(30)


@pytest.fixture(scope="module")
def demo(tmp_path_factory, new_database, minilm) -> Settings:
    """A data directory as `scripts/run` leaves it: the demo (a slice) loaded and embedded."""
    return live_demo(tmp_path_factory.mktemp("walk"), minilm, PAPERS, database_url=new_database())


@pytest.fixture(scope="module")
def server(demo) -> Iterator[tuple[str, ConsoleServer]]:
    port = _free_port()
    # Only where things are: no mail server, no public URL, the default host (loopback).
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERSCOPE_")}
    env |= {
        "PAPERSCOPE_DATA_DIR": str(demo.data_dir),
        "PAPERSCOPE_DATABASE_URL": demo.effective_database_url,
        "PAPERSCOPE_MODELS_DIR": str(demo.models_dir),
        "PAPERSCOPE_PORT": str(port),
    }
    console = ConsoleServer(env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert console.process.poll() is None, "paperscope serve ended"
            try:
                health = httpx.get(f"{base}/healthz", timeout=2).json()
                if health["semantic"] and health["embedded"] == health["papers"] > 0:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "paperscope serve did not answer within 60 s"
            time.sleep(0.2)
        yield base, console
    finally:
        console.stop()


browser = test_browser.browser


def _contrast(foreground: str, background: str) -> float:
    """WCAG's contrast ratio of two CSS rgb() colours."""

    def luminance(colour: str) -> float:
        red, green, blue = (int(c) / 255 for c in re.findall(r"\d+", colour)[:3])
        linear = [
            c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (red, green, blue)
        ]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _no_sideways_scroll(page, width: int) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{page.url} scrolls sideways on a phone ({scroll} px wide)"


def test_a_new_user_walks_through_a_fresh_demo(browser, server, demo):
    base, console = server
    store = open_store(demo)
    newest = sorted(store.papers.iter_all(), key=lambda p: p.published, reverse=True)
    store.engine.dispose()
    yesterday = newest[0].published.date()
    submitted = newest[0]

    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)

    # 1. The front page: yesterday's papers. Sign in with the link on the console.
    page.goto(base + "/")
    assert yesterday.strftime("%A, %B %-d, %Y") in page.locator("h1").inner_text()
    assert page.locator("li.paper").count() > 1
    shoot(page, "walk-1-front")
    page.click("header a.signin")
    page.wait_for_url("**/signin**")
    assert "printed on the server's console" in page.locator("main").inner_text()
    page.fill("input[name=email]", EMAIL)
    page.click("text=Email me a sign-in link")
    assert "a link is on its way" in page.locator("main").inner_text()
    link = console.wait_for(rf"sign-in link for {re.escape(EMAIL)} \(valid \d+ min\): (\S+)")[1]
    # The link alone on its line: the access log, printed meanwhile, once stuck to it.
    assert re.fullmatch(re.escape(base) + r"/signin/confirm\?token=[\w-]+", link), link
    page.goto(link)
    page.click("#confirm")
    page.wait_for_url(base + "/")
    assert page.locator("a.me").inner_text() == "ann"

    # 2. Submit a paper of yesterday with a Markdown comment: its page shows both.
    page.click("header nav >> text=Submit")
    page.fill("input[name=paper_id]", f"https://arxiv.org/abs/{submitted.id}")
    page.fill("textarea[name=comment]", "A **must** read: the [code](https://example.org) too.")
    page.click("main button[type=submit]")
    page.wait_for_url(f"**/papers/{submitted.id}")
    assert page.locator("h1").inner_text() == submitted.title
    assert "submitted by ann" in page.locator("p.submitted").inner_text()
    comment = page.locator(".discussion .comment")
    assert comment.count() == 1
    assert comment.locator("strong").inner_text() == "must"
    assert comment.locator("a", has_text="code").get_attribute("href") == "https://example.org"
    assert "**" not in comment.inner_text()
    shoot(page, "walk-3-paper-with-comment")

    # The curated day page (the front page now) lists it, with its comment; trending too.
    page.click("header nav >> text=Daily")
    page.wait_for_url(base + "/")
    current = page.locator("nav.tabs [aria-current=page]")
    assert current.inner_text() == "Submitted by the community"
    entry = page.locator(f'li.paper[data-id="{submitted.id}"]')
    assert page.locator("li.paper").count() == 1
    assert "submitted by ann" in entry.inner_text() and "1 comment" in entry.inner_text()
    shoot(page, "walk-2-curated-day")
    page.click("header nav >> text=Trending")
    assert page.locator(f'li.paper[data-id="{submitted.id}"]').count() == 1

    # 3. Upvote three papers from the list pages: the submitted one, and two of yesterday's.
    page.click("header nav >> text=Daily")
    page.locator(f'li.paper[data-id="{submitted.id}"] button.votes').click()
    page.wait_for_url(base + "/")
    vote = page.locator(f'li.paper[data-id="{submitted.id}"] button.votes')
    assert vote.get_attribute("aria-pressed") == "true" and vote.inner_text() == "▲ 1"
    page.goto(f"{base}/?date={yesterday}")
    assert "Nobody submitted papers on this day yet" in page.locator("main").inner_text()
    upvoted = {submitted.id}
    for other in (newest[1].id, newest[2].id):
        page.locator(f'li.paper[data-id="{other}"] button.votes').click()
        page.wait_for_url(f"**/?date={yesterday}")
        button = page.locator(f'li.paper[data-id="{other}"] button.votes')
        assert button.get_attribute("aria-pressed") == "true"
        upvoted.add(other)
    assert page.locator("button.votes[aria-pressed=true]").count() == 3  # all three listed

    # "For you": other papers, each saying which upvote it came from.
    page.click("header nav >> text=For you")
    page.wait_for_url("**/for-you")
    picked = page.locator("li.paper").evaluate_all("items => items.map(i => i.dataset.id)")
    assert picked and not upvoted & set(picked)
    assert "because you liked" in page.locator("main").inner_text()
    shoot(page, "walk-4-for-you")

    # 4. Subscribe with the box under the list, confirm with the console link.
    page.fill("section.subscribe input[name=email]", EMAIL)
    page.click("section.subscribe button")
    page.wait_for_url("**/subscribe?email=*")
    assert page.locator("input#email").input_value() == EMAIL
    page.click("main form.stack button[type=submit]")
    assert "printed on the server's console" in page.locator("p.notice").inner_text()
    link = console.wait_for(rf"digest confirmation for {re.escape(EMAIL)}: (\S+)")[1]
    assert re.fullmatch(re.escape(base) + r"/digest/confirm\?token=[\w.=-]+", link), link
    page.goto(link)
    page.click("#confirm")
    assert "You are subscribed." in page.locator("main").inner_text()

    # Later, from the account page: the preferences, a followed search, the preview.
    page.click("header a.me")
    page.click("#digest-preferences")
    page.wait_for_url("**/digest/preferences")
    page.fill("textarea[name=follows]", FOLLOWED)
    page.click("main form.stack button[type=submit]")
    assert "Saved." in page.locator("p.notice").inner_text()
    assert page.locator("textarea[name=follows]").input_value() == FOLLOWED
    page.click("text=Preview the next digest")
    page.wait_for_url("**/digest/preview**")
    entries = page.locator("main li.paper")
    assert entries.count() >= 1
    reasons = page.locator("main li.paper .why").all_inner_texts()
    assert f"matches “{FOLLOWED}”" in reasons, reasons
    shoot(page, "walk-5-digest-preview")
    page.click("#digest-preferences")  # and back to what it is made of
    assert page.locator("textarea[name=follows]").input_value() == FOLLOWED

    # 5. A paper that does not exist: the site's own page, with its navigation.
    answer = page.goto(f"{base}/papers/9999.99999")
    assert answer.status == 404
    assert page.locator("h1").inner_text() == "paper 9999.99999 is not in this paperscope"
    assert page.locator("header nav a", has_text="Daily").count() == 1
    assert page.locator("a.me").inner_text() == "ann"  # still signed in
    assert page.locator("main a", has_text="Back to today's papers").count() == 1
    shoot(page, "walk-6-error-page")

    # In a dark colour scheme the notes and the upvoted buttons stay readable.
    page.emulate_media(color_scheme="dark")
    page.goto(f"{base}/?date={yesterday}")
    for element in ("p.notice", "button.votes.voted", "header .search-box button"):
        colours = page.locator(element).first.evaluate(
            "e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]"
        )
        assert _contrast(*colours) >= 4.5, (element, colours)
    shoot(page, "walk-9-dark")
    context.close()

    # 6. A phone: neither the front page nor a discussed paper scrolls sideways.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = phone.new_page()
    page.goto(base + "/")
    assert page.locator(f'li.paper[data-id="{submitted.id}"]').count() == 1
    _no_sideways_scroll(page, 390)
    shoot(page, "walk-7-phone")
    page.goto(f"{base}/papers/{submitted.id}")
    assert page.locator(".discussion .comment").count() == 1
    _no_sideways_scroll(page, 390)
    shoot(page, "walk-8-phone-paper")
    phone.close()
