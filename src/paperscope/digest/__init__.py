"""Email digests: subscribe (double opt-in), preferences, one-click unsubscribe, and sending
each period's digest to every subscriber exactly once. Entry point: ``DigestService``.

Links in mail carry tokens signed (itsdangerous) with a secret kept in the database, so any
server reads them and none has to be stored: `confirm` (expires in a week), `manage`
(preferences) and `unsubscribe`. Opening a link shows a page whose button POSTs (mail
scanners open links); only the RFC 8058 one-click POST acts at once, with no session and
no cookie, as mail providers send it.

Sending (`send`) plans one outbox row per subscriber and period, then claims rows with a
lease, composes, hands each message to the SMTP server, and marks it sent only once the
server accepted it (store/digests.py). Run it from cron as often as you like, on as many
hosts: each subscriber gets each period's digest once. A message refused for good (5xx)
marks the address bouncing; a temporary failure (4xx, no connection, a timeout) is tried
again later, waiting twice as long each time.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import smtplib
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import quote

from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from threadpoolctl import threadpool_limits

from paperscope import mail
from paperscope.accounts import RateLimited, address_key, check_email, utcnow
from paperscope.digest.compose import Composer, Entry, Item
from paperscope.digest.periods import DigestPeriod, Frequency, digest_period
from paperscope.digest.render import Renderer
from paperscope.recommend import Recommender
from paperscope.search.engine import SearchUnavailable
from paperscope.settings import Settings
from paperscope.store import Store
from paperscope.store.digests import Claimed, LeaseLost, StoredSubscriber

__all__ = ["BadLink", "DigestService", "SendReport", "digest_period"]
log = logging.getLogger("paperscope.digest")
CONFIRM_MAX_AGE_S = 7 * 86400


class BadLink(ValueError):
    """A digest link that is forged, expired or for someone no longer subscribed."""


@dataclass
class SendReport:
    period: str | None
    subscribers: int = 0
    planned: int = 0  # new outbox rows this run
    sent: int = 0
    empty: int = 0  # nothing new for them: no mail
    skipped: int = 0  # unsubscribed or paused since planning
    failed: int = 0  # refused for good, or out of attempts
    retrying: int = 0  # left by this run for a later one (temporary failures, slow leases)
    errors: list[str] = field(default_factory=list)


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
        self._secret: str | None = None
        self._console = console or mail.print_on_console
        self._connect = connect or (lambda: mail.connect(settings))
        self._mailer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="digest-mail")

    # -- links ------------------------------------------------------------------------------
    @property
    def secret(self) -> str:
        if self._secret is None:
            self._secret = self.store.limits.secret("digest-links")
        return self._secret

    def token(self, purpose: str, subscriber_id: int) -> str:
        if purpose == "confirm":
            return URLSafeTimedSerializer(self.secret, salt="digest-confirm").dumps(subscriber_id)
        return URLSafeSerializer(self.secret, salt=f"digest-{purpose}").dumps(subscriber_id)

    def subscriber_of(self, purpose: str, token: str) -> StoredSubscriber:
        try:
            if purpose == "confirm":
                serializer = URLSafeTimedSerializer(self.secret, salt="digest-confirm")
                subscriber_id = serializer.loads(token, max_age=CONFIRM_MAX_AGE_S)
            else:
                subscriber_id = URLSafeSerializer(self.secret, salt=f"digest-{purpose}").loads(
                    token
                )
        except SignatureExpired:
            raise BadLink("this confirmation link has expired: subscribe again") from None
        except BadSignature:
            raise BadLink("this is not a link of this site") from None
        found = self.store.digests.get(subscriber_id) if isinstance(subscriber_id, int) else None
        if found is None:
            raise BadLink("this subscription does not exist any more")
        return found

    def url(self, path: str) -> str:
        return f"{self.link_base}{path}"

    @property
    def link_base(self) -> str:
        base = self.settings.link_base
        if base is None:
            raise mail.MailNotConfigured("digests need PAPERSCOPE_PUBLIC_URL for their links")
        return base

    def links(self, subscriber_id: int) -> dict[str, str]:
        manage = self.token("manage", subscriber_id)
        stop = self.token("unsubscribe", subscriber_id)
        return {
            "preferences_url": self.url(f"/digest/preferences?token={manage}"),
            "unsubscribe_url": self.url(f"/digest/unsubscribe/{stop}"),
            "unsubscribe_mailto": (
                f"mailto:unsubscribe@{mail.domain_of(self.settings)}"
                f"?subject={quote('unsubscribe ' + stop)}"
            ),
        }

    # -- subscribing ------------------------------------------------------------------------
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
        link = self.url(f"/digest/confirm?token={self.token('confirm', subscriber.id)}")
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
        subscriber = self.subscriber_of("confirm", token)
        if subscriber.state in ("pending", "unsubscribed"):
            self.store.digests.set_state(subscriber.id, "active", now or utcnow())
        found = self.store.digests.get(subscriber.id)
        assert found is not None
        return found

    def unsubscribe(self, token: str) -> StoredSubscriber:
        subscriber = self.subscriber_of("unsubscribe", token)
        self.store.digests.set_state(subscriber.id, "unsubscribed", utcnow())
        return subscriber

    # -- sending ----------------------------------------------------------------------------
    def composer(self) -> Composer:
        """What chooses each digest's papers: with a search engine (and its model), "for
        you" from each member's own upvotes and saves too."""
        recommender = None
        if self.search is not None:
            try:
                recommender = Recommender(self.store, self.search.encoder.name)
            except SearchUnavailable:
                recommender = None  # no model installed: searches and trending only
        return Composer(self.store, self.search, recommender)

    def message_id(self, period: DigestPeriod, subscriber_id: int) -> str:
        """The same for one person and period wherever and however often it is made."""
        tag = hashlib.sha256(f"{self.secret}|{period.key}|{subscriber_id}".encode()).hexdigest()
        return f"<{period.slug}.{subscriber_id}.{tag[:12]}@{mail.domain_of(self.settings)}>"

    def send(
        self,
        frequency: Frequency,
        day: date | None = None,
        *,
        dry_run: bool = False,
        on_progress: Callable[[SendReport], None] | None = None,
        composer: Composer | None = None,
    ) -> SendReport:
        day = day or utcnow().date()
        period = digest_period(frequency, day)
        report = SendReport(period.key if period else None)
        if period is None:
            return report  # no daily digest on a day arXiv announces nothing
        composer = composer or self.composer()
        subscribers = self.store.digests.active(frequency)
        report.subscribers = len(subscribers)
        if dry_run:
            for start in range(0, len(subscribers), self.settings.digest_batch):
                ids = subscribers[start : start + self.settings.digest_batch]
                chosen = composer.choose_many(
                    list(self.store.digests.get_many(ids).values()), period
                )
                report.sent += sum(1 for items in chosen.values() if items)
                report.empty += sum(1 for items in chosen.values() if not items)
            return report
        planned = self.store.digests.planned(period.key)  # by an earlier or overlapping run
        rows = [(i, self.message_id(period, i)) for i in subscribers if i not in planned]
        report.planned = self.store.digests.plan(period.key, rows, utcnow())
        lease = timedelta(seconds=self.settings.digest_lease_s)
        # Every matrix here is small: BLAS threads only fight over the cores (a sender on
        # a busy machine spent most of a second in one 200 x 200 eigendecomposition).
        with _Sender(self._connect) as sender, threadpool_limits(1):
            run = _Run(
                uuid.uuid4().hex,
                period,
                composer,
                Renderer(self.settings, self.link_base),
                sender,
                report,
            )
            while True:
                claimed_at = time.monotonic()
                batch = self.store.digests.claim(
                    period.key, run.owner, utcnow(), lease, self.settings.digest_batch
                )
                if not batch:
                    break
                ready = self._compose(run, batch)
                for n, (claimed, subscriber, entries) in enumerate(ready):
                    # Never send on a lease that may have run out: another sender may have it.
                    if time.monotonic() - claimed_at > self.settings.digest_lease_s / 2:
                        report.retrying += len(ready) - n  # taken again once it has
                        break
                    self._deliver(run, claimed, subscriber, entries)
                    if on_progress:
                        on_progress(report)
        return report

    def _compose(
        self, run: _Run, batch: list[Claimed]
    ) -> list[tuple[Claimed, StoredSubscriber, list[Entry]]]:
        """The claimed messages' papers: those composed before (a retry) as they were, the
        others chosen together and kept (one transaction); messages for subscribers no
        longer active and empty ones are finished here."""
        digests = self.store.digests
        subscribers = digests.get_many([c.subscriber_id for c in batch])

        def is_active(claimed: Claimed) -> bool:
            found = subscribers.get(claimed.subscriber_id)
            return found is not None and found.state == "active"

        active = [c for c in batch if is_active(c)]
        skipped = [c.id for c in batch if c not in active]
        digests.finish(skipped, run.owner, "skipped")
        run.report.skipped += len(skipped)
        fresh = [c for c in active if c.papers is None]
        chosen = run.composer.choose_many([subscribers[c.subscriber_id] for c in fresh], run.period)
        kept = {
            c.id: [[i.paper_id, i.reason, i.section] for i in chosen[c.subscriber_id]]
            for c in fresh
        }
        digests.keep_papers(run.owner, kept)
        ready, empty = [], []
        for claimed in active:
            stored = claimed.papers if claimed.papers is not None else kept[claimed.id]
            entries = run.composer.entries([Item(*entry) for entry in stored], run.period)
            if entries:
                ready.append((claimed, subscribers[claimed.subscriber_id], entries))
            else:
                empty.append(claimed.id)
        digests.finish(empty, run.owner, "empty")
        run.report.empty += len(empty)
        return ready

    def _deliver(
        self, run: _Run, claimed: Claimed, subscriber: StoredSubscriber, entries: list[Entry]
    ) -> None:
        digests = self.store.digests
        message = run.renderer.message(
            to=subscriber.email,
            title=f"papers for {run.period.label}",
            entries=entries,
            message_id=claimed.message_id,
            **self.links(subscriber.id),
        )
        record = digests.marking_sent(
            claimed.id, run.owner, subscriber.id, [e.paper.id for e in entries], utcnow()
        )
        try:
            run.sender.send(message, record)
        except LeaseLost:
            record.rollback()
            return  # another sender has it (this one was too slow): theirs to send
        except (smtplib.SMTPException, OSError) as error:
            record.rollback()
            if record.committed:
                digests.unsend(claimed.id)
            self._failed(run, claimed, subscriber, error)
            return
        run.report.sent += 1

    def _failed(self, run: _Run, claimed: Claimed, subscriber, error: Exception) -> None:
        digests = self.store.digests
        reason = f"{type(error).__name__}: {error}"[:500]
        if mail.is_permanent(error) or claimed.attempts + 1 >= self.settings.digest_max_attempts:
            digests.finish([claimed.id], run.owner, "failed", reason)
            if mail.is_permanent(error):
                digests.set_state(subscriber.id, "bouncing", utcnow())
            run.report.failed += 1
        else:
            wait = self.settings.digest_retry_s * 2**claimed.attempts
            digests.retry_later(claimed.id, run.owner, utcnow() + timedelta(seconds=wait), reason)
            run.report.retrying += 1
        run.report.errors.append(reason)

    def close(self) -> None:
        self._mailer.shutdown(wait=True)


@dataclass
class _Run:
    """What one `send` works with."""

    owner: str  # whose leases
    period: DigestPeriod
    composer: Composer
    renderer: Renderer
    sender: _Sender
    report: SendReport


class _Sender:
    """An SMTP connection opened on first use and opened again after it broke."""

    def __init__(self, connect) -> None:
        self._connect = connect
        self._context = None
        self._connection: mail.Connection | None = None

    def __enter__(self) -> _Sender:
        return self

    def send(self, message, handover=None) -> None:
        if self._connection is None:
            self._context = self._connect()
            self._connection = self._context.__enter__()
        try:
            self._connection.send(message, handover)
        except LeaseLost:
            self._close()  # mid-DATA: closing the connection drops the message
            raise
        except (smtplib.SMTPServerDisconnected, OSError):
            self._close()
            raise
        except smtplib.SMTPException:
            # The session may be mid-transaction: start the next message on a clean one.
            try:
                self._connection.smtp.rset()
            except (smtplib.SMTPException, OSError):
                self._close()
            raise

    def _close(self) -> None:
        context, self._context, self._connection = self._context, None, None
        if context is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                context.__exit__(None, None, None)

    def __exit__(self, *_exc) -> None:
        self._close()
