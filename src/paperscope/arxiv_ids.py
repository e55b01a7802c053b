"""arXiv identifiers: parse, validate and strip versions.

Two schemes exist: new-style ``YYMM.NNNNN`` (4 digits after the dot before 2015) and
old-style ``archive[.SUBJ]/YYMMNNN`` (``hep-th/9901001``, ``math.GT/0309136``).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from paperscope.errors import InvalidInput

_NEW = re.compile(r"(?P<base>\d{4}\.\d{4,5})(?:v(?P<version>\d+))?")
_OLD = re.compile(r"(?P<base>[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(?:v(?P<version>\d+))?")
# An arXiv page's address, any of them: abs, pdf (with or without ".pdf") or html, on any of
# arXiv's hosts; the id is what follows.
_URL = re.compile(
    r"(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/(?P<id>.+?)"
    r"(?:\.pdf)?/?(?:[?#].*)?",
    re.IGNORECASE,
)


class InvalidArxivId(InvalidInput, ValueError):
    """Raised for text that is not an arXiv identifier."""


class ArxivId(NamedTuple):
    base: str
    version: int | None


def parse_arxiv_id(text: str) -> ArxivId:
    """Parse ``2401.04122``, ``2401.04122v3``, ``arXiv:2401.04122``, an arXiv abs, pdf or
    html URL, or an old-style id."""
    if not isinstance(text, str):
        raise InvalidArxivId(f"arXiv id must be text, not {type(text).__name__}")
    candidate = text.strip()
    if len(candidate) > 64:
        raise InvalidArxivId(f"not an arXiv id (too long): {candidate[:40]!r}...")
    if url := _URL.fullmatch(candidate):
        candidate = url["id"]
    elif candidate.lower().startswith("arxiv:"):
        candidate = candidate[len("arxiv:") :]
    match = _NEW.fullmatch(candidate) or _OLD.fullmatch(candidate)
    if match is None:
        raise InvalidArxivId(
            f"not an arXiv id: {text!r} (expected e.g. 2401.04122, 2401.04122v2 or hep-th/9901001)"
        )
    version = match.group("version")
    return ArxivId(match.group("base"), int(version) if version else None)
