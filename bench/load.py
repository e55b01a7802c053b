"""Web server under load: `paperscope serve` on a real store, driven by wrk.

    PAPERSCOPE_DATA_DIR=DIR python bench/load.py [--connections 50] [--duration 30]
        [--threads 2] [--workers N] [--port P] [--per-kind]

DIR must hold an ingested and indexed corpus (`paperscope ingest ...; paperscope index`).
The benchmark starts the server itself (`paperscope serve`, with --workers if given), waits
for /healthz, and stops it at the end. wrk (`apt-get install wrk`) then keeps --connections
keep-alive connections busy for --duration seconds and bench/load.lua replays a mix of a few
hundred distinct URLs built from the store's own papers, in the shares people use the site:
  40% /search?q=...              the first 3-6 words of a random title (hybrid search page)
  30% /papers/<id>               a random paper's page, similar papers included
  20% /?date=YYYY-MM-DD          the daily listing of a random day that has papers
  10% /api/papers/search?q=...   the JSON search API, limit=10
Measured: requests, requests per second, latency p50/p90/p99 (wrk --latency, which counts
from the first byte written to the last one read, so queueing inside the server is included)
and errors: socket errors (connect, read, write, timeout) plus every response that is not 2xx.
The baseline in the same run is the same wrk load on GET /healthz, the cheapest request the
server answers: its latency is the floor of this machine, server and connection count, so the
table's ratios against it compare across machines where absolute times do not.
--per-kind adds one shorter run per URL kind, to show which one pulls the mix down.
The target is zero errors and p99 <= 200 ms for the mix; the exit code is 1 when the mix had
errors (latency depends on the machine, so only the verdict line judges it).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

from rich import box
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from paperscope.settings import Settings
from paperscope.store import open_store
from paperscope.store.models import Paper

SCRIPT = Path(__file__).with_name("load.lua")
SHARES = {"search": 0.4, "paper": 0.3, "daily": 0.2, "api search": 0.1}
TARGET_P99_MS = 200.0
STARTUP_TIMEOUT_S = 60.0


@dataclass
class Scenario:
    name: str
    paths: list[str]
    duration: int


@dataclass
class WrkResult:
    requests: int
    requests_per_s: float
    latency_ms: dict[int, float]  # percentile -> milliseconds
    socket_errors: dict[str, int]
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def bad_statuses(self) -> dict[int, int]:
        return {s: n for s, n in sorted(self.statuses.items()) if not 200 <= s < 300}

    @property
    def errors(self) -> int:
        return sum(self.socket_errors.values()) + sum(self.bad_statuses.values())


def make_paths(settings: Settings, count: int, seed: int = 0) -> tuple[dict[str, list[str]], int]:
    """Distinct URLs of each kind, in SHARES proportions, from the store's papers."""
    store = open_store(settings)
    with store.engine.connect() as connection:
        rows = connection.execute(select(Paper.id, Paper.title, Paper.published)).all()
    store.engine.dispose()
    if not rows:
        raise SystemExit(f"no papers in {settings.data_dir}: run `paperscope ingest` first")
    rng = random.Random(seed)
    days = sorted({published.date() for _, _, published in rows if published})

    def query() -> str:
        # Field and phrase syntax (`ti:`, quotes) is not what someone pasting a title means.
        words = re.sub(r'[:"()]', " ", rng.choice(rows).title).split()
        return " ".join(words[: rng.randint(3, 6)])

    makers = {
        "search": lambda: "/search?" + urlencode({"q": query()}),
        "paper": lambda: "/papers/" + quote(rng.choice(rows).id, safe="/."),
        "daily": lambda: f"/?date={rng.choice(days).isoformat()}",
        "api search": lambda: "/api/papers/search?" + urlencode({"q": query(), "limit": 10}),
    }
    paths = {}
    for kind, share in SHARES.items():
        wanted = set()
        for _ in range(100 * count):  # bounded: a small store has fewer distinct days
            if len(wanted) >= round(share * count):
                break
            wanted.add(makers[kind]())
        paths[kind] = sorted(wanted)
    return paths, len(rows)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def running_server(port: int, workers: int | None, log: Path):
    """`paperscope serve` in its own process group, stopped (workers too) however we leave."""
    executable = Path(sys.executable).with_name("paperscope")
    command = [str(executable), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers:
        command += ["--workers", str(workers)]
    with log.open("wb") as output:
        server = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_healthy(server, f"http://127.0.0.1:{port}/healthz", log)
        yield server
    finally:
        stop(server)


def wait_healthy(server: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(
                f"the server exited with code {server.returncode} before answering {url}:\n"
                + tail(log)
            )
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    raise SystemExit(
        f"the server did not answer {url} within {STARTUP_TIMEOUT_S:.0f}s:\n" + tail(log)
    )


def tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) or "(no output)"


def stop(server: subprocess.Popen) -> None:
    for sig, grace in ((signal.SIGTERM, 20), (signal.SIGKILL, 5)):
        if server.poll() is not None:
            break
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            break
        try:
            server.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue


def run_wrk(base_url: str, paths_file: Path, args: argparse.Namespace, duration: int) -> WrkResult:
    command = [
        "wrk",
        "--latency",
        f"--threads={args.threads}",
        f"--connections={args.connections}",
        f"--duration={duration}s",
        f"--timeout={args.timeout}s",
        f"--script={SCRIPT}",
        base_url,
        "--",
        str(paths_file),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return parse_wrk(done.stdout)


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def parse_wrk(output: str) -> WrkResult:
    requests = re.search(r"^\s*(\d+) requests in", output, re.M)
    rate = re.search(r"^Requests/sec:\s*([\d.]+)", output, re.M)
    if not requests or not rate:
        raise SystemExit(f"could not read wrk's output:\n{output}")
    latency = {
        int(p): float(value) * _UNITS_MS[unit]
        for p, value, unit in re.findall(r"^\s*(\d+)%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.M)
    }
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    socket_errors = dict(
        zip(("connect", "read", "write", "timeout"), map(int, sockets.groups()), strict=True)
        if sockets
        else {}
    )
    statuses = {int(s): int(n) for s, n in re.findall(r"^status (\d+) (\d+)$", output, re.M)}
    if int(requests[1]) and not statuses:
        raise SystemExit(f"{SCRIPT.name} counted no responses: is it the script wrk ran?\n{output}")
    return WrkResult(int(requests[1]), float(rate[1]), latency, socket_errors, statuses)


def ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def ratio(value: float | None, floor: float | None) -> str:
    return f"{value / floor:.1f}x" if value and floor else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--duration", type=int, default=30, help="seconds of the mix run")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=None, help="server processes")
    parser.add_argument("--port", type=int, default=None, help="default: a free port")
    parser.add_argument("--urls", type=int, default=400, help="distinct URLs in the mix")
    parser.add_argument("--timeout", type=int, default=5, help="wrk's per-request timeout, s")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured seconds of the mix")
    parser.add_argument("--per-kind", action="store_true", help="also one run per URL kind")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    if args.connections < args.threads:
        raise SystemExit("--connections must be at least --threads (wrk's rule)")
    port = args.port or free_port()
    if port_in_use(port):
        raise SystemExit(f"port {port} is taken: something else would answer the benchmark")

    settings = Settings()
    by_kind, papers = make_paths(settings, args.urls)
    mix = [path for paths in by_kind.values() for path in paths]
    random.Random(1).shuffle(mix)
    short = min(args.duration, 10)
    scenarios = [
        Scenario("baseline /healthz", ["/healthz"], short),
        Scenario("mix", mix, args.duration),
    ]
    if args.per_kind:
        scenarios += [Scenario(kind, paths, short) for kind, paths in by_kind.items()]

    console = Console()
    results: dict[str, WrkResult] = {}
    with tempfile.TemporaryDirectory(prefix="paperscope-load-") as tmp:
        files = {}
        for number, scenario in enumerate(scenarios):
            files[scenario.name] = Path(tmp, f"paths-{number}.txt")
            files[scenario.name].write_text("\n".join(scenario.paths) + "\n")
        base_url = f"http://127.0.0.1:{port}"
        with running_server(port, args.workers, Path(tmp, "server.log")) as server:
            console.print(f"server pid {server.pid} on {base_url}, {papers:,} papers")
            if args.warmup:
                # Caches warm, and with --workers the later workers finish starting up.
                run_wrk(base_url, files["mix"], args, args.warmup)
            for scenario in scenarios:
                console.print(f"wrk: {scenario.name}, {scenario.duration}s ...")
                results[scenario.name] = run_wrk(
                    base_url, files[scenario.name], args, scenario.duration
                )
            server_log = tail(Path(tmp, "server.log"))

    floor = results[scenarios[0].name].latency_ms
    table = Table(
        title=f"paperscope serve under wrk, {papers:,} papers (latency in ms)",
        caption=(
            f"{args.connections} connections, {args.threads} wrk threads,"
            f" {args.workers or 'default'} server workers, {os.cpu_count()} cores"
        ),
        box=box.SIMPLE_HEAD,
    )
    columns = ["scenario", "URLs", "requests", "req/s", "p50", "p90", "p99", "errors"]
    for column in [*columns, "p50/base", "p99/base"]:
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for scenario in scenarios:
        result = results[scenario.name]
        latency = result.latency_ms
        table.add_row(
            scenario.name,
            str(len(scenario.paths)),
            f"{result.requests:,}",
            f"{result.requests_per_s:,.0f}",
            ms(latency.get(50)),
            ms(latency.get(90)),
            ms(latency.get(99)),
            str(result.errors),
            ratio(latency.get(50), floor.get(50)),
            ratio(latency.get(99), floor.get(99)),
        )
    console.print(table)
    for scenario in scenarios:
        result = results[scenario.name]
        if result.errors:
            sockets = ", ".join(f"{k} {n}" for k, n in result.socket_errors.items() if n)
            statuses = ", ".join(f"HTTP {s}: {n}" for s, n in result.bad_statuses.items())
            console.print(
                f"{scenario.name} errors: " + "; ".join(filter(None, [sockets, statuses]))
            )
    if any(result.bad_statuses for result in results.values()):
        console.print("server output (last lines):\n" + server_log)

    mix_result = results["mix"]
    p99 = mix_result.latency_ms.get(99)
    fast = p99 is not None and p99 <= TARGET_P99_MS
    verdict = "PASS" if fast and not mix_result.errors else "FAIL"
    console.print(
        f"verdict: {verdict} against zero errors and p99 <= {TARGET_P99_MS:.0f} ms:"
        f" mix had {mix_result.errors} errors and p99 {ms(p99)} ms"
    )
    sys.exit(1 if mix_result.errors else 0)


if __name__ == "__main__":
    main()
