"""Progress as plain lines, for output that is no terminal (a log file, a pipe).

A terminal gets redrawn bars; a log file gets nothing from them until the end, so a long
`paperscope index` behind `> index.log` looked dead. Here each stage says when it starts
and ends, and a background thread writes where it stands at least every `every_s` seconds,
whether or not the work reported anything meanwhile:

    12:00:41 embedding papers: 1,200 of 3,622 papers (33%), 21/s, about 2 min left
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TextIO


@dataclass
class _Stage:
    name: str
    total: int
    done: int = 0
    started: float = 0.0
    finished_at: float | None = None

    @property
    def finished(self) -> bool:
        return self.finished_at is not None


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s" if seconds < 600 else f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


class ProgressLog:
    """Writes a line per stage start and end, and the current stage's state every `every_s`
    seconds. `advance(stage, done, total)` is the callback the indexes and copies report to."""

    def __init__(self, stream: TextIO, every_s: float = 10.0, unit: str = "papers") -> None:
        self.stream = stream
        self.every_s = every_s
        self.unit = unit
        self._stage: _Stage | None = None
        self._began = self._last_line = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep_saying, name="progress-log", daemon=True)

    def __enter__(self) -> ProgressLog:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()

    def advance(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        with self._lock:
            current = self._stage
            fresh = current is None or current.name != stage or (current.finished and done < total)
            if fresh:
                current = self._stage = _Stage(stage, total, done, now)
            assert current is not None
            current.done, current.total = done, total
            if done >= total and not current.finished:
                current.finished_at = now
                self._say(current, now)
            elif fresh or now - self._last_line >= self.every_s:
                self._say(current, now)

    def _keep_saying(self) -> None:
        # Wakes often enough that a line is never more than a little late.
        while not self._stop.wait(min(1.0, self.every_s / 4)):
            now = time.monotonic()
            with self._lock:
                if now - self._last_line >= self.every_s:
                    self._say(self._stage, now, heartbeat=True)

    def _say(self, stage: _Stage | None, now: float, heartbeat: bool = False) -> None:
        self._last_line = now
        line = self.describe(stage, now, heartbeat)
        self.stream.write(f"{time.strftime('%H:%M:%S')} {line}\n")
        self.stream.flush()

    def describe(self, stage: _Stage | None, now: float, heartbeat: bool = False) -> str:
        if stage is None:
            return f"starting ({_duration(now - self._began)} in)" if heartbeat else "starting"
        one_step = stage.total == 1  # building an index, say: nothing to count
        counts = f"{stage.done:,} of {stage.total:,} {self.unit}"
        if stage.total:
            counts += f" ({100 * stage.done // stage.total}%)"
        if stage.finished_at is not None:
            if heartbeat:  # between stages: the next has not reported yet
                since = _duration(now - stage.finished_at)
                return f"{stage.name} done; the next step running for {since}"
            took = _duration(stage.finished_at - stage.started)
            return (
                f"{stage.name}: done in {took}"
                if one_step
                else f"{stage.name}: {counts}, done in {took}"
            )
        elapsed = now - stage.started
        if one_step:
            return f"{stage.name}: working for {_duration(elapsed)}"
        line = f"{stage.name}: {counts}"
        if stage.done and elapsed > 0:
            rate = stage.done / elapsed
            left = (stage.total - stage.done) / rate
            line += f", {rate:,.0f}/s, about {_duration(left)} left"
        elif elapsed >= self.every_s:
            line += f", working for {_duration(elapsed)}"
        return line
