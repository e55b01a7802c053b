"""paperscope at 83k, 300k and 1M papers, on SQLite and on PostgreSQL.

    python bench/scale.py [--sizes 83k,300k,1M] [--backend sqlite|postgresql|both]
        [--work /tmp/scale] [--queries 200] [--embed-sample 1000] [--vectors-from DB]
        [--redo STAGE,...] [--table]

The corpus at each size is the 83k real arXiv cs.AI papers plus synthetic ones made from
them, seeded, so every size holds the smaller ones: a synthetic paper has a new id
(YYMM.6NNNN, months 2015-2023, which no real paper of the corpus uses), a real-looking date
in its id's month, its source paper's categories, its source's abstract sentences shuffled
with one sentence of another paper, a title made of halves of two real titles, and authors
drawn from its source's and the whole corpus's. Each size is one .jsonl.gz, ingested by the
real `paperscope ingest` as a user runs it.

Stages, per backend and size, each in a process of its own (peak memory is its own,
from getrusage of the child), their results kept in WORK/results.json so a rerun only does
what is missing (`--redo search,server` measures those again):
  ingest        `paperscope ingest FILE --no-index` into an empty store;
                baseline: reading and JSON-parsing the file only
  keyword index `paperscope index --no-dense` (tantivy); baseline: the same parse floor
  vectors       stand-in vectors written to the embeddings table (not a headline figure)
  vector index  `paperscope index` with every vector present: the HNSW index (usearch
                files on SQLite, pgvector in PostgreSQL) and every paper's CSLS radius;
                baseline: reading every vector into one matrix (what an exact scan needs)
  search        p50/p99 per mode on cold engines (bench/search.py's queries and timing);
                baseline: a full scan scoring every paper by query-word matches
  server        a new `paperscope serve` (1 worker, page cache off): seconds from start to
                its first answer to /healthz and to a hybrid /search; then p50/p99 of
                /search, /papers/ID and / one request at a time; baseline: /healthz
And once: embedding throughput on --embed-sample real abstracts, the paperscope path
(`embed_papers`: the store read, length-sorted batches, the vectors written) against a
plain `encoder.encode` of the same texts.

Vectors: embedding 1M abstracts on 2 cores takes about a day, so the vector index at each
size is built from stand-ins: each paper's source's vector plus Gaussian noise (norm 0.3,
cosine about 0.96 to the source), normalised. The source vectors are the real
all-MiniLM-L6-v2 vectors of the 83k (`--vectors-from` a store that has them all), or else
the --embed-sample vectors, each source paper mapped to one of them.
PostgreSQL is an embedded server (tests/postgres_server.py) in WORK/pg, one database a size.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import orjson

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(BENCH), str(ROOT)]  # bench/search.py, bench/load.py, tests/postgres_server

CORPUS = ROOT.parent / "shared/data/arxiv-cs-ai/papers.jsonl.gz"
# Synthetic ids: YYMM.6NNNN over 2015-2023, where the corpus (2024-2026) has no paper.
MONTHS = [f"{y:02d}{m:02d}" for y in range(15, 24) for m in range(1, 13)]
FIRST_NUMBER = 60_000
NOISE_NORM = 0.3
SEED = 20
STAGES = ("ingest", "keyword", "vectors", "vector-index", "search", "server")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


# -- the corpus ------------------------------------------------------------------------
def real_papers(path: Path = CORPUS) -> list[dict]:
    with gzip.open(path, "rb") as stream:
        return [orjson.loads(line) for line in stream if line.strip()]


def synthetic_id(i: int) -> str:
    return f"{MONTHS[i % len(MONTHS)]}.{FIRST_NUMBER + i // len(MONTHS):05d}"


def synthetic_index(paper_id: str) -> int | None:
    """The i of `synthetic_id(i)`, or None for a real paper's id."""
    month, _, number = paper_id.partition(".")
    if month not in MONTHS or len(number) != 5 or int(number) < FIRST_NUMBER:
        return None
    return (int(number) - FIRST_NUMBER) * len(MONTHS) + MONTHS.index(month)


def source_of(i: int, n_real: int) -> int:
    """The real paper synthetic paper i is made from (a fixed hash of i)."""
    return (i * 2_654_435_761 + 12_345) % n_real


def synthetic_papers(real: list[dict], count: int) -> Iterator[dict]:
    """`count` synthetic papers; paper i is the same whatever the count (sizes nest)."""
    n = len(real)
    for i in range(count):
        rng = random.Random(SEED * 10_000_019 + i)
        source = real[source_of(i, n)]
        other = real[rng.randrange(n)]
        sentences = _SENTENCE.split(" ".join(source["abstract"].split()))
        sentences.append(rng.choice(_SENTENCE.split(" ".join(other["abstract"].split()))))
        rng.shuffle(sentences)
        a, b = source["title"].split(), other["title"].split()
        title = " ".join(a[: max(1, len(a) // 2)] + b[len(b) // 2 :])
        authors = list(source["authors"][:4]) + [
            rng.choice(real[rng.randrange(n)]["authors"] or ["A. Author"])
            for _ in range(rng.randint(0, 4))
        ]
        rng.shuffle(authors)
        month = MONTHS[i % len(MONTHS)]
        published = (
            f"20{month[:2]}-{month[2:]}-{rng.randint(1, 28):02d} "
            f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d} UTC"
        )
        yield {
            "id": synthetic_id(i),
            "arxiv_id": f"{synthetic_id(i)}v{rng.randint(1, 3)}",
            "title": title,
            "authors": list(dict.fromkeys(authors)),
            "abstract": " ".join(sentences),
            "categories": source["categories"],
            "primary_category": source["primary_category"],
            "comment": "",
            "published": published,
            "updated": published,
        }


def paper_count(size: str) -> int | None:
    """ "300k" -> 300,000; "83k" -> None: the real corpus as it is."""
    found = re.fullmatch(r"(\d+)([kM]?)", size)
    if not found:
        raise SystemExit(f"unknown size {size!r}: say 83k, 300k, 1M or any N, Nk, NM")
    if size == "83k":
        return None
    return int(found[1]) * {"": 1, "k": 1_000, "M": 1_000_000}[found[2]]


def corpus_file(work: Path, size: str) -> Path:
    """The size's .jsonl.gz (the real corpus itself at 83k), written once; below 83k the
    first real papers (for a quick try)."""
    count = paper_count(size)
    if count is None:
        return CORPUS
    path = work / f"corpus-{size}.jsonl.gz"
    if path.exists():
        return path
    real = real_papers()
    started = time.perf_counter()
    partial = path.with_suffix(".partial")
    with gzip.open(partial, "wb", compresslevel=1) as out:
        for paper in real[:count]:
            out.write(orjson.dumps(paper) + b"\n")
        for paper in synthetic_papers(real, max(0, count - len(real))):
            out.write(orjson.dumps(paper) + b"\n")
    partial.rename(path)
    print(f"wrote {path} in {time.perf_counter() - started:.0f} s", flush=True)
    return path


# -- running stages --------------------------------------------------------------------
# Runs a command and prints its peak RSS and CPU seconds. Linux starts a child's peak at its
# parent's size at fork (kept across exec), so it is read through this small process, not the
# bench's. CPU seconds say what a run costs when other work shares the cores (wall time does not).
_PEAK = (
    "import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
    "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
    "print(u.ru_utime + u.ru_stime, u.ru_maxrss, file=sys.stderr); sys.exit(code)"
)


def run_child(command: list[str], env: dict[str, str], log: Path) -> dict:
    """Run a command; its wall seconds, peak RSS (MiB, getrusage of the child) and output
    (parsed when it is JSON, else its last line)."""
    started = time.perf_counter()
    with log.open("ab") as output:
        output.write(f"\n$ {' '.join(command)}\n".encode())
        output.flush()
        child = subprocess.run(
            [sys.executable, "-c", _PEAK, *command], capture_output=True, env=env, check=False
        )
        output.write(child.stdout + child.stderr)
    seconds = time.perf_counter() - started
    if child.returncode:
        raise SystemExit(f"{' '.join(command)} failed ({child.returncode}); see {log}")
    cpu_s, peak_kib = child.stderr.decode().strip().splitlines()[-1].split()
    text = child.stdout.decode(errors="replace").strip()
    try:
        out = json.loads(text)
    except ValueError:
        lines = text.splitlines()
        try:
            out = json.loads(lines[-1]) if lines else None
        except ValueError:
            out = lines[-1]
    return {"seconds": seconds, "cpu_s": float(cpu_s), "peak_mib": int(peak_kib) / 1024, "out": out}


def paperscope(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("paperscope")), *args]


def stage_in_child(name: str, data_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, __file__, "--stage", name, "--data-dir", str(data_dir), *extra]


# -- stages run in a child (`--stage`) -------------------------------------------------
def stage_parse(path: Path) -> dict:
    with gzip.open(path, "rb") as stream:
        return {"records": sum(1 for line in stream if orjson.loads(line))}


def stage_embed_sample(count: int, out: Path) -> dict:
    """Throughput of the paperscope embedding path against a plain encode; saves the
    plain encode's vectors (the stand-ins' sources)."""
    import tempfile

    from paperscope.ingest.files import parse_line
    from paperscope.search.engine import configured_encoder
    from paperscope.search.vectors.embed import embed_papers, paper_text
    from paperscope.settings import Settings
    from paperscope.store import open_store

    real = real_papers()
    picked = sorted(random.Random(SEED).sample(range(len(real)), count))
    papers = [real[i] for i in picked]
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(data_dir=Path(scratch))
        store = open_store(settings)
        store.papers.upsert([parse_line(orjson.dumps(p), "sample") for p in papers])
        encoder = configured_encoder(settings)
        stored = {p.id: p for p in store.papers.iter_all()}
        texts = [paper_text(stored[p["id"]].title, stored[p["id"]].abstract) for p in papers]
        encoder.encode(texts[:8])  # first-call allocations and kernel choice
        started = time.perf_counter()
        vectors = np.asarray(encoder.encode(texts), dtype=np.float32)
        plain_s = time.perf_counter() - started
        started = time.perf_counter()
        embed_papers(store, encoder)
        path_s = time.perf_counter() - started
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    np.save(out / "sample-vectors.npy", vectors)
    (out / "sample-ids.json").write_text(json.dumps([p["id"] for p in papers]))
    return {"texts": count, "plain_s": plain_s, "path_s": path_s, "model": encoder.name}


def source_vectors(
    work: Path, vectors_from: str | None, model: str
) -> tuple[dict[str, np.ndarray], list]:
    """Real vectors by real paper id (all 83k from --vectors-from, else the sample's)."""
    if vectors_from:
        from paperscope.settings import Settings
        from paperscope.store import open_store

        store = open_store(Settings(database_url=vectors_from, data_dir=work / "vectors-from"))
        vectors = {
            pid: np.frombuffer(blob, dtype="<f4") for pid, blob, _ in store.embeddings.iter(model)
        }
    else:
        ids = json.loads((work / "sample-ids.json").read_text())
        vectors = dict(zip(ids, np.load(work / "sample-vectors.npy"), strict=True))
    return vectors, sorted(vectors)


def stage_vectors(data_dir: Path, work: Path, vectors_from: str | None) -> dict:
    """Stand-in vectors for every stored paper, under the configured model's name."""
    import zlib

    from paperscope.search.engine import configured_encoder
    from paperscope.settings import Settings
    from paperscope.store import open_store

    settings = Settings(data_dir=data_dir)
    store = open_store(settings)
    model = configured_encoder(settings).name
    real_ids = [p["id"] for p in real_papers()]
    known, known_ids = source_vectors(work, vectors_from, model)
    hashes = store.papers.hashes()
    started = time.perf_counter()
    rows: list[tuple[str, str, bytes]] = []
    written = 0
    for paper_id in sorted(hashes):
        i = synthetic_index(paper_id)
        source = paper_id if i is None else real_ids[source_of(i, len(real_ids))]
        base = known.get(source)
        seed = zlib.crc32(paper_id.encode())
        if base is None:
            base = known[known_ids[zlib.crc32(source.encode()) % len(known_ids)]]
        noise = np.random.default_rng(seed).standard_normal(base.shape[0]).astype(np.float32)
        vector = base + noise * (NOISE_NORM / np.sqrt(base.shape[0]))
        vector /= np.linalg.norm(vector)
        rows.append((paper_id, hashes[paper_id], vector.astype("<f4").tobytes()))
        if len(rows) == 10_000:
            store.embeddings.save(model, rows)
            written += len(rows)
            rows = []
    store.embeddings.save(model, rows)
    written += len(rows)
    return {"vectors": written, "write_s": time.perf_counter() - started, "model": model}


def stage_search(data_dir: Path, queries: int, baseline: int) -> dict:
    from sqlalchemy import select

    import search as search_bench  # bench/search.py
    from paperscope.search.vectors.embed import load_vectors
    from paperscope.settings import Settings
    from paperscope.store import open_store
    from paperscope.store.models import Paper

    settings = Settings(data_dir=data_dir)
    store = open_store(settings)
    with store.engine.connect() as connection:
        titles = list(connection.execute(select(Paper.title)).scalars())
    asked = search_bench.make_queries(titles, queries)
    del titles
    rows, engine = search_bench.measure(settings, asked)
    result = {
        mode: {"p50": statistics.median(ms), "p99": search_bench.percentile(ms, 0.99)}
        for mode, _, ms in rows
    }
    result["dense index"] = type(engine.dense).__name__
    model, dim = engine.encoder.name, engine.encoder.dim
    del engine
    started = time.perf_counter()
    ids, matrix = load_vectors(store, model, dim)
    result["load_vectors_s"] = time.perf_counter() - started
    del ids, matrix
    # The full scan needs every text in memory; it is read once, outside the clock.
    with store.engine.connect() as connection:
        texts = [
            (t + " " + a).lower()
            for t, a in connection.execute(select(Paper.title, Paper.abstract))
        ]
    times = []
    for query, _ in asked[:baseline]:
        words = [w for w in query.lower().split() if len(w) > 2]
        started = time.perf_counter()
        scores = [sum(text.count(w) for w in words) for text in texts]
        sorted(range(len(scores)), key=scores.__getitem__, reverse=True)[:10]
        times.append((time.perf_counter() - started) * 1000)
    result["full scan"] = {"p50": statistics.median(times), "p99": max(times)}
    return result


# -- the server ------------------------------------------------------------------------
def measure_server(data_dir: Path, env: dict[str, str], log: Path, requests: int) -> dict:
    """A new app server: time to its first answers, then page latency one at a time."""
    import load as load_bench  # bench/load.py
    from paperscope.settings import Settings
    from paperscope.store import open_store

    store = open_store(Settings(data_dir=data_dir, database_url=env.get("PAPERSCOPE_DATABASE_URL")))
    rng = random.Random(SEED)
    ids = store.papers.published_ids(None, None)
    paper_ids = [rng.choice(ids) for _ in range(requests)]
    titles = [p.title for p in store.papers.get_many(paper_ids)]
    del ids
    port = load_bench.free_port()
    base = f"http://127.0.0.1:{port}"
    first_query = "graph neural networks for molecule generation"

    def get(path: str) -> float:
        started = time.perf_counter()
        with urllib.request.urlopen(base + path, timeout=120) as response:
            response.read()
            if response.status != 200:
                raise SystemExit(f"{path}: {response.status}")
        return (time.perf_counter() - started) * 1000

    command = paperscope("serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1")
    server_env = env | {"PAPERSCOPE_PAGE_CACHE_S": "0"}
    with log.open("ab") as output:
        started = time.perf_counter()
        server = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True, env=server_env
        )
    result: dict = {}
    try:
        while "healthz_s" not in result:
            if server.poll() is not None:
                raise SystemExit(f"the server exited ({server.returncode}); see {log}")
            try:
                get("/healthz")
                result["healthz_s"] = time.perf_counter() - started
            except OSError:
                time.sleep(0.05)
        get("/search?" + urllib.parse.urlencode({"q": first_query}))
        result["first_search_s"] = time.perf_counter() - started
        pages = {
            "search": [
                "/search?" + urllib.parse.urlencode({"q": " ".join(t.split()[:5]) + f" {n}"})
                for n, t in enumerate(titles)
            ],
            "paper": [f"/papers/{pid}" for pid in paper_ids],
            "daily": ["/"] * requests,
            "healthz": ["/healthz"] * requests,
        }
        times: dict[str, list[float]] = {kind: [] for kind in pages}
        for step in range(requests):  # interleaved: the machine's load falls on all alike
            for kind, paths in pages.items():
                times[kind].append(get(paths[step]))
        for kind, values in times.items():
            result[kind] = {
                "p50": statistics.median(values),
                "p99": sorted(values)[min(len(values) - 1, int(0.99 * len(values)))],
            }
    finally:
        load_bench.stop(server)
    return result


# -- the driver ------------------------------------------------------------------------
class Results:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict = json.loads(path.read_text()) if path.exists() else {}

    def get(self, key: str):
        return self.data.get(key)

    def put(self, key: str, value) -> None:
        # Read again first: another run (`--redo` of one size) may have written since.
        self.data = json.loads(self.path.read_text()) if self.path.exists() else {}
        self.data[key] = value
        self.path.write_text(json.dumps(self.data, indent=1, sort_keys=True))
        print(f"{key}: {json.dumps(value)}", flush=True)


def postgres_url(work: Path, size: str, fresh: bool) -> str:
    from sqlalchemy import create_engine, text
    from tests import postgres_server

    pgdata = work / "pg"
    url_file = work / "pg-url"
    url = url_file.read_text() if url_file.exists() else ""
    try:
        create_engine(url).connect().close() if url else None
    except Exception:
        url = ""
    if not url:
        url = postgres_server.start(pgdata)
        url_file.write_text(url)
    name = "scale_" + size.lower()
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).first()
        if fresh and exists:
            connection.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
        if fresh or not exists:
            connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return url.rsplit("/", 1)[0] + "/" + name


def run_size(args, results: Results, backend: str, size: str) -> None:
    work: Path = args.work
    data_dir = work / f"{backend}-{size}"
    log = work / f"{backend}-{size}.log"
    key = f"{backend}/{size}"
    env = dict(os.environ) | {"PAPERSCOPE_DATA_DIR": str(data_dir)}
    redo = set(args.redo)
    fresh = results.get(f"{key}/ingest") is None or "ingest" in redo
    if backend == "postgresql":
        env["PAPERSCOPE_DATABASE_URL"] = postgres_url(work, size, fresh)
    corpus = corpus_file(work, size)
    if results.get(f"parse/{size}") is None:
        results.put(
            f"parse/{size}", run_child(stage_in_child("parse", data_dir, str(corpus)), env, log)
        )

    def due(stage: str) -> bool:
        wanted = stage in args.stages
        return wanted and (results.get(f"{key}/{stage}") is None or stage in redo)

    if fresh and "ingest" in args.stages:
        shutil.rmtree(data_dir, ignore_errors=True)
        data_dir.mkdir(parents=True)
        results.put(
            f"{key}/ingest",
            run_child(paperscope("ingest", str(corpus), "--no-index", "--json"), env, log),
        )
        redo |= {"keyword", "vectors", "vector-index", "search", "server"}
    if due("keyword"):
        results.put(f"{key}/keyword", run_child(paperscope("index", "--no-dense"), env, log))
    if due("vectors"):
        extra = ["--work", str(work)] + (
            ["--vectors-from", args.vectors_from] if args.vectors_from else []
        )
        results.put(
            f"{key}/vectors", run_child(stage_in_child("vectors", data_dir, *extra), env, log)
        )
        redo.add("vector-index")
    if due("vector-index"):
        results.put(f"{key}/vector-index", run_child(paperscope("index"), env, log))
    if due("search"):
        command = stage_in_child(
            "search", data_dir, "--queries", str(args.queries), "--baseline", str(args.baseline)
        )
        results.put(f"{key}/search", run_child(command, env, log))
    if due("server"):
        results.put(f"{key}/server", measure_server(data_dir, env, log, args.requests))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="83k,300k,1M")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--work", type=Path, default=Path("/tmp/scale"))
    parser.add_argument("--queries", type=int, default=200, help="timed queries per mode")
    parser.add_argument("--baseline", type=int, default=10, help="queries for the full scan")
    parser.add_argument("--requests", type=int, default=50, help="requests per page kind")
    parser.add_argument("--embed-sample", type=int, default=1000)
    parser.add_argument("--vectors-from", help="database URL of a store with the 83k's vectors")
    parser.add_argument("--redo", default="", help=f"stages to measure again: {','.join(STAGES)}")
    parser.add_argument(
        "--stages", default=",".join(STAGES), help="only these stages (those before must be done)"
    )
    parser.add_argument("--table", action="store_true", help="only print the tables")
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("path", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.redo = [s for s in args.redo.split(",") if s]
    args.stages = [s for s in args.stages.split(",") if s]

    if args.stage:
        match args.stage:
            case "parse":
                out = stage_parse(Path(args.path))
            case "embed-sample":
                out = stage_embed_sample(args.embed_sample, args.work)
            case "vectors":
                out = stage_vectors(args.data_dir, args.work, args.vectors_from)
            case "search":
                out = stage_search(args.data_dir, args.queries, args.baseline)
        print(json.dumps(out))
        return

    args.work.mkdir(parents=True, exist_ok=True)
    results = Results(args.work / "results.json")
    sizes = [s for s in args.sizes.split(",") if s]
    for size in sizes:
        paper_count(size)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if not args.table:
        if results.get("embedding") is None or "embedding" in args.redo:
            command = stage_in_child(
                "embed-sample",
                args.work,
                "--work",
                str(args.work),
                "--embed-sample",
                str(args.embed_sample),
            )
            results.put("embedding", run_child(command, dict(os.environ), args.work / "embed.log"))
        for size in sizes:
            for backend in backends:
                run_size(args, results, backend, size)
    print_tables(results, sizes, backends)


# -- the tables ------------------------------------------------------------------------
def _last(entry: dict | None) -> dict:
    return entry["out"] if entry and isinstance(entry.get("out"), dict) else {}


def print_tables(results: Results, sizes: list[str], backends: list[str]) -> None:
    """Markdown: one table per size (figure, SQLite, its baseline, PostgreSQL against SQLite)
    and the growth table."""
    embedding = results.get("embedding")
    if embedding:
        e = _last(embedding)
        print(
            f"\nembedding ({e['model']}, {e['texts']:,} real abstracts): paperscope path "
            f"{e['texts'] / e['path_s']:.1f}/s, plain encode {e['texts'] / e['plain_s']:.1f}/s "
            f"(baseline; {e['plain_s'] / e['path_s']:.2f}x)\n"
        )
    for size in sizes:
        rows = figures(results, size, backends)
        if not rows:
            continue
        print(f"\n### {size} papers\n")
        print("| figure | SQLite | baseline (same run) | PostgreSQL | PostgreSQL / SQLite |")
        print("|---|---|---|---|---|")
        for name, sqlite, baseline, pg in rows:
            if sqlite is None and pg is None:
                continue  # not measured (yet)
            ratio = f"{pg[0] / sqlite[0]:.2f}x" if sqlite and pg and sqlite[0] else ""
            print(f"| {name} | {_fmt(sqlite)} | {baseline} | {_fmt(pg)} | {ratio} |")

    print_growth(results, sizes, backends)


def print_growth(results: Results, sizes: list[str], backends: list[str]) -> None:
    """One row per backend and size: how the main figures grow."""
    print("\n### Growth\n")
    print(
        "| store | papers | ingest s (CPU s) | ingest MiB | keyword index s (CPU s) | "
        "vector index s | hybrid p50 / p99 ms | /search p50 ms | first search s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for backend in backends:
        for size in sizes:
            key = f"{backend}/{size}"
            ingest, keyword = results.get(f"{key}/ingest"), results.get(f"{key}/keyword")
            if not ingest:
                continue
            vectors = results.get(f"{key}/vector-index")
            hybrid = _last(results.get(f"{key}/search")).get("hybrid")
            server = results.get(f"{key}/server") or {}
            papers = _last(results.get(f"parse/{size}")).get("records", 0)

            def timed(entry: dict | None) -> str:
                if not entry:
                    return ""
                cpu = f" ({entry['cpu_s']:.0f})" if "cpu_s" in entry else ""
                return f"{entry['seconds']:.0f}{cpu}"

            cells = [
                backend,
                f"{papers:,}",
                timed(ingest),
                f"{ingest['peak_mib']:.0f}",
                timed(keyword),
                timed(vectors),
                f"{hybrid['p50']:.0f} / {hybrid['p99']:.0f}" if hybrid else "",
                f"{server['search']['p50']:.0f}" if server else "",
                f"{server['first_search_s']:.1f}" if server else "",
            ]
            print("| " + " | ".join(cells) + " |")


def _fmt(value: tuple | None) -> str:
    return "" if value is None else value[1]


def figures(results: Results, size: str, backends: list[str]) -> list:
    """(figure, (number, text) for SQLite, baseline text, (number, text) for PostgreSQL)."""
    parse = results.get(f"parse/{size}")
    papers = _last(parse).get("records")
    out = []

    def each(stage: str, pick) -> tuple:
        found = []
        for backend in ("sqlite", "postgresql"):
            entry = results.get(f"{backend}/{size}/{stage}")
            found.append(pick(entry) if entry and backend in backends else None)
        return tuple(found)

    def seconds(e: dict) -> tuple:
        cpu = f" (CPU {e['cpu_s']:.0f} s)" if "cpu_s" in e else ""
        return e["seconds"], f"{e['seconds']:.0f} s{cpu}, {e['peak_mib']:.0f} MiB"

    floor = f"parse only {parse['seconds']:.0f} s, {parse['peak_mib']:.0f} MiB" if parse else ""
    sq, pg = each("ingest", seconds)
    if papers:
        out.append(("papers in the corpus", (0, f"{papers:,}"), "", (0, f"{papers:,}")))
    out.append(("ingest (`paperscope ingest`): time, peak memory", sq, floor, pg))
    sq, pg = each("keyword", seconds)
    out.append(("keyword index (`paperscope index --no-dense`)", sq, floor, pg))
    sq, pg = each("vector-index", seconds)
    load = results.get(f"sqlite/{size}/search")
    load_s = _last(load).get("load_vectors_s") if load else None
    out.append(
        (
            "vector index + radius (`paperscope index`)",
            sq,
            f"reading the vectors {load_s:.0f} s" if load_s else "",
            pg,
        )
    )
    search = {b: _last(results.get(f"{b}/{size}/search")) for b in ("sqlite", "postgresql")}
    scan = search["sqlite"].get("full scan")
    for mode in ("lexical", "dense", "hybrid", "hybrid, asked again"):
        cells = []
        for backend in ("sqlite", "postgresql"):
            m = search[backend].get(mode)
            cells.append(
                (m["p99"], f"{m['p50']:.1f} / {m['p99']:.1f}")
                if m and backend in backends
                else None
            )
        base = f"full scan {scan['p50']:.0f} / {scan['p99']:.0f}" if scan else ""
        out.append((f"search p50 / p99 ms: {mode}", cells[0], base, cells[1]))
    server = {b: results.get(f"{b}/{size}/server") or {} for b in ("sqlite", "postgresql")}
    health = server["sqlite"].get("healthz")
    for kind, label in (("search", "/search"), ("paper", "/papers/ID"), ("daily", "/")):
        cells = []
        for backend in ("sqlite", "postgresql"):
            m = server[backend].get(kind)
            cells.append((m["p50"], f"{m['p50']:.1f} / {m['p99']:.1f}") if m else None)
        base = f"/healthz {health['p50']:.1f} / {health['p99']:.1f}" if health else ""
        out.append((f"page p50 / p99 ms: {label}", cells[0], base, cells[1]))
    cells = []
    for backend in ("sqlite", "postgresql"):
        s = server[backend]
        cells.append((s["first_search_s"], f"{s['first_search_s']:.1f} s") if s else None)
    base = f"first /healthz {server['sqlite']['healthz_s']:.1f} s" if server["sqlite"] else ""
    out.append(("new app server: first search answered", cells[0], base, cells[1]))
    return out


if __name__ == "__main__":
    main()
