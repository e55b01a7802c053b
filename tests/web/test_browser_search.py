"""The search page in a real browser (Debian's Chromium): what a reader sees when the
input is wrong, when nothing matches, while semantic search is being prepared, and the
similar papers' labels. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re

from paperscope.web.app import create_app
from tests.web import test_browser
from tests.web.conftest import TAG_PAPER, serving
from tests.web.test_browser import shoot
from tests.web.test_search_page import partly_embedded

# The browser and a fresh page for each test, as tests/web/test_browser.py makes them.
browser, page, pytestmark = test_browser.browser, test_browser.page, test_browser.pytestmark


def test_a_wrong_page_number_and_a_too_long_query_are_answered_in_the_form(page, live_server):
    page.goto(live_server + "/search?q=video+segmentation&p=abc")
    assert page.input_value("main input[name=q]") == "video segmentation"
    alert = page.locator("[role=alert]")
    assert "The page number must be a whole number from 0 to 99" in alert.inner_text()
    shoot(page, "search-bad-page")

    long_query = "segmentation of videos " * 60  # 1,380 characters
    page.goto(live_server + "/search?q=" + long_query.replace(" ", "+"))
    assert page.input_value("main input[name=q]") == long_query
    assert "yours has 1,380: shorten it" in page.locator("[role=alert]").inner_text()
    # Typing stops at the limit the message names.
    page.fill("main input[name=q]", "")
    page.type("main input[name=q]", "x" * 1_005, delay=0)
    assert len(page.input_value("main input[name=q]")) == 1_000


def test_a_query_that_matches_nothing_says_so(page, live_server):
    page.goto(live_server + "/search?q=qwxzjv")
    assert page.locator("ol.results li.paper").count() == 0
    assert "No papers matched qwxzjv" in " ".join(page.locator("main").inner_text().split())
    shoot(page, "search-nothing-matched")


def test_similar_papers_show_labelled_scores_in_their_order(page, live_server):
    page.goto(f"{live_server}/papers/{TAG_PAPER}")
    labels = page.locator("section.similar .similarity").all_inner_texts()
    assert len(labels) >= 5 and all(re.fullmatch(r"similarity 0\.\d\d", t) for t in labels)
    scores = [float(t.split()[1]) for t in labels]
    assert scores == sorted(scores, reverse=True)


def test_the_search_page_says_how_far_semantic_search_is(
    page, web_settings, minilm, tmp_path, database_url
):
    settings, _ = partly_embedded(web_settings, minilm, tmp_path / "data", database_url)
    with serving(create_app(settings)) as url:
        page.goto(url + "/search")
        banner = " ".join(page.locator("[role=status]").inner_text().split())
        assert re.search(r"Semantic search (is being prepared: 10 of 40|covers 10 of 40)", banner)
        assert page.locator("main input[name=q]").is_visible()
        shoot(page, "search-semantic-coming")
