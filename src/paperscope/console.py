"""What the command line shows: progress bars (or plain lines in a log file), reports,
search results and papers, with Rich. Results go to stdout, everything else to stderr."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import orjson
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from paperscope.errors import InvalidInput, PaperscopeError
from paperscope.ingest import IngestReport, Source
from paperscope.progress_log import ProgressLog
from paperscope.search.engine import SearchResults
from paperscope.store import StoredPaper

out = Console()
err = Console(stderr=True)


class UserError(InvalidInput):
    """An error whose message is the whole story for the person at the terminal."""


def friendly_errors(command: Callable) -> Callable:
    """Turn expected failures into one clear line and a non-zero exit code."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from sqlalchemy.exc import SQLAlchemyError

        try:
            return command(*args, **kwargs)
        except PaperscopeError as error:
            err.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        except SQLAlchemyError as error:
            # Only errors from the driver carry its own message (`orig`).
            driver = getattr(error, "orig", None)
            err.print(f"[red]database error:[/red] {driver or error}", soft_wrap=True)
        except KeyboardInterrupt:
            err.print("interrupted: what was stored stays; run the command again to continue")
            raise typer.Exit(130) from None
        raise typer.Exit(1)

    return wrapper


def print_json(data: object) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        papers = task.fields.get("papers", 0)
        unit = task.fields.get("unit", "papers")
        rate = papers / task.elapsed if task.elapsed else 0.0
        return Text(f"{papers:,} {unit}  {rate:,.0f}/s", style="progress.data.speed")


@contextmanager
def progress() -> Iterator[Progress]:
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        _RateColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=False) as bars:
        yield bars


def source_progress(bars: Progress, source: Source, total: float | None = None) -> Callable:
    """A bar for one source, and the `on_progress` that moves it."""
    task = bars.add_task(source.description, total=total, papers=0)

    def advance(done: float, size: float | None, report: IngestReport) -> None:
        bars.update(task, completed=done, total=size, papers=report.read)

    return advance


@contextmanager
def stage_progress(
    unit: str = "papers", every_s: float = 10.0
) -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar per named stage, as the search indexes report them; where stderr is
    no terminal (a log file), a plain line per stage and at least every `every_s` seconds."""
    if not err.is_terminal:
        with ProgressLog(sys.stderr, every_s=every_s, unit=unit) as log:
            yield log.advance
        return
    with progress() as bars:
        tasks: dict[str, TaskID] = {}

        def advance(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(stage, total=total, papers=0, unit=unit)
            bars.update(tasks[stage], completed=done, total=total, papers=done)

        yield advance


def note(text: str) -> None:
    err.print(f"[yellow]note:[/yellow] {text}", soft_wrap=True)


def summary(report: IngestReport, seconds: float) -> str:
    s = report.stored
    rate = report.read / seconds if seconds else 0
    return (
        f"read {report.read:,} records in {seconds:.1f}s ({rate:,.0f}/s): "
        f"{s.inserted:,} new, {s.updated:,} updated, {s.unchanged:,} unchanged"
    )


def report_skips(report: IngestReport) -> None:
    if not report.skipped_count:
        return
    kinds = ", ".join(f"{n:,} {kind}" for kind, n in report.skipped_by_kind.most_common())
    err.print(f"[yellow]skipped {report.skipped_count:,} bad records[/yellow] ({kinds}):")
    for notice in report.skipped:
        err.print(f"  {notice.where}: {notice.reason}", highlight=False, markup=False)
    if report.skipped_count > len(report.skipped):
        err.print(f"  ... and {report.skipped_count - len(report.skipped):,} more")


def finish(report: IngestReport, seconds: float, as_json: bool) -> None:
    if as_json:
        print_json(report.as_json() | {"seconds": round(seconds, 3)})
    else:
        err.print(summary(report, seconds))
    report_skips(report)


def _styled(text: str, spans) -> Text:
    styled = Text(text)
    for start, end in spans:
        styled.stylize("bold yellow", start, end)
    return styled


def print_results(results: SearchResults) -> None:
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


def print_paper(paper: StoredPaper) -> None:
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


def print_similar(similar: list) -> None:
    for rank, s in enumerate(similar, start=1):
        out.print(Text(f"{rank:>2}. {s.paper.title}", style="bold"))
        out.print(Text(f"    {s.paper.id}  cosine {s.cosine:.3f}", style="dim"))


def print_evaluation(report: dict, name: str, split: str) -> None:
    table = Table(
        title=f"{name} {split} ({report['results']['lexical']['queries']} "
        f"queries; fusion tuned on {report['tuned_on'] or 'nothing'}; "
        f"vectors searched in {report['vectors']})"
    )
    for column in ("method", "nDCG@10", "recall@10", "recall@100", "parameters"):
        table.add_column(column)
    for method, row in report["results"].items():
        extra = ", ".join(f"{k}={row[k]}" for k in ("alpha", "rrf_k") if k in row)
        scores = (f"{row[k]:.4f}" for k in ("ndcg@10", "recall@10", "recall@100"))
        table.add_row(method, *scores, extra)
    out.print(table)


def print_sent(report, dry_run: bool) -> None:
    if report.period is None:
        out.print("no daily digest today: arXiv announces nothing on Saturdays and Sundays")
        return
    out.print(
        f"{report.period}: {'would send' if dry_run else 'sent'} {report.sent:,}, "
        f"nothing new for {report.empty:,}, {report.failed:,} failed, "
        f"{report.retrying:,} to retry ({report.subscribers:,} subscribers)"
    )


def print_copy(report) -> None:
    table = Table("table", "rows", "copied now", "sha256", title="copied and checked")
    for name, rows in report.rows.items():
        table.add_row(name, f"{rows:,}", f"{report.copied[name]:,}", report.checksums[name][:16])
    out.print(table)
    err.print("done: run `paperscope index` against the new database to build its search indexes")


def print_stats(stats: dict) -> None:
    table = Table(show_header=False, box=None)
    for key, value in stats.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v:,}" for k, v in value.items())
        elif isinstance(value, int):
            value = f"{value:,}"
        table.add_row(key.replace("_", " "), str(value))
    out.print(table)
