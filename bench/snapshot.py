"""A new app server's time to its first keyword search answer, with and without a published
keyword index snapshot (`lexical_snapshot_dir`).

One indexer host ingests the corpus less its newest `--late` papers (the ingest's indexer
run publishes the snapshot), then the late papers (indexed, not published: they are what a
new server must catch up on). Then, interleaved, `paperscope serve` on a fresh data
directory of its own, on the same database: once without a snapshot directory (it indexes
every paper before it answers) and once with one (it copies the snapshot and indexes only
the late papers), then that second server again (its own index: start-up's floor). Each
is timed from its start to the first 200 of a lexical
/api/papers/search with results; the answers of both are compared for a few queries.

Keyword search only (no embedding model), as the timing is the keyword index's.

Usage: python bench/snapshot.py [--corpus FILE] [--database-url URL] [--late N] [--rounds N]
(no --database-url: an embedded PostgreSQL in the work folder, as the test suite starts).
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "data" / "arxiv-cs-ai" / "papers.jsonl.gz"
QUERIES = ("diffusion model video generation", "large language model agents", "graph neural")
LIMIT_S = 1800.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(data: Path, database_url: str, models: Path, shared: Path | None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERSCOPE_")}
    env |= {
        "PAPERSCOPE_DATA_DIR": str(data),
        "PAPERSCOPE_DATABASE_URL": database_url,
        "PAPERSCOPE_MODELS_DIR": str(models),  # empty: keyword search only
        "PAPERSCOPE_ACCESS_LOG": "false",
        "PYTHONPATH": str(ROOT / "src"),
    }
    if shared is not None:
        env["PAPERSCOPE_LEXICAL_SNAPSHOT_DIR"] = str(shared)
    return env


def _cli(env: dict, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "paperscope", *args], env=env, check=True)
    return time.perf_counter() - started


def _first_answer(env: dict) -> tuple[float, dict, dict[str, list[str]], str]:
    """Start a server; seconds to its first search answer, its /healthz, its answers to
    QUERIES, and its log."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    command = [sys.executable, "-m", "paperscope", "serve", "--port", str(port)]
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        while True:
            if server.poll() is not None:
                raise RuntimeError(server.stdout.read().decode())  # type: ignore[union-attr]
            try:
                found = httpx.get(
                    f"{url}/api/papers/search",
                    params={"q": QUERIES[0], "mode": "lexical"},
                    timeout=5,
                )
                if found.status_code == 200 and found.json():
                    break
            except httpx.TransportError:
                pass
            if time.perf_counter() - started > LIMIT_S:
                raise RuntimeError("no answer within the limit")
            time.sleep(0.1)
        took = time.perf_counter() - started
        health = httpx.get(f"{url}/healthz", timeout=10).json()
        answers = {
            q: [
                item["paper"]["id"]
                for item in httpx.get(
                    f"{url}/api/papers/search",
                    params={"q": q, "mode": "lexical", "limit": 20},
                    timeout=30,
                ).json()
            ]
            for q in QUERIES
        }
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        log = server.communicate(timeout=60)[0].decode()
    return took, health, answers, log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--late", type=int, default=500, help="papers stored after the snapshot")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    console = Console()

    work = Path(tempfile.mkdtemp(prefix="paperscope-bench-snapshot-"))
    pgdata = work / "pgdata"
    database_url = args.database_url
    if database_url is None:
        sys.path.insert(0, str(ROOT))
        from tests import postgres_server

        database_url = postgres_server.start(pgdata)
    try:
        models, shared = work / "no-models", work / "shared-snapshots"
        models.mkdir()
        with gzip.open(args.corpus, "rt") as lines:
            papers = list(lines)
        first, late = work / "first.jsonl", work / "late.jsonl"
        first.write_text("".join(papers[: len(papers) - args.late]))
        late.write_text("".join(papers[len(papers) - args.late :]))
        indexer = _env(work / "indexer-host", database_url, models, shared)
        _cli(indexer, "migrate")
        ingest_s = _cli(indexer, "ingest", str(first))  # indexes, then publishes
        published = [p for p in shared.iterdir() if p.name.startswith("lexical-")]
        size = sum(f.stat().st_size for f in published[0].iterdir())
        _cli(indexer, "ingest", str(late))  # indexed on the indexer's host, not published
        console.print(
            f"{len(papers):,} papers; ingest + index + publish {ingest_s:.0f} s; "
            f"snapshot {size / 1e6:.0f} MB; {args.late:,} papers stored after it"
        )

        rows, answers = [], {}
        hosts = itertools.count()
        for _ in range(args.rounds):
            data = work / f"server-{next(hosts)}"
            for label, snapshots in (
                ("built from the store", None),
                ("from the snapshot", shared),
                ("its own (a restart: the floor)", shared),
            ):
                if label != "its own (a restart: the floor)":
                    shutil.rmtree(data, ignore_errors=True)
                env = _env(data, database_url, models, snapshots)
                took, health, found, log = _first_answer(env)
                rows.append((label, took, health["keyword_index"]))
                answers.setdefault(label, found)
                if label == "from the snapshot":
                    restored = [line for line in log.splitlines() if "keyword index" in line]
                    console.print("\n".join(restored))

        table = Table(title="New app server (PostgreSQL): time to its first keyword search answer")
        for column in ("keyword index", "first answer (s)", "/healthz keyword_index"):
            table.add_column(column)
        for label, took, origin in rows:
            table.add_row(label, f"{took:.1f}", str(origin))
        console.print(table)
        same = answers["built from the store"] == answers["from the snapshot"]
        console.print(f"same top-20 answers for {len(QUERIES)} queries: {same}")
    finally:
        if args.database_url is None:
            from tests import postgres_server

            postgres_server.stop(pgdata, remove=True)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
