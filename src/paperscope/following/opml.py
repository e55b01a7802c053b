"""OPML 2.0 (http://opml.org/spec2.opml): the list of feeds a reader imports in one go.
Written with xml.etree, which escapes every attribute; read with defusedxml, refusing any
DTD (entity expansion, "billion laughs", and external entities need one), with caps on the
file's size, its outlines and how deep folders nest."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from defusedxml import DefusedXmlException, DTDForbidden
from defusedxml.ElementTree import iterparse

from paperscope.errors import InvalidInput, TooLarge
from paperscope.text import drop_unencodable

MAX_OPML_BYTES = 1_000_000
MAX_OUTLINES = 1_000
MAX_DEPTH = 10  # folders in folders; readers nest one or two


class OpmlRefused(InvalidInput):
    """A file that is not OPML paperscope reads, with why."""


class OpmlTooLarge(TooLarge):
    """A file over the size cap, or with more outlines than an import takes."""


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


def read_opml(data: bytes) -> list[Outline]:
    """Every outline with a feed or page address in an OPML file, folders walked, in the
    file's order; OpmlRefused (422) or OpmlTooLarge (413) for a file that cannot be read
    safely, before anything is done with it."""
    if len(data) > MAX_OPML_BYTES:
        raise OpmlTooLarge(
            f"the file is too large: an OPML import takes at most {MAX_OPML_BYTES:,} bytes"
        )
    found: list[Outline] = []
    path: list[str] = []  # the open elements, root first
    outlines = 0
    in_body = False
    try:
        # The whole file is in memory already (capped above); events let the caps stop
        # reading at the first outline too many or too deep.
        for event, element in iterparse(io.BytesIO(data), ("start", "end"), forbid_dtd=True):
            if event == "end":
                path.pop()
                continue
            if not path and element.tag != "opml":
                raise OpmlRefused(
                    f"not an OPML file: its root element is <{str(element.tag)[:40]}>, not <opml>"
                )
            path.append(element.tag)
            in_body = in_body or path == ["opml", "body"]
            if element.tag != "outline" or path[:2] != ["opml", "body"]:
                continue
            outlines += 1
            if outlines > MAX_OUTLINES:
                raise OpmlTooLarge(
                    f"the file has more than {MAX_OUTLINES:,} outlines, the most an import takes"
                )
            if len(path) - 2 > MAX_DEPTH:
                raise OpmlRefused(
                    f"the outlines nest more than {MAX_DEPTH} folders deep, the most an import "
                    "reads"
                )
            xml_url = element.get("xmlUrl", "").strip()
            html_url = element.get("htmlUrl", "").strip()
            if xml_url or html_url:  # the others are folders (or notes)
                text = element.get("text") or element.get("title") or ""
                found.append(Outline(_clean(text), xml_url, html_url))
    except DTDForbidden:
        raise OpmlRefused(
            "the file declares a DTD (<!DOCTYPE ...>): OPML needs none, and its entities are "
            "how hostile files expand or reach out, so it is not read"
        ) from None
    except DefusedXmlException:
        raise OpmlRefused("the file declares entities: OPML needs none") from None
    except ET.ParseError as error:
        raise OpmlRefused(f"not well-formed XML: {error}") from None
    if not in_body:
        raise OpmlRefused("not an OPML file: it has no <body> with outlines")
    return found
