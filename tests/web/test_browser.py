"""A researcher's path through paperscope in a real browser (Debian's Chromium, driven
by Playwright): search from the home page, open a result, follow a similar paper, and see a
title with markup in it as text. A screenshot of each page is kept in test-artifacts/."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from paperscope.store import open_store
from tests.mail_server import link_in
from tests.search.conftest import REPO
from tests.web.conftest import TAG_PAPER

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("PAPERSCOPE_ARTIFACTS", REPO / "test-artifacts"))
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

if CHROMIUM is None and os.environ.get("PAPERSCOPE_REQUIRE_BROWSER"):
    pytest.fail("PAPERSCOPE_REQUIRE_BROWSER is set but chromium is not installed")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page, server: str, smtp, email: str, next: str = "/") -> None:
    """Sign in as a person does: ask for a link, open it from the mail, press the button;
    back on `next` once signed in."""
    page.goto(f"{server}/signin?next={next}")
    page.fill("input[name=email]", email)
    page.click("text=Email me a sign-in link")
    page.goto(link_in(smtp.inbox.wait_for(email)))
    page.click("#confirm")
    page.wait_for_url(server + next)


def test_search_open_a_result_and_follow_a_similar_paper(page, live_server):
    page.goto(live_server + "/")
    assert page.locator("li.paper").count() > 0
    shoot(page, "1-home")

    page.fill("header input[name=q]", "graph structure token for language models")
    page.press("header input[name=q]", "Enter")
    page.wait_for_url("**/search?**")
    results = page.locator("ol.results li.paper")
    assert results.count() > 0
    assert page.locator("ol.results mark").count() > 0
    shoot(page, "2-search")

    title = results.first.locator("a.title").inner_text()
    results.first.locator("a.title").click()
    page.wait_for_url("**/papers/**")
    assert page.locator("h1").inner_text() == title
    assert page.locator("a", has_text="PDF").count() == 1
    shoot(page, "3-paper")

    similar = page.locator("section.similar li.paper a.title").first
    similar_title = similar.inner_text()
    similar.click()
    page.wait_for_url("**/papers/**")
    assert page.locator("h1").inner_text() == similar_title
    shoot(page, "4-similar-paper")


def test_a_title_with_markup_renders_as_text(page, live_server):
    page.goto(f"{live_server}/papers/{TAG_PAPER}")
    heading = page.locator("h1").inner_text()
    assert heading.startswith("<SOG_k>:")
    assert page.locator("h1 sog_k").count() == 0  # not parsed into an element
    shoot(page, "5-markup-title")


def test_daily_pages_step_between_days_and_work_on_a_phone(browser, live_server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(live_server + "/")
    heading = page.locator("h1").inner_text()
    page.locator("a[rel=prev]").first.click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() != heading
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the page scrolls sideways on a phone"
    shoot(page, "6-phone-daily")
    context.close()


def test_the_api_docs_work_offline_under_the_content_security_policy(page, live_server):
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text else None)
    outside: list[str] = []
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith(live_server) else None,
    )
    page.goto(f"{live_server}/docs")
    page.locator(".opblock").first.wait_for()
    assert page.locator(".opblock").count() >= 5  # the API's operations, rendered
    assert page.locator(".opblock-summary-path", has_text="/api/papers/search").count() == 1
    assert not blocked, blocked
    assert not [url for url in outside if not url.startswith("data:")], outside
    shoot(page, "7-api-docs")


def test_sign_in_by_mail_submit_upvote_and_discuss(
    page, community_server, smtp, community_settings
):
    store = open_store(community_settings)
    paper = max(store.papers.iter_all(), key=lambda p: p.published)
    store.engine.dispose()
    email = "browser@example.org"

    page.goto(f"{community_server}/signin")
    page.fill("input[name=email]", email)
    page.click("text=Email me a sign-in link")
    assert "a link is on its way" in page.locator("main").inner_text()
    link = link_in(smtp.inbox.wait_for(email))
    assert link.startswith(community_server + "/signin/confirm?token=")
    page.goto(link)
    shoot(page, "8-sign-in-button")
    page.click("#confirm")
    page.wait_for_url(community_server + "/")
    assert page.locator("a.me").inner_text() == "browser"

    page.goto(f"{community_server}/submit")
    page.fill("input[name=paper_id]", f"https://arxiv.org/abs/{paper.id}v1")
    page.fill("textarea[name=comment]", "A **must** read.")
    page.click("main button[type=submit]")
    page.wait_for_url(f"**/papers/{paper.id}")
    assert "submitted by browser" in page.locator("p.submitted").inner_text()
    assert page.locator(".discussion .comment strong").inner_text() == "must"

    page.click(".paper-head button.votes")
    page.wait_for_url(f"**/papers/{paper.id}")
    vote = page.locator(".paper-head button.votes")
    assert vote.get_attribute("aria-pressed") == "true" and vote.inner_text() == "▲ 1"
    page.fill("#comment-body", "Replicated it: the numbers hold.")
    page.click('text="Comment"')  # the button, not "Yes, delete this comment"
    page.wait_for_url(f"**/papers/{paper.id}#comment-*")
    assert page.locator(".discussion .comment").count() == 2
    shoot(page, "9-paper-discussed")

    page.goto(f"{community_server}/")
    entry = page.locator(f'li.paper[data-id="{paper.id}"]')
    assert "submitted by browser" in entry.inner_text() and "2 comments" in entry.inner_text()
    assert entry.locator(".votes").inner_text() == "▲ 1"
    shoot(page, "10-curated-daily")
    page.goto(f"{community_server}/trending")
    trending = page.locator(f'li.paper[data-id="{paper.id}"]')
    assert trending.count() == 1 and trending.locator(".votes").inner_text() == "▲ 1"
