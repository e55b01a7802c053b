"""Comments' Markdown as HTML that is safe to show: rendered by markdown-it-py (CommonMark,
raw HTML off) and then sanitised by nh3 (Rust's ammonia) with a short allow-list, so no
script, style, event handler or javascript: link survives either step.

LaTeX reads as it does in abstracts (paperscope/text.py: `$\\alpha$` -> α): math spans are
parsed before emphasis can take their `*` and `_` apart, and the rest of the text goes
through the same conversion; code spans and blocks are left as written. Both come out as
text tokens, which markdown-it escapes like any other text."""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from markupsafe import Markup

from paperscope.text import readable_latex, readable_tex_at


def _tex(state: StateInline, silent: bool) -> bool:
    """A math span or a text accent, converted whole (and marked so, for `_readable_text`)."""
    if state.src[state.pos] not in "$\\{":
        return False
    found = readable_tex_at(state.src, state.pos)
    if found is None:
        return False
    end, readable = found
    if not silent:
        token = state.push("text", "", 0)
        token.content = readable
        token.meta["converted"] = True
    state.pos = end
    return True


def _readable_text(state) -> None:
    """After inline parsing: LaTeX outside math (`\\'e`, `\\alpha`, `--`) in plain text."""
    for block in state.tokens:
        for token in block.children or ():
            if token.type == "text" and not token.meta.get("converted"):
                token.content = readable_latex(token.content)


_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("strikethrough")
# Before `escape`, which would read `\\(` as an escaped parenthesis.
_MARKDOWN.inline.ruler.before("escape", "tex", _tex)
# Before `text_join` merges escaped characters (`\\$`) into the text around them.
_MARKDOWN.core.ruler.before("text_join", "readable_latex", _readable_text)
TAGS = {
    "p", "br", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li",
    "a", "h3", "h4", "h5", "h6", "hr",
}  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}


def render_markdown(text: str) -> Markup:
    html = _MARKDOWN.render(text)
    # Headings a comment may use sit below the page's own.
    for level in (1, 2):
        html = html.replace(f"<h{level}>", "<h3>").replace(f"</h{level}>", "</h3>")
    clean = nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow ugc noopener noreferrer",
    )
    return Markup(clean)
