"""A digest as mail: multipart/alternative with a real text/plain part and an HTML part
from Jinja2 templates, its CSS inlined (css-inline) so that mail clients that drop <style>
still show it; List-Unsubscribe (https and mailto) with RFC 8058 one-click; the Message-ID
the outbox fixed for this person and period."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import css_inline
import jinja2

from paperscope import mail
from paperscope.digest.compose import Entry
from paperscope.settings import Settings
from paperscope.web.render import day, paper_url
from paperscope.web.text import display_title

TEMPLATES = Path(__file__).parent / "templates"


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


def render(
    settings: Settings,
    *,
    to: str,
    title: str,
    entries: list[Entry],
    base: str,
    preferences_url: str,
    unsubscribe_url: str,
    unsubscribe_mailto: str,
    message_id: str,
) -> EmailMessage:
    context = {
        "title": title,
        "entries": entries,
        "base": base,
        "preferences_url": preferences_url,
        "unsubscribe_url": unsubscribe_url,
    }
    text = _TEXT.get_template("digest.txt").render(context)
    html = _INLINER.inline(_HTML.get_template("digest.html").render(context))
    return mail.compose(
        settings,
        to,
        f"paperscope: {title}",
        text,
        html=html,
        message_id=message_id,
        headers={
            "List-Unsubscribe": f"<{unsubscribe_url}>, <{unsubscribe_mailto}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": f"paperscope digest <digest.{mail.domain_of(settings)}>",
        },
    )
