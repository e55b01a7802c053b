"""A member's "For you" page: the recent papers their model ranks highest, each with why,
the papers they were shown before that came back with news (recommend/returns.py), and how
well the model does on their own votes (recommend/evaluate.py). Entry point: ``ForYou``,
which the web pages call (`Paperscope.for_you`).

The page records in the ledger what it showed (store/ledger.py, channel "for-you"), and
only what is new to the member or changed since they saw it, so a page shown again adds
nothing. The private For you feed (web/following_pages.py) is the same list through the
channel "feed": a reader polling it adds nothing either, and it has its own returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from paperscope.community.annotations import annotate
from paperscope.recommend import Explanation, Recommender
from paperscope.recommend.evaluate import HowItDoes, how_it_does
from paperscope.recommend.returns import returns
from paperscope.search.engine import SearchUnavailable
from paperscope.settings import Settings
from paperscope.store import Store, StoredPaper
from paperscope.store.accounts import Member
from paperscope.store.ledger import PaperState

PAGE_SIZE = 30


@dataclass(frozen=True)
class ForYouItem:
    paper: StoredPaper
    upvotes: int
    because: StoredPaper | None  # the liked paper it is nearest to
    explanation: Explanation | None
    back: str | None = None  # why a paper shown before is here again ("code released")
    author: str | None = None  # the followed author (identity key) it is by


@dataclass(frozen=True)
class ForYouPage:
    items: list[ForYouItem]  # recommended, best first
    back: list[ForYouItem]  # shown before, here again with news
    voted: set[str]  # those the member upvoted
    model: bool = True  # False: no embedding model here yet


class ForYou:
    def __init__(self, settings: Settings, store: Store, search) -> None:
        self.settings = settings
        self.store = store
        self.search = search

    def _recommender(self) -> Recommender:
        return Recommender(self.store, self.search.encoder.name)  # SearchUnavailable: no model

    def page(
        self,
        member: Member,
        now: datetime,
        limit: int = PAGE_SIZE,
        likes: Sequence[str] | None = None,
        channel: Literal["for-you", "feed"] = "for-you",
    ) -> ForYouPage:
        """`likes`: learn from these papers (one collection's) instead of the member's
        upvotes and saves; `channel`: where it is shown, the page or the private feed (what
        came back, and what the ledger records, is per channel)."""
        try:
            recommender = self._recommender()
            found = recommender.for_member(
                member,
                start=now - timedelta(days=self.settings.trending_window_days),
                limit=limit,
                likes=likes,
            )
        except SearchUnavailable:  # no model yet: the page says how to get some
            return ForYouPage([], [], set(), model=False)
        saved = self.store.collections.saved_by_many([member.id])
        back = returns(
            self.store,
            "member",
            [member.id],
            channel,
            {member.id: set(saved[member.id])},
            self.settings.return_after_comments,
        )[member.id]
        ids = [r.paper_id for r in found] + [b.paper_id for b in back]
        papers = recommender.papers(ids)
        liked = recommender.papers([r.because for r in found if r.because])
        annotated = {a.paper.id: a for a in annotate(self.store, list(papers.values()), member)}
        reasons = {b.paper_id: b.reason for b in back}
        explained = {r.paper_id: r for r in found}

        def item(paper_id: str) -> ForYouItem:
            r = explained.get(paper_id)
            return ForYouItem(
                papers[paper_id],
                annotated[paper_id].upvotes,
                liked.get(r.because) if r and r.because else None,
                r.explanation if r else None,
                reasons.get(paper_id),
                r.author if r else None,
            )

        items = [item(r.paper_id) for r in found if r.paper_id in annotated]
        came_back = [item(b.paper_id) for b in back if b.paper_id in annotated]
        self.store.ledger.record(
            "member",
            member.id,
            channel,
            [
                (i.paper.id, PaperState.of(i.paper, annotated[i.paper.id].comments))
                for i in [*came_back, *items]
            ],
            now,
        )
        voted = {pid for pid, a in annotated.items() if a.voted}
        return ForYouPage(items, came_back, voted)

    def how_it_does(self, member: Member) -> HowItDoes | None:
        """How well the model does on the member's own votes; None without a model."""
        try:
            return how_it_does(self._recommender(), member)
        except SearchUnavailable:
            return None
