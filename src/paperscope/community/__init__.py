"""What members do: submit papers to the day's page, upvote, discuss, keep collections.
Entry point: ``Community``. Every rule is checked here (the web pages and the API only
translate); `Refused` carries the HTTP status a refusal maps to and a message for people.

Submission rules follow Hugging Face's: the paper is at most `submission_max_age_days`
old, a member submits at most `submissions_per_day` a day, and a paper is on one day's page
once (a second submission is refused with a sentence naming the first submitter).

A paper this paperscope lacks is never fetched inside a request: its submission is stored
as pending and answered at once, and a fetcher thread in each web process
(`community/fetcher.py`) asks arXiv with a short timeout, then applies the same rules and
makes it a submission or fails it with a reason the member sees (`complete_pending`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from paperscope.accounts import utcnow
from paperscope.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperscope.community.annotations import AnnotatedPaper, annotate
from paperscope.community.fetcher import SubmissionFetcher
from paperscope.community.markdown import render_markdown
from paperscope.errors import PaperscopeError
from paperscope.ingest.source import PapersIn
from paperscope.records import PaperRecord
from paperscope.settings import Settings
from paperscope.store import Store, StoredPaper
from paperscope.store.accounts import Member
from paperscope.store.collections import DuplicateName, StoredCollection
from paperscope.store.comments import StoredComment
from paperscope.store.generation import COMMUNITY
from paperscope.store.submissions import STATES, Requested, Submitted

__all__ = [
    "AnnotatedPaper",
    "Community",
    "Refused",
    "Requested",
    "StoredCollection",
    "StoredComment",
    "Submitted",
    "render_markdown",
]

Fetch = Callable[[Settings, list[str]], tuple[list[PaperRecord], list]]


def _duration(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds:.0f} seconds"


class Refused(PaperscopeError):
    """A request the rules refuse: `status` (403, 404, 409, 422, 429...), a message, and
    for a duplicate submission the earlier one."""

    def __init__(self, status: int, message: str, *, earlier: Submitted | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.earlier = earlier


@dataclass(frozen=True)
class Vote:
    upvotes: int
    upvoted: bool


def _fetch_from_arxiv(settings: Settings, ids: list[str]):
    from paperscope.ingest.arxiv_api import fetch_papers

    # One short try: a pending submission is tried again later, not waited on here.
    return fetch_papers(settings, ids, timeout_s=settings.submission_fetch_timeout_s, max_retries=0)


def _on_day(day: date, now: datetime) -> str:
    return f"{day:%B %-d}" if day.year == now.year else f"{day:%B %-d, %Y}"


def _submitter(user_id: int | None, name: str | None, fullname: str | None, member_id: int) -> str:
    if user_id is not None and user_id == member_id:
        return "you"
    return fullname or name or "a member who has since left"


def duplicate(earlier: Submitted, member_id: int, now: datetime) -> Refused:
    """The answer to a second submission of a paper: a sentence naming the first."""
    who = _submitter(earlier.user_id, earlier.user_name, earlier.user_fullname, member_id)
    return Refused(
        409,
        f"{earlier.paper_id} is already on the page of {_on_day(earlier.day, now)}, "
        f"submitted by {who}.",
        earlier=earlier,
    )


class Community:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        fetch: Fetch | None = None,
        *,
        papers: PapersIn | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self._fetch = fetch or _fetch_from_arxiv
        self._papers_in = papers or PapersIn(store)
        self._fetcher: SubmissionFetcher | None = None

    # -- papers -------------------------------------------------------------------------------
    def paper(self, paper_id: str) -> StoredPaper:
        """The stored paper for any spelling of its id; Refused 422 / 404 otherwise."""
        base = self._base(paper_id)
        paper = self.store.papers.get(base)
        if paper is None:
            raise Refused(404, f"no paper {base}")
        return paper

    @staticmethod
    def _base(paper_id: str) -> str:
        try:
            return parse_arxiv_id(paper_id).base
        except InvalidArxivId as error:
            raise Refused(422, str(error)) from None

    def _limit(self, member: Member, kind: str, limit: int, window_s: int, now: datetime) -> None:
        if not self.store.limits.hit(f"{kind}:member:{member.id}", limit, window_s, now):
            raise Refused(429, f"too many {kind} in a short time: wait a little and try again")

    # -- submissions -------------------------------------------------------------------------
    def submit(
        self, member: Member, paper_id: str, comment: str = "", now: datetime | None = None
    ) -> Submitted | Requested:
        """Put a paper on today's page: `Submitted` at once when it is stored here; else
        `Requested`, pending until a fetcher has asked arXiv (`complete_pending`). Only
        cheap checks happen here: nothing in a request waits on arXiv."""
        now = now or utcnow()
        comment = comment.strip()
        if comment:
            self._check_comment(comment)
        base = self._base(paper_id)
        self._limit(member, "submissions", self.settings.submissions_per_hour, 3600, now)
        earlier = self.store.submissions.of([base]).get(base)
        if earlier is not None:
            raise duplicate(earlier, member.id, now)
        paper = self.store.papers.get(base)
        if paper is not None:
            return self._put_on_page(member.id, paper, comment, now, now)
        waiting = self.store.submissions.pending.waiting_for(base)
        if waiting is not None:
            who = _submitter(waiting.user_id, waiting.user_name, waiting.user_fullname, member.id)
            raise Refused(
                409,
                f"{base} was submitted by {who} a moment ago and is being fetched from arXiv; "
                "it will appear on today's page once arXiv answers.",
            )
        self._check_daily_cap(member.id, now)
        requested = self.store.submissions.pending.add(base, member.id, comment, now)
        if self._fetcher is not None:
            self._fetcher.wake()
        return requested

    def _check_daily_cap(self, user_id: int, at: datetime, *, waiting: bool = True) -> None:
        cap = self.settings.submissions_per_day
        midnight = at.replace(hour=0, minute=0, second=0, microsecond=0)
        made = self.store.submissions.count_by(user_id, midnight)
        if waiting:  # those still waiting for arXiv count too
            made += self.store.submissions.pending.count_waiting(user_id, midnight)
        if made >= cap:
            raise Refused(429, f"you have submitted {cap} papers today, the most a day allows")

    def _put_on_page(
        self,
        user_id: int,
        paper: StoredPaper,
        comment: str,
        at: datetime,
        now: datetime,
        *,
        waiting: bool = True,
    ) -> Submitted:
        """The rules on a stored paper (age, the day's cap, each paper once), then the
        submission made at `at` on that day's page, with its comment."""
        days = self.settings.submission_max_age_days
        if paper.published is None or paper.published < at - timedelta(days=days):
            raise Refused(
                422,
                f"only papers of the last {days} days can be submitted; {paper.id} was "
                f"published {paper.published:%B %-d, %Y}"
                if paper.published
                else f"{paper.id} has no publication date",
            )
        self._check_daily_cap(user_id, at, waiting=waiting)
        submitted, new = self.store.submissions.add(paper.id, user_id, at.date(), at)
        if not new:  # another request won the race
            raise duplicate(submitted, user_id, now)
        if comment:
            self.store.comments.add(paper.id, user_id, comment, at)
        return submitted

    def pending(self, member: Member, now: datetime | None = None) -> list[Requested]:
        """The member's submissions of the last days that had to wait for arXiv, newest
        first: still pending, submitted, or failed with the reason."""
        now = now or utcnow()
        since = now - timedelta(days=self.settings.submission_max_age_days)
        return self.store.submissions.pending.of_member(member.id, since)

    def complete_pending(self, owner: str, now: datetime | None = None, limit: int = 20) -> int:
        """Claim due pending submissions (a lease: two servers never complete one twice),
        ask arXiv for their papers in one request, and submit or fail each. How many were
        claimed."""
        now = now or utcnow()
        timeout = self.settings.submission_fetch_timeout_s
        lease = timedelta(seconds=4 * timeout + 60)
        pending = self.store.submissions.pending
        claimed = pending.claim(owner, now, lease, limit)
        if not claimed:
            return 0
        try:
            records, _skipped = self._fetch(self.settings, sorted({c.paper_id for c in claimed}))
        except Exception as error:  # arXiv unreachable, slow, or answering nonsense
            for request in claimed:
                self._retry_or_give_up(request, owner, now, f"{error}")
            return len(claimed)
        self._papers_in.store_records(records)
        for request in claimed:
            paper = self.store.papers.get(request.paper_id)
            if paper is None:
                pending.finish(
                    request.id, owner, "failed", f"{request.paper_id} is not on arXiv", now
                )
                continue
            try:
                self._put_on_page(
                    request.user_id,
                    paper,
                    request.comment,
                    request.requested_at,
                    now,
                    waiting=False,
                )
            except Refused as refused:
                pending.finish(request.id, owner, "failed", refused.message, now)
            else:
                pending.finish(request.id, owner, "submitted", None, now)
        return len(claimed)

    def _retry_or_give_up(self, request: Requested, owner: str, now: datetime, problem: str):
        give_up = self.settings.submission_fetch_give_up_s
        waited = (now - request.requested_at).total_seconds()
        if waited >= give_up:
            self.store.submissions.pending.finish(
                request.id,
                owner,
                "failed",
                f"arXiv did not answer about {request.paper_id} in {_duration(give_up)} "
                f"(last: {problem}); try submitting it again later",
                now,
            )
            return
        # Back off: the spacing arXiv asks for, doubled each time, at most 5 minutes.
        base = max(self.settings.arxiv_request_delay_s, self.settings.submission_fetch_timeout_s)
        wait = min(base * 2**request.attempts, 300.0, max(give_up - waited, 0.0))
        self.store.submissions.pending.retry(
            request.id, owner, now + timedelta(seconds=wait), problem
        )

    def start_fetching(self) -> None:
        """Complete pending submissions in a thread of this process, off the request path."""
        if self._fetcher is None:
            self._fetcher = SubmissionFetcher(self)
            self._fetcher.start()

    def stop_fetching(self) -> None:
        if self._fetcher is not None:
            self._fetcher.stop()
            self._fetcher = None

    def curate(self, member: Member, paper_id: str, state: str) -> None:
        self._curator(member)
        if state not in STATES:  # before anything changes
            raise Refused(422, f"state {state!r}: one of {', '.join(STATES)}")
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

    def hide_comment(self, member: Member, comment_id: int, hidden: bool = True) -> StoredComment:
        self._curator(member)
        if not self.store.comments.set_hidden(comment_id, hidden):
            raise Refused(404, "no such comment")
        found = self.store.comments.get(comment_id)
        assert found is not None
        return found

    def own_comment(self, member: Member, comment_id: int) -> StoredComment:
        """A comment of the member's own; Refused 404 for anyone else's."""
        found = self.store.comments.get(comment_id)
        if found is None or found.user_id != member.id:
            raise Refused(404, "no such comment of yours")
        return found

    # -- collections -------------------------------------------------------------------------
    def _name(self, name: str) -> str:
        name = " ".join(name.split())
        if not name or len(name) > 200:
            raise Refused(422, "a collection's name has 1 to 200 characters")
        return name

    def create_collection(
        self, member: Member, name: str, paper_ids: Sequence[str] = ()
    ) -> StoredCollection:
        """A new collection of the member's, holding these (stored) papers from the start."""
        try:
            return self.store.collections.create(member.id, self._name(name), utcnow(), paper_ids)
        except DuplicateName as error:
            raise Refused(409, str(error)) from None

    def collections_of(self, member: Member) -> list[StoredCollection]:
        return self.store.collections.of_member(member.id)

    def collections_holding(self, member: Member, paper_id: str) -> set[int]:
        """The ids of the member's collections the paper is in."""
        return self.store.collections.holding(member.id, paper_id)

    def collection_papers(self, collection: StoredCollection) -> list[StoredPaper]:
        return self.store.collections.papers(collection.id)

    def collection_ids(self, collection: StoredCollection) -> list[str]:
        """The ids of the collection's papers, most recently added first."""
        return [paper.id for paper in self.store.collections.papers(collection.id)]

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

    def collect_all(self, member: Member, collection_id: int, paper_ids: Sequence[str]) -> int:
        """Add these (stored) papers at once, all or none; how many were new to it."""
        self.collection(member, collection_id)
        return self.store.collections.add_all(collection_id, paper_ids, utcnow())

    def dismiss(self, member: Member, paper_id: str, dismissed: bool = True) -> None:
        """ "Not interested": the paper leaves the member's lists (and digest)."""
        paper = self.paper(paper_id)
        if dismissed:
            self.store.collections.dismiss(member.id, paper.id, utcnow())
        else:
            self.store.collections.undismiss(member.id, paper.id)

    # -- what a page shows --------------------------------------------------------------------
    def annotate(
        self, papers: Sequence[StoredPaper], viewer: Member | None = None
    ) -> list[AnnotatedPaper]:
        """The papers with their upvotes, comment counts, submissions, and whether the
        viewer upvoted each (community/annotations.py)."""
        return annotate(self.store, papers, viewer)

    def submission(self, paper_id: str) -> Submitted | None:
        """Who put the paper on which day's page, if anyone."""
        return self.store.submissions.of([paper_id]).get(paper_id)

    def version(self) -> int:
        """The community counter: moves on every vote, comment and submission."""
        return self.store.generations.current(COMMUNITY)

    def voted(self, member: Member | None, paper_ids: Sequence[str]) -> set[str]:
        return set() if member is None else self.store.votes.voted(str(member.id), paper_ids)

    def dismissed(self, member: Member | None) -> set[str]:
        return set() if member is None else self.store.collections.dismissed(member.id)
