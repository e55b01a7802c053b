"""Subscribing to the digest: double opt-in (a mailed link whose page has a "Confirm"
button, since mail scanners open links), and leaving it. The answer to a subscription is
the same for every address: the confirmation goes out from a background thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime

from paperscope import mail
from paperscope.accounts import RateLimited, address_key, check_email, utcnow
from paperscope.digest.links import DigestLinks
from paperscope.settings import Settings
from paperscope.store import Store
from paperscope.store.digests import StoredSubscriber

log = logging.getLogger("paperscope.digest")


class Subscriptions:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        links: DigestLinks,
        console: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.links = links
        self._console = console or mail.print_on_console
        self._mailer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="digest-mail")

    @property
    def delivery(self) -> str | None:
        """How confirmation links reach people (Settings.mail_delivery)."""
        return self.settings.mail_delivery

    def subscribe(self, email: str, client: str, now: datetime | None = None) -> Future:
        """Ask for a digest: a pending subscription and a confirmation mail (sent in the
        background; the answer is the same for every address)."""
        now = now or utcnow()
        address = check_email(email)
        limits = self.store.limits
        if not limits.hit("subscribe:client:" + client, 30, 3600, now):
            raise RateLimited("too many subscriptions from here: try again in an hour")
        if not limits.hit("subscribe:address:" + address_key(address), 3, 3600, now):
            raise RateLimited("a confirmation was sent to this address already: check its inbox")
        subscriber, _made = self.store.digests.subscribe(address, now)
        return self._mailer.submit(self._send_confirmation, subscriber)

    def _send_confirmation(self, subscriber: StoredSubscriber) -> None:
        if subscriber.state == "active":
            return  # already confirmed: nothing to do
        link = self.links.url(f"/digest/confirm?token={self.links.token('confirm', subscriber.id)}")
        if self.delivery == "console":
            self._console(f"paperscope: digest confirmation for {subscriber.email}: {link}")
            return
        text = (
            "Someone (hopefully you) asked for paperscope's paper digest at this address.\n\n"
            f'Open this link and press "Confirm" to start getting it:\n\n{link}\n\n'
            "If it was not you, ignore this message: nothing will be sent.\n"
        )
        try:
            mail.send(
                self.settings,
                mail.compose(
                    self.settings, subscriber.email, "Confirm your paperscope digest", text
                ),
            )
        except Exception as error:  # logged without the link
            log.error("digest confirmation failed: %s", type(error).__name__)
            raise

    def confirm(self, token: str, now: datetime | None = None) -> StoredSubscriber:
        subscriber = self.links.subscriber_of("confirm", token)
        if subscriber.state in ("pending", "unsubscribed"):
            self.store.digests.set_state(subscriber.id, "active", now or utcnow())
        found = self.store.digests.get(subscriber.id)
        assert found is not None
        return found

    def unsubscribe(self, token: str) -> StoredSubscriber:
        subscriber = self.links.subscriber_of("unsubscribe", token)
        self.store.digests.set_state(subscriber.id, "unsubscribed", utcnow())
        return subscriber

    def close(self) -> None:
        self._mailer.shutdown(wait=True)
