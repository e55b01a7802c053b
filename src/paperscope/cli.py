"""The ``paperscope`` command line: every command, listed in one place. The commands
themselves (paperscope/commands/) parse arguments, ask the application (`Paperscope`) and
print the answer (console.py); the rules live in the services."""

from __future__ import annotations

import typer

from paperscope.commands import authors, library, members, papers, search, serving

app = typer.Typer(
    help="paperscope: self-hostable research-paper discovery.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _group(name: str, help: str) -> typer.Typer:
    group = typer.Typer(help=help, no_args_is_help=True)
    app.add_typer(group, name=name)
    return group


for name, command in (
    ("migrate", papers.migrate_command),
    ("copy-store", papers.copy_store_command),
    ("ingest", papers.ingest_command),
    ("harvest", papers.harvest_command),
    ("fetch", papers.fetch_command),
    ("index", papers.index_command),
    ("search", search.search_command),
    ("similar", search.similar_command),
    ("recommend", search.recommend_command),
    ("worker", serving.worker_command),
    ("paper", papers.paper_command),
    ("stats", papers.stats_command),
    ("demo", papers.demo_command),
    ("serve", serving.serve_command),
):
    app.command(name)(command)

_group("eval", "Measure search quality.").command("beir")(search.eval_beir_command)
_group("models", "Embedding models for semantic search.").command("install")(
    search.models_install_command
)
_group("digest", "Email digests.").command("send")(members.digest_send_command)
_group("subscribers", "Digest subscribers.").command("add")(members.subscribers_add_command)
_group("users", "Members and their roles.").command("add")(members.users_add_command)
_group("tokens", "Members' API tokens.").command("create")(members.tokens_create_command)
_group("collections", "Members' collections.").command("import")(library.collections_import_command)

# -- authors (issue 22) --
_authors = _group("authors", "Authors: show one, split a name, merge two (curators).")
_authors.command("show")(authors.authors_show_command)
_authors.command("split")(authors.authors_split_command)
_authors.command("merge")(authors.authors_merge_command)
