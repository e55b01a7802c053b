"""MiniLM with int8 weights (setting embedding_weights=int8) and bulk encoding in worker processes.

int8 linear layers change vectors a little (cosine about 0.99 to float32's) and, because
activations are quantised per batch, a text's vector depends a little on the texts batched
with it: the tests bound both, never compare exact values, and hold with or without VNNI
(the weights use 7 bits, so no CPU's integer products saturate). SciFact quality is
bench/encoder.py's to measure (README: dense and hybrid nDCG@10 within 0.005 of float32's).
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from paperscope.search.encoder import (
    MINILM_INT8_FILE,
    MINILM_INT8_SHA256,
    MINILM_ONNX_SHA256,
    ModelFileMismatch,
    install_minilm,
    load_encoder,
    minilm_dir,
    sha256_of,
)
from paperscope.search.encoder.runtimes import _runtime_kind
from paperscope.search.engine import configured_encoder
from paperscope.search.vectors.embed import embed_papers
from paperscope.settings import Settings
from paperscope.store import Store
from tests.search.conftest import demo_records
from tests.search.test_encoder import REFERENCE, REFERENCE_TEXTS, TEXTS

REPO = Path(__file__).resolve().parents[2]
INT8_NAME = f"all-MiniLM-L6-v2@onnx-{MINILM_INT8_SHA256[:8]}-int8"


@pytest.fixture(scope="module")
def models_dir() -> Path:
    path = Path(os.environ.get("PAPERSCOPE_MODELS_DIR", REPO / ".data" / "models"))
    install_minilm(path)  # adds model-int8.onnx to an older install
    return path


@pytest.fixture(scope="module")
def int8(models_dir: Path):
    return load_encoder("minilm", models_dir=models_dir, weights="int8")


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (np.atleast_2d(a) * np.atleast_2d(b)).sum(axis=1)


def test_int8_is_named_apart_from_float32(models_dir: Path, int8) -> None:
    """Stored vectors carry the weights in their model name, so a store made with float32
    is re-embedded, never mixed, when the setting changes."""
    assert int8.name == INT8_NAME
    assert int8.device == int8.query_device == "onnxruntime-cpu-int8"
    assert (int8.compute_precision, int8.query_compute_precision) == ("int8", "int8")
    settings = Settings(models_dir=models_dir, embedding_weights="int8")
    assert configured_encoder(settings).name == INT8_NAME
    float32 = configured_encoder(Settings(models_dir=models_dir))
    assert float32.name == f"all-MiniLM-L6-v2@onnx-{MINILM_ONNX_SHA256[:8]}-f32"


def test_int8_vectors_stay_close_to_float32(int8) -> None:
    # Measured on AVX2 without VNNI: cosine 0.980 at worst (the one-word text), 0.991 mean.
    reference = np.loadtxt(REFERENCE, dtype=np.float32, ndmin=2)
    vectors = int8.encode(REFERENCE_TEXTS)
    assert cosines(vectors, reference).min() >= 0.96
    assert np.abs(vectors - reference).max() > 1e-4  # really int8, not float32 again
    queries = np.stack([int8.encode_query(text) for text in REFERENCE_TEXTS])
    assert cosines(queries, reference).min() >= 0.96
    assert cosines(queries, reference).mean() >= 0.985
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_int8_queries_against_float32_papers_keep_the_papers_model(models_dir: Path) -> None:
    """query_weights=int8: papers are embedded (and named) as float32, only queries run the
    int8 weights, in the same space: stored vectors stay valid when the setting changes."""
    settings = Settings(models_dir=models_dir, query_weights="int8")
    mixed = configured_encoder(settings)
    assert mixed.name == f"all-MiniLM-L6-v2@onnx-{MINILM_ONNX_SHA256[:8]}-f32"
    assert (mixed.device, mixed.query_device) == ("onnxruntime-cpu-f32", "onnxruntime-cpu-int8")
    reference = np.loadtxt(REFERENCE, dtype=np.float32, ndmin=2)
    np.testing.assert_allclose(mixed.encode(REFERENCE_TEXTS), reference, atol=1e-5)
    queries = np.stack([mixed.encode_query(text) for text in REFERENCE_TEXTS])
    assert cosines(queries, reference).min() >= 0.96
    assert np.abs(queries - reference).max() > 1e-4  # really int8 for queries
    with pytest.raises(ValueError, match="query_weights"):
        load_encoder("minilm", models_dir=models_dir, query_weights="int4")  # type: ignore[arg-type]


def test_int8_vectors_come_back_in_the_callers_order(int8) -> None:
    """Each text's vector is nearest to the same text encoded alone (its batch moves it by
    cosine 0.973 at worst here), so a mix-up of rows cannot pass."""
    texts = list(dict.fromkeys(TEXTS))
    shuffled = texts * 2
    random.Random(7).shuffle(shuffled)
    vectors = int8.encode(shuffled, batch_size=3)
    singles = {text: int8.encode_query(text) for text in texts}
    expected = np.stack([singles[text] for text in shuffled])
    assert cosines(vectors, expected).min() >= 0.95
    alone = np.stack([singles[text] for text in texts])
    nearest = (vectors @ alone.T).argmax(axis=1)
    assert [texts[i] for i in nearest] == shuffled


def test_worker_processes_give_the_same_vectors_as_one_process(models_dir: Path, int8) -> None:
    texts = [f"{text} ({n})" for n in range(40) for text in TEXTS]  # past the pool's 256
    in_workers = load_encoder("minilm", models_dir=models_dir, weights="int8", processes=2)
    progress: list[int] = []
    try:
        vectors = in_workers.encode(texts, on_progress=lambda done, _: progress.append(done))
        assert in_workers._pool is not None  # the workers really ran
    finally:
        in_workers.close()
    assert progress[-1] == len(texts) and progress == sorted(progress)
    # The same batches in one process: the same per-batch quantisation, the same vectors.
    np.testing.assert_allclose(vectors, int8.encode(texts), atol=1e-5)


def test_int8_weights_are_made_at_install_and_checked(models_dir: Path, tmp_path: Path) -> None:
    """An install without model-int8.onnx (made before int8 existed) gets it on first load,
    byte for byte the pinned build; a changed one is refused."""
    folder = minilm_dir(tmp_path)
    folder.mkdir(parents=True)
    (folder / "model.onnx").symlink_to(minilm_dir(models_dir) / "model.onnx")
    shutil.copy(minilm_dir(models_dir) / "tokenizer.json", folder / "tokenizer.json")
    assert load_encoder("minilm", models_dir=tmp_path, weights="int8").name == INT8_NAME
    assert sha256_of(folder / MINILM_INT8_FILE) == MINILM_INT8_SHA256
    assert not list(folder.glob("*.part"))
    with (folder / MINILM_INT8_FILE).open("ab") as f:
        f.write(b" ")
    with pytest.raises(ModelFileMismatch, match=r"model-int8\.onnx has sha256"):
        load_encoder("minilm", models_dir=tmp_path, weights="int8")


def test_the_gpu_is_chosen_for_float32_only() -> None:
    """With onnxruntime-gpu and a CUDA device, float32 runs there unless told not to; int8
    weights stay on the CPU (no GPU on this machine: the choice itself is tested)."""
    assert _runtime_kind("auto", None, "exact", cuda_available=True) == "cuda"
    assert _runtime_kind("auto", False, "exact", cuda_available=True) == "onnxruntime"
    assert _runtime_kind("auto", None, "exact", cuda_available=False) == "onnxruntime"
    assert _runtime_kind("auto", None, "exact", int8=True, cuda_available=True) == "onnxruntime"
    with pytest.raises(ValueError, match="embedding_weights=float32"):
        _runtime_kind("auto", True, "exact", int8=True, cuda_available=True)
    with pytest.raises(RuntimeError, match="pip install onnxruntime-gpu"):
        _runtime_kind("auto", True, "exact", cuda_available=False)


def test_changing_the_weights_re_embeds_every_paper(store: Store, models_dir: Path, int8) -> None:
    store.papers.upsert(demo_records(limit=6))
    float32 = load_encoder("minilm", models_dir=models_dir, weights="float32")
    assert embed_papers(store, float32) == 6
    assert embed_papers(store, int8) == 6  # none kept from the float32 run
    assert len(store.embeddings.hashes(int8.name)) == 6
    assert store.embeddings.hashes(float32.name) == {}
    assert embed_papers(store, int8) == 0
