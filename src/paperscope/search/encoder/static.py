"""A model2vec static model: `StaticEncoder`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

from paperscope.search.encoder.base import (
    Progress,
    Texts,
    _load_tokenizer,
    encode_in_batches,
)


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
        self._embeddings = load_file(str(embeddings_path))["embeddings"].astype(np.float32)
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
            out /= np.where(norms > 0, norms, 1.0)
        return out

    def encode(
        self, texts: Texts, batch_size: int = 1024, on_progress: Progress = None
    ) -> np.ndarray:
        return encode_in_batches(
            texts,
            self.dim,
            batch_size,
            lambda rows: self._embed([texts[i] for i in rows]),
            on_progress,
        )

    def encode_query(self, text: str) -> np.ndarray:
        return self._embed([text])[0]
