"""Sending each period's digest to every subscriber exactly once.

`send` plans one outbox row per subscriber and period, then claims rows with a lease,
composes, hands each message to the SMTP server, and marks it sent only once the server
accepted it (store/digests.py). Run it from cron as often as you like, on as many hosts:
each subscriber gets each period's digest once. A message refused for good (5xx) marks the
address bouncing; a temporary failure (4xx, no connection, a timeout) is tried again later,
waiting twice as long each time.
"""

from __future__ import annotations

import smtplib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from threadpoolctl import threadpool_limits

from paperscope import mail
from paperscope.accounts import utcnow
from paperscope.digest.compose import Composer, Entry, Item
from paperscope.digest.links import DigestLinks
from paperscope.digest.periods import DigestPeriod, Frequency, digest_period
from paperscope.digest.render import Renderer
from paperscope.recommend import Recommender
from paperscope.search.engine import SearchUnavailable
from paperscope.settings import Settings
from paperscope.store import Store
from paperscope.store.digests import Claimed, LeaseLost, StoredSubscriber
from paperscope.store.ledger import PaperState


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


class DigestSender:
    def __init__(
        self, settings: Settings, store: Store, links: DigestLinks, *, search=None, connect=None
    ) -> None:
        self.settings = settings
        self.store = store
        self.links = links
        self.search = search
        self._connect = connect or (lambda: mail.connect(settings))

    def composer(self) -> Composer:
        """What chooses each digest's papers: with a search engine (and its model), "for
        you" from each member's own upvotes and saves too."""
        recommender = None
        if self.search is not None:
            try:
                recommender = Recommender(self.store, self.search.encoder.name)
            except SearchUnavailable:
                recommender = None  # no model installed: searches and trending only
        return Composer(
            self.store,
            self.search,
            recommender,
            return_after_comments=self.settings.return_after_comments,
        )

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
        rows = [(i, self.links.message_id(period, i)) for i in subscribers if i not in planned]
        report.planned = self.store.digests.plan(period.key, rows, utcnow())
        lease = timedelta(seconds=self.settings.digest_lease_s)
        # Every matrix here is small: BLAS threads only fight over the cores (a sender on
        # a busy machine spent most of a second in one 200 x 200 eigendecomposition).
        with mail.Reconnecting(self._connect) as sender, threadpool_limits(1):
            run = _Run(
                uuid.uuid4().hex,
                period,
                composer,
                Renderer(self.settings, self.links.link_base),
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
        # What each paper is like as it goes out, for the ledger: one query a batch.
        run.comments = self.store.comments.counts(
            list({e.paper.id for _, _, entries in ready for e in entries})
        )
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
            **self.links.in_digest(subscriber.id),
        )
        comments = run.comments
        shown = [(e.paper.id, PaperState.of(e.paper, comments.get(e.paper.id, 0))) for e in entries]
        record = digests.marking_sent(claimed.id, run.owner, subscriber.id, shown, utcnow())
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


@dataclass
class _Run:
    """What one `send` works with."""

    owner: str  # whose leases
    period: DigestPeriod
    composer: Composer
    renderer: Renderer
    sender: mail.Reconnecting
    report: SendReport
    comments: dict[str, int] = field(default_factory=dict)  # the batch's papers' comments
