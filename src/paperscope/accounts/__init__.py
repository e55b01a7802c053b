"""Accounts without passwords: a one-time link by email signs a person in (and, the first
time, up). Entry point: ``AccountService``.

What the best systems taught: mail scanners open every link in a message, so the link's
GET only shows a page whose button POSTs the token; the token is random, single-use,
expires (15 minutes by default) and is stored as a hash; the link is built on the
configured public URL, never on a request's Host header. Asking for a link answers the
same, as fast, whether or not the address has an account: the answer comes before the
mail is looked into, which happens on a background thread.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.message import Message
from urllib.parse import urlencode

from paperscope import mail
from paperscope.errors import InvalidInput, TooManyRequests
from paperscope.settings import Settings
from paperscope.store import Store
from paperscope.store.accounts import ROLES as ROLES  # what `users add --role` may give
from paperscope.store.accounts import Member, TokenInfo

log = logging.getLogger("paperscope.accounts")
EMAIL = re.compile(r"[^@\s<>()\[\]\\,;:\"']+@[^@\s<>()\[\]\\,;:\"']+\.[^@\s<>()\[\]\\,;:\"'.]+")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class BadEmail(InvalidInput, ValueError):
    """Not an email address."""


class RateLimited(TooManyRequests, RuntimeError):
    """Too many requests of one kind; the message says which and when to retry."""


class LinkRefused(InvalidInput, RuntimeError, status=400):
    """A sign-in link that does not work (any more): `state` is why."""

    hints = ("Ask for a new link.",)

    def __init__(self, state: str) -> None:
        self.state = state
        super().__init__(
            {
                "used": "this sign-in link has been used already",
                "expired": "this sign-in link has expired",
            }.get(state, "this is not a sign-in link of this site")
        )


def check_email(email: str) -> str:
    email = email.strip()
    if len(email) > 254 or not EMAIL.fullmatch(email):
        raise BadEmail("that does not look like an email address")
    return email.lower()


class AccountService:
    """Sign-in links, sessions and the checks around them, for the web app and the CLI."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        deliver: Callable[[Message], None] | None = None,
        console: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self._deliver = deliver or (lambda message: mail.send(settings, message))
        self._console = console or mail.print_on_console
        self._mailer = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sign-in-mail")

    @property
    def delivery(self) -> str | None:
        """How sign-in links reach people (Settings.mail_delivery); None: sign-in is not
        possible."""
        return self.settings.mail_delivery

    def request_link(
        self, email: str, client: str, now: datetime | None = None, next: str = "/"
    ) -> Future:
        """Send a sign-in link to the address (in the background; the Future is for tests).
        BadEmail, RateLimited; otherwise the same for every address. `next` (a local path,
        checked by the caller) is where the link's page sends them once signed in."""
        now = now or utcnow()
        address = check_email(email)
        limits, hour = self.store.limits, 3600
        per_address = self.settings.sign_in_requests_per_hour
        per_client = self.settings.sign_in_requests_per_hour_per_client
        if not limits.hit("sign-in:client:" + client, per_client, hour, now):
            raise RateLimited("too many sign-in requests from here: try again in an hour")
        if not limits.hit("sign-in:address:" + address_key(address), per_address, hour, now):
            raise RateLimited("too many sign-in links for this address: try again in an hour")
        return self._mailer.submit(self._send_link, address, now, next)

    def _send_link(self, address: str, now: datetime, next: str = "/") -> None:
        try:
            if not self.settings.open_signup and self.store.accounts.by_email(address) is None:
                return
            minutes = self.settings.sign_in_link_minutes
            token = self.store.accounts.add_link(address, now, timedelta(minutes=minutes))
            query = {"token": token} | ({"next": next} if next != "/" else {})
            link = f"{self.settings.link_base}/signin/confirm?{urlencode(query)}"
            if self.delivery == "console":
                self._console(
                    f"paperscope: sign-in link for {address} (valid {minutes} min): {link}"
                )
                return
            text = (
                "Someone (hopefully you) asked to sign in to paperscope with this address.\n\n"
                f'Open this link and press "Sign in" (it works once, for {minutes} minutes):'
                f"\n\n{link}\n\nIf it was not you, ignore this message: nothing happens.\n"
            )
            self._deliver(
                mail.compose(self.settings, address, "Your paperscope sign-in link", text)
            )
        except Exception as error:
            log.error(
                "sign-in mail to %s failed: %s", address_key(address)[:12], type(error).__name__
            )
            raise

    def link_state(self, token: str, now: datetime | None = None) -> str:
        return self.store.accounts.link_state(token, now or utcnow())

    def redeem(self, token: str, now: datetime | None = None) -> tuple[Member, str]:
        """Use a link: (the member, made on a first sign-in; a new session token)."""
        now = now or utcnow()
        state, address = self.store.accounts.use_link(token, now)
        if address is None:
            raise LinkRefused(state)
        member, _made = self.store.accounts.ensure(address, now)
        session = self.store.accounts.add_session(
            member.id, now, timedelta(days=self.settings.session_days)
        )
        return member, session

    def session_member(self, token: str, now: datetime | None = None) -> tuple[Member, str] | None:
        return self.store.accounts.session_member(token, now or utcnow())

    def token_member(self, token: str, now: datetime | None = None) -> Member | None:
        return self.store.accounts.token_member(token, now or utcnow())

    def add_member(
        self, email: str, fullname: str | None = None, role: str | None = None
    ) -> tuple[Member, bool]:
        """A member with this address (made if new, True); a given `role` is theirs after,
        new or not (how the first curator is made)."""
        address = check_email(email)
        return self.store.accounts.ensure(address, utcnow(), fullname=fullname, role=role)

    def make_token(self, email: str, name: str) -> tuple[Member, str] | None:
        """A new API token for the member with this address (None: no such member)."""
        member = self.store.accounts.by_email(email)
        if member is None:
            return None
        return member, self.store.accounts.add_token(member.id, name, utcnow())

    def csrf_secret(self) -> str:
        """What signs form tokens: the configured secret key, else one made once and kept
        in the database, so that every server signs alike."""
        if self.settings.secret_key:
            return self.settings.secret_key.get_secret_value()
        return self.store.limits.secret("csrf")

    # -- a member's own account -------------------------------------------------------------
    def sign_out(self, session_token: str) -> None:
        self.store.accounts.end_session(session_token)

    def sign_out_everywhere(self, member: Member) -> None:
        self.store.accounts.end_all_sessions(member.id)

    def session_count(self, member: Member, now: datetime | None = None) -> int:
        return self.store.accounts.session_count(member.id, now or utcnow())

    def rename(self, member: Member, fullname: str) -> None:
        self.store.accounts.rename(member.id, fullname)

    def tokens(self, member: Member) -> list[TokenInfo]:
        """The member's API tokens (names and dates, never the tokens)."""
        return self.store.accounts.tokens(member.id)

    def add_token(self, member: Member, name: str, now: datetime | None = None) -> str:
        """A new API token, shown once: only its hash is kept."""
        return self.store.accounts.add_token(member.id, name, now or utcnow())

    def revoke_token(self, member: Member, token_id: int) -> None:
        self.store.accounts.revoke_token(member.id, token_id)

    def delete(self, member: Member) -> None:
        self.store.accounts.delete(member.id)

    def close(self) -> None:
        self._mailer.shutdown(wait=True)


def address_key(text: str) -> str:
    """What logs and rate-limit keys hold instead of an address."""
    return hashlib.sha256(text.encode()).hexdigest()
