"""Digests at scale: 10,000 subscribers over a real corpus, composed and delivered to an SMTP
server (aiosmtpd) on 127.0.0.1 by `paperscope digest send`, as cron would run it.

    PAPERSCOPE_DATA_DIR=DIR python bench/digest.py [--subscribers 10000] [--senders 1 2 3]
        [--voters 2000] [--date YYYY-MM-DD]

DIR holds an ingested and indexed store (SQLite); the benchmark works on a copy of its
database (DIR is never written) with the keyword index read from DIR. It adds --voters
synthetic members who upvote the week's papers (a few popular ones far more: Zipf), then
--subscribers subscribers, each following one or two of the corpus's categories and one
search made of a title word, a third of them members with upvotes of their own ("for you").
Each row of the table sends the week's digest afresh (the outbox emptied) with that many
`digest send` processes at once (the baseline is one: overlapping runs share the outbox, so
more of them use more cores, and one computes while another waits for the server); it
reports digests/s, the messages the server received, duplicates (two for one subscriber:
must be 0) and the target, all 10,000 in 60 s. The SMTP server runs in this process and
needs CPU too (aiosmtpd: about 2 ms a message here).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

from aiosmtpd.controller import Controller
from rich.console import Console
from rich.table import Table

from paperscope.settings import Settings
from paperscope.store import open_store

TARGET_S = 60.0


class CountingInbox:
    """Accepts everything, keeps only who got what (a real server's cost, not a parser's)."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.received[rcpt] += 1
        return "250 OK"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(source: Path, work: Path, subscribers: int, voters: int, day: date) -> Settings:
    work.mkdir(parents=True, exist_ok=True)
    shutil.copy(source / "paperscope.db", work / "paperscope.db")
    (work / "index").mkdir(exist_ok=True)
    if not (work / "index" / "tantivy-v2").exists():
        os.symlink(source / "index" / "tantivy-v2", work / "index" / "tantivy-v2")
    settings = Settings(data_dir=work, public_url="https://papers.example.org")
    store = open_store(settings)
    rng = random.Random(5)
    newest = store.papers.newest_published()
    end = datetime.combine(day, datetime.min.time())
    start = end - timedelta(days=7)
    week, _ = store.rankings.published(min(start, newest - timedelta(days=7)), end, limit=5000)
    papers = [paper for paper, _ in week] or [next(store.papers.iter_all())]
    categories = Counter(c for p in papers for c in p.categories).most_common(12)
    words = sorted(
        {w.lower() for p in papers for w in p.title.split() if len(w) > 7 and w.isalpha()}
    )
    now = datetime(2026, 1, 1)
    members = []
    with console.status(f"{voters:,} voters upvote the week's {len(papers):,} papers"):
        for n in range(voters):
            member, _ = store.accounts.ensure(f"voter{n}@example.org", now)
            members.append(member)
            picks = {min(len(papers) - 1, int(rng.paretovariate(1.2)) - 1) for _ in range(5)}
            for index in picks:
                store.votes.add(papers[index].id, str(member.id), now)
    with console.status(f"{subscribers:,} subscribers"):
        for n in range(subscribers):
            email = (
                f"voter{n}@example.org"
                if n < min(voters, subscribers // 3)
                else f"s{n}@example.org"
            )
            store.digests.subscribe(
                email,
                now,
                confirmed=True,
                frequency="weekly",
                categories=[c for c, _ in rng.sample(categories, rng.randint(1, 2))],
                follows=[f"ti:{rng.choice(words)}"] if words else [],
            )
    store.engine.dispose()
    return settings


def run(settings: Settings, smtp_port: int, senders: int, day: date) -> float:
    env = os.environ | {
        "PAPERSCOPE_DATA_DIR": str(settings.data_dir),
        "PAPERSCOPE_PUBLIC_URL": "https://papers.example.org",
        "PAPERSCOPE_SMTP_HOST": "127.0.0.1",
        "PAPERSCOPE_SMTP_PORT": str(smtp_port),
        "PAPERSCOPE_SMTP_SECURITY": "none",
        "PAPERSCOPE_DIGEST_BATCH": "100",
    }
    command = [
        sys.executable,
        "-m",
        "paperscope",
        "digest",
        "send",
        "--period",
        "weekly",
        "--date",
        day.isoformat(),
    ]
    started = time.perf_counter()
    processes = [
        subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL) for _ in range(senders)
    ]
    for process in processes:
        if process.wait() != 0:
            raise SystemExit("digest send failed")
    return time.perf_counter() - started


console = Console()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--voters", type=int, default=2_000)
    parser.add_argument("--senders", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--date", type=date.fromisoformat, default=None)
    args = parser.parse_args()
    source = Settings().data_dir
    with tempfile.TemporaryDirectory(prefix="paperscope-digest-bench-") as scratch:
        store = open_store(Settings())
        newest = store.papers.newest_published()
        store.engine.dispose()
        first = args.date or (newest.date() + timedelta(days=1))
        settings = prepare(source, Path(scratch) / "data", args.subscribers, args.voters, first)
        inbox = CountingInbox()
        port = free_port()
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        controller.start()
        table = Table(title=f"digest send, {args.subscribers:,} subscribers (weekly)")
        for column in (
            "senders",
            "seconds",
            "digests/s",
            "sent",
            "received",
            "duplicates",
            "target",
        ):
            table.add_column(column, justify="right")
        try:
            for senders in args.senders:
                day = first
                with open_store(settings).engine.begin() as connection:  # the period afresh
                    connection.exec_driver_sql("DELETE FROM shown_papers")
                    connection.exec_driver_sql("DELETE FROM digest_outbox")
                inbox.received.clear()
                seconds = run(settings, port, senders, day)
                store = open_store(settings)
                sent = store.digests.outbox(
                    f"weekly:{day.isocalendar()[0]}-W{day.isocalendar()[1]:02d}"
                ).get("sent", 0)
                store.engine.dispose()
                duplicates = sum(count - 1 for count in inbox.received.values() if count > 1)
                table.add_row(
                    str(senders),
                    f"{seconds:.1f}",
                    f"{sent / seconds:,.0f}",
                    f"{sent:,}",
                    f"{sum(inbox.received.values()):,}",
                    str(duplicates),
                    "ok" if seconds <= TARGET_S * args.subscribers / 10_000 else "SLOW",
                )
        finally:
            controller.stop()
        console.print(table)


if __name__ == "__main__":
    asyncio.set_event_loop_policy(asyncio.DefaultEventLoopPolicy())
    main()
