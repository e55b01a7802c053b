"""Which changes bring a paper back to someone who was shown it (recommend/returns.py)."""

from __future__ import annotations

from paperscope.recommend.returns import why_back
from paperscope.store.ledger import PaperState, abstract_hash

OLD = abstract_hash("We study things.")
NEW = abstract_hash("We study other things, and find more.")
SHOWN = PaperState(1, OLD, False, 2)


def back(now: PaperState, *, saved: bool = False, comments: int = 5) -> str | None:
    return why_back(SHOWN, now, saved=saved, comments=comments)


def test_a_new_version_comes_back_only_with_a_new_abstract():
    assert back(PaperState(2, NEW, False, 2)) == "v2: abstract changed"
    assert back(PaperState(2, OLD, False, 2)) is None  # a version bump, same abstract
    assert back(PaperState(1, OLD, False, 2)) is None  # a cross-list: categories only
    assert back(PaperState(1, NEW, False, 2)) is None  # no new version: a correction


def test_code_released_brings_it_back_and_code_already_there_does_not():
    assert back(PaperState(2, OLD, True, 2)) == "code released"
    assert (
        why_back(PaperState(1, OLD, True, 0), PaperState(2, OLD, True, 0), saved=True, comments=5)
        is None
    )


def test_a_discussion_brings_back_a_saved_paper_past_the_threshold():
    assert back(PaperState(1, OLD, False, 7), saved=True) == "5 new comments"
    assert back(PaperState(1, OLD, False, 6), saved=True) is None
    assert back(PaperState(1, OLD, False, 9), saved=False) is None  # not saved: not theirs
    assert back(PaperState(1, OLD, False, 3), saved=True, comments=1) == "1 new comment"


def test_several_changes_are_named_together_and_unknown_states_bring_nothing_back():
    assert back(PaperState(3, NEW, True, 9), saved=True) == (
        "v3: abstract changed · code released · 7 new comments"
    )
    unknown = PaperState(None, None, None, 0)
    assert why_back(unknown, PaperState(2, NEW, True, 0), saved=True, comments=5) is None
