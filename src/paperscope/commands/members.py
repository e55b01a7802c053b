"""People: members and their roles, API tokens, digest subscribers, and sending digests."""

from __future__ import annotations

import sys
from dataclasses import asdict
from typing import Annotated, cast

import typer

from paperscope.commands import Json, open_app, parse_day
from paperscope.console import (
    err,
    friendly_errors,
    out,
    print_json,
    print_sent,
)
from paperscope.digest.periods import Frequency

FrequencyOption = Annotated[str, typer.Option("--frequency", help="daily or weekly")]


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
    with open_app() as core:
        member, made = core.accounts.add_member(email, fullname=name, role=role)
    out.print(f"{'added' if made else 'updated'} {member.email} as @{member.name} ({member.role})")


@friendly_errors
def tokens_create_command(
    email: Annotated[str, typer.Argument(help="The member's email address.")],
    name: Annotated[str, typer.Option("--name", help="What the token is for.")] = "cli",
) -> None:
    """Make an API token for a member; it is printed once, on the last line."""
    with open_app() as core:
        made = core.accounts.make_token(email, name)
    if made is None:
        err.print(f"no member {email}: add them with `paperscope users add {email}`")
        raise typer.Exit(1)
    member, token = made
    err.print(f"API token for {member.email} (shown once; send it as Authorization: Bearer):")
    sys.stdout.write(token + "\n")


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
    frequency: FrequencyOption = "daily",
) -> None:
    """Add a digest subscriber (an admin importing a list)."""
    if frequency not in ("daily", "weekly"):
        raise typer.BadParameter("daily or weekly", param_hint="--frequency")
    with open_app() as core:
        subscriber, made = core.digests.add_subscriber(
            email,
            confirmed=confirmed,
            frequency=frequency,
            categories=category or [],
            follows=follow or [],
        )
    verb = "added" if made else "updated"
    out.print(f"{verb} {subscriber.email} ({subscriber.state}, {frequency})")


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
    with open_app() as core, err.status("sending digests") as status:

        def progress(report) -> None:
            status.update(f"digests: {report.sent:,} sent, {report.empty:,} empty")

        report = core.digests.send(
            cast(Frequency, period), parse_day(day, "--date"), dry_run=dry_run, on_progress=progress
        )
    if as_json:
        print_json(asdict(report))
    else:
        print_sent(report, dry_run)
