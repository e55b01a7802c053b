"""A digest as mail: multipart/alternative with a real text/plain part and an HTML part
from Jinja2 templates, its CSS inlined (css-inline) so that mail clients that drop <style>
still show it; List-Unsubscribe (https and mailto) with RFC 8058 one-click; the Message-ID
the outbox fixed for this person and period.

A run mails the same papers to many people, so each paper's part of a message (its text and
its inlined HTML, for one reason and upvote count) is rendered once a run (`Renderer`), and
each message only puts its parts in order inside its own head and foot.
"""

from __future__ import annotations

from email.message import Message
from pathlib import Path

import css_inline
import jinja2
from markupsafe import Markup

from paperscope import mail
from paperscope.digest.compose import Entry
from paperscope.settings import Settings
from paperscope.text import day, display_title, paper_url

TEMPLATES = Path(__file__).parent / "templates"
CSS = (TEMPLATES / "digest.css").read_text()
_ENTRIES = "<!--entries-->"  # where the entries go in the inlined page


def _environment(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=autoescape, keep_trailing_newline=True
    )
    env.filters.update(title_text=display_title, day=day)
    env.globals.update(paper_url=paper_url)
    return env


_TEXT = _environment(False)
_HTML = _environment(True)
_INLINER = css_inline.CSSInliner(keep_style_tags=False)


class Renderer:
    def __init__(self, settings: Settings, base: str) -> None:
        self.settings = settings
        self.base = base
        self._parts: dict[tuple, tuple[str, str]] = {}

    def _part(self, entry: Entry) -> tuple[str, str]:
        """(text, HTML) of one entry, made once a run."""
        key = (entry.paper.id, entry.reason, entry.section, entry.upvotes)
        if key not in self._parts:
            context = {"e": entry, "base": self.base}
            text = _TEXT.get_template("entry.txt").render(context)
            html = _HTML.get_template("entry.html").render(context)
            self._parts[key] = (text, _INLINER.inline_fragment(html, CSS))
        return self._parts[key]

    def message(
        self,
        *,
        to: str,
        title: str,
        entries: list[Entry],
        preferences_url: str,
        unsubscribe_url: str,
        unsubscribe_mailto: str,
        message_id: str,
    ) -> Message:
        parts = [self._part(entry) for entry in entries]
        context = {
            "title": title,
            "parts": [text for text, _ in parts],
            "css": CSS,
            "preferences_url": preferences_url,
            "unsubscribe_url": unsubscribe_url,
        }
        text = _TEXT.get_template("digest.txt").render(context)
        page = _INLINER.inline(_HTML.get_template("digest.html").render(context))
        html = page.replace(_ENTRIES, Markup("").join(Markup(h) for _, h in parts), 1)
        return mail.compose(
            self.settings,
            to,
            f"paperscope: {title}",
            text,
            html=html,
            message_id=message_id,
            headers={
                "List-Unsubscribe": f"<{unsubscribe_url}>, <{unsubscribe_mailto}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                "List-Id": f"paperscope digest <digest.{mail.domain_of(self.settings)}>",
            },
        )
