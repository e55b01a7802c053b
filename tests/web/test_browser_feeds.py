"""Following a search in a real browser (Chromium): the search page's "Follow this search"
button, the settings page that lists it, the OPML file its link downloads, which parses
and names the search's Atom feed, and an OPML file of follows uploaded on the same page."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

from tests.web.test_browser import browser, page, pytestmark, shoot, sign_in  # noqa: F401


def test_follow_a_search_and_download_the_opml(page, community_server, smtp, tmp_path):  # noqa: F811
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

    # Follows from elsewhere: another paperscope's search feed, and a blog that is not one.
    mine = tmp_path / "from-elsewhere.opml"
    mine.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0"><head><title>reader</title>'
        '</head><body><outline text="Research">'
        '<outline type="rss" text="graphs" '
        'xmlUrl="https://papers.example/feeds/search.atom?q=graph+neural+networks"/>'
        '<outline type="rss" text="A blog" xmlUrl="https://blog.example/feed.xml"/>'
        "</outline></body></opml>"
    )
    page.set_input_files("form.import input[type=file]", str(mine))
    page.click("form.import button[type=submit]")
    page.wait_for_selector(".opml-import")
    summary = page.locator(".opml-import .summary").inner_text()
    assert summary == "1 search followed, 1 outline not imported."
    assert "A blog" in page.locator("ul.not-imported").inner_text()
    assert page.locator("a.followed-search").all_inner_texts() == [
        "language models (cs.AI, words only)",
        "graph neural networks",
    ]
    shoot(page, "11-following-imported")
