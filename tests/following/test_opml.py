"""The OPML export is OPML 2.0 a reader imports: every outline's text and URLs come back
exactly as given, however they are spelled."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from paperscope.following.opml import Outline, opml

NASTY = "ti:\"<b>bold</b>\" & 'quotes' \x00\x0b -survey"


def test_outlines_come_back_as_given() -> None:
    outlines = [
        Outline(
            "paperscope search: " + NASTY,
            "https://papers.example.org/feeds/search.atom?q=a%26b&category=cs.CL",
            "https://papers.example.org/search?q=a%26b&category=cs.CL",
        ),
        Outline("paperscope collection: Reading <group>", "https://x/feeds/c.atom", "https://x/c"),
    ]
    created = datetime(2026, 12, 3, 19, 45, tzinfo=UTC)
    body = opml("paperscope: what Ada follows", outlines, created=created, owner="Ada")
    root = ET.fromstring(body)
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title") == "paperscope: what Ada follows"
    assert root.findtext("head/ownerName") == "Ada"
    assert parsedate_to_datetime(root.findtext("head/dateCreated")) == created
    found = root.findall("body/outline")
    assert [o.get("type") for o in found] == ["rss", "rss"]
    assert (
        found[0].get("text")
        == found[0].get("title")
        == ("paperscope search: ti:\"<b>bold</b>\" & 'quotes' -survey")
    )
    assert [(o.get("xmlUrl"), o.get("htmlUrl")) for o in found] == [
        (outline.xml_url, outline.html_url) for outline in outlines
    ]
    assert found[1].get("text") == "paperscope collection: Reading <group>"


def test_nothing_followed_is_an_empty_body() -> None:
    root = ET.fromstring(opml("t", [], created=datetime(2026, 1, 1, tzinfo=UTC)))
    assert root.find("body") is not None and root.findall("body/outline") == []
    assert root.find("head/ownerName") is None
