from __future__ import annotations

from collections.abc import Iterator

import pytest

from paperscope.settings import Settings
from tests.ingest.fake_arxiv import FakeArxiv


@pytest.fixture
def fake_arxiv() -> Iterator[FakeArxiv]:
    server = FakeArxiv().start()
    yield server
    server.stop()


@pytest.fixture
def arxiv_settings(settings: Settings, fake_arxiv: FakeArxiv) -> Settings:
    """The shared settings, pointed at the fake arXiv and never waiting between requests."""
    return settings.model_copy(
        update={
            "arxiv_oai_url": fake_arxiv.oai_url,
            "arxiv_api_url": fake_arxiv.api_url,
            "arxiv_request_delay_s": 0,
            "arxiv_max_retries": 3,
            "http_timeout_s": 5,
        }
    )


class SleepRecorder:
    """Stands in for time.sleep: remembers each wait instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()
