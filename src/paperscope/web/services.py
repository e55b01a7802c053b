"""What every route needs: the app's services, and the request helpers the pages and the
API share. Errors are raised as they come (web/errors.py answers them)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates

from paperscope.accounts import AccountService
from paperscope.app import Paperscope
from paperscope.authors import AuthorService
from paperscope.community import Community
from paperscope.digest import DigestService
from paperscope.following import FollowingService
from paperscope.ingest.source import PapersIn
from paperscope.library import Library
from paperscope.listings import Listings
from paperscope.recommend import Recommender
from paperscope.recommend.for_you import ForYou
from paperscope.search.engine import SearchEngine
from paperscope.settings import Settings
from paperscope.store import Store


@dataclass
class Services:
    """Everything a request handler needs, made once per app."""

    settings: Settings
    store: Store
    search: SearchEngine
    listings: Listings
    templates: Jinja2Templates
    accounts: AccountService
    community: Community
    secret_key: str  # signs CSRF tokens; the same on every server (store/limits.py)
    digests: DigestService
    papers: PapersIn  # the one way papers come in (the PUT API)
    authors: AuthorService  # author pages, follows, splits and merges, claims
    library: Library  # library files into collections
    following: FollowingService  # followed searches, private feed links
    for_you: ForYou  # a member's For you page, why each paper, how well it does

    @classmethod
    def of(cls, core: Paperscope, templates: Jinja2Templates) -> Services:
        """The services of the application `core` (made once per process)."""
        return cls(
            core.settings,
            core.store,
            core.search,
            core.listings,
            templates,
            core.accounts,
            core.community,
            core.accounts.csrf_secret(),
            core.digests,
            core.papers,
            core.authors,
            library=core.library,
            following=core.following,
            for_you=core.for_you,
        )

    def recommender(self) -> Recommender:
        """A recommender over this server's model, for one request (it keeps what it
        reads); SearchUnavailable without a model."""
        return Recommender(self.store, self.search.encoder.name)

    @property
    def https(self) -> bool:
        """Whether cookies must be Secure: the site is served over https."""
        return (self.settings.public_url or "").startswith("https://")

    def community_version(self) -> int:
        """The community counter (votes, comments, submissions), read at most once a second
        per process, and after every write through it: pages cached under it show this
        server's changes at once, other servers' within a second."""
        now = time.monotonic()
        if now - self._community_read_at > 1.0:
            self._community_read_at = now
            self._community = self.community.version()
        return self._community

    def forget_community_version(self) -> None:
        """Read the counter afresh next time (this server has just written)."""
        self._community_read_at = -1e9

    _community: int = field(default=-1, init=False)
    _community_read_at: float = field(default=-1e9, init=False)


async def services(request: Request) -> Services:
    # async: FastAPI would run a plain function in its thread pool, a hop per request.
    return request.app.state.services


Svc = Annotated[Services, Depends(services)]


def client_address(request: Request) -> str:
    """The client's address (the proxy's word for it where trusted): rate limits count by it."""
    return request.client.host if request.client else "unknown"
