"""Query and document prompts: what retrieval-trained models expect before each text.

bge and arctic-embed were trained with an instruction before each query ("Represent this
sentence for searching relevant passages: ") and none before documents; e5 with "query: "
and "passage: ". Left out, such a model ranks noticeably worse. sentence-transformers keeps
them in config_sentence_transformers.json as ``"prompts": {"query": ..., "document": ...}``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from paperscope.search.encoder.base import Encoder, Progress, Texts

# sentence-transformers' names for the prompt put before documents, in the order looked for.
_DOCUMENT_PROMPT_NAMES = ("document", "passage", "corpus")


def read_prompts(directory: Path) -> tuple[str, str]:
    """(query prompt, document prompt) from a sentence-transformers folder; "" where none."""
    config = directory / "config_sentence_transformers.json"
    if not config.is_file():
        return "", ""
    prompts = json.loads(config.read_text()).get("prompts") or {}
    document = next((prompts[n] for n in _DOCUMENT_PROMPT_NAMES if prompts.get(n)), "")
    return prompts.get("query") or "", document


class PromptedEncoder:
    """An encoder that puts ``query_prompt`` before each query and ``document_prompt`` before
    each document. The document prompt changes the stored vectors, so it is part of the
    name (a short hash); the query prompt changes only how queries rank, so it is not, and
    changing it keeps the index. Everything else is the wrapped encoder's."""

    def __init__(self, encoder: Encoder, *, query_prompt: str = "", document_prompt: str = ""):
        self._encoder = encoder
        self.query_prompt, self.document_prompt = query_prompt, document_prompt
        self.dim = encoder.dim
        self.name = encoder.name
        if document_prompt:
            digest = hashlib.sha256(document_prompt.encode()).hexdigest()[:8]
            self.name = f"{encoder.name}+doc-{digest}"

    def encode(
        self, texts: Texts, batch_size: int = 32, on_progress: Progress = None
    ) -> np.ndarray:
        if self.document_prompt and not isinstance(texts, str):
            texts = [self.document_prompt + text for text in texts]
        return self._encoder.encode(texts, batch_size=batch_size, on_progress=on_progress)

    def encode_query(self, text: str) -> np.ndarray:
        return self._encoder.encode_query(self.query_prompt + text)

    def __getattr__(self, attribute: str):
        # device, compute_precision, close, ...: whatever the wrapped encoder has.
        if attribute == "_encoder":  # not set yet (copying, unpickling): no recursion
            raise AttributeError(attribute)
        return getattr(self._encoder, attribute)


def with_prompts(encoder: Encoder, query_prompt: str, document_prompt: str) -> Encoder:
    """``encoder`` itself when both prompts are empty, else a PromptedEncoder around it."""
    if not query_prompt and not document_prompt:
        return encoder
    return PromptedEncoder(encoder, query_prompt=query_prompt, document_prompt=document_prompt)
