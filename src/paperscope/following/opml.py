"""OPML 2.0 (http://opml.org/spec2.opml): the list of feeds a reader imports in one go.
Written with xml.etree, which escapes every attribute."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from paperscope.text import drop_unencodable


@dataclass(frozen=True)
class Outline:
    """One feed: its name, the Atom feed's URL and the page it mirrors."""

    text: str
    xml_url: str
    html_url: str


def opml(title: str, outlines: Iterable[Outline], *, created: datetime, owner: str = "") -> bytes:
    """An OPML 2.0 document (UTF-8 bytes) with one `rss` outline per feed, in order.
    `created` must be timezone-aware (RFC 822 date in the head)."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = _clean(title)
    ET.SubElement(head, "dateCreated").text = format_datetime(created, usegmt=True)
    if owner := _clean(owner):
        ET.SubElement(head, "ownerName").text = owner
    body = ET.SubElement(root, "body")
    for outline in outlines:
        text = _clean(outline.text) or outline.xml_url
        ET.SubElement(
            body,
            "outline",
            type="rss",  # the type readers look for, whatever the feed's format
            text=text,
            title=text,
            xmlUrl=outline.xml_url,
            htmlUrl=outline.html_url,
        )
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _clean(text: str) -> str:
    # XML 1.0 cannot carry control characters; names are one line.
    return " ".join(drop_unencodable(text).split())
