"""What members follow as feeds: searches they follow (with the search page's filters) and a
private, revocable feed link to their For you. Entry point: ``FollowingService``. The web
pages and the OPML export (`following/opml.py`) only translate."""

from __future__ import annotations

import re
from datetime import date, datetime

from paperscope.accounts import utcnow
from paperscope.errors import InvalidInput, NotFound
from paperscope.search.engine import MODES
from paperscope.search.query import MAX_QUERY_CHARS, parse_query
from paperscope.settings import Settings
from paperscope.store import Store
from paperscope.store.accounts import Member, new_token
from paperscope.store.following import SavedSearch
from paperscope.text import drop_unencodable

__all__ = [
    "MAX_FOLLOWED_SEARCHES",
    "FollowingService",
    "SavedSearch",
    "SearchFields",
    "SearchNotFollowed",
    "search_fields",
]

MAX_FOLLOWED_SEARCHES = 100
# A feed link's token as new_token() makes them (43 URL-safe characters); anything else is
# answered 404 without a query.
_FEED_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,100}")


# A followed search's fields as the store keeps them: query, category, from, until, mode.
SearchFields = tuple[str, str, str, str, str]


def search_fields(search: SavedSearch) -> SearchFields:
    return (
        search.query,
        search.category,
        search.published_from,
        search.published_until,
        search.mode,
    )


class SearchNotFollowed(InvalidInput):
    """A search that cannot be followed as asked, with what to change."""


class FollowingService:
    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store

    # -- followed searches -------------------------------------------------------------------
    def follow_search(
        self,
        member: Member,
        query: str,
        category: str = "",
        published_from: str = "",
        published_until: str = "",
        mode: str = "hybrid",
        now: datetime | None = None,
    ) -> SavedSearch:
        """Follow a search as the search page takes it; following it again changes nothing.
        SearchNotFollowed (422) says what to change."""
        wanted = self.check_search(query, category, published_from, published_until, mode)
        existing = self.store.following.searches(member.id)
        if len(existing) >= MAX_FOLLOWED_SEARCHES and wanted not in map(search_fields, existing):
            raise SearchNotFollowed(
                f"You follow {MAX_FOLLOWED_SEARCHES} searches, the most one can: unfollow one "
                "first."
            )
        return self.store.following.follow(member.id, *wanted, now or utcnow())

    @staticmethod
    def check_search(
        query: str,
        category: str = "",
        published_from: str = "",
        published_until: str = "",
        mode: str = "hybrid",
    ) -> SearchFields:
        """A search as it would be followed (query, category, from, until, mode), or
        SearchNotFollowed (422) saying what to change; nothing is written."""
        if any(drop_unencodable(text) != text for text in (query, category, mode)):
            raise SearchNotFollowed("A search to follow cannot hold control characters.")
        query = query.strip()
        if not query:
            raise SearchNotFollowed("Type a search to follow.")
        if len(query) > MAX_QUERY_CHARS:
            raise SearchNotFollowed(
                f"A query holds at most {MAX_QUERY_CHARS:,} characters; this one has "
                f"{len(query):,}."
            )
        parse_query(query)  # a search that cannot be read is refused, not followed
        category = " ".join(category.replace(",", " ").split())
        if len(category) > 200:
            raise SearchNotFollowed("Categories take at most 200 characters.")
        if mode not in MODES:
            raise SearchNotFollowed(f"The mode is one of {', '.join(MODES)}, not {mode[:40]!r}.")
        start = _day(published_from, "From")
        end = _day(published_until, "Until")
        return (query, category, start, end, mode)

    def searches(self, member: Member) -> list[SavedSearch]:
        """The member's followed searches, oldest first."""
        return self.store.following.searches(member.id)

    def unfollow_search(self, member: Member, search_id: int) -> None:
        if not self.store.following.unfollow(member.id, search_id):
            raise NotFound("no such followed search of yours")

    # -- the private feed link ---------------------------------------------------------------
    def new_feed_link(self, member: Member, now: datetime | None = None) -> str:
        """A new private feed token for the member (shown once: only its hash is kept);
        the link they had before stops working."""
        token = new_token()
        self.store.following.set_feed_token(member.id, token, now or utcnow())
        return token

    def feed_link_made(self, member: Member) -> datetime | None:
        """When the member's current feed link was made; None when they have none."""
        return self.store.following.feed_token_made(member.id)

    def member_of_feed_link(self, token: str) -> Member:
        """Whose feed link this is; NotFound (404) for a token that is not current."""
        found = (
            self.store.following.member_of_feed_token(token)
            if _FEED_TOKEN.fullmatch(token)
            else None
        )
        if found is None:
            raise NotFound("no such feed: the link is wrong, or a newer one replaced it")
        return found


def _day(value: str, label: str) -> str:
    """A date filter as stored: YYYY-MM-DD, or "" for none."""
    value = value.strip()
    if not value:
        return ""
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        problem = f"{label} takes a date like 2026-01-31, not {value[:40]!r}."
        raise SearchNotFollowed(problem) from None
