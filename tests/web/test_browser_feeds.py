"""Following a search in a real browser (Chromium): the search page's "Follow this search"
button, the settings page that lists it, and the OPML file its link downloads, which parses
and names the search's Atom feed."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

from tests.web.test_browser import browser, page, pytestmark, shoot, sign_in  # noqa: F401


def test_follow_a_search_and_download_the_opml(page, community_server, smtp):  # noqa: F811
    email = "follower@example.org"
    sign_in(page, community_server, smtp, email)

    page.goto(f"{community_server}/search?q=language+models&category=cs.AI&mode=lexical")
    assert page.locator("link[rel=alternate][type='application/atom+xml']").count() == 1
    page.click("#follow-search")
    page.wait_for_url("**/me/following#searches")
    followed = page.locator("a.followed-search")
    assert followed.count() == 1
    assert followed.inner_text() == "language models (cs.AI, words only)"
    shoot(page, "11-following")

    with page.expect_download() as download:
        page.click("#opml")
    path = download.value.path()
    assert download.value.suggested_filename == "paperscope-following.opml"
    root = ET.parse(path).getroot()
    (outline,) = root.findall("body/outline")
    xml_url = urlsplit(outline.get("xmlUrl"))
    assert f"{xml_url.scheme}://{xml_url.netloc}" == community_server
    assert xml_url.path == "/feeds/search.atom"
    assert parse_qs(xml_url.query) == {
        "q": ["language models"],
        "category": ["cs.AI"],
        "mode": ["lexical"],
    }
    assert outline.get("htmlUrl") == f"{community_server}/search?{xml_url.query}"
