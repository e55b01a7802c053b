"""Authors, for curators at the command line: show what paperscope knows under a name, tell
apart the people behind one name (split), make two names one (merge). Whoever runs these
runs the server, so no curator role is asked for."""

from __future__ import annotations

from typing import Annotated

import typer

from paperscope.authors import Moved
from paperscope.commands import Json, open_app
from paperscope.console import friendly_errors, out, print_json

Name = Annotated[
    str, typer.Argument(help="An author's name as papers write it (or a split's key).")
]


@friendly_errors
def authors_show_command(name: Name, as_json: Json = False) -> None:
    """An author's papers (newest first), co-authors and namesakes."""
    with open_app() as core:
        found = core.authors.find(name)
        if isinstance(found, Moved):
            out.print(f"{name} was merged into {found.author.name}", highlight=False)
            found = found.author
        shown = core.authors.page(found, limit=10_000)
    if as_json:
        print_json(
            {
                "key": found.key,
                "name": found.name,
                "label": found.label,
                "papers": [p.id for p in shown.papers],
                "coauthors": [{"name": a.name, "papers": n} for a, n in shown.coauthors],
                "namesakes": [
                    {"key": a.key, "name": a.name, "label": a.label} for a in shown.namesakes
                ],
                "also_written": shown.merged,
            }
        )
        return
    label = f" ({found.label})" if found.label else ""
    out.print(f"{found.name}{label} [dim]{found.key}[/dim]: {shown.total} papers", highlight=False)
    for paper in shown.papers:
        out.print(f"  {paper.id}  {paper.title}", highlight=False)
    for namesake in shown.namesakes:
        out.print(
            f"  also under this name: {namesake.name} ({namesake.label}) [dim]{namesake.key}[/dim]"
        )


@friendly_errors
def authors_split_command(
    name: Name,
    papers: Annotated[
        list[str], typer.Option("--paper", help="A paper of the other person (repeat).")
    ],
    label: Annotated[
        str, typer.Option("--label", help="What tells them apart: an affiliation, a field.")
    ],
) -> None:
    """Give some of a name's papers an identity of their own ("Wei Zhang (2)")."""
    with open_app() as core:
        made = core.authors.split(None, name, papers, label)
    out.print(f"split off {made.name} ({made.label}): {made.key}", highlight=False)


@friendly_errors
def authors_merge_command(
    name: Name,
    into: Annotated[str, typer.Argument(help="The author it is the same person as.")],
) -> None:
    """Make two names one author ("J. Smith" into "John Smith"); follows and claims move."""
    with open_app() as core:
        merged = core.authors.merge(None, name, into)
    out.print(f"{name} is now part of {merged.name} ({merged.key})", highlight=False)
