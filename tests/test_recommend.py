"""Recommendations from liked papers over real MiniLM vectors: the recommender, the CLI,
and "for you" in a member's digest (the API: tests/web/test_recommendations.py). How good
they are is measured in bench/personalise.py, not asserted here."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from datetime import date, datetime, timedelta

import numpy as np
import pytest
from typer.testing import CliRunner

from paperscope.accounts import utcnow
from paperscope.cli import app
from paperscope.digest import DigestService
from paperscope.digest.periods import digest_period
from paperscope.errors import InvalidInput
from paperscope.recommend import NotEmbedded, Recommender
from paperscope.search.engine import SearchEngine
from paperscope.search.indexer import Indexer
from paperscope.settings import Settings
from paperscope.store import open_store
from tests.conftest import MODELS_DIR
from tests.mail_server import SmtpServer
from tests.search.conftest import demo_records

DAY = date(2026, 12, 2)


@pytest.fixture(scope="module")
def embedded(tmp_path_factory, new_database, minilm):
    """80 demo papers with vectors; the first 50 published on December 1."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("recommend") / "data",
        database_url=new_database(),
        models_dir=MODELS_DIR,
        public_url="https://papers.example.org",
    )
    store = open_store(settings)
    start = datetime(2026, 12, 1, 0, 10)
    records = [
        replace(r, published=start + timedelta(minutes=25 * i), updated=None) if i < 50 else r
        for i, r in enumerate(demo_records(80))
    ]
    store.papers.upsert(records)
    Indexer(SearchEngine(settings, store, encoder=minilm)).update()
    yield settings, store, minilm
    store.engine.dispose()


def _cosine_rank(store, model: str, liked: str, ids: list[str]) -> list[str]:
    vectors = store.embeddings.vectors(model, [liked, *ids])
    return sorted(ids, key=lambda pid: -float(vectors[pid] @ vectors[liked]))


def test_recommendations_leave_out_the_likes_and_follow_them(embedded):
    _, store, minilm = embedded
    recommender = Recommender(store, minilm.name)
    day = [r.id for r in demo_records(50)]
    liked = day[0]
    found = recommender.recommend([liked], [day[1]], candidates=day, limit=10)
    ids = [r.paper_id for r in found]
    assert len(ids) == 10 and liked not in ids and day[1] not in ids
    assert all(r.because == liked for r in found)
    # Learned from one like and random negatives, the ranking is the like's neighbourhood:
    # its three nearest papers by cosine are among the first ten.
    nearest = _cosine_rank(store, minilm.name, liked, [p for p in day if p not in (liked, day[1])])
    assert set(nearest[:3]) <= set(ids)
    scores = [r.score for r in found]
    assert scores == sorted(scores, reverse=True)
    with pytest.raises(NotEmbedded):
        recommender.recommend(["2612.99999"])


def test_the_cli_recommends_within_a_date_range(embedded, monkeypatch):
    settings, _, _ = embedded
    monkeypatch.setenv("PAPERSCOPE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("PAPERSCOPE_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("PAPERSCOPE_MODELS_DIR", str(MODELS_DIR))
    liked = demo_records(1)[0].id
    result = CliRunner().invoke(
        app,
        [
            "recommend",
            "--like",
            f"arXiv:{liked}v1",
            "--from",
            "2026-12-01",
            "--until",
            "2026-12-01",
            "--limit",
            "5",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert len(found) == 5 and liked not in [p["id"] for p in found]
    assert all(p["published"].startswith("2026-12-01") for p in found)


def test_a_digest_has_papers_for_you_with_the_reason(embedded, tmp_path):
    settings, store, minilm = embedded
    smtp = SmtpServer().start()
    try:
        chosen = settings.model_copy(update=smtp.settings() | {"digest_retry_s": 0})
        member, _ = store.accounts.ensure("fan@example.org", utcnow())
        liked = demo_records(1)[0]
        store.votes.add(liked.id, str(member.id), utcnow())
        store.digests.subscribe("fan@example.org", utcnow(), confirmed=True, max_papers=6)
        service = DigestService(chosen, store, search=SearchEngine(chosen, store, encoder=minilm))
        assert service.send("daily", DAY).sent == 1
        text = smtp.inbox.wait_for("fan@example.org").get_body(("plain",)).get_content()
    finally:
        smtp.stop()
    assert "because you liked" in text
    assert text.count("Why: ") == 6
    service.close()


def test_vectors_sampled_for_negatives_are_the_same_for_a_seed(embedded):
    _, store, minilm = embedded
    first = store.embeddings.sample(minilm.name, 20, seed=3)
    again = store.embeddings.sample(minilm.name, 20, seed=3)
    assert list(first) == list(again) and len(first) == 20
    assert all(np.allclose(first[k], again[k]) for k in first)


def test_every_candidate_comes_back_scored_when_asked(embedded, monkeypatch):
    """A ranking judged whole (bench/readers.py's AUC): with no limit, every candidate but
    the likes comes back, in the order of its score; the CLI does the same with --all, over
    the --candidate papers given."""
    settings, store, minilm = embedded
    day = [r.id for r in demo_records(50)]
    found = Recommender(store, minilm.name).recommend([day[0]], candidates=day[:30], limit=None)
    assert sorted(r.paper_id for r in found) == sorted(day[1:30])
    scores = [r.score for r in found]
    assert scores == sorted(scores, reverse=True)
    monkeypatch.setenv("PAPERSCOPE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("PAPERSCOPE_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("PAPERSCOPE_MODELS_DIR", str(MODELS_DIR))
    chosen = [f"--candidate={pid}" for pid in day[:30]]
    result = CliRunner().invoke(
        app, ["recommend", "--like", day[0], *chosen, "--all", "--limit", "3", "--json"]
    )
    assert result.exit_code == 0, result.output
    ranked = json.loads(result.stdout)
    assert [p["id"] for p in ranked] == [r.paper_id for r in found]
    assert np.allclose([p["score"] for p in ranked], scores)


def test_a_followed_authors_new_papers_come_first_for_you_and_in_the_digest(embedded):
    from paperscope.authors import AuthorService
    from paperscope.recommend import published_days

    settings, store, minilm = embedded
    member, _ = store.accounts.ensure("follower@example.org", utcnow())
    day = store.papers.published_ids(*published_days(date(2026, 12, 1), date(2026, 12, 1)))
    liked = day[0]
    store.votes.add(liked, str(member.id), utcnow())
    newest = max(store.papers.get_many(day), key=lambda p: p.published)
    author = AuthorService(store).follow(member, newest.authors[-1])
    theirs = set(store.authors.papers_by([author.key], set(day))[author.key]) - {liked}
    assert newest.id in theirs

    found = Recommender(store, minilm.name).for_member(member, candidates=day, limit=10)
    first = found[: len(theirs)]
    assert {r.paper_id for r in first} == theirs and {r.author for r in first} == {author.key}
    assert first[0].paper_id == newest.id  # newest first
    rest = found[len(theirs) :]
    assert rest and all(r.author is None and r.because == liked for r in rest)
    assert len(found) == 10  # the model fills the rest, as before

    smtp = SmtpServer().start()
    try:
        chosen = settings.model_copy(update=smtp.settings() | {"digest_retry_s": 0})
        store.digests.subscribe("follower@example.org", utcnow(), confirmed=True, max_papers=6)
        service = DigestService(chosen, store, search=SearchEngine(chosen, store, encoder=minilm))
        service.send("daily", DAY)
        text = smtp.inbox.wait_for("follower@example.org").get_body(("plain",)).get_content()
    finally:
        smtp.stop()
    assert f"Why: by an author you follow ({author.name})" in text
    assert f"/papers/{newest.id}" in text
    service.close()


def test_for_you_learns_from_one_chosen_collection_on_the_page_and_in_the_digest(embedded):
    settings, store, minilm = embedded
    day = [r.id for r in demo_records(50)]
    member, _ = store.accounts.ensure("collector@example.org", utcnow())
    store.votes.add(day[0], str(member.id), utcnow())  # all they upvoted
    chosen = store.collections.create(member.id, "Imported", utcnow(), [day[10], day[11]])
    recommender = Recommender(store, minilm.name)

    everything = recommender.for_member(member, candidates=day, limit=10)
    # By default the upvote and the saved papers are all liked.
    assert {r.because for r in everything} <= {day[0], day[10], day[11]}
    assert day[0] not in [r.paper_id for r in everything]
    from_collection = recommender.for_member(
        member,
        candidates=day,
        limit=10,
        likes=store.collections.paper_ids_of([chosen.id])[chosen.id],
    )
    assert from_collection and {r.because for r in from_collection} <= {day[10], day[11]}
    assert day[0] in [r.paper_id for r in from_collection]  # the upvote is just a paper now
    assert not {day[10], day[11]} & {r.paper_id for r in from_collection}

    subscriber, _ = store.digests.subscribe("collector@example.org", utcnow(), confirmed=True)
    service = DigestService(settings, store, search=SearchEngine(settings, store, encoder=minilm))
    try:
        stranger, _ = store.accounts.ensure("stranger@example.org", utcnow())
        theirs = store.collections.create(stranger.id, "Theirs", utcnow(), [day[20]])
        preferences = dict(
            frequency="daily", categories=[], follows=[], for_you=True, max_papers=6, paused=False
        )
        with pytest.raises(InvalidInput):  # another member's collection
            service.save_preferences(subscriber, **preferences, for_you_collection=theirs.id)
        saved = service.save_preferences(subscriber, **preferences, for_you_collection=chosen.id)
        assert saved.for_you_collection == chosen.id
        period = digest_period("daily", DAY)
        items = [i for i in service.composer().choose(saved, period) if i.section == "for-you"]
        titles = {p.id: p.title for p in store.papers.get_many([day[0], day[10], day[11]])}
        assert items and all(
            any(titles[pid][:20] in item.reason for pid in (day[10], day[11])) for item in items
        )
        # The collection deleted: back to everything they upvoted and saved.
        store.collections.delete(chosen.id)
        assert store.digests.get(subscriber.id).for_you_collection is None
    finally:
        service.close()


# -- why each paper is recommended -----------------------------------------------------------
def test_each_recommendation_says_why_from_what_scored_it(embedded):
    """The liked papers nearest to it (most similar first), the words that weighed most
    (positive, the largest first, each a term of the paper), the liked authors it shares."""
    _, store, minilm = embedded
    day = demo_records(50)
    by_id = {r.id: r for r in day}
    likes = [day[0].id, day[1].id, day[2].id, day[3].id]
    found = Recommender(store, minilm.name).recommend(
        likes, candidates=[r.id for r in day], limit=8
    )
    assert found and all(r.explanation is not None for r in found)
    vectors = store.embeddings.vectors(minilm.name, [*likes, *(r.paper_id for r in found)])
    liked_authors = {a for pid in likes for a in by_id[pid].authors}
    for r in found:
        why = r.explanation
        assert 1 <= len(why.liked) <= 3 and {p.id for p in why.liked} <= set(likes)
        assert why.liked[0].id == r.because
        assert [p.title for p in why.liked] == [by_id[p.id].title for p in why.liked]
        cosines = [float(vectors[r.paper_id] @ vectors[p.id]) for p in why.liked]
        assert np.allclose([p.similarity for p in why.liked], cosines, atol=1e-5)
        assert cosines == sorted(cosines, reverse=True)
        weights = [w for _, w in why.words]
        assert len(why.words) <= 5 and all(w > 0 for w in weights)
        assert weights == sorted(weights, reverse=True)
        text = f"{by_id[r.paper_id].title} {by_id[r.paper_id].abstract}".lower()
        assert all(word.split()[0] in text for word, _ in why.words)
        assert why.authors == [a for a in by_id[r.paper_id].authors if a in liked_authors][:5]
        assert why.summary().startswith("because you liked “")
    # Somewhere in eight papers like four liked ones, some words weighed for them.
    assert any(r.explanation.words for r in found)


def test_a_liked_author_is_named_in_the_explanation(embedded):
    _, store, minilm = embedded
    records = demo_records(80)
    counts = Counter(a for r in records for a in r.authors)
    author = next(a for r in records for a in r.authors if counts[a] >= 2)
    liked, *theirs = [r.id for r in records if author in r.authors]
    others = [r.id for r in records if author not in r.authors]
    recommender = Recommender(store, minilm.name)
    found = recommender.recommend([liked, others[0]], candidates=[*theirs, *others], limit=None)
    assert all(r.explanation is None for r in found)  # a whole ranking: nobody reads why
    found = recommender.recommend([liked, others[0]], candidates=theirs, limit=5)
    assert found and all(author in r.explanation.authors for r in found)
    assert f"by {author}" in found[0].explanation.summary()


# -- how well it does on a member's own votes --------------------------------------------------
def test_how_it_does_splits_a_members_likes_by_time_and_judges_each_signal(embedded):
    from paperscope.recommend.evaluate import MIN_EARLIER, MIN_LATER, how_it_does

    _, store, minilm = embedded
    member, _ = store.accounts.ensure("judge@example.org", utcnow())
    recommender = Recommender(store, minilm.name)
    day = demo_records(50)
    few = how_it_does(recommender, member)
    assert few.aucs == {} and "liked 0 papers" in few.note and "at least 5" in few.note
    start = datetime(2026, 1, 1)
    # Eight papers from one neighbourhood, liked an hour apart: the later ones should be
    # found among random papers far better than by chance.
    nearest = _cosine_rank(store, minilm.name, day[0].id, [r.id for r in day[1:]])
    liked = [day[0].id, *nearest[:7]]
    for n, pid in enumerate(liked):
        store.votes.add(pid, str(member.id), start + timedelta(hours=n))
    result = how_it_does(recommender, member)
    assert result.note is None and result.liked == 8
    assert result.earlier >= MIN_EARLIER and result.later >= MIN_LATER
    assert result.earlier + result.later == 8
    assert result.split_at == start + timedelta(hours=result.earlier)
    assert set(result.aucs) == {"meaning", "words", "nearest", "categories", "authors", "blend"}
    assert all(0.0 <= auc <= 1.0 for auc in result.aucs.values())
    assert result.aucs["meaning"] > 0.7 and result.aucs["blend"] > 0.7
