"""`paperscope worker`: harvest, index and digests on a schedule (APScheduler), for those
who do not use cron. Each job runs the same command a cron line would (`paperscope harvest`,
`index`, `digest send`) in a process of its own, one at a time per job (a run still going
when the next is due is not started twice), on UTC crontab expressions."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

log = logging.getLogger("paperscope.worker")


@dataclass(frozen=True)
class Schedule:
    harvest_sets: Sequence[str] = ("cs",)
    ingest: str = "30 1 * * *"  # harvest every set, then index: nightly
    daily_digest: str = "0 6 * * 1-5"  # after arXiv's announcement, Monday to Friday
    weekly_digest: str = "0 7 * * 1"


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "paperscope", *args]


def jobs(schedule: Schedule) -> dict[str, tuple[str, list[list[str]]]]:
    """Job name: (crontab, the commands it runs in turn)."""
    ingest = [command("harvest", "--set", s) for s in schedule.harvest_sets]
    return {
        "ingest": (schedule.ingest, [*ingest, command("index")]),
        "daily-digest": (schedule.daily_digest, [command("digest", "send", "--period", "daily")]),
        "weekly-digest": (
            schedule.weekly_digest,
            [command("digest", "send", "--period", "weekly")],
        ),
    }


def run_commands(name: str, commands: list[list[str]], run=subprocess.run) -> bool:
    """Run a job's commands in turn, stopping at the first that fails."""
    for argv in commands:
        log.info("%s: %s", name, " ".join(argv[2:]))
        if run(argv, check=False).returncode != 0:
            log.error("%s: %s failed", name, " ".join(argv[3:]))
            return False
    return True


_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def cron_trigger(crontab: str) -> CronTrigger:
    """A trigger for a standard crontab line (UTC). APScheduler 3 counts days of the week
    from Monday = 0, cron from Sunday = 0: "1-5" would be Tuesday to Saturday, so the day
    numbers are given to it as names."""
    fields = crontab.split()
    if len(fields) != 5:
        raise ValueError(f"{crontab!r}: five fields (minute hour day month weekday)")
    fields[4] = re.sub(r"\b[0-7]\b", lambda m: _DAYS[int(m.group())], fields[4])
    return CronTrigger.from_crontab(" ".join(fields), timezone="UTC")


def scheduler(schedule: Schedule, run: Callable = subprocess.run) -> BlockingScheduler:
    chosen = BlockingScheduler(timezone="UTC")
    for name, (crontab, commands) in jobs(schedule).items():
        chosen.add_job(
            run_commands,
            cron_trigger(crontab),
            args=(name, commands, run),
            id=name,
            name=name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=3600,
        )
    return chosen
