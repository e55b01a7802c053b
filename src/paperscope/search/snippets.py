"""Snippets: the part of an abstract that best shows why a paper matched, with the
matching words marked as character ranges (the web page escapes, then wraps them).

A word is marked when the search analyzer turns it into one of the query's stems, so
"pruning" is marked for a query that said "prune" and "Schrödinger" for "schrodinger".
Words that only hold a sentence together ("the", "of", "how", "we") are never marked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

# A word with at least one non-ASCII letter or digit in it.
_ACCENTED_WORD = re.compile(r"(?<![^\W_])[^\W_]*[^\W_\x00-\x7f][^\W_]*")
SNIPPET_CHARS = 320
# Words that only hold a sentence together: the search analyzer drops a few of them
# (Lucene's 33 stop words), and these are never marked either, so "how do we segment
# videos" marks "segment" and "videos", not "how", "do" and "we" all over every abstract.
# Grammatical words only: "few", "over", "out", "between" carry meaning in papers'
# words ("few-shot", "out-of-distribution") and stay markable.
FUNCTION_WORDS = frozenset(
    """
    a an the this that these those some any each every both either neither such
    i me my mine myself we us our ours ourselves you your yours yourself yourselves
    he him his himself she her hers herself it its itself they them their theirs themselves
    what which who whom whose when where why how whether
    am is are was were be been being have has had having do does did doing done
    can could will would shall should may might must
    and but or nor if because as while than so then though although also just very too
    of at by for with about into onto to from in on upon via per within
    here there not
    """.split()  # noqa: SIM905 (read as a block of words)
)


@dataclass(frozen=True)
class Snippet:
    text: str
    highlights: tuple[tuple[int, int], ...]  # [start, end) character ranges in text


class Highlighter:
    """Marks the words of a text that stem to one of a query's stems.

    `stem_word` is the search analyzer for one word (None for a stop word); it should be
    cached, as the same words come back in every abstract.
    """

    def __init__(self, stems: Iterable[str], stem_word: Callable[[str], str | None]) -> None:
        ignored = {stem_word(word) for word in FUNCTION_WORDS}
        self.stems = frozenset(stem for stem in stems if len(stem) >= 2 and stem not in ignored)
        self._stem_word = stem_word
        # Stemming only rewrites a word's ending ("study" -> "studi", "pruning" -> "prune"),
        # so a word can only match if it starts like the stem minus its last letter.
        prefixes = sorted({s[:-1] if len(s) > 3 else s for s in self.stems}, key=len)[::-1]
        self._candidates = (
            re.compile(
                rf"(?<![^\W_])(?:{'|'.join(map(re.escape, prefixes))})[^\W_]*", re.IGNORECASE
            )
            if prefixes
            else None
        )

    def matches(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, stem) of every word in text that stems to a query stem."""
        if self._candidates is None:
            return []
        words = list(self._candidates.finditer(text))
        if not text.isascii():
            # An accented word may match once the analyzer has folded it ("Schrödinger").
            seen = {m.start() for m in words}
            words += [m for m in _ACCENTED_WORD.finditer(text) if m.start() not in seen]
            words.sort(key=lambda m: m.start())
        found = []
        for match in words:
            stem = self._stem_word(match.group())
            if stem in self.stems:
                found.append((match.start(), match.end(), stem))
        return found

    def highlight(self, text: str) -> Snippet:
        """The whole text with matching words marked (for titles)."""
        return Snippet(text, tuple((s, e) for s, e, _ in self.matches(text)))

    def snippet(self, text: str, max_chars: int = SNIPPET_CHARS) -> Snippet:
        """A window of the text holding the most distinct matching words, lines joined."""
        flat = " ".join(text.split())
        matches = self.matches(flat)
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
