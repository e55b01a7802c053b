"""Ingest benchmark: the 83k-paper arXiv corpus into a fresh SQLite store.

Each phase runs in its own process so its peak memory is its own:
  parse     read + decode + JSON-parse the file only (the floor any ingest pays)
  ingest    `paperscope ingest` into an empty store
  re-ingest the same file again (must change nothing)

Usage: python bench/ingest.py [PATH]   (default ../shared/data/arxiv-cs-ai/papers.jsonl.gz)
"""

from __future__ import annotations

import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared/data/arxiv-cs-ai/papers.jsonl.gz"


def phase(name: str, path: Path, data_dir: Path) -> dict:
    started = time.perf_counter()
    if name == "parse":
        import orjson

        with gzip.open(path, "rb") as stream:
            records = sum(1 for line in stream if orjson.loads(line))
        stored = None
    else:
        from paperscope.ingest import JsonlFileSource, ingest
        from paperscope.settings import Settings
        from paperscope.store import open_store

        store = open_store(Settings(data_dir=data_dir))
        report = ingest(store, JsonlFileSource(path))
        records = report.read + report.skipped_count
        stored = {"papers": store.papers.count(), **report.as_json()}
        stored.pop("skipped_examples")
    seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"records": records, "seconds": seconds, "peak_mib": peak_mib, "stored": stored}


def run_phase(name: str, path: Path, data_dir: Path) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--phase", name, str(path), str(data_dir)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--phase":
        print(json.dumps(phase(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))))
        return
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    with tempfile.TemporaryDirectory() as data_dir:
        results = {
            name: run_phase(name, path, Path(data_dir)) for name in ("parse", "ingest", "re-ingest")
        }
        db_mib = os.path.getsize(Path(data_dir) / "paperscope.db") / 2**20

    table = Table(title=f"ingest {path.name} ({os.cpu_count()} cores)")
    for column in ("phase", "records", "seconds", "papers/s", "x parse time", "peak MiB"):
        table.add_column(column, justify="right")
    floor = results["parse"]["seconds"]
    for name, r in results.items():
        table.add_row(
            name,
            f"{r['records']:,}",
            f"{r['seconds']:.1f}",
            f"{r['records'] / r['seconds']:,.0f}",
            f"{r['seconds'] / floor:.1f}",
            f"{r['peak_mib']:.0f}",
        )
    console = Console()
    console.print(table)
    first, again = results["ingest"]["stored"], results["re-ingest"]["stored"]
    console.print(
        f"stored papers: {first['papers']:,} (after re-ingest {again['papers']:,}); "
        f"re-ingest inserted {again['inserted']}, updated {again['updated']}; "
        f"skipped {first['skipped']:,}; database {db_mib:.0f} MiB"
    )


if __name__ == "__main__":
    main()
