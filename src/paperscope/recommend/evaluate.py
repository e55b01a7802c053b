"""How well "for you" does on one member's own votes: a time split of what they liked.

Their earlier liked papers (upvoted or saved; the earlier two thirds) train the model, as the
page would have had it then; their later ones are hidden among papers drawn at random, and
each signal (and the blend the page ranks by) is judged by its AUC there: the chance that a
later liked paper is ranked above a random one (0.5 is a coin, 1.0 every one above all).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from paperscope.recommend import Recommender
from paperscope.store.accounts import Member

MIN_EARLIER = 3  # liked papers to learn from
MIN_LATER = 2  # later liked papers to find
OTHERS = 300  # papers drawn at random to hide the later ones among
SIGNALS = ("meaning", "words", "nearest", "categories", "authors")


@dataclass(frozen=True)
class HowItDoes:
    liked: int  # liked papers with a vector
    earlier: int = 0
    later: int = 0
    others: int = 0
    split_at: datetime | None = None  # the first later like
    aucs: dict[str, float] = field(default_factory=dict)  # signal (and "blend") -> AUC
    note: str | None = None  # why there are no AUCs, in plain words


def how_it_does(recommender: Recommender, member: Member, *, seed: int = 1) -> HowItDoes:
    """The AUC of each signal and of the blend on the member's later likes (module doc)."""
    from sklearn.metrics import roc_auc_score  # slow to import: when used

    store = recommender.store
    first: dict[str, datetime] = {}
    for paper_id, at in [
        *store.votes.when(str(member.id)),
        *store.collections.saved_when(member.id),
    ]:
        first[paper_id] = min(at, first.get(paper_id, at))
    liked_ids = sorted(first, key=lambda pid: (first[pid], pid))
    vectors = store.embeddings.vectors(recommender.model, liked_ids)
    liked = [pid for pid in liked_ids if pid in vectors]
    needed = MIN_EARLIER + MIN_LATER
    if len(liked) < needed:
        return HowItDoes(
            len(liked),
            note=(
                f"You have liked {len(liked)} paper{'s' * (len(liked) != 1)} so far; this needs "
                f"at least {needed}: {MIN_EARLIER} to learn from and {MIN_LATER} later ones to "
                "find. Upvote or save a few more papers and come back."
            ),
        )
    cut = max(MIN_EARLIER, min(len(liked) - MIN_LATER, round(len(liked) * 2 / 3)))
    earlier, later = liked[:cut], liked[cut:]
    dismissed = store.collections.dismissed(member.id)
    drawn = store.embeddings.sample(recommender.model, OTHERS, seed)
    others = [pid for pid in drawn if pid not in first and pid not in dismissed]
    pool = recommender.pool([*later, *others])
    if not pool.can_learn:
        return HowItDoes(
            len(liked),
            note="There are too few papers with vectors here to judge it yet.",
        )
    signals, blend = pool.signals(earlier, sorted(dismissed))
    wanted = set(later)
    labels = np.array([pid in wanted for pid in pool.ids])
    if labels.all() or not labels.any():
        return HowItDoes(len(liked), note="There are too few papers here to judge it yet.")
    aucs = {
        name: float(roc_auc_score(labels, signals[name])) for name in SIGNALS if name in signals
    }
    aucs["blend"] = float(roc_auc_score(labels, blend))
    return HowItDoes(
        len(liked),
        len(earlier),
        int(labels.sum()),
        int((~labels).sum()),
        first[later[0]],
        aucs,
    )
