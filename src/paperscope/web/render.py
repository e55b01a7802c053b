"""What templates may call: safe highlighting, paper text for display, links."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote, urlencode

import jinja2
from markupsafe import Markup, escape

from paperscope.search.snippets import Highlighter, Snippet
from paperscope.settings import Settings
from paperscope.web.text import display_abstract, display_title, readable_latex


def marked(snippet: Snippet) -> Markup:
    """The snippet's text, escaped, with its matching words wrapped in <mark>."""
    text, out, at = snippet.text, [], 0
    for start, end in sorted(snippet.highlights):
        if start < at:
            continue
        out.append(escape(text[at:start]))
        out.append(Markup("<mark>%s</mark>") % text[start:end])
        at = end
    out.append(escape(text[at:]))
    return Markup("").join(out)


def marked_display(text: str, marker: Highlighter | None, kind: str = "title") -> Markup:
    """Paper text as displayed (LaTeX made readable), with the query's words marked."""
    shown = display_title(text) if kind == "title" else readable_latex(text)
    if marker is None:
        return Markup(escape(shown))
    return marked(marker.highlight(shown))


def day(value: datetime | None) -> str:
    return value.strftime("%b %-d, %Y") if value else "—"


def paper_url(paper_id: str) -> str:
    return "/papers/" + quote(paper_id, safe="/.")


def search_url(query: str, **params: str) -> str:
    return "/search?" + urlencode({"q": query, **{k: v for k, v in params.items() if v}})


def install(env: jinja2.Environment, settings: Settings) -> None:
    env.filters.update(
        marked=marked,
        marked_display=marked_display,
        day=day,
        title_text=display_title,
        abstract=display_abstract,
    )
    env.globals.update(
        paper_url=paper_url,
        search_url=search_url,
        subscriptions_enabled=settings.subscriptions_enabled,
    )
