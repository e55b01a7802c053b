"""Snippets: the part of an abstract that best shows why a paper matched, with the
matching words marked as character ranges (the web page escapes, then wraps them)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
SNIPPET_CHARS = 320


@dataclass(frozen=True)
class Snippet:
    text: str
    highlights: tuple[tuple[int, int], ...]  # [start, end) character ranges in text


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _matches(text: str, stems: list[str]) -> list[tuple[int, int, str]]:
    found = []
    for match in _WORD.finditer(text):
        word = _fold(match.group())
        for stem in stems:
            # Stems are analyzer output ("transform" for "transformers"): prefix match.
            if word.startswith(stem) and len(word) - len(stem) <= 4:
                found.append((match.start(), match.end(), stem))
                break
    return found


def highlight(text: str, stems: list[str]) -> Snippet:
    """The whole text with matching words marked (for titles)."""
    stems = [s for s in stems if len(s) >= 2]
    return Snippet(text, tuple((s, e) for s, e, _ in _matches(text, stems)))


def make_snippet(text: str, stems: list[str], max_chars: int = SNIPPET_CHARS) -> Snippet:
    """A window of the text holding the most distinct matching words, lines joined."""
    flat = " ".join(text.split())
    stems = [s for s in stems if len(s) >= 2]
    matches = _matches(flat, stems)
    start = 0
    if matches and len(flat) > max_chars:
        best = (-1, 0)
        for i, (first, _, _) in enumerate(matches):
            covered = {stem for s, e, stem in matches[i:] if e - first <= max_chars}
            if len(covered) > best[0]:
                best = (len(covered), first)
        # Start a little before the first match, at a word boundary, for context.
        start = max(0, best[1] - 60)
        if start:
            space = flat.find(" ", start)
            start = space + 1 if 0 <= space < best[1] else start
        start = min(start, max(0, len(flat) - max_chars))
        if start and flat.rfind(" ", 0, start) == -1:
            start = 0
    end = min(len(flat), start + max_chars)
    if end < len(flat):
        space = flat.rfind(" ", start, end)
        end = space if space > start else end
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(flat) else ""
    window = prefix + flat[start:end] + suffix
    shift = len(prefix) - start
    spans = tuple((s + shift, e + shift) for s, e, _ in matches if s >= start and e <= end)
    return Snippet(window, spans)
