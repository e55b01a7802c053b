"""What the community adds to a paper wherever it is shown (pages, API, feeds, listings,
digests): its upvotes, its comment count, who submitted it to which day's page, and whether
the reader upvoted it. Made here only, three queries for any number of papers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

from paperscope.store import Store, StoredPaper
from paperscope.store.accounts import Member
from paperscope.store.submissions import Submitted


@dataclass(frozen=True)
class AnnotatedPaper:
    paper: StoredPaper
    upvotes: int = 0
    comments: int = 0
    submission: Submitted | None = None  # who put it on which day's page, if anyone
    voted: bool = False  # the reader upvoted it (False for a reader not signed in)

    def annotations(self) -> dict:
        """The fields, to make a subclass of one (a listed paper with its score)."""
        return {f.name: getattr(self, f.name) for f in fields(AnnotatedPaper)}


def annotate(
    store: Store,
    papers: Sequence[StoredPaper],
    viewer: Member | None = None,
    *,
    upvotes: Mapping[str, int] | None = None,
    submissions: Mapping[str, Submitted] | None = None,
) -> list[AnnotatedPaper]:
    """The papers, in order, with their annotations. `upvotes` and `submissions` already
    read with the papers (a ranking counts upvotes in its SQL) are used, not read again."""
    ids = [paper.id for paper in papers]
    if not ids:
        return []
    if upvotes is None:
        upvotes = store.votes.counts(ids)
    comments = store.comments.counts(ids)
    known = dict(submissions or {})
    if missing := [i for i in ids if i not in known]:
        known |= store.submissions.of(missing)
    voted = store.votes.voted(str(viewer.id), ids) if viewer is not None else set()
    return [
        AnnotatedPaper(
            paper,
            upvotes.get(paper.id, 0),
            comments.get(paper.id, 0),
            known.get(paper.id),
            paper.id in voted,
        )
        for paper in papers
    ]
