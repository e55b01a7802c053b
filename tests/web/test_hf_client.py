"""Compatibility with Hugging Face's own client: huggingface_hub talks to paperscope as if
it were huggingface.co, and builds its PaperInfo objects from the answers."""

from __future__ import annotations

from datetime import UTC, datetime

from huggingface_hub import HfApi

from paperscope.community import Community
from paperscope.store import open_store
from tests.web.conftest import TAG_PAPER, UPVOTED


def test_paper_info(live_server):
    api = HfApi(endpoint=live_server, token=False)
    info = api.paper_info(TAG_PAPER)
    assert info.id == TAG_PAPER
    assert info.title.startswith("<SOG_k>")
    assert info.summary and "\n" not in info.summary
    assert info.authors and info.authors[0].name
    assert isinstance(info.published_at, datetime) and info.published_at.tzinfo is not None
    assert api.paper_info(UPVOTED).upvotes == 2


def test_list_papers_searches(live_server):
    api = HfApi(endpoint=live_server, token=False)
    papers = list(api.list_papers(query="graph structure token", limit=5))
    assert 1 <= len(papers) <= 5
    assert TAG_PAPER in [p.id for p in papers]
    assert all(p.title and p.summary and p.authors for p in papers)


def test_list_daily_papers(live_server):
    api = HfApi(endpoint=live_server, token=False)
    latest = list(api.list_daily_papers(limit=5))
    assert latest
    day = latest[0].published_at.date().isoformat()
    papers = list(api.list_daily_papers(date=day))
    assert papers and all(p.published_at.date().isoformat() == day for p in papers)
    assert all(isinstance(p.upvotes, int) for p in papers)
    by_trend = list(api.list_daily_papers(month=day[:7], sort="trending", limit=100))
    assert len(by_trend) >= len(papers)


def test_the_client_reads_upvotes_and_submitters(community_server, community_settings):
    store = open_store(community_settings)
    now = datetime.now(UTC).replace(tzinfo=None)
    member, _ = store.accounts.ensure("hf-reader@example.org", now, fullname="HF Reader")
    paper = max(store.papers.iter_all(), key=lambda p: p.published).id
    Community(community_settings, store).submit(member, paper)
    store.votes.add(paper, str(member.id), now)
    store.engine.dispose()

    api = HfApi(endpoint=community_server, token=False)
    info = api.paper_info(paper)
    assert info.upvotes >= 1
    assert info.submitted_by.username == member.name and info.submitted_by.fullname == "HF Reader"
    daily = list(api.list_daily_papers(submitter=member.name))
    assert [p.id for p in daily] == [paper]
    assert daily[0].submitted_by.username == member.name and daily[0].upvotes >= 1
    assert isinstance(daily[0].comments, int)
