from __future__ import annotations

import gzip
import itertools
from pathlib import Path

import pytest

from paperscope.ingest.files import parse_line
from paperscope.store import Store
from tests.conftest import DEMO_CORPUS

REPO = Path(__file__).resolve().parents[2]


def demo_records(limit: int | None = None):
    with gzip.open(DEMO_CORPUS, "rb") as stream:
        lines = itertools.islice(stream, limit)
        return [parse_line(line, "demo") for line in lines]


@pytest.fixture
def demo_store(store: Store) -> Store:
    store.papers.upsert(demo_records())
    return store
