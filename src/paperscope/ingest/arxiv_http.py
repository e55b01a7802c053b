"""A polite HTTP client for arXiv: one request at a time, spaced out, retried when asked.

arXiv asks harvesters to wait between requests and answers an impatient one with
``503 Retry-After``; this client waits as told (within a cap) and gives up with an
``ArxivError`` that says what happened.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from xml.etree.ElementTree import Element, ParseError

import httpx
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from paperscope.errors import Upstream
from paperscope.settings import Settings

Sleep = Callable[[float], None]

# Statuses that mean "come back later" rather than "your request is wrong".
RETRY_STATUSES = frozenset({429, 502, 503, 504})


class ArxivError(Upstream):
    """arXiv could not be asked or did not answer usefully; the message says what to do."""


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or HTTP-date); None if absent."""
    if not value or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class ArxivClient:
    """Sync httpx client that spaces requests and retries arXiv's "try later" answers.

    ``sleep`` is injectable so tests can record the waits instead of waiting. A harvest
    takes the settings' patient defaults; a member waiting on a submission passes a short
    ``timeout_s`` and ``max_retries`` (its job tries again later instead of waiting here).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        sleep: Sleep = time.sleep,
        timeout_s: float | None = None,
        max_retries: int | None = None,
    ) -> None:
        self.delay_s = settings.arxiv_request_delay_s
        self.max_retries = settings.arxiv_max_retries if max_retries is None else max_retries
        self.max_wait_s = settings.arxiv_max_retry_after_s
        self.sleep = sleep
        self._last_request: float | None = None
        timeout = settings.http_timeout_s if timeout_s is None else timeout_s
        self._http = httpx.Client(
            # Connecting is quick when arXiv is there: an unreachable one is known sooner.
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers={"User-Agent": settings.user_agent},
            follow_redirects=True,
        )

    def __enter__(self) -> ArxivClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def get(self, url: str, params: Mapping[str, str]) -> httpx.Response:
        """GET url with params; the response of the first try that is not "try later"."""
        target = httpx.URL(url, params=dict(params))
        problem = ""
        for attempt in range(self.max_retries + 1):
            self._keep_distance()
            try:
                response = self._http.get(target)
            except httpx.TransportError as error:
                problem = f"{type(error).__name__}: {error}"
                wait = None
            else:
                if response.status_code not in RETRY_STATUSES:
                    if response.is_error:
                        raise ArxivError(
                            f"arXiv answered HTTP {response.status_code} for {response.url}"
                        )
                    return response
                problem = f"HTTP {response.status_code}"
                wait = retry_after_seconds(response.headers.get("Retry-After"))
            finally:
                self._last_request = time.monotonic()
            if attempt == self.max_retries:
                break
            if wait is None:
                wait = max(self.delay_s, 1.0) * 2**attempt
            # Never wait less than the usual spacing, never more than the configured cap.
            self.sleep(min(max(wait, self.delay_s), self.max_wait_s))
            self._last_request = None
        raise ArxivError(
            f"arXiv did not answer {target} after {self.max_retries + 1} tries "
            f"(last: {problem}); try again later"
        )

    def _keep_distance(self) -> None:
        if self._last_request is None or self.delay_s <= 0:
            return
        remaining = self._last_request + self.delay_s - time.monotonic()
        if remaining > 0:
            self.sleep(remaining)


def parse_xml(content: bytes, url: str, root_tag: str, kind: str) -> Element:
    """An arXiv answer's XML root, safely parsed; ArxivError if it is broken or not `kind`."""
    try:
        root = fromstring(content)
    except (ParseError, DefusedXmlException) as error:
        raise ArxivError(f"arXiv sent malformed XML for {url}: {error}") from error
    if root.tag != root_tag:
        raise ArxivError(f"{url} did not answer with {kind} (got <{root.tag}>)")
    return root
