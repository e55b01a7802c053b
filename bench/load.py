"""Web server under load: `paperscope serve` on a real store, driven by wrk.

    PAPERSCOPE_DATA_DIR=DIR python bench/load.py [--mix browse|search] [--connections 50]
        [--duration 30] [--threads 1] [--workers N] [--unique-share 0.3] [--per-kind]

DIR must hold an ingested and indexed corpus (`paperscope ingest ...; paperscope index`).
The benchmark starts the server itself (`paperscope serve --workers N`, N = cores by
default), waits for /healthz, and stops it at the end. wrk (`apt-get install wrk`) keeps
--connections keep-alive connections busy, with no pause between requests, and
bench/load.lua replays a long list of requests shaped like readers' traffic:
  daily        /, /?date=D      the last 14 days' lists, the newest (the front page) most
  paper        /papers/ID       papers of those days, a few popular ones far more (Zipf)
  search       /search?q=...    3-6 words of a title: --unique-share of them asked once
  api search   /api/papers/...  and never again, the rest from --popular-queries (Zipf)
in the shares of --mix: "browse" (daily 30%, paper 40%, search 20%, api 10%: how a papers
site is used) or "search" (search 40%, paper 30%, daily 20%, api 10%: the costliest).
Runs, each on its own: an unmeasured --warmup (10 s) on another stretch of the same
traffic, so caches hold what a running site's would and one-off queries stay one-off; the
baseline, the same wrk load on GET /healthz (the floor of this machine, server and
connection count: ratios against it compare across machines where times do not); the mix;
with --per-kind one run per kind; and, unless --no-cache-off, the mix against a second
server with its page cache off (what the server itself can do).
With --servers N, the mix also runs against N servers on the same database at once (each with
--workers processes and its own data directory, as app servers on separate hosts behind a
balancer), wrk's connections shared out evenly; req/s add up, latency is the worst server's.
Measured: requests, req/s, latency p50/p90/p99 (wrk --latency: queueing inside the server
included), errors (socket errors and every response that is not 2xx) and the share answered
from the page cache (X-Cache: hit). The target is zero errors and p99 <= 200 ms for the mix;
the exit code is 1 when the mix had errors (only the verdict line judges latency).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
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
# Shares of each kind of request. "browse" is how a papers site is used (the daily list is
# the front door, most clicks open a paper); "search" stresses the costliest requests.
MIXES = {
    "browse": {"search": 0.2, "paper": 0.4, "daily": 0.3, "api search": 0.1},
    "search": {"search": 0.4, "paper": 0.3, "daily": 0.2, "api search": 0.1},
}
RECENT_DAYS = 14  # readers look at the last two weeks' lists and papers
TARGET_P99_MS = 200.0
CACHE_OFF = "mix, page cache off"
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
    hits: int = 0  # answered from the server's page cache (X-Cache: hit)

    @property
    def bad_statuses(self) -> dict[int, int]:
        return {s: n for s, n in sorted(self.statuses.items()) if not 200 <= s < 300}

    @property
    def errors(self) -> int:
        return sum(self.socket_errors.values()) + sum(self.bad_statuses.values())


class Zipf:
    """Draws items, the first ones far more often (rank r has weight 1 / r**s)."""

    def __init__(self, items: list, s: float = 1.0) -> None:
        self.items = items
        self.cum_weights = list(itertools.accumulate(1.0 / r**s for r in range(1, len(items) + 1)))

    def __call__(self, rng: random.Random):
        return rng.choices(self.items, cum_weights=self.cum_weights)[0]


def make_traffic(
    settings: Settings, length: int, popular_queries: int, unique_share: float, seed: int = 0
) -> tuple[dict[str, list[str]], int]:
    """A sequence of `length` requests of each kind, drawn the way readers use the site:
    recent days' lists, popular recent papers, popular queries and one-off ones."""
    store = open_store(settings)
    with store.engine.connect() as connection:
        rows = connection.execute(select(Paper.id, Paper.title, Paper.published)).all()
    store.engine.dispose()
    if not rows:
        raise SystemExit(f"no papers in {settings.data_dir}: run `paperscope ingest` first")
    rng = random.Random(seed)
    days = sorted({published.date() for _, _, published in rows if published}, reverse=True)
    recent_days = set(days[:RECENT_DAYS])
    recent = [row for row in rows if row.published and row.published.date() in recent_days]
    rng.shuffle(recent)  # a random popularity order

    def query() -> str:
        # Field and phrase syntax (`ti:`, quotes) is not what someone pasting a title means.
        words = re.sub(r'[:"()]', " ", rng.choice(rows).title).split()
        return " ".join(words[: rng.randint(3, 6)])

    popular = Zipf([query() for _ in range(popular_queries)])
    popular_paper = Zipf(recent)
    popular_day = Zipf([None, *days[:RECENT_DAYS]])

    def some_query() -> str:
        return query() if rng.random() < unique_share else popular(rng)

    def daily() -> str:
        day = popular_day(rng)
        return "/" if day is None else f"/?date={day.isoformat()}"

    makers = {
        "search": lambda: "/search?" + urlencode({"q": some_query()}),
        "paper": lambda: "/papers/" + quote(popular_paper(rng).id, safe="/."),
        "daily": daily,
        "api search": lambda: "/api/papers/search?" + urlencode({"q": some_query(), "limit": 10}),
    }
    return {kind: [make() for _ in range(length)] for kind, make in makers.items()}, len(rows)


def mix_of(
    by_kind: dict[str, list[str]], shares: dict[str, float], length: int, seed: int = 1
) -> list[str]:
    rng = random.Random(seed)
    streams = {kind: iter(paths) for kind, paths in by_kind.items()}
    kinds = rng.choices(list(shares), weights=list(shares.values()), k=length)
    return [next(streams[kind]) for kind in kinds]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def running_server(
    port: int, workers: int | None, log: Path, cache: bool = True, data_dir: Path | None = None
):
    """`paperscope serve` in its own process group, stopped (workers too) however we leave.
    `data_dir`: a data directory of its own (an app server on another host)."""
    executable = Path(sys.executable).with_name("paperscope")
    command = [str(executable), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers:
        command += ["--workers", str(workers)]
    env = dict(os.environ) | ({} if cache else {"PAPERSCOPE_PAGE_CACHE_S": "0"})
    if data_dir is not None:
        env["PAPERSCOPE_DATA_DIR"] = str(data_dir)
    with log.open("wb") as output:
        server = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True, env=env
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
                health = json.load(response)
        except (urllib.error.URLError, OSError, ValueError):
            time.sleep(0.25)
            continue
        if not health.get("semantic"):
            raise SystemExit(
                "the server searches by keywords only (no embedding model in the models dir,"
                " or no vectors: run `paperscope models install` and `paperscope index`):"
                " the benchmark would not measure semantic search"
            )
        return
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


def run_wrk(
    base_url: str,
    paths_file: Path,
    args: argparse.Namespace,
    duration: int,
    connections: int | None = None,
) -> WrkResult:
    done = subprocess.run(
        _wrk_command(base_url, paths_file, args, duration, connections),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return parse_wrk(done.stdout)


def run_wrk_on_each(
    base_urls: list[str], paths_file: Path, args: argparse.Namespace, duration: int
) -> WrkResult:
    """One wrk per server at once, the connections shared out (a balancer's even spread):
    requests, errors and rates add up; each latency percentile is the worst server's."""
    share = max(args.threads, args.connections // len(base_urls))
    runs = [
        subprocess.Popen(
            _wrk_command(url, paths_file, args, duration, share),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for url in base_urls
    ]
    results = []
    for run in runs:
        stdout, stderr = run.communicate()
        if run.returncode != 0:
            raise SystemExit(f"wrk failed ({run.returncode}):\n{stdout}\n{stderr}")
        results.append(parse_wrk(stdout))
    total = WrkResult(
        requests=sum(r.requests for r in results),
        requests_per_s=sum(r.requests_per_s for r in results),
        latency_ms={
            q: max(r.latency_ms[q] for r in results)
            for q in results[0].latency_ms
            if all(q in r.latency_ms for r in results)
        },
        socket_errors={},
        hits=sum(r.hits for r in results),
    )
    for r in results:
        for kind, n in r.socket_errors.items():
            total.socket_errors[kind] = total.socket_errors.get(kind, 0) + n
        for status, n in r.statuses.items():
            total.statuses[status] = total.statuses.get(status, 0) + n
    return total


def _wrk_command(
    base_url: str,
    paths_file: Path,
    args: argparse.Namespace,
    duration: int,
    connections: int | None,
) -> list[str]:
    return [
        "wrk",
        "--latency",
        f"--threads={args.threads}",
        f"--connections={connections or args.connections}",
        f"--duration={duration}s",
        f"--timeout={args.timeout}s",
        f"--script={SCRIPT}",
        base_url,
        "--",
        str(paths_file),
        str(args.threads),
    ]


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
    hits = re.search(r"^cache hits (\d+)$", output, re.M)
    if int(requests[1]) and not statuses:
        raise SystemExit(f"{SCRIPT.name} counted no responses: is it the script wrk ran?\n{output}")
    return WrkResult(
        int(requests[1]),
        float(rate[1]),
        latency,
        socket_errors,
        statuses,
        int(hits[1]) if hits else 0,
    )


def ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def ratio(value: float | None, floor: float | None) -> str:
    return f"{value / floor:.1f}x" if value and floor else "-"


def run_servers(
    settings: Settings, args: argparse.Namespace, files: dict[str, Path], tmp: str, name: str
) -> WrkResult:
    """The mix against --servers servers sharing the store's database, each with a data
    directory of its own holding a copy of the node's indexes (what `paperscope serve` on
    another host would have built for itself)."""
    os.environ["PAPERSCOPE_DATABASE_URL"] = settings.effective_database_url
    os.environ["PAPERSCOPE_MODELS_DIR"] = str(settings.models_dir)
    with contextlib.ExitStack() as stack:
        urls = []
        for number in range(args.servers):
            data_dir = Path(tmp, f"server-{number}")
            shutil.copytree(settings.index_dir, data_dir / "index")
            server_port = free_port()
            log = Path(tmp, f"server-{number}.log")
            stack.enter_context(running_server(server_port, args.workers, log, data_dir=data_dir))
            urls.append(f"http://127.0.0.1:{server_port}")
        run_wrk_on_each(urls, files["warmup"], args, args.warmup or 3)
        return run_wrk_on_each(urls, files[name], args, args.duration)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--duration", type=int, default=30, help="seconds of the mix run")
    # One wrk thread drives 50 connections here; a second one takes CPU from the server.
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count(), help="server processes (default: cores)"
    )
    parser.add_argument("--port", type=int, default=None, help="default: a free port")
    parser.add_argument("--mix", choices=sorted(MIXES), default="browse")
    parser.add_argument("--popular-queries", type=int, default=300)
    parser.add_argument(
        "--unique-share", type=float, default=0.3, help="searches asked once, never again"
    )
    parser.add_argument("--timeout", type=int, default=5, help="wrk's per-request timeout, s")
    parser.add_argument("--warmup", type=int, default=10, help="unmeasured seconds of traffic")
    parser.add_argument(
        "--no-cache-off",
        dest="cache_off",
        action="store_false",
        help="skip the extra run against a server with its page cache off",
    )
    parser.add_argument("--per-kind", action="store_true", help="also one run per URL kind")
    parser.add_argument(
        "--servers",
        type=int,
        default=1,
        help="also run the mix against this many servers on the same database at once (each "
        "with --workers processes and a data directory of its own, as on separate hosts), "
        "the connections shared out among them",
    )
    args = parser.parse_args()
    # A killed benchmark (a CI timeout, say) still stops its server: SystemExit runs the finally.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    if args.connections < args.threads:
        raise SystemExit("--connections must be at least --threads (wrk's rule)")
    port = args.port or free_port()
    if port_in_use(port):
        raise SystemExit(f"port {port} is taken: something else would answer the benchmark")

    settings = Settings()
    # Long enough that no request comes round twice by wrap-around (about 2,000 req/s max);
    # the warm-up replays another stretch of the same traffic, so one-off queries stay one-off.
    length = 2_000 * (args.duration + args.warmup + 10)
    by_kind, papers = make_traffic(settings, 2 * length, args.popular_queries, args.unique_share)
    traffic = mix_of(by_kind, MIXES[args.mix], 2 * length)
    warmup, mix = traffic[length:], traffic[:length]
    short = min(args.duration, 10)
    scenarios = [
        Scenario("baseline /healthz", ["/healthz"], short),
        Scenario("mix", mix, args.duration),
    ]
    many = f"mix, {args.servers} servers on one database"
    if args.servers > 1:
        scenarios.append(Scenario(many, mix, args.duration))
    if args.per_kind:
        scenarios += [Scenario(kind, paths[:length], short) for kind, paths in by_kind.items()]
    if args.cache_off:
        scenarios.append(Scenario(CACHE_OFF, mix, short))

    console = Console(width=max(Console().width, 100))  # the table is 100 wide, piped too
    results: dict[str, WrkResult] = {}
    with tempfile.TemporaryDirectory(prefix="paperscope-load-") as tmp:
        files = {"warmup": Path(tmp, "warmup.txt")}
        files["warmup"].write_text("\n".join(warmup) + "\n")
        for number, scenario in enumerate(scenarios):
            files[scenario.name] = Path(tmp, f"paths-{number}.txt")
            files[scenario.name].write_text("\n".join(scenario.paths) + "\n")
        base_url = f"http://127.0.0.1:{port}"
        log = Path(tmp, "server.log")
        with running_server(port, args.workers, log) as server:
            console.print(f"server pid {server.pid} on {base_url}, {papers:,} papers")
            if args.warmup:
                # Caches hold what a running site's would, and every worker has started.
                console.print(f"wrk: warm-up, {args.warmup}s (not measured) ...")
                run_wrk(base_url, files["warmup"], args, args.warmup)
            for scenario in scenarios:
                if scenario.name in (CACHE_OFF, many):
                    continue
                console.print(f"wrk: {scenario.name}, {scenario.duration}s ...")
                results[scenario.name] = run_wrk(
                    base_url, files[scenario.name], args, scenario.duration
                )
            server_log = tail(log)
        if args.servers > 1:
            console.print(f"wrk: {many}, {args.duration}s ({args.servers} servers) ...")
            results[many] = run_servers(settings, args, files, tmp, many)
        if args.cache_off:
            with running_server(port, args.workers, log, cache=False):
                console.print(f"wrk: {CACHE_OFF}, {short}s (a second server, page cache off) ...")
                run_wrk(base_url, files["warmup"], args, 3)
                results[CACHE_OFF] = run_wrk(base_url, files[CACHE_OFF], args, short)

    floor = results[scenarios[0].name].latency_ms
    table = Table(
        title=f"paperscope serve under wrk, {papers:,} papers (latency in ms)",
        caption=(
            f"{args.connections} connections, {args.threads} wrk threads,"
            f" {args.workers or 'default'} server workers, {os.cpu_count()} cores"
        ),
        box=box.SIMPLE_HEAD,
    )
    columns = ["scenario", "URLs", "requests", "req/s", "p50", "p90", "p99", "errors", "cached"]
    for column in [*columns, "p50/base", "p99/base"]:
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for scenario in scenarios:
        result = results[scenario.name]
        latency = result.latency_ms
        table.add_row(
            scenario.name,
            f"{len(set(scenario.paths)):,}",
            f"{result.requests:,}",
            f"{result.requests_per_s:,.0f}",
            ms(latency.get(50)),
            ms(latency.get(90)),
            ms(latency.get(99)),
            str(result.errors),
            f"{result.hits / result.requests:.0%}" if result.requests else "-",
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
    try:
        main()
    except KeyboardInterrupt:  # the server is already stopped by then
        sys.exit(130)
