"""What goes into each subscriber's digest, and why each paper is there.

Three sources, mixed in turns until `max_papers`: new papers matching the searches they
follow (and their categories), "for you" (the new papers of the authors they follow first,
then their own model's, see paperscope/recommend, once they have upvoted or saved anything),
and what the community upvotes. A paper they were ever sent (any version: the id has none;
store/ledger.py), or marked "not interested", is left out, unless it changed in a way that
matters since (recommend/returns.py): it then comes first, saying what changed.

A send composes a batch of subscribers at once (`choose_many`): what they share is read or
computed once a run (the period's papers and upvotes, each followed search's hits, the
papers of each category, the for-you models' common part), what is theirs in one query a
batch (papers sent before, the member behind the address, dismissals, likes).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat

from paperscope.authors import AuthorService
from paperscope.community.annotations import annotate
from paperscope.digest.periods import DigestPeriod
from paperscope.recommend.returns import returns
from paperscope.search.engine import SearchUnavailable
from paperscope.search.query import QuerySyntaxError, SearchFilters
from paperscope.store import Store, StoredPaper
from paperscope.store.digests import StoredSubscriber


@dataclass(frozen=True)
class Item:
    paper_id: str
    reason: str
    section: str  # "returns", "follows", "for-you", "trending"


@dataclass(frozen=True)
class Entry:
    paper: StoredPaper
    reason: str
    section: str
    upvotes: int


class _Period:
    """One period's papers (most upvoted, then newest, first), read once a run."""

    def __init__(self, store: Store, period: DigestPeriod) -> None:
        ranked, _ = store.rankings.published(period.start, period.end, order="upvotes", limit=2_000)
        self.papers = {paper.id: (paper, upvotes) for paper, upvotes in ranked}
        self.ids = [paper.id for paper, _ in ranked]
        word = "this week" if period.frequency == "weekly" else "since the last digest"
        self.trending = [
            Item(p.id, f"{n} upvote{'s' * (n != 1)} {word}", "trending")
            for p, n in ranked[:200]
            if n > 0
        ]
        self.in_category: dict[str, list[int]] = {}
        for position, (paper, _) in enumerate(ranked):
            for category in dict.fromkeys(paper.categories):
                self.in_category.setdefault(category, []).append(position)
        self.hits: dict[tuple[str, int], list[Item]] = {}

    def of_categories(self, categories: Sequence[str]) -> Iterator[Item]:
        """The period's papers in any of these categories, in the period's order, each with
        the first of the categories it is in."""
        merged = heapq.merge(
            *[
                zip(self.in_category.get(category, ()), repeat(order))
                for order, category in enumerate(categories)
            ]
        )
        last = -1
        for position, order in merged:
            if position != last:
                last = position
                yield Item(self.ids[position], f"new in {categories[order]}", "follows")


class Composer:
    def __init__(
        self, store: Store, search=None, recommender=None, *, return_after_comments: int = 5
    ) -> None:
        self.store = store
        self.search = search
        self.recommender = recommender
        self.return_after_comments = return_after_comments
        self._periods: dict[str, _Period] = {}

    def _period(self, period: DigestPeriod) -> _Period:
        if period.key not in self._periods:
            self._periods[period.key] = _Period(self.store, period)
        return self._periods[period.key]

    def newest(self, period: DigestPeriod) -> list[str]:
        """The ids of the period's papers, most upvoted then newest first."""
        return self._period(period).ids

    def choose(self, subscriber: StoredSubscriber, period: DigestPeriod) -> list[Item]:
        return self.choose_many([subscriber], period)[subscriber.id]

    def choose_many(
        self, subscribers: Sequence[StoredSubscriber], period: DigestPeriod
    ) -> dict[int, list[Item]]:
        known = self._period(period)
        ids = [s.id for s in subscribers]
        skips = self.store.ledger.shown_ids("subscriber", ids, "digest")
        members = self.store.accounts.by_emails([s.email for s in subscribers])
        dismissed = self.store.collections.dismissed_many([m.id for m in members.values()])
        saved = self.store.collections.saved_by_many([m.id for m in members.values()])
        back = returns(
            self.store,
            "subscriber",
            ids,
            "digest",
            {s.id: saved[members[s.email].id] for s in subscribers if s.email in members},
            self.return_after_comments,
        )
        for_you = self._for_you(
            [members[s.email] for s in subscribers if s.for_you and s.email in members],
            period,
            max((s.max_papers for s in subscribers), default=0),
            self._chosen_collections(subscribers, members),
        )
        chosen = {}
        for subscriber in subscribers:
            member = members.get(subscriber.email)
            not_interested = dismissed[member.id] if member else set()
            skip = skips[subscriber.id] | not_interested
            # Papers back with news come first, saying what changed; then the new ones.
            returned = [
                Item(r.paper_id, r.reason, "returns")
                for r in back[subscriber.id]
                if r.paper_id not in not_interested
            ][: subscriber.max_papers]
            sources = [
                self._follows(subscriber, period, known),
                iter(for_you.get(member.id, []) if member and subscriber.for_you else []),
                iter(known.trending),
            ]
            chosen[subscriber.id] = returned + _mix(
                sources, skip, subscriber.max_papers - len(returned)
            )
        return chosen

    def _chosen_collections(self, subscribers, members) -> dict[int, list[str]]:
        """member id -> the papers of the collection their "for you" learns from, for those
        who chose one (of their own: a collection changes hands never, but check)."""
        chosen = {
            s.for_you_collection: members[s.email]
            for s in subscribers
            if s.for_you and s.for_you_collection is not None and s.email in members
        }
        if not chosen:
            return {}
        owners = {c.id: c.user_id for c in map(self.store.collections.get, chosen) if c is not None}
        papers = self.store.collections.paper_ids_of(list(chosen))
        return {
            member.id: papers[collection_id]
            for collection_id, member in chosen.items()
            if owners.get(collection_id) == member.id
        }

    def _for_you(
        self,
        members,
        period: DigestPeriod,
        limit: int,
        likes: dict[int, list[str]] | None = None,
    ) -> dict[int, list[Item]]:
        if self.recommender is None or not members:
            return {}
        found = self.recommender.for_members(members, self.newest(period), limit, likes=likes)
        liked = self.recommender.papers([r.because for rs in found.values() for r in rs])
        authors = AuthorService(self.store).describe(
            list({r.author for rs in found.values() for r in rs if r.author})
        )
        return {
            member_id: [
                Item(r.paper_id, _why(r, liked, authors), "for-you")
                for r in recommendations
                if r.because in liked or r.author is not None
            ]
            for member_id, recommendations in found.items()
        }

    def _follows(
        self, subscriber: StoredSubscriber, period: DigestPeriod, known: _Period
    ) -> Iterator[Item]:
        for query in subscriber.follows:
            yield from self._hits(query, subscriber.max_papers, period, known)
        if subscriber.categories:
            yield from known.of_categories(subscriber.categories)

    def _hits(self, query: str, limit: int, period: DigestPeriod, known: _Period) -> list[Item]:
        """New papers matching a followed search (asked once a run per search and size)."""
        key = (query, limit)
        if key not in known.hits:
            found: list[Item] = []
            if self.search is not None:
                filters = SearchFilters(
                    published_from=period.start.date(), published_until=period.end.date()
                )
                try:
                    hits = self.search.search(
                        query, mode="lexical", limit=limit, filters=filters
                    ).hits
                except (QuerySyntaxError, SearchUnavailable):  # one bad search skips
                    hits = []
                found = [
                    Item(hit.paper.id, f"matches “{query}”", "follows")
                    for hit in hits
                    if period.start <= (hit.paper.published or period.start) < period.end
                ]
            known.hits[key] = found
        return known.hits[key]

    def entries(self, items: list[Item], period: DigestPeriod | None = None) -> list[Entry]:
        """The items' papers and upvotes (the period's as read this run, when given)."""
        known = self._period(period).papers if period is not None else {}
        missing = [i.paper_id for i in items if i.paper_id not in known]
        if missing:
            annotated = annotate(self.store, self.store.papers.get_many(missing))
            known = known | {a.paper.id: (a.paper, a.upvotes) for a in annotated}
        return [
            Entry(known[item.paper_id][0], item.reason, item.section, known[item.paper_id][1])
            for item in items
            if item.paper_id in known
        ]


def _mix(sources: list[Iterator[Item]], skip: set[str], limit: int) -> list[Item]:
    """Items from each source in turn, none skipped or twice, until `limit`."""
    chosen: dict[str, Item] = {}
    iterators = list(sources)
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


def _why(recommendation, liked: dict, authors: dict) -> str:
    """Why a for-you paper is there: a followed author's (those come first), or the liked
    paper it is most like."""
    if recommendation.author is not None:
        author = authors.get(recommendation.author)
        return f"by an author you follow ({author.name if author else recommendation.author})"
    return f"because you liked “{_short(liked[recommendation.because].title)}”"


def _short(title: str, width: int = 70) -> str:
    title = " ".join(title.split())
    return title if len(title) <= width else title[: width - 1].rstrip() + "…"
