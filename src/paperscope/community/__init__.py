"""What members do: submit papers to the day's page, upvote, discuss, keep collections.
Entry point: ``Community``. Every rule is checked here (the web pages and the API only
translate); `Refused` carries the HTTP status a refusal maps to and a message for people.

Submission rules follow Hugging Face's: the paper is at most `submission_max_age_days`
old, a member submits at most `submissions_per_day` a day, and a paper is on one day's page
once (a second submission is refused and points at the first).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from paperscope.accounts import utcnow
from paperscope.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperscope.community.markdown import render_markdown
from paperscope.records import PaperRecord
from paperscope.settings import Settings
from paperscope.store import Store, StoredPaper
from paperscope.store.accounts import Member
from paperscope.store.collections import DuplicateName, StoredCollection
from paperscope.store.comments import StoredComment
from paperscope.store.submissions import Submitted

__all__ = ["Community", "Refused", "render_markdown"]

Fetch = Callable[[Settings, list[str]], tuple[list[PaperRecord], list]]


class Refused(Exception):
    """A request the rules refuse: `status` (403, 404, 409, 422, 429...), a message, and
    for a duplicate submission the earlier one."""

    def __init__(self, status: int, message: str, *, earlier: Submitted | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.earlier = earlier


@dataclass(frozen=True)
class Vote:
    upvotes: int
    upvoted: bool


def _fetch_from_arxiv(settings: Settings, ids: list[str]):
    from paperscope.ingest.arxiv_api import fetch_papers

    return fetch_papers(settings, ids)


class Community:
    def __init__(self, settings: Settings, store: Store, fetch: Fetch | None = None) -> None:
        self.settings = settings
        self.store = store
        self._fetch = fetch or _fetch_from_arxiv

    # -- papers -------------------------------------------------------------------------------
    def paper(self, paper_id: str, *, fetch: bool = False) -> StoredPaper:
        """The stored paper for any spelling of its id; with `fetch`, one not stored yet is
        fetched from the arXiv API (and stored). Refused 422 / 404 otherwise."""
        try:
            base = parse_arxiv_id(paper_id).base
        except InvalidArxivId as error:
            raise Refused(422, str(error)) from None
        paper = self.store.papers.get(base)
        if paper is None and fetch:
            try:
                records, _skipped = self._fetch(self.settings, [base])
            except Exception as error:
                raise Refused(503, f"arXiv could not be asked about {base}: {error}") from None
            if records:
                self.store.papers.upsert(records)
                paper = self.store.papers.get(base)
        if paper is None:
            raise Refused(404, f"paper {base} is not on arXiv" if fetch else f"no paper {base}")
        return paper

    def _limit(self, member: Member, kind: str, limit: int, window_s: int, now: datetime) -> None:
        if not self.store.limits.hit(f"{kind}:member:{member.id}", limit, window_s, now):
            raise Refused(429, f"too many {kind} in a short time: wait a little and try again")

    # -- submissions -------------------------------------------------------------------------
    def submit(
        self, member: Member, paper_id: str, comment: str = "", now: datetime | None = None
    ) -> Submitted:
        now = now or utcnow()
        comment = comment.strip()
        if comment:
            self._check_comment(comment)
        self._limit(member, "submissions", self.settings.submissions_per_hour, 3600, now)
        paper = self.paper(paper_id, fetch=True)
        earlier = self.store.submissions.of([paper.id]).get(paper.id)
        if earlier is not None:
            raise Refused(409, f"{paper.id} was submitted on {earlier.day:%B %-d}", earlier=earlier)
        days = self.settings.submission_max_age_days
        if paper.published is None or paper.published < now - timedelta(days=days):
            raise Refused(
                422,
                f"only papers of the last {days} days can be submitted; {paper.id} was "
                f"published {paper.published:%B %-d, %Y}"
                if paper.published
                else f"{paper.id} has no publication date",
            )
        cap = self.settings.submissions_per_day
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        if self.store.submissions.count_by(member.id, midnight) >= cap:
            raise Refused(429, f"you have submitted {cap} papers today, the most a day allows")
        submitted, new = self.store.submissions.add(paper.id, member.id, now.date(), now)
        if not new:  # another request won the race
            raise Refused(409, f"{paper.id} was submitted already", earlier=submitted)
        if comment:
            self.store.comments.add(paper.id, member.id, comment, now)
        return submitted

    def curate(self, member: Member, paper_id: str, state: str) -> None:
        self._curator(member)
        paper = self.paper(paper_id)
        if state != "listed" and paper.id not in self.store.submissions.of([paper.id]):
            now = utcnow()  # a curator puts a paper on today's page by featuring it
            self.store.submissions.add(paper.id, member.id, now.date(), now)
        self.store.submissions.set_state(paper.id, state)

    def _curator(self, member: Member) -> None:
        if not member.is_curator:
            raise Refused(403, "only curators can do that")

    # -- votes -------------------------------------------------------------------------------
    def vote(self, member: Member, paper_id: str, up: bool | None = None) -> Vote:
        """Upvote (up=True), take it back (False) or toggle (None); idempotent."""
        now = utcnow()
        self._limit(member, "votes", self.settings.votes_per_minute, 60, now)
        paper = self.paper(paper_id)
        voter = str(member.id)
        if up is None:
            up = not self.store.votes.voted(voter, [paper.id])
        if up:
            self.store.votes.add(paper.id, voter, now)
        else:
            self.store.votes.remove(paper.id, voter)
        return Vote(self.store.votes.counts([paper.id]).get(paper.id, 0), up)

    # -- comments ----------------------------------------------------------------------------
    def _check_comment(self, body: str) -> None:
        if not body.strip():
            raise Refused(422, "a comment needs some text")
        if len(body) > self.settings.comment_max_chars:
            raise Refused(
                422,
                f"A comment holds at most {self.settings.comment_max_chars:,} characters;"
                f" yours has {len(body):,}. Shorten it and post again.",
            )

    def comment(self, member: Member, paper_id: str, body: str) -> StoredComment:
        now = utcnow()
        self._check_comment(body)
        self._limit(member, "comments", self.settings.comments_per_hour, 3600, now)
        paper = self.paper(paper_id)
        found = self.store.comments.get(self.store.comments.add(paper.id, member.id, body, now))
        assert found is not None
        return found

    def thread(self, paper_id: str, viewer: Member | None = None) -> list[StoredComment]:
        return self.store.comments.thread(
            paper_id, include_hidden=viewer is not None and viewer.is_curator
        )

    def edit_comment(self, member: Member, comment_id: int, body: str) -> StoredComment:
        self._check_comment(body)
        if not self.store.comments.edit(comment_id, member.id, body, utcnow()):
            raise Refused(404, "no such comment of yours")
        found = self.store.comments.get(comment_id)
        assert found is not None
        return found

    def delete_comment(self, member: Member, comment_id: int) -> None:
        if not self.store.comments.delete(comment_id, member.id):
            raise Refused(404, "no such comment of yours")

    def hide_comment(self, member: Member, comment_id: int, hidden: bool = True) -> None:
        self._curator(member)
        if not self.store.comments.set_hidden(comment_id, hidden):
            raise Refused(404, "no such comment")

    # -- collections -------------------------------------------------------------------------
    def _name(self, name: str) -> str:
        name = " ".join(name.split())
        if not name or len(name) > 200:
            raise Refused(422, "a collection's name has 1 to 200 characters")
        return name

    def create_collection(self, member: Member, name: str) -> StoredCollection:
        try:
            return self.store.collections.create(member.id, self._name(name), utcnow())
        except DuplicateName as error:
            raise Refused(409, str(error)) from None

    def collection(self, member: Member | None, collection_id: int) -> StoredCollection:
        """The member's own collection; 404 for anyone else's (as if there were none)."""
        found = self.store.collections.get(collection_id)
        if found is None or member is None or found.user_id != member.id:
            raise Refused(404, "no such collection")
        return found

    def shared_collection(self, token: str) -> StoredCollection:
        found = self.store.collections.by_share_token(token) if token else None
        if found is None:
            raise Refused(404, "no such collection")
        return found

    def rename_collection(self, member: Member, collection_id: int, name: str) -> None:
        self.collection(member, collection_id)
        try:
            self.store.collections.rename(collection_id, self._name(name))
        except DuplicateName as error:
            raise Refused(409, str(error)) from None

    def share_collection(self, member: Member, collection_id: int, shared: bool) -> str | None:
        self.collection(member, collection_id)
        return self.store.collections.share(collection_id, shared)

    def delete_collection(self, member: Member, collection_id: int) -> None:
        self.collection(member, collection_id)
        self.store.collections.delete(collection_id)

    def collect(self, member: Member, collection_id: int, paper_id: str, keep: bool) -> bool:
        """Add (keep=True) or remove a paper; whether anything changed."""
        self.collection(member, collection_id)
        paper = self.paper(paper_id)
        if keep:
            return self.store.collections.add(collection_id, paper.id, utcnow())
        return self.store.collections.remove(collection_id, paper.id)

    def dismiss(self, member: Member, paper_id: str, dismissed: bool = True) -> None:
        """ "Not interested": the paper leaves the member's lists (and digest)."""
        paper = self.paper(paper_id)
        if dismissed:
            self.store.collections.dismiss(member.id, paper.id, utcnow())
        else:
            self.store.collections.undismiss(member.id, paper.id)

    # -- what a signed-in page shows ---------------------------------------------------------
    def voted(self, member: Member | None, paper_ids: Sequence[str]) -> set[str]:
        return set() if member is None else self.store.votes.voted(str(member.id), paper_ids)

    def dismissed(self, member: Member | None) -> set[str]:
        return set() if member is None else self.store.collections.dismissed(member.id)
