"""The ``paperscope`` command line: a thin layer that wires settings, ingest and store."""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
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
from paperscope.ingest import IngestReport, JsonlFileSource, ingest
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

DEMO_CORPUS = Path(__file__).parent / "demo" / "papers.jsonl.gz"


class UserError(Exception):
    """An error whose message is the whole story for the person at the terminal."""


def _friendly_errors(command: Callable) -> Callable:
    """Turn expected failures into one clear line and a non-zero exit code."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from sqlalchemy.exc import SQLAlchemyError

        from paperscope.ingest.arxiv_http import ArxivError

        try:
            return command(*args, **kwargs)
        except (UserError, InvalidArxivId, ArxivError) as error:
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
        rate = papers / task.elapsed if task.elapsed else 0.0
        return Text(f"{papers:,} papers  {rate:,.0f}/s", style="progress.data.speed")


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


@app.command("ingest")
@_friendly_errors
def ingest_command(
    paths: Annotated[list[Path], typer.Argument(help="JSONL or JSONL.gz files (either format).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
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
    report.stored = store.upsert_papers(records)
    for notice in skipped:
        report.skip(notice)
    _finish(report, time.perf_counter() - started, as_json)
    if skipped and not records:
        raise typer.Exit(1)


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
    paper = _store().get_paper(base)
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
    out.print(f"https://arxiv.org/abs/{paper.id}", style="blue")


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
def demo_command() -> None:
    """Load the shipped demo corpus (once) and show what paperscope holds."""
    settings = Settings()
    store = open_store(settings)
    err.print(f"data directory: {settings.data_dir}")
    report = ingest_files(store, [DEMO_CORPUS], settings.ingest_batch_size)
    err.print(_summary(report, 0.0).split(":", 1)[1].strip())
    stats_command(as_json=False)
    out.print("\nTry: paperscope paper 2501.08549   |   paperscope stats --json")
