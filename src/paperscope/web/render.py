"""What templates may call: safe highlighting, paper text for display, links."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import jinja2
from markupsafe import Markup, escape

from paperscope.accounts import Member
from paperscope.authors import author_url
from paperscope.community.markdown import render_markdown
from paperscope.search.snippets import Highlighter, Snippet
from paperscope.settings import Settings
from paperscope.text import day, display_abstract, display_title, paper_url, readable_latex

if TYPE_CHECKING:  # digest/render.py imports this package's text helpers
    from paperscope.digest import DigestService


def marked(snippet: Snippet) -> Markup:
    """The snippet's text, escaped, with its matching words wrapped in <mark>."""
    text, out, at = snippet.text, [], 0
    for start, end in sorted(snippet.highlights):
        if start < at:
            continue
        out += [html.escape(text[at:start], quote=False), "<mark>"]
        out += [html.escape(text[start:end], quote=False), "</mark>"]
        at = end
    out.append(html.escape(text[at:], quote=False))
    return Markup("".join(out))


def marked_display(shown: Snippet, marker: Highlighter | None, kind: str = "title") -> Markup:
    """A title or snippet as displayed (LaTeX made readable), with the query's words
    marked; re-marked only when display changed the text."""
    text = display_title(shown.text) if kind == "title" else readable_latex(shown.text)
    if text == shown.text:
        return marked(shown)
    return marked(marker.highlight(text)) if marker else Markup(escape(text))


def search_url(query: str, **params: str) -> str:
    return "/search?" + urlencode({"q": query, **{k: v for k, v in params.items() if v}})


def install(env: jinja2.Environment, settings: Settings, digests: DigestService) -> None:
    def subscribed(member: Member) -> bool:
        """Whether a signed-in member has a digest already (so no subscribe box for them);
        their pages are never cached, so the answer is theirs alone."""
        return digests.subscribed(member)

    env.filters.update(
        {
            "marked": marked,
            "marked_display": marked_display,
            "day": day,
            "title_text": display_title,
            "abstract": display_abstract,
            "markdown": render_markdown,
        }
    )
    env.globals.update(
        paper_url=paper_url,
        search_url=search_url,
        author_url=author_url,
        subscriptions_enabled=settings.subscriptions_enabled,
        subscribed=subscribed,
    )
