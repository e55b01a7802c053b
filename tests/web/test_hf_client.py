"""Compatibility with Hugging Face's own client: huggingface_hub talks to paperscope as if
it were huggingface.co, and builds its PaperInfo objects from the answers."""

from __future__ import annotations

from datetime import datetime

from huggingface_hub import HfApi

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
