"""Progress as plain lines: what `paperscope index > index.log` shows while it works."""

from __future__ import annotations

import io
import re
import time

from paperscope.progress_log import ProgressLog


def _lines(stream: io.StringIO) -> list[str]:
    return [re.sub(r"^\d\d:\d\d:\d\d ", "", line) for line in stream.getvalue().splitlines()]


def test_a_stage_says_where_it_stands_even_while_the_work_reports_nothing():
    stream = io.StringIO()
    with ProgressLog(stream, every_s=0.05) as log:
        log.advance("embedding papers", 0, 3622)
        log.advance("embedding papers", 1200, 3622)
        deadline = time.monotonic() + 30
        while len(_lines(stream)) < 4 and time.monotonic() < deadline:
            time.sleep(0.02)  # a long batch: nothing reported meanwhile
        log.advance("embedding papers", 3622, 3622)
    lines = _lines(stream)
    assert lines[0] == "embedding papers: 0 of 3,622 papers (0%)"
    waiting = [line for line in lines[1:-1] if line.startswith("embedding papers: 1,200 of 3,622")]
    assert len(waiting) >= 2, lines  # said again though nothing moved
    assert all(re.search(r"\(33%\), [\d,]+/s, about .+ left$", line) for line in waiting)
    assert re.fullmatch(
        r"embedding papers: 3,622 of 3,622 papers \(100%\), done in \d+ s", lines[-1]
    )


def test_between_stages_it_says_the_next_step_is_running():
    stream = io.StringIO()
    with ProgressLog(stream, every_s=0.05) as log:
        log.advance("lexical index", 0, 40)
        log.advance("lexical index", 40, 40)
        deadline = time.monotonic() + 30
        while len(_lines(stream)) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
    lines = _lines(stream)
    assert lines[:2] == [
        "lexical index: 0 of 40 papers (0%)",
        "lexical index: 40 of 40 papers (100%), done in 0 s",
    ]
    assert lines[2].startswith("lexical index done; the next step running for")
