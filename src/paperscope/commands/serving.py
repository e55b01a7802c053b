"""Running paperscope: the web server and the scheduled worker."""

from __future__ import annotations

from typing import Annotated

import typer

from paperscope.console import (
    UserError,
    err,
    friendly_errors,
)
from paperscope.settings import Settings


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
