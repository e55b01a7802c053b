"""One reference of a member's library, whatever file it came from, and what identifies
it: an arXiv id, a DOI, a title and a year."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bibtexparser.latexenc import latex_to_unicode

from paperscope.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperscope.errors import InvalidInput, TooLarge
from paperscope.text import readable_latex


class UnreadableLibrary(InvalidInput):
    """A library file that cannot be read as the format it claims (or any format)."""


class TooManyEntries(TooLarge):
    """A library file with more references than one import takes."""


@dataclass(frozen=True)
class LibraryEntry:
    position: int  # 1-based, in the file's order
    key: str | None  # the citation key (BibTeX), ID (RIS) or id (CSL-JSON)
    title: str
    year: int | None
    arxiv_id: str | None
    doi: str | None  # folded: lower case, no resolver prefix


# An arXiv id named in running text ("arXiv:1706.03762 [cs]", "arXiv preprint
# arXiv:2401.01234v2", an abs/pdf URL); parse_arxiv_id checks what this finds.
_ARXIV_IN_TEXT = re.compile(
    r"arxiv\.org/(?:abs|pdf|html)/(?P<url>[\w.\-/]+?)(?:\.pdf)?(?=$|[\s?#\"'<>,;)\]}])"
    r"|arxiv[:\s]\s*(?P<bare>\d{4}\.\d{4,5}(?:v\d+)?|[a-z\-]+(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?)",
    re.IGNORECASE,
)
_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.IGNORECASE)
_ARXIV_DOI = re.compile(r"^10\.48550/arxiv\.(?P<id>.+)$", re.IGNORECASE)
_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|2\d\d\d)(?!\d)")


# Font commands around a (braced) title word: "\\textsc{{NaVIDA}}" is "NaVIDA".
_FONT = re.compile(
    r"\\(?:text(?:sc|it|bf|tt|rm|sf|sl|up|normal)?|emph|math(?:rm|bf|it|sf|tt|cal))\s*(?=\{)"
)
_LEFTOVER_COMMAND = re.compile(r"\\[a-zA-Z]+\*?\s*")


def readable_title(title: str | None) -> str:
    """A title as people read it: LaTeX accents as letters, math made readable, no
    protective braces ("Anamnesegespr{\\"a}chen" is "Anamnesegesprächen")."""
    if not title:
        return ""
    text = _FONT.sub("", title)
    if "\\" in text or "{" in text:
        text = latex_to_unicode(text)  # accents and braces
    if "$" in text or "\\" in text:
        text = readable_latex(text)
    text = _LEFTOVER_COMMAND.sub("", text).replace("{", "").replace("}", "")
    return " ".join(text.split())


def folded_doi(text: str | None) -> str | None:
    """A DOI as compared: resolver prefix dropped, lower case (DOIs ignore case)."""
    if not text:
        return None
    doi = _DOI_PREFIX.sub("", text.strip()).strip().lower()
    return doi if doi.startswith("10.") and "/" in doi else None


def _arxiv(text: str) -> str | None:
    try:
        return parse_arxiv_id(text).base
    except InvalidArxivId:
        return None


def arxiv_id_of(explicit: Iterable[str | None], texts: Iterable[str | None]) -> str | None:
    """The arXiv id of a reference: from fields that hold one (eprint, arxiv), else the
    first one named in its URLs, DOI or notes."""
    for value in explicit:
        if value and (found := _arxiv(value)):
            return found
    for text in texts:
        if not text:
            continue
        doi = folded_doi(text)
        arxiv_doi = _ARXIV_DOI.match(doi) if doi else None
        if arxiv_doi and (found := _arxiv(arxiv_doi["id"])):
            return found
        for match in _ARXIV_IN_TEXT.finditer(text):
            if found := _arxiv(match["url"] or match["bare"]):
                return found
    return None


def year_of(*texts: str | None) -> int | None:
    """The first year in any of these ("2017", "2017-06-12", "June 2017")."""
    for text in texts:
        if text and (match := _YEAR.search(str(text))):
            return int(match.group(1))
    return None


def entry(
    position: int,
    key: str | None,
    title: str | None,
    year: int | None,
    *,
    arxiv_fields: Iterable[str | None] = (),
    doi: str | None = None,
    texts: Iterable[str | None] = (),
) -> LibraryEntry:
    """A reference from what a format read; its ids looked for in the fields that hold
    them, then in the DOI, URLs and notes (`texts`)."""
    folded = folded_doi(doi)
    arxiv_id = arxiv_id_of(arxiv_fields, [folded, *texts])
    if folded and _ARXIV_DOI.match(folded):
        folded = None  # arXiv's own DOI names the preprint: matched by its id
    return LibraryEntry(position, key or None, readable_title(title), year, arxiv_id, folded)


def too_many(found: int, max_entries: int) -> None:
    """Refuse a file with more references than an import takes, before reading them."""
    if found > max_entries:
        raise TooManyEntries(
            f"this file holds {found:,} references; an import takes at most {max_entries:,}: "
            "split it (a Zotero collection at a time) and import the parts"
        )
