"""What a person sees, in Chromium: the saved-to-collection toggle and the Delete buttons
are readable (WCAG AA contrast from the computed colours), an error page has the site's
navigation, and a delete asks first."""

from __future__ import annotations

import re

from paperscope.store import open_store
from tests.mail_server import link_in
from tests.web import test_browser
from tests.web.test_browser import shoot, sign_in

# Its Chromium, page and skip rule, shared.
browser, page, pytestmark = test_browser.browser, test_browser.page, test_browser.pytestmark

# The contrast ratio of the text's colour on the nearest painted background, WCAG 2's way.
CONTRAST = """element => {
  const rgb = s => s.match(/[\\d.]+/g).slice(0, 4).map(Number);
  const luminance = ([r, g, b]) => {
    const c = [r, g, b].map(v => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  let back = element;
  const clear = e => getComputedStyle(e).backgroundColor === 'rgba(0, 0, 0, 0)';
  while (back && clear(back)) back = back.parentElement;
  const bg = back ? rgb(getComputedStyle(back).backgroundColor) : [255, 255, 255];
  const [a, b] = [luminance(rgb(getComputedStyle(element).color)), luminance(bg)];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def test_a_signed_out_reader_is_brought_back_after_signing_in(page, community_server, smtp):
    page.goto(f"{community_server}/collections")
    assert page.url == f"{community_server}/signin?next=%2Fcollections"
    page.fill("input[name=email]", "back@example.org")
    page.click("text=Email me a sign-in link")
    page.goto(link_in(smtp.inbox.wait_for("back@example.org")))
    page.click("#confirm")
    page.wait_for_url(f"{community_server}/collections")
    assert page.locator("h1").inner_text() == "Your collections"


def test_saved_and_delete_are_readable_and_a_delete_asks_first(
    page, community_server, smtp, community_settings
):
    store = open_store(community_settings)
    paper = min(store.papers.iter_all(), key=lambda p: p.published)
    store.engine.dispose()
    sign_in(page, community_server, smtp, "reader-eyes@example.org")
    page.goto(f"{community_server}/collections")
    page.fill("input[name=name]", "Reading")
    page.click("text=Make a collection")
    page.goto(f"{community_server}/papers/{paper.id}")
    page.click("button.button:has-text('Reading')")
    page.wait_for_url(f"**/papers/{paper.id}")
    saved = page.locator("button.button.on")
    assert saved.inner_text() == "✓ Reading"
    assert saved.evaluate(CONTRAST) >= 4.5

    page.fill("#comment-body", "To be deleted, $\\alpha$.")
    page.click(".comment-form button[type=submit]")
    page.wait_for_url(f"**/papers/{paper.id}#comment-*")
    comment = page.locator(".discussion .comment").last
    assert "To be deleted, α." in comment.inner_text()
    # The first click only opens the question; the comment is still there.
    yes = comment.locator("button", has_text="Yes, delete this comment")
    assert not yes.is_visible()
    comment.locator("summary", has_text="Delete…").click()
    assert yes.is_visible() and page.locator(".discussion .comment").count() == 1
    assert comment.locator("summary").evaluate(CONTRAST) >= 4.5
    assert yes.evaluate(CONTRAST) >= 4.5
    shoot(page, "polish-1-delete-asks")
    yes.click()
    page.wait_for_url(f"**/papers/{paper.id}#discussion")
    assert page.locator(".discussion .comment").count() == 0

    page.goto(f"{community_server}/collections")
    page.click("text=Reading")
    page.locator("summary", has_text="Delete…").click()
    delete = page.locator("button", has_text="Yes, delete this collection")
    assert delete.evaluate(CONTRAST) >= 4.5
    delete.click()
    page.wait_for_url(f"{community_server}/collections")
    assert "No collections yet" in page.locator("main").inner_text()


def test_an_error_page_has_the_sites_navigation(page, community_server):
    answer = page.goto(f"{community_server}/no-such-page")
    assert answer.status == 404
    assert page.locator("header.top nav a", has_text="Trending").is_visible()
    assert page.locator("form.search-box input[name=q]").is_visible()
    assert page.locator("#subscribe").count() == 0
    page.click("header.top a.brand")
    assert re.fullmatch(rf"{community_server}/?", page.url)
    shoot(page, "polish-2-error-page")
