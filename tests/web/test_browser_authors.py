"""Following an author in a real browser (Debian's Chromium, driven by Playwright): open a
paper, click one of its authors, follow them, find them on the account page, and their paper
on "For you", marked as by an author you follow. Screenshots go to test-artifacts/."""

from __future__ import annotations

from paperscope.store import open_store
from tests.web.test_browser import browser, page, pytestmark, shoot, sign_in

__all__ = ["browser", "page", "pytestmark"]  # the fixtures and the skip, shared


def test_open_a_paper_click_an_author_follow_them_and_see_them_for_you(
    page, community_server, smtp, community_settings
):
    store = open_store(community_settings)
    paper = max(store.papers.iter_all(), key=lambda p: p.published)
    store.engine.dispose()
    name = paper.authors[-1]
    email = "author-fan@example.org"

    sign_in(page, community_server, smtp, email)

    page.goto(f"{community_server}/papers/{paper.id}")
    page.locator("p.authors a", has_text=name).first.click()
    page.wait_for_url("**/authors/**")
    assert page.locator("h1").inner_text().startswith(name)
    assert "A name can belong to several people" in page.locator(".ambiguity").inner_text()
    assert page.locator(f'li.paper[data-id="{paper.id}"]').count() == 1
    shoot(page, "authors-1-author-page")

    page.click("form.follow button")
    page.wait_for_url("**/authors/**")
    assert page.locator("form.follow button").inner_text() == "✓ Following"

    page.click("a.me")
    page.wait_for_url("**/account")
    assert name in page.locator("ul.followed-authors").inner_text()
    shoot(page, "authors-2-account")

    page.click("text=For you")
    page.wait_for_url("**/for-you")
    entry = page.locator(f'li.paper[data-id="{paper.id}"]')
    assert f"by an author you follow ({name})" in entry.locator(".why").inner_text()
    assert page.locator("ol.papers li.paper").first.get_attribute("data-id") == paper.id
    shoot(page, "authors-3-for-you")
