"""Papers that come back only when they change.

A paper shown to a person (store/ledger.py) is not shown to them again, unless since then:

- a new version changed its abstract ("v2: abstract changed"; a version with the same
  abstract, or a cross-list, which changes only the categories, is not news);
- a code link appeared ("code released");
- its discussion grew by `return_after_comments` comments or more, on a paper they saved
  ("7 new comments").
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from paperscope.store import Store
from paperscope.store.ledger import PaperState, Reader, Shown


def why_back(before: PaperState, now: PaperState, *, saved: bool, comments: int) -> str | None:
    """Why a paper shown as `before` is worth showing again as it is `now` (None: it is not);
    `comments`: how many new ones bring back a saved paper."""
    reasons = []
    if (
        before.version is not None
        and now.version is not None
        and now.version > before.version
        and before.abstract_hash is not None
        and now.abstract_hash != before.abstract_hash
    ):
        reasons.append(f"v{now.version}: abstract changed")
    if before.has_code is False and now.has_code:
        reasons.append("code released")
    if saved and before.comments is not None and now.comments is not None:
        grown = now.comments - before.comments
        if grown >= comments:
            reasons.append(f"{grown} new comment{'s' * (grown != 1)}")
    return " · ".join(reasons) or None


@dataclass(frozen=True)
class Return:
    paper_id: str
    reason: str
    state: PaperState  # as it is now: what the ledger records once it is shown


def returns(
    store: Store,
    reader: Reader,
    reader_ids: Sequence[int],
    channel: str,
    saved: dict[int, Collection[str]],
    comments: int,
) -> dict[int, list[Return]]:
    """The papers that come back to each person (through `channel`), and why: those that
    changed since they last saw them, and the saved ones whose discussion grew."""
    changed = store.ledger.changed(reader, reader_ids, channel)
    last: dict[int, dict[str, Shown]] = {i: {s.paper_id: s for s in changed[i]} for i in reader_ids}
    for who in reader_ids:
        if saved.get(who):
            kept = store.ledger.last_shown(reader, who, channel, list(saved[who]))
            last[who] = kept | last[who]
    ids = list({pid for shown in last.values() for pid in shown})
    if not ids:
        return {i: [] for i in reader_ids}
    papers = {p.id: p for p in store.papers.get_many(ids)}
    counts = store.comments.counts(ids)
    found: dict[int, list[Return]] = {}
    for who in reader_ids:
        found[who] = []
        for pid, shown in last[who].items():
            if pid not in papers:
                continue
            now = PaperState.of(papers[pid], counts.get(pid, 0))
            why = why_back(shown.state, now, saved=pid in saved.get(who, ()), comments=comments)
            if why:
                found[who].append(Return(pid, why, now))
    return found
