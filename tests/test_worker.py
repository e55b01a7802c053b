"""`paperscope worker`: the schedule it keeps, and a job run for real."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

from paperscope.worker import Schedule, jobs, run_commands, scheduler


def test_the_schedule_runs_each_job_on_its_crontab_one_at_a_time():
    planned = scheduler(Schedule(harvest_sets=("cs", "stat")))
    by_name = {job.id: job for job in planned.get_jobs()}
    assert set(by_name) == {"ingest", "daily-digest", "weekly-digest"}
    assert all(job.max_instances == 1 and job.coalesce for job in by_name.values())
    saturday = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    daily = by_name["daily-digest"].trigger.get_next_fire_time(None, saturday)
    assert daily == datetime(2026, 12, 7, 6, 0, tzinfo=UTC)  # Monday, not the weekend
    weekly = by_name["weekly-digest"].trigger.get_next_fire_time(None, saturday)
    assert weekly == datetime(2026, 12, 7, 7, 0, tzinfo=UTC)
    _, ingest = jobs(Schedule(harvest_sets=("cs", "stat")))["ingest"]
    assert [argv[3:] for argv in ingest] == [
        ["harvest", "--set", "cs"],
        ["harvest", "--set", "stat"],
        ["index"],
    ]


def test_a_job_stops_at_its_first_failing_command():
    ran = []

    def run(argv, check):
        ran.append(argv[3:])
        return subprocess.CompletedProcess(argv, 1 if argv[3] == "harvest" else 0)

    _, commands = jobs(Schedule())["ingest"]
    assert run_commands("ingest", commands, run) is False
    assert ran == [["harvest", "--set", "cs"]]  # index did not run after a failed harvest


def test_run_now_sends_the_weekly_digest_once(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "paperscope", "worker", "--run-now", "weekly-digest"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "paperscope", "worker", "--daily-digest", "not a crontab"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1 and "crontab" in bad.stderr


def test_weekdays_are_counted_as_cron_counts_them():
    from paperscope.worker import cron_trigger

    thursday = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    fire = cron_trigger("0 6 * * 0").get_next_fire_time(None, thursday)
    assert fire == datetime(2026, 12, 6, 6, 0, tzinfo=UTC)  # 0 is Sunday, as in cron
    fire = cron_trigger("0 6 * * 7").get_next_fire_time(None, thursday)
    assert fire == datetime(2026, 12, 6, 6, 0, tzinfo=UTC)  # and so is 7
