"""A member's library: a BibTeX, RIS or CSL-JSON file into one of their collections."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from paperscope.commands import Json, open_app
from paperscope.console import UserError, friendly_errors, out, print_json

HOW = {"arxiv id": "arXiv id", "doi": "DOI", "title": "title"}


@friendly_errors
def collections_import_command(
    file: Annotated[Path, typer.Argument(help="A BibTeX, RIS or CSL-JSON file (Zotero exports).")],
    member: Annotated[str, typer.Option("--member", help="The member's email address.")],
    collection: Annotated[
        str, typer.Option("--collection", help="Their collection's name (made if new).")
    ],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="bibtex, ris or csl-json (unset: told by the content)"),
    ] = None,
    as_json: Json = False,
) -> None:
    """Import a library file into a member's collection: each reference matched to a
    stored paper by arXiv id, DOI or title; those not stored here are listed. Running it
    again adds nothing new."""
    with open_app() as core:
        cap = core.settings.library_import_max_bytes
        try:
            with file.open("rb") as stream:
                data = stream.read(cap + 1)  # one byte more tells it is too large
        except OSError as error:
            raise UserError(f"cannot read {file}: {error.strerror or error}") from None
        report = core.library.import_named(member, data, fmt, collection)
    if as_json:
        print_json(
            {
                "collection": {"id": report.collection.id, "name": report.collection.name},
                "format": report.format,
                "summary": report.summary,
                "added": report.added,
                "notices": list(report.notices),
                "entries": [
                    {
                        "position": m.entry.position,
                        "key": m.entry.key,
                        "title": m.entry.title,
                        "year": m.entry.year,
                        "arxiv_id": m.entry.arxiv_id,
                        "doi": m.entry.doi,
                        "paper_id": m.paper_id,
                        "matched_by": m.how,
                    }
                    for m in report.matches
                ],
            }
        )
        return
    for match in report.matches:
        entry = match.entry
        if match.how is None:
            year = f" ({entry.year})" if entry.year else ""
            out.print(
                f"not found        {entry.title or entry.key or '(no title)'}{year}",
                highlight=False,
                markup=False,
            )
        else:
            out.print(
                f"by {HOW[match.how]:<13} {match.paper_id}  {entry.title}",
                highlight=False,
                markup=False,
            )
    for notice in report.notices:
        out.print(notice, highlight=False, markup=False, soft_wrap=True)
    out.print(report.summary, highlight=False, markup=False, soft_wrap=True)
