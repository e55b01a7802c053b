"""Papers in and out: the schema, copying a store, ingesting files, harvesting OAI-PMH,
fetching from the arXiv API, the indexes, the demo, one paper, the counts."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from paperscope.app import copy_database, migrate_database
from paperscope.commands import Json, open_app, parse_day, stored
from paperscope.console import (
    UserError,
    err,
    finish,
    friendly_errors,
    note,
    out,
    print_copy,
    print_json,
    print_paper,
    print_stats,
    progress,
    source_progress,
    stage_progress,
    summary,
)
from paperscope.demo import DemoSource
from paperscope.ingest import IngestReport, JsonlFileSource


def _index(core, embed: bool | None) -> dict[str, int]:
    with stage_progress(every_s=core.settings.progress_log_every_s) as advance:
        return core.indexer.update(embed=embed, on_progress=advance, on_note=note)


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
    with open_app() as core:
        started, report = time.perf_counter(), IngestReport()
        with progress() as bars:
            for source in map(JsonlFileSource, paths):
                advance = source_progress(bars, source, total=source.position()[1])
                report.merge(core.papers.ingest(source, on_progress=advance))
        finish(report, time.perf_counter() - started, as_json)
        if index:
            _index(core, embed=None)  # embeds now only when few papers wait for it


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
    from_date, until_date = parse_day(from_, "--from"), parse_day(until, "--until")
    with open_app() as core:
        source = core.harvest_source(set_spec, from_date, until_date)
        started = time.perf_counter()
        with progress() as bars:
            report = core.papers.ingest(source, on_progress=source_progress(bars, source))
        finish(report, time.perf_counter() - started, as_json)


@friendly_errors
def fetch_command(
    ids: Annotated[list[str], typer.Argument(help="arXiv ids, e.g. 2401.04122 or 2401.04122v2.")],
    as_json: Json = False,
) -> None:
    """Fetch papers by id from the arXiv API and store them."""
    from paperscope.ingest.arxiv_api import ArxivApiSource

    with open_app() as core:
        started = time.perf_counter()
        report = core.papers.ingest(ArxivApiSource(core.settings, ids))
        finish(report, time.perf_counter() - started, as_json)
    if report.skipped_count and not report.read:
        raise typer.Exit(1)


@friendly_errors
def index_command(
    dense: Annotated[
        bool, typer.Option("--dense/--no-dense", help="Also embed papers for semantic search.")
    ] = True,
    as_json: Json = False,
) -> None:
    """Bring every search index up to date: resumable, only new or changed papers."""
    with open_app() as core:
        report = _index(core, embed=dense)
    if as_json:
        print_json(report)
    else:
        err.print(", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in report.items()))


@friendly_errors
def demo_command(
    embed: bool = typer.Option(
        True, "--embed/--no-embed", help="Embed the papers now (about 4 minutes on 2 cores)."
    ),
) -> None:
    """Load the shipped demo corpus, its dates moved so that its newest papers are
    yesterday's (again on a later day: the dates move on, nothing is duplicated), and show
    what paperscope holds."""
    with open_app() as core:
        err.print(f"data directory: {core.settings.data_dir}")
        source = DemoSource(datetime.now(UTC).date())
        with progress() as bars:
            advance = source_progress(bars, source, total=source.position()[1])
            loaded = core.load_demo(source, on_progress=advance)
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


@friendly_errors
def paper_command(
    paper_id: Annotated[
        str, typer.Argument(metavar="ID", help="arXiv id, with or without version.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the paper as JSON.")] = False,
) -> None:
    """Show one stored paper."""
    with open_app() as core:
        paper = stored(core, paper_id)
    if as_json:
        print_json(paper.as_json())
    else:
        print_paper(paper)


@friendly_errors
def stats_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the statistics as JSON.")] = False,
) -> None:
    """Counts of what is stored."""
    with open_app() as core:
        stats = core.stats()
    if as_json:
        print_json(stats)
    else:
        print_stats(stats)
