"""A store of 301 demo papers, one of them with a journal DOI, and its keyword index: what
a member's library file is matched against."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from paperscope.community import Community
from paperscope.library import Library
from paperscope.search.engine import SearchEngine
from paperscope.search.indexer import Indexer
from tests.search.conftest import demo_records

FIXTURES = Path(__file__).parent / "fixtures"
GAMETALK = "2601.16276"  # its journal DOI is 10.5555/gametalk.2026.17 here
GAMETALK_DOI = "10.5555/GameTalk.2026.17"  # stored as the publisher wrote it


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture
def library_search(settings, store):
    records = demo_records(1515)
    chosen = [*records[:300], records[1514]]
    chosen = [replace(r, doi=GAMETALK_DOI) if r.id == GAMETALK else r for r in chosen]
    store.papers.upsert(chosen)
    search = SearchEngine(settings, store)
    Indexer(search).update(embed=False)
    yield search
    search.close()


@pytest.fixture
def library(settings, store, library_search) -> Library:
    return Library(settings, store, library_search, Community(settings, store))
