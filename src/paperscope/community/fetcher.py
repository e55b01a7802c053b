"""Completes pending submissions in a thread of the web process, so that no request waits
on arXiv: a submission of a paper this paperscope lacks is stored as pending and answered
at once (`Community.submit`), and this thread asks arXiv for it (`complete_pending`).

One thread per process, one arXiv request at a time, spaced as arXiv asks; woken at once
by a new submission, else when the next retry is due (or every `POLL_S`, for submissions
another server took and let go). Several processes or servers share the work safely: each
claims rows with a lease in the database.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from typing import TYPE_CHECKING

from paperscope.accounts import utcnow

if TYPE_CHECKING:
    from paperscope.community import Community

log = logging.getLogger("paperscope.submissions")
POLL_S = 30.0


class SubmissionFetcher:
    def __init__(self, community: Community) -> None:
        self.community = community
        self.owner = f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(4)}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="paperscope-submission-fetcher", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop after the round in progress (a fetch is bounded by its timeout; the daemon
        thread is not waited for longer than `timeout_s`)."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        spacing = self.community.settings.arxiv_request_delay_s
        while not self._stop.is_set():
            self._wake.clear()
            try:
                claimed = self.community.complete_pending(self.owner)
            except Exception:  # the database gone for a moment: log, and try again later
                log.exception("completing pending submissions failed")
                claimed = 0
            if claimed:
                self._stop.wait(spacing)  # arXiv's spacing between requests
                continue
            self._wake.wait(self._idle_s())

    def _idle_s(self) -> float:
        try:
            due = self.community.store.submissions.pending.next_due()
        except Exception:
            log.exception("reading pending submissions failed")
            return POLL_S
        if due is None:
            return POLL_S
        return min(max((due - utcnow()).total_seconds(), 0.05), POLL_S)
