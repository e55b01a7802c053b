"""A new user's first start, timed: a fresh clone, the README's `bash scripts/run`, and when
each thing a person waits for becomes true.

  answers     /healthz answers (the server is up)
  search      /search?q=... answers 200 with results (keyword search works)
  semantic    /healthz says semantic search is on (the demo papers are embedded)
  restart     a second `scripts/run` on the same clone and data answers /healthz

It also reads the indexer's log (`<data dir>/index.log`) and reports the longest silence
between two of its lines, which the README promises stays under 10 s.

Usage: python bench/first_run.py [--repo DIR] [--keep]
(DIR defaults to this checkout; its committed HEAD is cloned, as a new user would get it.)
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
LIMIT_S = 900.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Run:
    """`bash scripts/run` in `clone`, its output kept with the time each line arrived."""

    def __init__(self, clone: Path, data: Path, port: int) -> None:
        env = {key: value for key, value in os.environ.items() if not key.startswith("PAPERSCOPE_")}
        env |= {"PAPERSCOPE_DATA_DIR": str(data), "PAPERSCOPE_PORT": str(port)}
        env.pop("VIRTUAL_ENV", None)
        env.pop("PYTHONPATH", None)
        self.started = time.monotonic()
        self.lines: list[tuple[float, str]] = []
        self.process = subprocess.Popen(
            ["bash", "scripts/run"],
            cwd=clone,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        self.base = f"http://127.0.0.1:{port}"

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append((time.monotonic() - self.started, line.rstrip()))

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def wait_until(self, check) -> float:
        while self.elapsed() < LIMIT_S:
            if self.process.poll() is not None:
                tail = "\n".join(line for _, line in self.lines[-20:])
                raise SystemExit(f"scripts/run ended with {self.process.returncode}:\n{tail}")
            try:
                if check():
                    return self.elapsed()
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise SystemExit(f"gave up after {LIMIT_S:.0f} s")

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _health(base: str) -> dict:
    return httpx.get(f"{base}/healthz", timeout=5).json()


def _searches(base: str) -> bool:
    answer = httpx.get(f"{base}/search", params={"q": "video segmentation"}, timeout=30)
    return answer.status_code == 200 and 'li class="paper' in answer.text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=ROOT)
    parser.add_argument("--keep", action="store_true", help="keep the clone and its data")
    args = parser.parse_args()
    out = Console()
    work = Path(tempfile.mkdtemp(prefix="paperscope-first-run-"))
    clone, data = work / "clone", work / "data"
    subprocess.run(["git", "clone", "--quiet", str(args.repo), str(clone)], check=True)
    port = _free_port()
    rows: list[tuple[str, str]] = []
    run = Run(clone, data, port)
    log = data / "index.log"
    log_lines: list[tuple[float, int]] = []  # (seconds since start, lines in the log)

    def watch_log() -> None:
        while run.process.poll() is None:
            if log.exists():
                count = len(log.read_text(errors="replace").splitlines())
                if not log_lines or log_lines[-1][1] != count:
                    log_lines.append((run.elapsed(), count))
            time.sleep(0.5)

    threading.Thread(target=watch_log, daemon=True).start()

    def log_rows() -> None:
        changes = [t for t, _ in log_lines]
        gaps = [b - a for a, b in itertools.pairwise(changes)]
        if changes:
            rows.append(("index.log: first line", f"{changes[0]:.0f} s"))
            rows.append(("index.log: longest silence", f"{max(gaps, default=0):.0f} s"))
        else:
            rows.append(("index.log: first line", "none"))

    try:
        try:
            up = run.wait_until(lambda: _health(run.base))
            rows.append(("server answers /healthz", f"{up:.0f} s"))
            found = run.wait_until(lambda: _searches(run.base))
            rows.append(("keyword search answers", f"{found:.0f} s"))
            semantic = run.wait_until(lambda: _health(run.base).get("semantic"))
            rows.append(("semantic search on", f"{semantic:.0f} s"))
        finally:
            log_rows()
            run.stop()
        again = Run(clone, data, port)
        try:
            back = again.wait_until(lambda: _health(again.base))
            rows.append(("restart answers /healthz", f"{back:.0f} s"))
        finally:
            again.stop()
    finally:  # what was measured is shown even when a step gave up
        table = Table(title=f"a fresh clone's `bash scripts/run` ({os.cpu_count()} cores)")
        table.add_column("moment")
        table.add_column("since start", justify="right")
        for row in rows:
            table.add_row(*row)
        out.print(table)
    if args.keep:
        out.print(f"kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
