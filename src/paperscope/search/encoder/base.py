"""The Encoder interface every model kind implements, its errors and the small pieces
they share (hash checks, normalising, the tokenizer, the core count)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from paperscope.errors import Unavailable

ProgressCallback = Callable[[int, int], None]
Progress = ProgressCallback | None  # told (done, total) as batches finish
Texts = Sequence[str]
"""Called after each batch with (texts done, texts in all)."""

Runtime = Literal["auto", "openvino", "onnxruntime"]
Precision = Literal["exact", "fast"]
"""How an ONNX model computes. "exact": float32 on every machine (the default, and what stored
vectors are made with). "fast": bfloat16 on a CPU that has it (float32 on one that has not),
TF32 matrix products on a CUDA GPU that has them."""
PRECISIONS: tuple[Precision, ...] = ("exact", "fast")
Weights = Literal["int8", "float32"]
"""Which copy of a model runs: "int8", its linear layers quantised to int8 (CPU only, about
1.7x the documents/s of float32 on two AVX2 cores), or "float32", the weights as published."""
WEIGHTS: tuple[Weights, ...] = ("int8", "float32")


MINILM_MAX_TOKENS = 256  # the model's max_seq_length in sentence-transformers

# Characters kept before tokenising: far more than 256 tokens ever span (a WordPiece token
# covers at most 100 characters), so truncation stays exact while a huge text stays cheap.
_MAX_CHARS_PER_TOKEN = 400
_TOKENIZE_CHUNK = 2048  # texts per tokenizer call; bounds memory held by Encoding objects


class ModelNotFound(Unavailable, RuntimeError):
    """A model's files are missing; the message says how to get them."""


class ModelFileMismatch(Unavailable, RuntimeError):
    """A weight or tokenizer file differs from the pinned one."""


@runtime_checkable
class Encoder(Protocol):
    name: str
    dim: int

    def encode(
        self, texts: Texts, batch_size: int = 32, on_progress: Progress = None
    ) -> np.ndarray:
        """float32 array of shape (len(texts), dim), each row of unit length, in input order."""
        ...

    def encode_query(self, text: str) -> np.ndarray:
        """float32 vector of shape (dim,), unit length."""
        ...


def encode_in_batches(
    texts: Sequence[str],
    dim: int,
    batch_size: int,
    embed: Callable[[np.ndarray], np.ndarray],
    on_progress: ProgressCallback | None,
    order: np.ndarray | None = None,
) -> np.ndarray:
    """`Encoder.encode` for every model kind: `embed(rows)` (row indices into `texts`) a batch
    at a time, in `order` (default: as given), into one float32 array in input order."""
    if isinstance(texts, str):
        raise TypeError("encode() takes a sequence of texts; use encode_query() for one")
    out = np.empty((len(texts), dim), dtype=np.float32)
    rows_in_order = np.arange(len(texts)) if order is None else order
    for start in range(0, len(texts), batch_size):
        rows = rows_in_order[start : start + batch_size]
        out[rows] = embed(rows)
        if on_progress is not None:
            on_progress(min(start + batch_size, len(texts)), len(texts))
    return out


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
