"""What goes into one subscriber's digest, and why each paper is there.

Three sources, mixed in turns until `max_papers`: new papers matching the searches they
follow (and their categories), "for you" (their own model, see paperscope/recommend, once
they have upvoted or saved anything), and what the community upvotes. A paper they were ever
sent (any version: the id has none), or marked "not interested", is left out.
"""

from __future__ import annotations

from dataclasses import dataclass

from paperscope.digest.periods import DigestPeriod
from paperscope.search.engine import SearchUnavailable
from paperscope.search.query import QuerySyntaxError, SearchFilters
from paperscope.store import Store, StoredPaper
from paperscope.store.digests import StoredSubscriber


@dataclass(frozen=True)
class Item:
    paper_id: str
    reason: str
    section: str  # "follows", "for-you", "trending"


@dataclass(frozen=True)
class Entry:
    paper: StoredPaper
    reason: str
    section: str
    upvotes: int


class Composer:
    def __init__(self, store: Store, search=None, for_you=None) -> None:
        self.store = store
        self.search = search
        self.for_you = for_you
        self._ranked: dict[str, list[tuple[StoredPaper, int]]] = {}

    def _period_papers(self, period: DigestPeriod) -> list[tuple[StoredPaper, int]]:
        """(paper, upvotes) of the period's papers, most upvoted then newest first (read
        once a run)."""
        if period.key not in self._ranked:
            self._ranked[period.key], _ = self.store.rankings.published(
                period.start, period.end, order="upvotes", limit=2_000
            )
        return self._ranked[period.key]

    def trending(self, period: DigestPeriod) -> list[tuple[str, int]]:
        """(paper id, upvotes) of the period's 200 most upvoted papers that have votes."""
        return [(p.id, n) for p, n in self._period_papers(period)[:200] if n > 0]

    def choose(self, subscriber: StoredSubscriber, period: DigestPeriod) -> list[Item]:
        limit = subscriber.max_papers
        skip = self.store.digests.sent_papers(subscriber.id)
        member = self.store.accounts.by_email(subscriber.email)
        if member is not None:
            skip |= self.store.collections.dismissed(member.id)
        sources = [self._follows(subscriber, period, limit)]
        if subscriber.for_you and self.for_you is not None and member is not None:
            sources.append(self.for_you(member, period, limit))
        word = "this week" if period.frequency == "weekly" else "since the last digest"
        sources.append(
            [
                Item(pid, f"{n} upvote{'s' * (n != 1)} {word}", "trending")
                for pid, n in self.trending(period)
            ]
        )
        chosen: dict[str, Item] = {}
        iterators = [iter(source) for source in sources]
        while len(chosen) < limit and iterators:
            for it in list(iterators):
                for item in it:
                    if item.paper_id not in skip and item.paper_id not in chosen:
                        chosen[item.paper_id] = item
                        break
                else:
                    iterators.remove(it)
                if len(chosen) >= limit:
                    break
        return list(chosen.values())

    def _follows(self, subscriber: StoredSubscriber, period: DigestPeriod, limit: int):
        found: list[Item] = []
        filters = SearchFilters(
            published_from=period.start.date(),
            published_until=(period.end.date()),
        )
        if self.search is not None:
            for query in subscriber.follows:
                try:
                    hits = self.search.search(
                        query, mode="lexical", limit=limit, filters=filters
                    ).hits
                except (QuerySyntaxError, SearchUnavailable):  # one bad search skips
                    continue
                found += [
                    Item(hit.paper.id, f"matches `{query}`", "follows")
                    for hit in hits
                    if period.start <= (hit.paper.published or period.start) < period.end
                ]
        if subscriber.categories:
            for paper in self.newest(period):
                shared = [c for c in subscriber.categories if c in paper.categories]
                if shared:
                    found.append(Item(paper.id, f"new in {shared[0]}", "follows"))
        return found

    def newest(self, period: DigestPeriod) -> list[StoredPaper]:
        """The period's papers, most upvoted then newest first."""
        return [paper for paper, _ in self._period_papers(period)]

    def entries(self, items: list[Item]) -> list[Entry]:
        papers = {p.id: p for p in self.store.papers.get_many([i.paper_id for i in items])}
        upvotes = self.store.votes.counts(list(papers))
        return [
            Entry(papers[item.paper_id], item.reason, item.section, upvotes.get(item.paper_id, 0))
            for item in items
            if item.paper_id in papers
        ]
