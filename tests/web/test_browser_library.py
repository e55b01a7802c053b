"""A member's library in a real browser: upload a Zotero .bib on a collection's page, read
what matched and what was not found, and download the collection as RIS."""

from __future__ import annotations

from pathlib import Path

from paperscope.library import read_library
from tests.web import test_browser
from tests.web.test_browser import shoot, sign_in

# Its Chromium, page and skip rule, shared.
browser, page, pytestmark = test_browser.browser, test_browser.page, test_browser.pytestmark
LIBRARY = Path(__file__).parent / "fixtures" / "library.bib"
MRAG, KNN, SAFE = "2601.16503", "2601.16509", "2601.16506"


def test_upload_a_bib_see_what_matched_and_download_the_ris_export(
    page, community_server, smtp, tmp_path
):
    email = "zotero-user@example.org"
    sign_in(page, community_server, smtp, email, "/collections")

    page.fill("input[name=name][placeholder='Reading list']", "Thesis")
    page.click("text=Make a collection")
    page.wait_for_url("**/collections/*")
    collection_url = page.url
    page.set_input_files("form.import input[type=file]", str(LIBRARY))
    page.click("form.import button[type=submit]")
    page.wait_for_url("**/collections/*/import")
    summary = page.locator("p.summary").inner_text()
    assert summary.startswith("3 matched (1 by arXiv id, 0 by DOI, 2 by title), 2 not found")
    matched = page.locator("ol.matched li")
    assert matched.count() == 3
    assert "by arXiv id" in matched.nth(0).inner_text() and MRAG in matched.nth(0).inner_text()
    not_found = page.locator("ol.not-found li")
    assert [not_found.nth(i).inner_text().split(" (")[0] for i in range(2)] == [
        "Attention Is All You Need",
        "Deep Learning",
    ]
    shoot(page, "library-1-imported")

    page.goto(collection_url)
    assert page.locator("ol.papers li.paper").count() == 3
    with page.expect_download() as waiting:
        page.click("text=RIS")
    download = waiting.value
    assert download.suggested_filename == "thesis.ris"
    saved = tmp_path / "thesis.ris"
    download.save_as(saved)
    fmt, entries = read_library(saved.read_bytes(), None, 100)
    assert fmt == "ris" and sorted(e.arxiv_id for e in entries) == sorted([MRAG, KNN, SAFE])
    shoot(page, "library-2-collection")
