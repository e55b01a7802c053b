"""A person using paperscope through a client with its own cookies: signs in with the link
mailed to a real SMTP server, and fills in forms with the CSRF token pages carry."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from tests.mail_server import Inbox, link_in

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_in(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


class Person:
    def __init__(self, client, inbox: Inbox) -> None:
        self.client = client
        self.inbox = inbox
        self.email: str | None = None

    def ask_for_link(self, email: str):
        form = self.client.get("/signin")
        return self.client.post("/signin", data={"email": email, "csrf_token": csrf_in(form.text)})

    def link(self, email: str) -> str:
        """Ask for a sign-in link and return it as mailed."""
        before = len(self.inbox.to(email))
        answer = self.ask_for_link(email)
        assert answer.status_code == 200, answer.text
        return link_in(self.inbox.wait_for(email, before + 1))

    def confirm(self, link: str):
        """Open the link (GET: a page with a button) and press the button."""
        parts = urlsplit(link)
        page = self.client.get(f"{parts.path}?{parts.query}")
        assert page.status_code == 200, page.text
        token = parse_qs(parts.query)["token"][0]
        return self.client.post(
            "/signin/confirm",
            data={"token": token, "csrf_token": csrf_in(page.text)},
            follow_redirects=False,
        )

    def sign_in(self, email: str) -> None:
        answer = self.confirm(self.link(email))
        assert answer.status_code == 303, answer.text
        self.email = email

    def csrf(self) -> str:
        page = self.client.get("/account" if self.email else "/signin")
        return csrf_in(page.text)

    def post(self, path: str, **data):
        """Submit a form as a page would, with a valid CSRF token."""
        return self.client.post(
            path, data={"csrf_token": self.csrf(), **data}, follow_redirects=False
        )

    def token(self) -> str:
        """A new API token, made on the account page (shown there once)."""
        page = self.post("/account/tokens", name="tests")
        match = re.search(r'<code class="token">([^<]+)</code>', page.text)
        assert match, page.text
        return match.group(1)
