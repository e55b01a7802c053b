"""Email digests: subscribe (double opt-in), preferences, one-click unsubscribe, and sending
each period's digest to every subscriber exactly once. Entry point: ``DigestService``.

    links.py          signed links in mail and on its pages, Message-IDs
    subscriptions.py  subscribe, confirm, unsubscribe
    sending.py        each period's digest to every subscriber once (the outbox)
    compose.py        which papers a digest holds, and why
    render.py         the message: text and HTML from templates
    periods.py        which period a day's digest covers

Opening a link shows a page whose button POSTs (mail scanners open links); only the RFC 8058
one-click POST acts at once, with no session and no cookie, as mail providers send it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import date, datetime

from paperscope.accounts import check_email, utcnow
from paperscope.digest.compose import Composer
from paperscope.digest.links import BadLink, DigestLinks
from paperscope.digest.periods import DigestPeriod, Frequency, digest_period
from paperscope.digest.sending import DigestSender, SendReport
from paperscope.digest.subscriptions import Subscriptions
from paperscope.errors import InvalidInput
from paperscope.search.query import parse_query
from paperscope.settings import Settings
from paperscope.store import Store
from paperscope.store.accounts import Member
from paperscope.store.collections import StoredCollection
from paperscope.store.digests import StoredSubscriber

__all__ = ["BadLink", "DigestService", "SendReport", "digest_period"]


class DigestService:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        search=None,
        console: Callable[[str], None] | None = None,
        connect=None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.search = search
        self.links = DigestLinks(settings, store)
        self.subscriptions = Subscriptions(settings, store, self.links, console)
        self.sender = DigestSender(settings, store, self.links, search=search, connect=connect)

    # -- links ------------------------------------------------------------------------------
    def token(self, purpose: str, subscriber_id: int) -> str:
        return self.links.token(purpose, subscriber_id)

    def subscriber_of(self, purpose: str, token: str) -> StoredSubscriber:
        return self.links.subscriber_of(purpose, token)

    def message_id(self, period: DigestPeriod, subscriber_id: int) -> str:
        return self.links.message_id(period, subscriber_id)

    # -- subscribing ------------------------------------------------------------------------
    @property
    def delivery(self) -> str | None:
        return self.subscriptions.delivery

    def subscribe(self, email: str, client: str, now: datetime | None = None) -> Future:
        return self.subscriptions.subscribe(email, client, now)

    def add_subscriber(
        self,
        email: str,
        *,
        confirmed: bool = False,
        frequency: str = "daily",
        categories: Sequence[str] = (),
        follows: Sequence[str] = (),
    ) -> tuple[StoredSubscriber, bool]:
        """An admin's import: the subscriber (True when new); an existing one given
        categories or follows gets them, and the frequency."""
        for query in follows:
            parse_query(query)  # a search that cannot be read is refused, not followed
        subscriber, made = self.store.digests.subscribe(
            check_email(email),
            utcnow(),
            confirmed=confirmed,
            frequency=frequency,
            categories=list(categories),
            follows=list(follows),
        )
        if not made and (categories or follows):
            self.store.digests.update(
                subscriber.id,
                categories=list(categories) or subscriber.categories,
                follows=list(follows) or subscriber.follows,
                frequency=frequency,
            )
        return subscriber, made

    def confirm(self, token: str, now: datetime | None = None) -> StoredSubscriber:
        return self.subscriptions.confirm(token, now)

    def unsubscribe(self, token: str) -> StoredSubscriber:
        return self.subscriptions.unsubscribe(token)

    def subscription_of(self, member: Member) -> StoredSubscriber | None:
        """The subscription of a member's address, in any state; None if they never asked."""
        return self.store.digests.by_email(member.email)

    def collections_of(self, subscriber: StoredSubscriber) -> list[StoredCollection]:
        """The collections of the member with the subscriber's address (none: not a member)."""
        member = self.store.accounts.by_email(subscriber.email)
        return self.store.collections.of_member(member.id) if member else []

    def subscribed(self, member: Member) -> bool:
        """Whether a member has a digest already (pending, active or paused)."""
        found = self.subscription_of(member)
        return found is not None and found.state in ("active", "paused", "pending")

    def save_preferences(
        self,
        subscriber: StoredSubscriber,
        *,
        frequency: str,
        categories: list[str],
        follows: list[str],
        for_you: bool,
        max_papers: int,
        paused: bool,
        for_you_collection: int | None = None,
    ) -> StoredSubscriber:
        """Store what the preferences form asked for (checked by the form), and pause or
        resume a confirmed subscription; the subscription as it now is. `for_you_collection`:
        one of `collections_of(subscriber)`, whose papers "for you" learns from."""
        if for_you_collection is not None and for_you_collection not in {
            c.id for c in self.collections_of(subscriber)
        }:
            raise InvalidInput("For you: pick one of your own collections")
        self.store.digests.update(
            subscriber.id,
            frequency=frequency,
            categories=categories,
            follows=follows,
            for_you=for_you,
            max_papers=max_papers,
            for_you_collection_id=for_you_collection,
        )
        if subscriber.state in ("active", "paused"):
            self.store.digests.set_state(subscriber.id, "paused" if paused else "active", utcnow())
        found = self.store.digests.get(subscriber.id)
        assert found is not None
        return found

    # -- sending ----------------------------------------------------------------------------
    def composer(self) -> Composer:
        return self.sender.composer()

    def send(self, frequency: Frequency, day: date | None = None, **options) -> SendReport:
        """Each subscriber's digest of the period `day` falls in, once (see sending.py)."""
        return self.sender.send(frequency, day, **options)

    def close(self) -> None:
        self.subscriptions.close()
