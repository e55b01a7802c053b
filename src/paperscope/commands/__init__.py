"""The commands of ``paperscope``, by what they are about (papers.py, search.py,
members.py, serving.py); `paperscope.cli` lists them all in one place. Each parses its
arguments, asks the application (`Paperscope`) and prints the answer (console.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Annotated

import typer

from paperscope.app import Paperscope
from paperscope.arxiv_ids import parse_arxiv_id
from paperscope.console import UserError
from paperscope.store import StoredPaper

Json = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]


@contextmanager
def open_app() -> Iterator[Paperscope]:
    """The application for one command, closed after it."""
    core = Paperscope.from_settings()
    try:
        yield core
    finally:
        core.close()


def parse_day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise UserError(f"{option} must be a date like 2024-01-31, not {value!r}") from None


def stored(core: Paperscope, paper_id: str) -> StoredPaper:
    base = parse_arxiv_id(paper_id).base
    paper = core.paper(base)
    if paper is None:
        raise UserError(f"paper {base} is not in the store (try: paperscope fetch {base})")
    return paper
